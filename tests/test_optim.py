"""Update rules: one step by hand, CS231n's published check values, dtype, convergence."""

import numpy as np
import pytest
from convnets import optim
from convnets.gradcheck import assert_close, rel_error

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.architectures]

RULES = ["sgd", "sgd_momentum", "rmsprop", "adam"]


def _cs231n_arrays():
    """The arrays of CS231n's optimizer checks (FullyConnectedNets notebook)."""
    N, D = 4, 5
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    return N, D, w, dw


# ---------------------------------------------------------------- one step by hand

def test_sgd_one_step_by_hand():
    w = np.array([1.0, -2.0, 0.5])
    dw = np.array([0.5, 1.0, -4.0])
    next_w, config = optim.sgd(w, dw, {"learning_rate": 0.1})
    assert_close(next_w, [0.95, -2.1, 0.9], rtol=1e-15)
    assert config["learning_rate"] == 0.1
    assert w[0] == 1.0  # the input is not modified in place


def test_sgd_momentum_two_steps_by_hand():
    w = np.array([1.0, -1.0])
    dw = np.array([2.0, -4.0])
    w1, config = optim.sgd_momentum(w, dw, {"learning_rate": 0.1, "momentum": 0.5})
    # v = 0.5*0 - 0.1*dw = [-0.2, 0.4]
    assert_close(config["velocity"], [-0.2, 0.4], rtol=1e-15)
    assert_close(w1, [0.8, -0.6], rtol=1e-15)
    w2, config = optim.sgd_momentum(w1, dw, config)
    # v = 0.5*[-0.2, 0.4] - [0.2, -0.4] = [-0.3, 0.6]
    assert_close(config["velocity"], [-0.3, 0.6], rtol=1e-14)
    assert_close(w2, [0.5, 0.0], rtol=1e-14, atol=1e-15)


def test_rmsprop_one_step_by_hand():
    w = np.array([1.0, 1.0])
    dw = np.array([3.0, -0.5])
    next_w, config = optim.rmsprop(w, dw, {"learning_rate": 0.1, "decay_rate": 0.75,
                                           "epsilon": 0.0})
    # cache = 0.25 * dw**2 = [2.25, 0.0625]; step = 0.1 * dw / sqrt(cache) = 0.1 * sign * 2
    assert_close(config["cache"], [2.25, 0.0625], rtol=1e-15)
    assert_close(next_w, [0.8, 1.2], rtol=1e-15)


def test_adam_first_step_moves_every_coordinate_by_the_learning_rate():
    # At t = 1 the bias-corrected moments are dw and dw**2, so the step is lr * sign(dw).
    w = np.array([0.0, 1.0, 2.0])
    dw = np.array([10.0, -0.01, 3.0])
    next_w, config = optim.adam(w, dw, {"learning_rate": 0.5, "epsilon": 0.0})
    assert_close(next_w, [-0.5, 1.5, 1.5], rtol=1e-12)
    assert config["t"] == 1
    assert_close(config["m"], 0.1 * dw, rtol=1e-12)
    assert_close(config["v"], 0.001 * dw**2, rtol=1e-12)


def test_defaults_are_cs231n_defaults():
    w, dw = np.ones(3), np.ones(3)
    assert optim.sgd(w, dw)[1] == {"learning_rate": 1e-2}
    c = optim.sgd_momentum(w, dw)[1]
    assert (c["learning_rate"], c["momentum"]) == (1e-2, 0.9)
    c = optim.rmsprop(w, dw)[1]
    assert (c["learning_rate"], c["decay_rate"], c["epsilon"]) == (1e-2, 0.99, 1e-8)
    c = optim.adam(w, dw)[1]
    assert (c["learning_rate"], c["beta1"], c["beta2"], c["epsilon"], c["t"]) == (
        1e-3, 0.9, 0.999, 1e-8, 1)


# ---------------------------------------------------------------- CS231n's check values

def test_sgd_momentum_cs231n_check_values():
    N, D, w, dw = _cs231n_arrays()
    v = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    next_w, config = optim.sgd_momentum(w, dw, {"learning_rate": 1e-3, "velocity": v})
    expected_next_w = np.asarray([
        [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
        [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
        [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
        [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]])
    expected_velocity = np.asarray([
        [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
        [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
        [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
        [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]])
    assert rel_error(next_w, expected_next_w) < 1e-8
    assert rel_error(config["velocity"], expected_velocity) < 1e-8


def test_rmsprop_cs231n_check_values():
    N, D, w, dw = _cs231n_arrays()
    cache = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    next_w, config = optim.rmsprop(w, dw, {"learning_rate": 1e-2, "cache": cache})
    expected_next_w = np.asarray([
        [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
        [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
        [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
        [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]])
    expected_cache = np.asarray([
        [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
        [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
        [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
        [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]])
    assert rel_error(next_w, expected_next_w) < 1e-6  # the published values have 8 decimals
    assert rel_error(config["cache"], expected_cache) < 1e-8


def test_adam_cs231n_check_values():
    N, D, w, dw = _cs231n_arrays()
    m = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    v = np.linspace(0.7, 0.5, num=N * D).reshape(N, D)
    next_w, config = optim.adam(w, dw, {"learning_rate": 1e-2, "m": m, "v": v, "t": 5})
    expected_next_w = np.asarray([
        [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
        [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
        [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
        [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]])
    expected_v = np.asarray([
        [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
        [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
        [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
        [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]])
    expected_m = np.asarray([
        [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
        [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
        [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
        [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]])
    assert rel_error(next_w, expected_next_w) < 1e-6
    assert rel_error(config["v"], expected_v) < 1e-8
    assert rel_error(config["m"], expected_m) < 1e-8
    assert config["t"] == 6


# ---------------------------------------------------------------- dtype, validation

@pytest.mark.parametrize("rule", RULES)
def test_float32_stays_float32(rule):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    dw = rng.standard_normal((3, 4)).astype(np.float32)
    update = optim.get_update_rule(rule)
    config = None
    for _ in range(3):
        w, config = update(w, dw, config)
    assert w.dtype == np.float32
    for key in ("velocity", "cache", "m", "v"):
        if key in config:
            assert config[key].dtype == np.float32, key


@pytest.mark.parametrize("rule", RULES)
def test_float32_step_matches_float64_step(rule):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((5, 2))
    dw = rng.standard_normal((5, 2))
    update = optim.get_update_rule(rule)
    w64, _ = update(w, dw, {"learning_rate": 1e-2})
    w32, _ = update(w.astype(np.float32), dw.astype(np.float32), {"learning_rate": 1e-2})
    assert_close(w32, w64, rtol=1e-5, atol=1e-6, what=rule)


@pytest.mark.parametrize("rule", RULES)
def test_shape_mismatch_is_a_clear_error(rule):
    update = optim.get_update_rule(rule)
    with pytest.raises(ValueError, match=r"dw must have the shape of w.*\(3,\).*\(4,\)"):
        update(np.zeros(3), np.zeros(4))


def test_state_with_the_wrong_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"config\['velocity'\]"):
        optim.sgd_momentum(np.zeros(3), np.zeros(3), {"velocity": np.zeros(2)})


def test_bad_hyperparameters_are_clear_errors():
    with pytest.raises(ValueError, match="momentum"):
        optim.sgd_momentum(np.zeros(3), np.zeros(3), {"momentum": 1.5})
    with pytest.raises(ValueError, match="learning_rate"):
        optim.sgd(np.zeros(3), np.zeros(3), {"learning_rate": -1.0})
    with pytest.raises(TypeError, match="config must be a dict"):
        optim.adam(np.zeros(3), np.zeros(3), [0.1])


def test_get_update_rule():
    assert optim.get_update_rule("adam") is optim.adam

    def custom(w, dw, config=None):
        return w, config

    assert optim.get_update_rule(custom) is custom
    with pytest.raises(ValueError, match="unknown update_rule 'adagrad'.*sgd_momentum"):
        optim.get_update_rule("adagrad")
    with pytest.raises(TypeError, match="update_rule"):
        optim.get_update_rule(3)


# ---------------------------------------------------------------- convergence

@pytest.mark.parametrize("rule,lr,steps", [
    ("sgd", 0.1, 300), ("sgd_momentum", 0.02, 300), ("rmsprop", 0.01, 1000),
    ("adam", 0.05, 1000)])
def test_each_rule_minimizes_an_ill_conditioned_quadratic(rule, lr, steps):
    # f(w) = 0.5 * sum(a * (w - target)**2), curvatures from 1 to 10.
    a = np.array([1.0, 3.0, 10.0])
    target = np.array([1.0, -2.0, 0.5])
    w = np.zeros(3)
    update = optim.get_update_rule(rule)
    config = {"learning_rate": lr}
    f0 = 0.5 * np.sum(a * (w - target) ** 2)
    for _ in range(steps):
        w, config = update(w, a * (w - target), config)
    f = 0.5 * np.sum(a * (w - target) ** 2)
    assert f < 1e-4 * f0, (rule, f, f0)
    assert_close(w, target, atol=2e-2, what=rule)
