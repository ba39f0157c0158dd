"""Solver: training a tiny linear softmax model, histories, seeds, decay, best-params
checkpoints, data validation and the history plot."""

import numpy as np
import pytest
from convnets import Solver, affine_backward, affine_forward, softmax_loss
from convnets.solver import load_checkpoint, plot_history, save_checkpoint

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.architectures]


class LinearSoftmax:
    """scores = x W + b, softmax loss; one buffer counting the training examples seen."""

    def __init__(self, D, C, seed=0, dtype=np.float64):
        rng = np.random.default_rng(seed)
        self.params = {"W": (1e-2 * rng.standard_normal((D, C))).astype(dtype),
                       "b": np.zeros(C, dtype=dtype)}
        self.buffers = {"seen": np.zeros(1)}

    def loss(self, X, y=None):
        scores, cache = affine_forward(X, self.params["W"], self.params["b"])
        if y is None:
            return scores
        self.buffers["seen"] = self.buffers["seen"] + len(X)
        loss, dscores = softmax_loss(scores, y)
        _, dW, db = affine_backward(dscores, cache)
        return loss, {"W": dW, "b": db}


def blobs(n_train=120, n_val=60, C=3, D=4, seed=0, spread=0.6):
    """Gaussian blobs around C random centers: nearly linearly separable."""
    rng = np.random.default_rng(seed)
    centers = 2.0 * rng.standard_normal((C, D))

    def sample(n):
        y = rng.integers(0, C, n)
        return centers[y] + spread * rng.standard_normal((n, D)), y

    X_train, y_train = sample(n_train)
    X_val, y_val = sample(n_val)
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}


def quiet(**kwargs):
    kwargs.setdefault("verbose", False)
    kwargs.setdefault("progress", False)
    return kwargs


# ---------------------------------------------------------------- training

@pytest.mark.parametrize("rule,lr", [("sgd", 0.5), ("sgd_momentum", 0.1), ("rmsprop", 0.01),
                                     ("adam", 0.02)])
def test_every_update_rule_learns_the_blobs(rule, lr):
    data = blobs()
    model = LinearSoftmax(4, 3)
    solver = Solver(model, data, **quiet(update_rule=rule, optim_config={"learning_rate": lr},
                                         batch_size=20, num_epochs=8, seed=0))
    solver.train()
    assert solver.loss_history[-1] < 0.5 * solver.loss_history[0], rule
    assert solver.best_val_acc >= 0.9, (rule, solver.val_acc_history)


def test_histories_and_iteration_counts():
    data = blobs(n_train=130)
    solver = Solver(LinearSoftmax(4, 3), data,
                    **quiet(batch_size=25, num_epochs=3, optim_config={"learning_rate": 0.1}))
    assert solver.iterations_per_epoch == 5  # 130 // 25
    solver.train()
    assert len(solver.loss_history) == 15
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 4  # epoch 0..3
    assert solver.epoch == 3
    assert all(isinstance(v, float) for v in solver.loss_history)


def test_custom_update_rule_function():
    calls = []

    def halve(w, dw, config=None):
        calls.append(w.shape)
        return w - 0.5 * dw, config

    data = blobs()
    solver = Solver(LinearSoftmax(4, 3), data, **quiet(update_rule=halve, batch_size=60,
                                                       num_epochs=1))
    solver.train()
    assert sorted(set(calls)) == [(3,), (4, 3)]
    assert len(calls) == 2 * 2  # two parameters, two iterations


def test_model_ends_with_the_best_parameters():
    data = blobs(seed=3)
    model = LinearSoftmax(4, 3)
    solver = Solver(model, data, **quiet(update_rule="sgd", optim_config={"learning_rate": 2.0},
                                         batch_size=10, num_epochs=6, seed=1))
    solver.train()
    for name in model.params:
        np.testing.assert_array_equal(model.params[name], solver.best_params[name])
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc
    assert solver.best_val_acc == max(solver.val_acc_history)
    assert solver.val_acc_history[solver.best_epoch] == solver.best_val_acc
    np.testing.assert_array_equal(model.buffers["seen"], solver.best_buffers["seen"])
    # The buffer was snapshotted at the best epoch: 120 examples per epoch.
    assert model.buffers["seen"][0] == 120 * solver.best_epoch


def test_lr_decay_per_epoch():
    data = blobs()
    solver = Solver(LinearSoftmax(4, 3), data,
                    **quiet(update_rule="sgd_momentum", lr_decay=0.5, num_epochs=3,
                            batch_size=40, optim_config={"learning_rate": 0.08}))
    solver.train()
    for config in solver.optim_configs.values():
        assert config["learning_rate"] == pytest.approx(0.08 * 0.5**3)
        assert "velocity" in config
    assert solver.optim_config == {"learning_rate": 0.08}  # the template is not changed


def test_each_epoch_visits_every_example_once():
    seen = []

    class Recorder(LinearSoftmax):
        def loss(self, X, y=None):
            if y is not None:
                seen.append(X[:, 0].astype(int))
            return super().loss(X, y)

    N = 30
    data = {"X_train": np.arange(N, dtype=np.float64)[:, None].repeat(2, axis=1),
            "y_train": np.arange(N) % 2, "X_val": np.zeros((4, 2)), "y_val": np.zeros(4, int)}
    Solver(Recorder(2, 2), data, **quiet(batch_size=10, num_epochs=2, seed=0)).train()
    assert len(seen) == 6
    first, second = np.concatenate(seen[:3]), np.concatenate(seen[3:])
    np.testing.assert_array_equal(np.sort(first), np.arange(N))
    np.testing.assert_array_equal(np.sort(second), np.arange(N))
    assert not np.array_equal(first, second)  # a fresh order every epoch


def test_seed_makes_training_reproducible():
    data = blobs()

    def run(seed):
        solver = Solver(LinearSoftmax(4, 3), data,
                        **quiet(update_rule="adam", batch_size=16, num_epochs=2, seed=seed,
                                num_train_samples=50))
        return solver.train()

    a, b, c = run(5), run(5), run(6)
    assert a.loss_history == b.loss_history
    assert a.train_acc_history == b.train_acc_history
    assert a.loss_history != c.loss_history


def test_check_accuracy_batches_and_subsamples():
    data = blobs(n_val=57)
    model = LinearSoftmax(4, 3, seed=2)
    solver = Solver(model, data, **quiet(seed=0))
    expected = np.mean(np.argmax(model.loss(data["X_val"]), axis=1) == data["y_val"])
    assert solver.check_accuracy(data["X_val"], data["y_val"], batch_size=7) == expected
    sub = solver.check_accuracy(data["X_val"], data["y_val"], num_samples=10)
    assert sub * 10 == round(sub * 10)  # a fraction of 10 examples
    with pytest.raises(ValueError, match="57 examples but y has 3 labels"):
        solver.check_accuracy(data["X_val"], data["y_val"][:3])


def test_verbose_prints_epochs_and_losses(capsys):
    solver = Solver(LinearSoftmax(4, 3), blobs(),
                    **quiet(verbose=True, batch_size=30, num_epochs=2, print_every=3))
    solver.train()
    out = capsys.readouterr().out
    assert "(Epoch 0 / 2) train acc:" in out and "(Epoch 2 / 2)" in out
    assert "(Iteration 3 / 8) loss:" in out


def test_progress_bar_without_a_terminal_is_silent(capsys):
    solver = Solver(LinearSoftmax(4, 3), blobs(), verbose=False, progress=True,
                    batch_size=60, num_epochs=1)
    solver.train()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# ---------------------------------------------------------------- checkpoints

def test_checkpoint_round_trip_gives_identical_predictions(tmp_path):
    data = blobs()
    model = LinearSoftmax(4, 3, dtype=np.float32)
    solver = Solver(model, data, **quiet(update_rule="adam", optim_config={"learning_rate": 0.05},
                                         batch_size=20, num_epochs=3, seed=0,
                                         checkpoint_name=tmp_path / "run" / "best"))
    solver.train()
    path = tmp_path / "run" / "best.npz"
    assert path.is_file()

    fresh = LinearSoftmax(4, 3, seed=99, dtype=np.float32)
    assert not np.array_equal(fresh.loss(data["X_val"]), model.loss(data["X_val"]))
    meta = Solver.load_checkpoint(path, fresh)
    np.testing.assert_array_equal(fresh.loss(data["X_val"]), model.loss(data["X_val"]))
    assert fresh.params["W"].dtype == np.float32
    np.testing.assert_array_equal(fresh.buffers["seen"], model.buffers["seen"])
    assert meta["epoch"] == solver.best_epoch
    assert meta["val_acc"] == pytest.approx(solver.best_val_acc)


def test_save_and_load_checkpoint_on_a_model(tmp_path):
    model = LinearSoftmax(4, 3, seed=1)
    path = save_checkpoint(model, tmp_path / "m", note="hello", step=3)
    assert path.name == "m.npz"
    other = LinearSoftmax(4, 3, seed=2)
    meta = load_checkpoint(tmp_path / "m", other)  # the suffix may be left out
    assert meta == {"note": "hello", "step": 3}
    np.testing.assert_array_equal(other.params["W"], model.params["W"])
    other.params["W"][0, 0] += 1  # loaded arrays are copies, not views of each other
    assert other.params["W"][0, 0] != model.params["W"][0, 0]


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    path = save_checkpoint(LinearSoftmax(4, 3), tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"parameter 'W' has shape \(4, 3\) in the file and "
                                         r"\(5, 3\) in the model"):
        load_checkpoint(path, LinearSoftmax(5, 3))
    no_buffers = LinearSoftmax(4, 3)
    del no_buffers.buffers
    with pytest.raises(ValueError, match=r"its buffers are \['seen'\], the model's are \[\]"):
        load_checkpoint(path, no_buffers)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.npz", LinearSoftmax(4, 3))


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("change,error,pattern", [
    (lambda d: d.pop("X_val"), ValueError, "data is missing 'X_val'"),
    (lambda d: d.update(y_train=d["y_train"][:-1]), ValueError,
     r"data\['X_train'\] has 120 examples but data\['y_train'\] has 119 labels"),
    (lambda d: d.update(y_val=d["y_val"].astype(float)), TypeError,
     r"data\['y_val'\] must hold integer class labels"),
    (lambda d: d.update(y_train=d["y_train"] - 1), ValueError, "negative label"),
    (lambda d: d.update(X_train=np.zeros(120)), ValueError, r"shape \(N, \.\.\.\)"),
    (lambda d: d.update(X_val=np.zeros((60, 5))), ValueError,
     "training and validation examples differ in shape"),
    (lambda d: d.update(y_val=d["y_val"][:, None]), ValueError, "must be 1-D"),
    (lambda d: d.update(X_train=[[0.0]] * 120), TypeError, "must be a numeric ndarray"),
])
def test_bad_data_is_a_clear_error(change, error, pattern):
    data = blobs()
    change(data)
    with pytest.raises(error, match=pattern):
        Solver(LinearSoftmax(4, 3), data, **quiet())


def test_bad_arguments_are_clear_errors():
    data = blobs()
    with pytest.raises(ValueError, match="unrecognized arguments: learning_rate"):
        Solver(LinearSoftmax(4, 3), data, learning_rate=0.1)
    with pytest.raises(ValueError, match="unknown update_rule 'adagrad'"):
        Solver(LinearSoftmax(4, 3), data, update_rule="adagrad")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        Solver(LinearSoftmax(4, 3), data, batch_size=0)
    with pytest.raises(TypeError, match="model.params must be a non-empty dict"):
        Solver(object(), data)


def test_bad_gradients_and_diverging_loss_are_clear_errors():
    data = blobs()

    class MissingGrad(LinearSoftmax):
        def loss(self, X, y=None):
            out = super().loss(X, y)
            return out if y is None else (out[0], {"W": out[1]["W"]})

    with pytest.raises(ValueError, match=r"exactly the keys of model.params \['W', 'b'\]"):
        Solver(MissingGrad(4, 3), data, **quiet()).train()

    class Diverging(LinearSoftmax):
        def loss(self, X, y=None):
            out = super().loss(X, y)
            return out if y is None else (np.nan, out[1])

    with pytest.raises(FloatingPointError, match="loss became nan at iteration 1"):
        Solver(Diverging(4, 3), data, **quiet()).train()


# ---------------------------------------------------------------- plot

def test_plot_history_writes_a_png(tmp_path):
    import matplotlib.image

    solver = Solver(LinearSoftmax(4, 3), blobs(), **quiet(batch_size=10, num_epochs=3, seed=0))
    solver.train()
    path = tmp_path / "plots" / "history.png"
    fig = plot_history(solver, path)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_xlabel() == "iteration" and fig.axes[1].get_xlabel() == "epoch"
    image = matplotlib.image.imread(path)
    assert image.shape[0] >= 300 and image.shape[1] >= 800
    assert np.unique(image.reshape(-1, image.shape[-1]), axis=0).shape[0] > 10


# ---------------------------------------------------------------- augmentation

def test_augment_sees_every_training_batch_and_nothing_else():
    calls = []

    def record_identity(X, rng):
        calls.append(X.shape)
        assert isinstance(rng, np.random.Generator)
        return X + 0.0

    data = blobs()
    solver = Solver(LinearSoftmax(4, 3), data, **quiet(batch_size=40, num_epochs=2, seed=0,
                                                       augment=record_identity))
    solver.train()
    assert calls == [(40, 4)] * 6  # 3 minibatches per epoch, accuracy checks untouched

    def crop(X, rng):
        return X[:, :2]

    with pytest.raises(ValueError, match=r"augment must keep the batch shape \(40, 4\)"):
        Solver(LinearSoftmax(4, 3), data, **quiet(batch_size=40, augment=crop)).train()
    with pytest.raises(TypeError, match="augment must be a function"):
        Solver(LinearSoftmax(4, 3), data, augment="shift")


def test_print_every_none_prints_only_epochs(capsys):
    solver = Solver(LinearSoftmax(4, 3), blobs(),
                    **quiet(verbose=True, batch_size=30, num_epochs=2, print_every=None))
    solver.train()
    out = capsys.readouterr().out
    assert "Iteration" not in out and out.count("(Epoch") == 3
