"""Data-parallel loss (convnets.nn.parallel): shards, the BLAS thread limit, the same
loss and gradients as the whole batch, models it refuses, and Solver(workers=...)."""

import threading

import numpy as np
import pytest
from convnets import Solver, ThreeLayerConvNet, zoo
from convnets.nn import parallel
from convnets.nn.parallel import (
    blas_thread_controls,
    check_shardable,
    data_parallel_loss,
    limit_blas_threads,
    shard_slices,
)

pytestmark = [pytest.mark.architectures]


def thread_counts():
    return [getter() for _, _, getter in blas_thread_controls()]


@pytest.mark.parametrize("N, workers, sizes", [
    (10, 2, [5, 5]), (7, 2, [4, 3]), (7, 3, [3, 2, 2]), (3, 5, [1, 1, 1]), (1, 2, [1]),
    (5, 1, [5])])
def test_shards_cover_the_batch_in_order_with_sizes_one_apart(N, workers, sizes):
    shards = shard_slices(N, workers)
    assert [s.stop - s.start for s in shards] == sizes
    assert shards[0].start == 0 and shards[-1].stop == N
    assert all(a.stop == b.start for a, b in zip(shards, shards[1:], strict=False))


@pytest.mark.parametrize("N, workers, error, pattern", [
    (0, 2, ValueError, r"N must be >= 1, got N = 0"),
    (4, 0, ValueError, r"workers must be >= 1, got workers = 0"),
    (4, 1.5, TypeError, r"workers must be an integer, got 1.5")])
def test_bad_shard_arguments_are_named(N, workers, error, pattern):
    with pytest.raises(error, match=pattern):
        shard_slices(N, workers)


def test_numpys_and_scipys_openblas_are_found_on_linux():
    # The wheels this project installs ship OpenBLAS twice (NumPy's, SciPy's): both
    # must be limited, or SciPy's BLAS calls (shifted-gemm) would still use threads.
    paths = [path for path, _, _ in blas_thread_controls()]
    assert any("numpy" in p for p in paths) and any("scipy" in p for p in paths), paths


def test_the_blas_limit_holds_inside_and_is_restored_after_an_error():
    before = thread_counts()
    with pytest.raises(RuntimeError, match="inside"):
        with limit_blas_threads(1) as limited:
            assert limited
            assert thread_counts() == [1] * len(before)
            raise RuntimeError("inside")
    assert thread_counts() == before


def three_layer(dtype=np.float64, reg=0.05):
    return ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=4, filter_size=3,
                             hidden_dim=10, num_classes=5, reg=reg, dtype=dtype, seed=1)


def batch(N, shape=(3, 8, 8), classes=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, *shape)), rng.integers(0, classes, N)


@pytest.mark.parametrize("N, workers", [(6, 2), (7, 3), (5, 8)])
def test_sharded_loss_and_gradients_equal_the_whole_batch(N, workers):
    model = three_layer()
    X, y = batch(N)
    loss, grads = model.loss(X, y)
    sharded_loss, sharded = data_parallel_loss(model, X, y, workers)
    assert sharded_loss == pytest.approx(loss, rel=1e-13)
    assert set(sharded) == set(grads)
    for key in grads:
        assert sharded[key].dtype == grads[key].dtype and sharded[key].shape == grads[key].shape
        np.testing.assert_allclose(sharded[key], grads[key], rtol=1e-11,
                                   atol=1e-14 * np.abs(grads[key]).max(), err_msg=key)


def test_float32_shards_stay_float32_and_close():
    model = three_layer(np.float32)
    X, y = batch(9)
    loss, grads = model.loss(X, y)
    sharded_loss, sharded = data_parallel_loss(model, X, y, 2)
    assert sharded_loss == pytest.approx(loss, rel=1e-5)
    for key in grads:
        assert sharded[key].dtype == np.float32
        np.testing.assert_allclose(sharded[key], grads[key], rtol=1e-4,
                                   atol=1e-5 * np.abs(grads[key]).max(), err_msg=key)


def test_a_sequential_network_is_sharded_too():
    model = zoo.get("lenet5", width=0.25, dtype=np.float64, seed=0, reg=0.01)
    X, y = batch(4, shape=(1, 32, 32), classes=10)
    loss, grads = model.loss(X, y)
    sharded_loss, sharded = data_parallel_loss(model, X, y, 2)
    assert sharded_loss == pytest.approx(loss, rel=1e-12)
    for key in grads:
        np.testing.assert_allclose(sharded[key], grads[key], rtol=1e-10,
                                   atol=1e-13 * np.abs(grads[key]).max(), err_msg=key)


def test_the_shards_run_in_threads_of_their_own_with_blas_on_one_thread():
    seen = []

    class Spy:
        def __init__(self):
            self.inner = three_layer()
            self.params = self.inner.params

        def loss(self, X, y):
            seen.append((threading.current_thread().name, thread_counts(), len(X)))
            return self.inner.loss(X, y)

    X, y = batch(6)
    before = thread_counts()
    data_parallel_loss(Spy(), X, y, 2)
    assert sorted(size for _, _, size in seen) == [3, 3]
    assert all(name.startswith("convnets-shard") for name, _, _ in seen)
    assert all(counts == [1] * len(before) for _, counts, _ in seen)
    assert thread_counts() == before


def test_one_worker_or_one_example_is_the_plain_loss():
    calls = []

    class Counting:
        params = {"w": np.zeros(1)}

        def loss(self, X, y):
            calls.append(len(X))
            return 1.0, {"w": np.ones(1)}

    X, y = batch(4)
    assert data_parallel_loss(Counting(), X, y, 1) == (1.0, {"w": np.ones(1)})
    assert data_parallel_loss(Counting(), X[:1], y[:1], 4)[0] == 1.0
    assert calls == [4, 1]


def test_an_error_in_a_shard_reaches_the_caller_and_the_limit_is_lifted():
    class Broken:
        params = {"w": np.zeros(1)}

        def loss(self, X, y):
            raise FloatingPointError(f"shard of {len(X)}")

    before = thread_counts()
    X, y = batch(4)
    with pytest.raises(FloatingPointError, match="shard of 2"):
        data_parallel_loss(Broken(), X, y, 2)
    assert thread_counts() == before


def test_models_with_batch_statistics_are_refused_with_the_reason():
    model = zoo.get("resnet18", width=0.125, num_classes=3, dtype=np.float64)
    with pytest.raises(ValueError, match=r"without batch statistics, but this model keeps "
                                         r"buffers \[.*\] \(batch normalization"):
        check_shardable(model)
    X, y = batch(2, shape=(3, 32, 32), classes=3)
    with pytest.raises(ValueError, match="use workers=1"):
        data_parallel_loss(model, X, y, 2)
    # ... and workers=1, which the message advises, is the model's own loss
    loss, grads = data_parallel_loss(model, X, y, 1)
    expected_loss, expected_grads = model.loss(X, y)
    assert loss == expected_loss and grads.keys() == expected_grads.keys()
    for key, g in grads.items():
        np.testing.assert_array_equal(g, expected_grads[key])


@pytest.mark.parametrize("y, pattern", [(None, "got 4 and None"),
                                        (np.zeros(3, int), "got 4 and 3")])
def test_labels_must_match_the_batch(y, pattern):
    X, _ = batch(4)
    with pytest.raises(ValueError, match=r"X and y must hold the same number of examples, "
                                         + pattern):
        data_parallel_loss(three_layer(), X, y, 2)


def test_without_openblas_controls_the_whole_batch_is_computed_at_once(monkeypatch):
    # Another BLAS (MKL, Accelerate): threads that each call a multi-threaded BLAS
    # would fight over the cores, so the loss runs as one batch in the caller's thread.
    monkeypatch.setattr(parallel, "blas_thread_controls", lambda: ())
    names = []
    model = three_layer()

    class Spy:
        params = model.params

        def loss(self, X, y):
            names.append(threading.current_thread().name)
            return model.loss(X, y)

    X, y = batch(4)
    data_parallel_loss(Spy(), X, y, 2)
    assert names == [threading.current_thread().name]


def digits_like(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 3, 8, 8))
    y = (X[:, 0, :4].mean(axis=(1, 2)) > 0).astype(int) + 2 * (X[:, 1].mean(axis=(1, 2)) > 0)
    return {"X_train": X[:30], "y_train": y[:30], "X_val": X[30:], "y_val": y[30:]}


def test_solver_with_workers_follows_the_same_path():
    histories = []
    for workers in (1, 2):
        solver = Solver(three_layer(), digits_like(), update_rule="adam",
                        optim_config={"learning_rate": 1e-2}, batch_size=10, num_epochs=3,
                        seed=0, verbose=False, progress=False, workers=workers)
        solver.train()
        assert solver.workers == workers
        histories.append(solver.loss_history)
    assert len(histories[0]) == len(histories[1]) == 9
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-9)
    assert histories[0][-1] < histories[0][0]


def test_solver_refuses_workers_for_models_with_batch_statistics():
    model = zoo.get("resnet18", width=0.125, num_classes=3, dtype=np.float64)
    data = {"X_train": np.zeros((4, 3, 32, 32)), "y_train": np.zeros(4, int),
            "X_val": np.zeros((2, 3, 32, 32)), "y_val": np.zeros(2, int)}
    with pytest.raises(ValueError, match=r"^workers = 2: a data-parallel loss needs a model "
                                         r"without batch statistics"):
        Solver(model, data, workers=2)
    with pytest.raises(ValueError, match=r"workers must be >= 1, got workers = 0"):
        Solver(three_layer(), digits_like(), workers=0)


def test_threads_asking_for_the_cost_model_at_once_wait_for_one_calibration(monkeypatch):
    # The first conv layers of several shards may ask for auto's model together: one
    # measures, the others wait for it (two calibrations at once would time each other).
    import time

    from convnets.layers import conv_cost

    calls = []

    def slow_measure(run_strategy):
        calls.append(run_strategy)
        time.sleep(0.2)
        return f"model of {run_strategy}"

    monkeypatch.setattr(conv_cost, "load_or_measure", slow_measure)
    conv_cost._process_model.cache_clear()
    try:
        got = []
        threads = [threading.Thread(target=lambda: got.append(
            conv_cost.conv_cost_model("probe"))) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert calls == ["probe"] and got == ["model of probe"] * 3
    finally:
        conv_cost._process_model.cache_clear()


def test_a_failing_shard_waits_for_the_others_before_blas_gets_its_threads_back():
    import time

    finished = []

    class SlowAndBroken:
        params = {"w": np.zeros(1)}

        def loss(self, X, y):
            if len(X) == 3:           # the first shard fails at once
                raise ValueError("first shard")
            time.sleep(0.2)
            finished.append(thread_counts())
            return 0.0, {"w": np.zeros(1)}

    X, y = batch(5)
    before = thread_counts()
    with pytest.raises(ValueError, match="first shard"):
        data_parallel_loss(SlowAndBroken(), X, y, 2)
    assert finished == [[1] * len(before)]        # the slow shard ran to its end, limited
    assert thread_counts() == before
