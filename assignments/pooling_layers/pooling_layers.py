# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 3: pooling and the other layers
#
# A ConvNet needs more than convolutions. In this assignment you write the other layers
# of the notes' pattern `INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC`,
# each with its forward and backward pass:
#
# 1. pooling: the output size, **max pooling with switches**, average and L2-norm pooling;
# 2. the ReLU non-linearity and the fully-connected (affine) layer;
# 3. the softmax loss on top of the last layer;
# 4. spatial batch normalization (graded) and local response normalization (optional).
#
# Conventions as in assignments 1 and 2: NCHW arrays, forward passes return
# `(out, cache)`, backward passes take `(dout, cache)` and return the gradients.
# Pooling layers take `pool_param = {'pool_height': HH, 'pool_width': WW, 'stride': S}`.
# A setting that does not fit raises `ValueError` with a message ending in
# `is not an integer`. NumPy only.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
from checks import (
    check_close,
    check_equal,
    check_gradient,
    check_gradients,
    check_raises,
    check_shape,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    hidden_checks,
    hidden_rng,
)

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The size of a pooling layer's output
#
# A pooling layer slides an `F x F` window with stride `S` over every channel
# separately, without padding, so along one axis it has `(W - F)/S + 1` outputs, and the
# depth does not change. The two settings seen in practice are `F = 2, S = 2` (each
# window summarises 4 numbers: 75% of the activations are discarded, and a [224x224x64]
# volume becomes [112x112x64]) and the overlapping `F = 3, S = 2`.
#
# As for convolutions, a setting where the windows do not tile the input is invalid:
# a 7x7 input with `F = 2, S = 2` gives `(7 - 2)/2 + 1 = 3.5`. Raise `ValueError` with a
# message showing the formula and the numbers and ending in `is not an integer`, and
# also when the window is larger than the input.

# %% nbgrader={"grade": false, "grade_id": "answer_pool_output_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pool_output_size(W, F, S):
    """Number of pooling windows along one axis, `(W - F)/S + 1`.

    Parameters
    ----------
    W : int
        Input size along the axis.
    F : int
        Window size along the axis.
    S : int
        Stride, >= 1.

    Returns
    -------
    size : int

    Raises
    ------
    ValueError
        If `F > W`, or if `(W - F)/S + 1` is not a whole number; the message then reads
        like `(W - F)/S + 1 = (7 - 2)/2 + 1 = 3.5 is not an integer`.
    """
    ### BEGIN SOLUTION
    if F > W:
        raise ValueError(f"the window is larger than the input: F = {F} > W = {W}")
    if (W - F) % S != 0:
        raise ValueError(f"(W - F)/S + 1 = ({W} - {F})/{S} + 1 = {(W - F) / S + 1:.4g} "
                         f"is not an integer")
    return (W - F) // S + 1
    ### END SOLUTION


# %% [markdown]
# ## 2. Max pooling and its switches
#
# Max pooling replaces each window by its largest entry. Its backward pass sends the
# upstream gradient of a window to the entry that won and nothing to the others, so the
# forward pass remembers, for every window, *which* entry won: the **switch**.
#
# Store the switches in the cache, which must be a dict, under the key `'switches'`: an
# integer array of shape `(N, C, H', W')` holding the position of the winner **inside its
# window**, flattened row by row: `r * WW + s` for row `r` and column `s` of the window.
# When several entries tie for the maximum, the first one in that row-by-row order wins
# (this is what `np.argmax` returns on a flattened window). When windows overlap, one
# input can win several windows; its gradients add up.
#
# Loops over the output positions are fine (this is the naive version). Use your
# `pool_output_size` so that a 7x7 input with `F = 2, S = 2` raises.

# %% nbgrader={"grade": false, "grade_id": "answer_max_pool", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_pool_forward_naive(x, pool_param):
    """Max pooling over each `HH x WW` window, stride S, every channel separately.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        'pool_height' HH, 'pool_width' WW, 'stride' S.

    Returns
    -------
    out : ndarray, shape (N, C, H', W'), dtype of x
        `out[n, c, i, j] = max(x[n, c, i*S:i*S+HH, j*S:j*S+WW])`,
        `H' = (H - HH)/S + 1`, `W' = (W - WW)/S + 1`.
    cache : dict
        `cache['switches']`: int array (N, C, H', W'), the winner's index `r*WW + s`
        inside its window (first maximum in row-major order); plus what the backward
        pass needs.

    Raises
    ------
    ValueError
        If the windows do not tile the input (see pool_output_size).
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    HH, WW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out, W_out = pool_output_size(H, HH, S), pool_output_size(W, WW, S)
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    switches = np.empty((N, C, H_out, W_out), dtype=np.int64)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * S:i * S + HH, j * S:j * S + WW].reshape(N, C, HH * WW)
            winner = np.argmax(window, axis=2)               # first maximum on ties
            switches[:, :, i, j] = winner
            out[:, :, i, j] = np.take_along_axis(window, winner[:, :, None], axis=2)[:, :, 0]
    cache = {"switches": switches, "x_shape": x.shape, "dtype": x.dtype,
             "pool": (HH, WW, S)}
    return out, cache
    ### END SOLUTION


def max_pool_backward_naive(dout, cache):
    """Backward pass of max pooling: each window's gradient goes to its switch.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H', W')
    cache : dict
        From max_pool_forward_naive.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), dtype of x
        `dout[n, c, i, j]` added at the winner of window (i, j); zero where an input won
        no window; summed where it won several.
    """
    ### BEGIN SOLUTION
    switches = cache["switches"]
    HH, WW, S = cache["pool"]
    N, C, H_out, W_out = switches.shape
    dx = np.zeros(cache["x_shape"], dtype=cache["dtype"])
    for i in range(H_out):
        for j in range(W_out):
            routed = np.zeros((N, C, HH * WW), dtype=dx.dtype)
            np.put_along_axis(routed, switches[:, :, i, j][:, :, None],
                              dout[:, :, i, j][:, :, None], axis=2)
            dx[:, :, i * S:i * S + HH, j * S:j * S + WW] += routed.reshape(N, C, HH, WW)
    return dx
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_pool_output_size", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_equal(pool_output_size(224, 2, 2), 112, "224 pixels, F=2, S=2")
check_equal(pool_output_size(55, 3, 2), 27, "55 pixels, F=3, S=2 (overlapping)")
check_equal(pool_output_size(4, 4, 1), 1, "a window as large as the input")
check_raises(ValueError, pool_output_size, 7, 2, 2, match="is not an integer",
             what="7 pixels, F=2, S=2")
check_raises(ValueError, pool_output_size, 7, 2, 2, match="3.5", what="7 pixels, F=2, S=2")
check_raises(ValueError, pool_output_size, 3, 4, 1, what="a window larger than the input")
check_raises(ValueError, max_pool_forward_naive, np.ones((1, 1, 7, 7)),
             {"pool_height": 2, "pool_width": 2, "stride": 2}, match="is not an integer",
             what="max pooling 7x7 with F=2, S=2")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_pool_output_size") as rng:
    for _ in range(40):
        W, F, S = int(rng.integers(1, 30)), int(rng.integers(1, 6)), int(rng.integers(1, 5))
        # The labels say what kind of case failed, never its numbers and answer.
        try:
            expected = ref.pool_output_size(W, F, S)
        except ValueError as err:
            match = "is not an integer" if "is not an integer" in str(err) else None
            what = ("a random setting where (W - F)/S + 1 is not an integer" if match
                    else "a random window larger than the input")
            check_raises(ValueError, pool_output_size, W, F, S, match=match, what=what)
        else:
            check_equal(pool_output_size(W, F, S), expected, "a random setting that fits")
    # max_pool_forward_naive rejects windows that do not tile the input, as the reference does.
    for _ in range(8):
        H, W = (int(v) for v in rng.integers(2, 12, size=2))
        HH, WW, S = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(2, 4))
        x = rng.standard_normal((1, 2, H, W))
        p = {"pool_height": HH, "pool_width": WW, "stride": S}
        what = f"max_pool_forward_naive on {x.shape}, {p}"
        try:
            shape = ref.max_pool_forward_naive(x, p)[0].shape
        except ValueError:
            check_raises(ValueError, max_pool_forward_naive, x, p,
                         what="max_pool_forward_naive on a random window that does not fit")
        else:
            check_shape(max_pool_forward_naive(x, p)[0], shape, what)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_max_pool_forward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# The classic picture: one 4x4 depth slice, 2x2 windows, stride 2.
x = np.array([[1, 1, 2, 4],
              [5, 6, 7, 8],
              [3, 2, 1, 0],
              [1, 2, 3, 4]], dtype=np.float64).reshape(1, 1, 4, 4)
pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
out, cache = max_pool_forward_naive(x, pool)
check_close(out, [[[[6.0, 8.0], [3.0, 4.0]]]], "max pooling of the 4x4 example")
check_close(cache["switches"], [[[[3, 3], [0, 3]]]], "switches of the 4x4 example", rtol=0,
            atol=0)
# Ties: the first maximum in row-by-row order wins.
out, cache = max_pool_forward_naive(np.array([[[[0.0, 5.0], [5.0, 1.0]]]]), pool)
check_close(cache["switches"], [[[[1]]]], "switch for a tie between positions 1 and 2", rtol=0,
            atol=0)
# Overlapping windows (F=3, S=2) and a non-square window.
x = np.arange(2 * 3 * 5 * 7, dtype=np.float64).reshape(2, 3, 5, 7)[:, :, ::-1]
out, _ = max_pool_forward_naive(x, {"pool_height": 3, "pool_width": 3, "stride": 2})
check_shape(out, (2, 3, 2, 3), "F=3, S=2 on 5x7")
check_close(out[1, 2, 1, 2], x[1, 2, 2:5, 4:7].max(), "one overlapping window")
out, _ = max_pool_forward_naive(x, {"pool_height": 1, "pool_width": 3, "stride": 2})
check_shape(out, (2, 3, 3, 3), "a 1x3 window, S=2 on 5x7")
# The notes: [224x224x64] -> [112x112x64] with F=2, S=2 (two channels here, to be quick).
x = np.random.default_rng(0).standard_normal((1, 2, 224, 224)).astype(np.float32)
out, _ = max_pool_forward_naive(x, pool)
check_shape(out, (1, 2, 112, 112), "224x224 pooled with F=2, S=2")
check_close(1 - out.size / x.size, 0.75, "fraction of the activations discarded")
check_equal(str(out.dtype), "float32", "max pooling keeps float32")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_max_pool_forward") as rng:
    for k in range(12):
        N, C = (int(v) for v in rng.integers(1, 4, size=2))
        HH, WW = (3, 3) if k < 3 else (int(v) for v in rng.integers(1, 5, size=2))
        S = 2 if k < 3 else int(rng.integers(1, 4))
        H = (int(rng.integers(1, 5)) - 1) * S + HH
        W = (int(rng.integers(1, 5)) - 1) * S + WW
        if k % 2:  # small integers: many ties
            x = rng.integers(0, 3, size=(N, C, H, W)).astype(np.float64)
        else:
            x = rng.standard_normal((N, C, H, W))
        p = {"pool_height": HH, "pool_width": WW, "stride": S}
        out, cache = max_pool_forward_naive(x, p)
        expected, ref_cache = ref.max_pool_forward_naive(x, p)
        label = f"max pooling of {x.shape}, {p}"
        check_close(out, expected, label)
        check_close(cache["switches"], ref_cache[0], f"switches ({label})", rtol=0, atol=0)
### END HIDDEN TESTS

# %% [markdown]
# The backward pass uses only the switches (and the input's shape), not the input
# itself: that is why the switches are worth storing.

# %% nbgrader={"grade": true, "grade_id": "test_max_pool_backward", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# Routing by hand: the 4x4 example, each window's gradient goes to its maximum.
x = np.array([[1, 1, 2, 4],
              [5, 6, 7, 8],
              [3, 2, 1, 0],
              [1, 2, 3, 4]], dtype=np.float64).reshape(1, 1, 4, 4)
pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
_, cache = max_pool_forward_naive(x, pool)
dx = max_pool_backward_naive(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]), cache)
expected = np.zeros((1, 1, 4, 4))
expected[0, 0, 1, 1], expected[0, 0, 1, 3], expected[0, 0, 2, 0], expected[0, 0, 3, 3] = \
    10, 20, 30, 40
check_close(dx, expected, "gradient routed to the maxima of the 4x4 example")
# Overlapping windows that all pick the same input: its gradients add up.
x = np.zeros((1, 1, 3, 3))
x[0, 0, 1, 1] = 9.0
_, cache = max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 1})
dx = max_pool_backward_naive(np.ones((1, 1, 2, 2)), cache)
check_close(dx[0, 0, 1, 1], 4.0, "the centre wins all four overlapping windows")
# Numerical gradient checks (distinct random values: no ties).
rng_visible = np.random.default_rng(1)
for x_shape, p in [((2, 3, 6, 6), {"pool_height": 2, "pool_width": 2, "stride": 2}),
                   ((1, 2, 7, 7), {"pool_height": 3, "pool_width": 3, "stride": 2}),
                   ((1, 2, 4, 6), {"pool_height": 2, "pool_width": 3, "stride": 1})]:
    x = rng_visible.standard_normal(x_shape)
    out, cache = max_pool_forward_naive(x, p)
    check_shape(out, x_shape[:2] + ((x_shape[2] - p["pool_height"]) // p["stride"] + 1,
                                    (x_shape[3] - p["pool_width"]) // p["stride"] + 1),
                f"output, x {x_shape}, {p}")
    dout = rng_visible.standard_normal(out.shape)
    dx_num = eval_numerical_gradient_array(lambda v: max_pool_forward_naive(v, p)[0],
                                           x.copy(), dout)
    check_gradient(dx_num, max_pool_backward_naive(dout, cache), f"dx, x {x_shape}, {p}")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_max_pool_backward") as rng:
    for k in range(12):
        N, C = (int(v) for v in rng.integers(1, 4, size=2))
        HH, WW = (3, 3) if k < 3 else (int(v) for v in rng.integers(1, 5, size=2))
        S = 2 if k < 3 else int(rng.integers(1, 4))
        H = (int(rng.integers(1, 5)) - 1) * S + HH
        W = (int(rng.integers(1, 5)) - 1) * S + WW
        if k % 2:  # small integers: many ties
            x = rng.integers(0, 3, size=(N, C, H, W)).astype(np.float64)
        else:
            x = rng.standard_normal((N, C, H, W))
        p = {"pool_height": HH, "pool_width": WW, "stride": S}
        out, ref_cache = ref.max_pool_forward_naive(x, p)
        dout = rng.standard_normal(out.shape)
        _, cache = max_pool_forward_naive(x, p)
        check_gradients(max_pool_backward_naive(dout, cache),
                        ref.max_pool_backward_naive(dout, ref_cache),
                        f"dx of max pooling, x {x.shape}, {p}")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_max_pool_routing", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (3 points).** Where does max pooling's backward pass send the upstream
# gradient, and why there? For a 224x224x64 volume pooled 2x2 with stride 2, how many
# entries of `dx` can be non-zero, and what fraction is zero? With overlapping pooling
# (3x3 windows, stride 2), from how many windows can one input receive a gradient? What
# does your implementation do with ties?
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_max_pool_routing", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# Each window's gradient `dout[n, c, i, j]` goes entirely to the input that was the
# maximum in the forward pass (its switch), and the other inputs of the window get 0:
# `max` is locally the identity on the winner and does not change when a loser moves a
# little. The switches make this routing a lookup.
#
# With 2x2/2 pooling the 3,211,264 inputs form 802,816 disjoint windows with one winner
# each, so at most 802,816 entries of `dx` are non-zero and at least 75% are zero. With
# 3x3 windows at stride 2 neighbouring windows share a row or a column, so an input on
# an even row and an even column (away from the border) lies in 2 x 2 = 4 windows and
# can win all four: its gradient is then the sum of up to 4 upstream gradients. With
# ties, the first maximum in row-by-row order (`np.argmax`) gets the whole gradient; it
# is not split.
#
# ### BEGIN RUBRIC
# Full (3): routing to the winner only (switches), 802,816 non-zero and 75% zero, up to
# 4 windows whose gradients add up, ties to the first maximum. Counts as
# `convnets.max_pool_backward_naive` gives them on a 224x224x64 volume.
# Partial (1-2): the routing right but the counts or the overlap wrong or missing.
# Zero: the gradient said to go to every input, or spread evenly.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_pool_parameters", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (3 points).** A pooling layer has no parameters, yet the notes say pooling
# reduces the number of parameters in the network. Take VGG-16 (a 224x224x3 input,
# convolutions that keep the size, five 2x2/2 max pools, then a first FC layer with 4096
# neurons). How many weights does that first FC layer have? How many would it have
# without the last pool, and without any pool? What fraction of the activations does
# each 2x2/2 pool discard?
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_pool_parameters", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# With the five pools the last volume is 7x7x512, so the first FC layer has
# 7\*7\*512\*4096 = 102,760,448 weights. Without the last pool it would look at
# 14x14x512 = 100,352 numbers: 411,041,792 weights, four times more. Without any pool it
# would look at 224x224x512 = 25,690,112 numbers: 105,226,698,752 weights (over 10^11),
# impossible to store or train. Each 2x2/2 pool keeps one number out of four, discarding
# 75% of the activations, so every later layer (and the first FC layer above all) has a
# quarter of the input to look at.
#
# ### BEGIN RUBRIC
# Full (3): 102,760,448, 411,041,792 and 105,226,698,752 (about 1.05 x 10^11), and 75%
# discarded per pool (7x7x512 from `convnets.summarize(convnets.zoo.get('vgg16'))`).
# Partial (1-2): the idea (smaller volumes, fewer FC weights) with one or two of the
# counts, or the counts without the 75%.
# Zero: no correct count and no reason.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown]
# ## 3. Average and L2-norm pooling
#
# The notes mention two other pooling functions:
#
# - **average pooling** replaces each window by its mean. Every input of a window then
#   receives `dout / (HH*WW)` of that window's gradient (summed over the windows it
#   belongs to);
# - **L2-norm pooling** replaces each window by `sqrt(sum of squares)`. With `y` the
#   norm of a window, `dy/dx_p = x_p / y`. A window of zeros has no derivative (the
#   norm has a kink there): use 0 for its gradient, and make sure no NaN appears (and
#   preferably no division-by-zero warning either).
#
# Both take the same `pool_param` as max pooling and raise the same `ValueError` for
# windows that do not tile the input. The cache format is up to you.

# %% nbgrader={"grade": false, "grade_id": "answer_avg_l2_pool", "locked": false, "schema_version": 3, "solution": true, "task": false}
def avg_pool_forward(x, pool_param):
    """Average pooling: the mean of each `HH x WW` window, stride S.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        'pool_height', 'pool_width', 'stride'.

    Returns
    -------
    out : ndarray, shape (N, C, H', W'), dtype of x
    cache : anything
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    HH, WW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out, W_out = pool_output_size(H, HH, S), pool_output_size(W, WW, S)
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * S:i * S + HH, j * S:j * S + WW].mean(axis=(2, 3))
    return out, (x.shape, x.dtype, (HH, WW, S))
    ### END SOLUTION


def avg_pool_backward(dout, cache):
    """Backward pass of average pooling.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), dtype of x
    """
    ### BEGIN SOLUTION
    x_shape, dtype, (HH, WW, S) = cache
    dx = np.zeros(x_shape, dtype=dtype)
    share = dout / (HH * WW)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * S:i * S + HH, j * S:j * S + WW] += share[:, :, i, j, None, None]
    return dx
    ### END SOLUTION


def l2_pool_forward(x, pool_param):
    """L2-norm pooling: `sqrt(sum(window ** 2))` for each `HH x WW` window, stride S.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        'pool_height', 'pool_width', 'stride'.

    Returns
    -------
    out : ndarray, shape (N, C, H', W'), dtype of x
    cache : anything
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    HH, WW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out, W_out = pool_output_size(H, HH, S), pool_output_size(W, WW, S)
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * S:i * S + HH, j * S:j * S + WW]
            out[:, :, i, j] = np.sqrt(np.sum(window * window, axis=(2, 3)))
    return out, (x, out, (HH, WW, S))
    ### END SOLUTION


def l2_pool_backward(dout, cache):
    """Backward pass of L2-norm pooling (gradient 0 through an all-zero window).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), dtype of x, never NaN
    """
    ### BEGIN SOLUTION
    x, out, (HH, WW, S) = cache
    # dout / out where the norm is positive, 0 where the window is all zeros
    ratio = np.zeros(out.shape, dtype=np.result_type(dout, out))
    np.divide(dout, out, out=ratio, where=out > 0)
    dx = np.zeros_like(x)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            rows, cols = slice(i * S, i * S + HH), slice(j * S, j * S + WW)
            dx[:, :, rows, cols] += ratio[:, :, i, j, None, None] * x[:, :, rows, cols]
    return dx
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_avg_pool", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
x = np.arange(16.0).reshape(1, 1, 4, 4)
out, _ = avg_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
check_close(out, [[[[2.5, 4.5], [10.5, 12.5]]]], "average pooling of arange(16), F=2, S=2")
out, cache = avg_pool_forward(np.ones((1, 1, 3, 3)), {"pool_height": 2, "pool_width": 2,
                                                       "stride": 1})
dx = avg_pool_backward(np.ones((1, 1, 2, 2)), cache)
check_close(dx[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]],
            "overlapping windows share their gradient")
check_raises(ValueError, avg_pool_forward, np.ones((1, 1, 7, 7)),
             {"pool_height": 2, "pool_width": 2, "stride": 2}, match="is not an integer",
             what="average pooling 7x7 with F=2, S=2")
rng_visible = np.random.default_rng(2)
for x_shape, p in [((2, 3, 6, 6), {"pool_height": 2, "pool_width": 2, "stride": 2}),
                   ((1, 2, 7, 5), {"pool_height": 3, "pool_width": 3, "stride": 2})]:
    x = rng_visible.standard_normal(x_shape)
    out, cache = avg_pool_forward(x, p)
    check_shape(out, x_shape[:2] + ((x_shape[2] - p["pool_height"]) // p["stride"] + 1,
                                    (x_shape[3] - p["pool_width"]) // p["stride"] + 1),
                f"output, x {x_shape}, {p}")
    dout = rng_visible.standard_normal(out.shape)
    dx_num = eval_numerical_gradient_array(lambda v: avg_pool_forward(v, p)[0], x.copy(), dout)
    check_gradient(dx_num, avg_pool_backward(dout, cache), f"dx of average pooling, {p}")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_avg_pool") as rng:
    for k in range(10):
        N, C = (int(v) for v in rng.integers(1, 4, size=2))
        HH, WW = (3, 3) if k < 3 else (int(v) for v in rng.integers(1, 5, size=2))
        S = 2 if k < 3 else int(rng.integers(1, 4))
        H = (int(rng.integers(1, 5)) - 1) * S + HH
        W = (int(rng.integers(1, 5)) - 1) * S + WW
        x = rng.standard_normal((N, C, H, W))
        p = {"pool_height": HH, "pool_width": WW, "stride": S}
        out, cache = avg_pool_forward(x, p)
        expected, ref_cache = ref.avg_pool_forward(x, p)
        check_close(out, expected, f"average pooling of {x.shape}, {p}")
        dout = rng.standard_normal(out.shape)
        check_gradients(avg_pool_backward(dout, cache), ref.avg_pool_backward(dout, ref_cache),
                        f"dx of average pooling, x {x.shape}, {p}")
    # avg_pool_forward rejects windows that do not tile the input, as the reference does.
    for _ in range(8):
        H, W = (int(v) for v in rng.integers(2, 12, size=2))
        HH, WW, S = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(2, 4))
        x = rng.standard_normal((1, 2, H, W))
        p = {"pool_height": HH, "pool_width": WW, "stride": S}
        what = f"avg_pool_forward on {x.shape}, {p}"
        try:
            shape = ref.max_pool_forward_naive(x, p)[0].shape
        except ValueError:
            check_raises(ValueError, avg_pool_forward, x, p,
                         what="avg_pool_forward on a random window that does not fit")
        else:
            check_shape(avg_pool_forward(x, p)[0], shape, what)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_l2_pool", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
x = np.zeros((1, 1, 2, 4))
x[0, 0, :, :2] = [[3.0, 0.0], [0.0, 4.0]]
x[0, 0, :, 2:] = [[1.0, 1.0], [1.0, 1.0]]
out, cache = l2_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
check_close(out, [[[[5.0, 2.0]]]], "L2 pooling of a (3, 4) window and a window of ones")
check_raises(ValueError, l2_pool_forward, np.ones((1, 1, 7, 7)),
             {"pool_height": 2, "pool_width": 2, "stride": 2}, match="is not an integer",
             what="L2 pooling 7x7 with F=2, S=2")
# An all-zero window passes no gradient (and no NaN).
out, cache = l2_pool_forward(np.zeros((1, 1, 2, 2)), {"pool_height": 2, "pool_width": 2,
                                                       "stride": 2})
check_close(l2_pool_backward(np.ones((1, 1, 1, 1)), cache), np.zeros((1, 1, 2, 2)),
            "gradient through an all-zero window")
rng_visible = np.random.default_rng(3)
for x_shape, p in [((2, 3, 6, 6), {"pool_height": 2, "pool_width": 2, "stride": 2}),
                   ((1, 2, 7, 5), {"pool_height": 3, "pool_width": 3, "stride": 2})]:
    x = rng_visible.standard_normal(x_shape)
    out, cache = l2_pool_forward(x, p)
    check_shape(out, x_shape[:2] + ((x_shape[2] - p["pool_height"]) // p["stride"] + 1,
                                    (x_shape[3] - p["pool_width"]) // p["stride"] + 1),
                f"output, x {x_shape}, {p}")
    dout = rng_visible.standard_normal(out.shape)
    dx_num = eval_numerical_gradient_array(lambda v: l2_pool_forward(v, p)[0], x.copy(), dout)
    check_gradient(dx_num, l2_pool_backward(dout, cache), f"dx of L2 pooling, {p}")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_l2_pool") as rng:
    for k in range(10):
        N, C = (int(v) for v in rng.integers(1, 4, size=2))
        HH, WW = (3, 3) if k < 3 else (int(v) for v in rng.integers(1, 5, size=2))
        S = 2 if k < 3 else int(rng.integers(1, 4))
        H = (int(rng.integers(1, 5)) - 1) * S + HH
        W = (int(rng.integers(1, 5)) - 1) * S + WW
        x = rng.standard_normal((N, C, H, W))
        if k == 3:
            x[0, 0, :HH, :WW] = 0.0  # one all-zero window
        p = {"pool_height": HH, "pool_width": WW, "stride": S}
        out, cache = l2_pool_forward(x, p)
        expected, ref_cache = ref.l2_pool_forward(x, p)
        check_close(out, expected, f"L2 pooling of {x.shape}, {p}")
        dout = rng.standard_normal(out.shape)
        check_gradients(l2_pool_backward(dout, cache), ref.l2_pool_backward(dout, ref_cache),
                        f"dx of L2 pooling, x {x.shape}, {p}")
    # l2_pool_forward rejects windows that do not tile the input, as the reference does.
    for _ in range(8):
        H, W = (int(v) for v in rng.integers(2, 12, size=2))
        HH, WW, S = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(2, 4))
        x = rng.standard_normal((1, 2, H, W))
        p = {"pool_height": HH, "pool_width": WW, "stride": S}
        what = f"l2_pool_forward on {x.shape}, {p}"
        try:
            shape = ref.max_pool_forward_naive(x, p)[0].shape
        except ValueError:
            check_raises(ValueError, l2_pool_forward, x, p,
                         what="l2_pool_forward on a random window that does not fit")
        else:
            check_shape(l2_pool_forward(x, p)[0], shape, what)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_pool_backward_compared", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (2 points).** One 2x2 window holds `[[1, 3], [2, 0]]` and its upstream
# gradient is 1. Give the gradient that each of the four inputs receives from max
# pooling, from average pooling and from L2-norm pooling. Which of the three gives every
# input of the window a gradient?
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_pool_backward_compared", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# Max pooling: `[[0, 1], [0, 0]]`, everything to the 3. Average pooling: 1/4 = 0.25 to
# each of the four inputs. L2-norm pooling: the output is `sqrt(1 + 9 + 4 + 0) =
# sqrt(14) = 3.742`, and each input gets `x_p / y`: `[[0.267, 0.802], [0.535, 0]]`, in
# proportion to its value (the zero gets nothing). Only average pooling gives every
# input a gradient; L2 pooling favours the large inputs without ignoring the others; max
# pooling trains only the winner.
#
# ### BEGIN RUBRIC
# Full (2): all three gradients right and average pooling named.
# Partial (1): two of the three gradients right.
# Zero: fewer than two right.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown]
# ## 4. ReLU
#
# `relu_forward` computes `max(0, x)` elementwise (any shape); the gradient passes where
# `x > 0` and is 0 elsewhere, including at `x == 0` exactly (the kink; every library uses
# 0 there).

# %% nbgrader={"grade": false, "grade_id": "answer_relu", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relu_forward(x):
    """ReLU, `max(0, x)` elementwise.

    Returns
    -------
    out : ndarray, same shape and dtype as x
    cache : anything
    """
    ### BEGIN SOLUTION
    return np.maximum(x, 0), x
    ### END SOLUTION


def relu_backward(dout, cache):
    """Backward pass of ReLU: `dout` where `x > 0`, else 0.

    Returns
    -------
    dx : ndarray, shape and dtype of x
    """
    ### BEGIN SOLUTION
    x = cache
    return (dout * (x > 0)).astype(x.dtype, copy=False)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_relu", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])
out, cache = relu_forward(x)
check_close(out, [[0.0, 0.0, 0.0, 0.5, 3.0]], "relu of [-2, -0.5, 0, 0.5, 3]")
check_close(relu_backward(np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]), cache),
            [[0.0, 0.0, 0.0, 4.0, 5.0]], "relu gradient (0 at x == 0)")
x = np.random.default_rng(4).standard_normal((2, 3, 4, 5))
out, cache = relu_forward(x)
check_shape(out, x.shape, "relu of a (2, 3, 4, 5) volume")
dout = np.random.default_rng(5).standard_normal(x.shape)
check_gradient(eval_numerical_gradient_array(lambda v: relu_forward(v)[0], x.copy(), dout),
               relu_backward(dout, cache), "relu dx")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_relu") as rng:
    for ndim in (1, 2, 4):
        x = rng.standard_normal(tuple(int(v) for v in rng.integers(1, 6, size=ndim)))
        x.flat[0] = 0.0
        dout = rng.standard_normal(x.shape)
        out, cache = relu_forward(x)
        check_close(out, ref.relu_forward(x)[0], f"relu of shape {x.shape}")
        check_gradients(relu_backward(dout, cache), ref.relu_backward(dout, ref.relu_forward(x)[1]),
                        f"relu dx of shape {x.shape}")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. The fully-connected (affine) layer
#
# `affine_forward(x, w, b)` flattens each example of `x` (shape `(N, d_1, ..., d_k)`) to a
# row of `D = d_1 * ... * d_k` numbers and computes `x_flat @ w + b` with `w` of shape
# `(D, M)` and `b` of shape `(M,)`: every output neuron sees every input number. The
# backward pass returns `dx` in the original shape of `x`.

# %% nbgrader={"grade": false, "grade_id": "answer_affine", "locked": false, "schema_version": 3, "solution": true, "task": false}
def affine_forward(x, w, b):
    """Fully-connected layer: `x.reshape(N, D) @ w + b`.

    Parameters
    ----------
    x : ndarray, shape (N, d_1, ..., d_k)
    w : ndarray, shape (D, M), D = d_1 * ... * d_k
    b : ndarray, shape (M,)

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : anything
    """
    ### BEGIN SOLUTION
    rows = x.reshape(x.shape[0], -1)
    return rows @ w + b, (x, w, b)
    ### END SOLUTION


def affine_backward(dout, cache):
    """Backward pass of the affine layer.

    Parameters
    ----------
    dout : ndarray, shape (N, M)

    Returns
    -------
    dx : ndarray, shape (N, d_1, ..., d_k)
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    """
    ### BEGIN SOLUTION
    x, w, b = cache
    rows = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = rows.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_affine", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
x = np.arange(6.0).reshape(2, 1, 3)
w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
out, _ = affine_forward(x, w, np.array([10.0, 20.0]))
check_close(out, [[12.0, 19.0], [18.0, 19.0]], "affine layer on two 1x3 examples")
rng_visible = np.random.default_rng(6)
x = rng_visible.standard_normal((3, 2, 2, 3))       # a (2, 2, 3) volume per example: D = 12
w = rng_visible.standard_normal((12, 5))
b = rng_visible.standard_normal(5)
out, cache = affine_forward(x, w, b)
check_shape(out, (3, 5), "affine layer on (3, 2, 2, 3) with 5 outputs")
dout = rng_visible.standard_normal(out.shape)
dx, dw, db = affine_backward(dout, cache)
check_shape(dx, x.shape, "dx keeps the shape of x")
check_gradient(eval_numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x.copy(), dout),
               dx, "affine dx")
check_gradient(eval_numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w.copy(), dout),
               dw, "affine dw")
check_gradient(eval_numerical_gradient_array(lambda v: affine_forward(x, w, v)[0], b.copy(), dout),
               db, "affine db")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_affine") as rng:
    for _ in range(6):
        N, M = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        rest = tuple(int(v) for v in rng.integers(1, 4, size=int(rng.integers(1, 4))))
        D = int(np.prod(rest))
        x = rng.standard_normal((N,) + rest)
        w = rng.standard_normal((D, M))
        b = rng.standard_normal(M)
        out, cache = affine_forward(x, w, b)
        expected, ref_cache = ref.affine_forward(x, w, b)
        check_close(out, expected, f"affine output, x {x.shape}, w {w.shape}")
        dout = rng.standard_normal(out.shape)
        check_gradients(affine_backward(dout, cache), ref.affine_backward(dout, ref_cache),
                        f"affine layer, x {x.shape}, w {w.shape}", names=("dx", "dw", "db"))
### END HIDDEN TESTS

# %% [markdown]
# ## 6. The softmax loss
#
# The last layer produces class scores `x` of shape `(N, C)`; with the correct classes
# `y` (integers in `[0, C)`), the softmax (cross-entropy) loss is
# `-mean over i of log p[i, y[i]]` with `p[i] = exp(x[i]) / sum(exp(x[i]))`, and its
# gradient with respect to the scores is `(p - onehot(y)) / N`.
#
# Compute it stably: subtract each row's largest score first (this does not change `p`)
# so that `exp` never overflows, even for scores in the thousands.

# %% nbgrader={"grade": false, "grade_id": "answer_softmax_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def softmax_loss(x, y):
    """Softmax (cross-entropy) loss, averaged over the examples, and its gradient.

    Parameters
    ----------
    x : ndarray, shape (N, C)
        Class scores.
    y : ndarray of int, shape (N,)
        Correct classes, `0 <= y[i] < C`.

    Returns
    -------
    loss : float
    dx : ndarray, shape (N, C)
    """
    ### BEGIN SOLUTION
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(N), y].mean()
    dx = np.exp(log_p)
    dx[np.arange(N), y] -= 1
    return float(loss), dx / N
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_softmax_loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng_visible = np.random.default_rng(7)
N, C = 50, 10
x = 0.001 * rng_visible.standard_normal((N, C))
y = rng_visible.integers(0, C, size=N)
loss, dx = softmax_loss(x, y)
check_close(loss, np.log(C), "loss of near-zero scores is about log(C)", rtol=1e-2)
check_shape(dx, (N, C), "dx")
x = rng_visible.standard_normal((4, 5))
y = np.array([0, 4, 2, 2])
loss, dx = softmax_loss(x, y)
check_gradient(eval_numerical_gradient(lambda v: softmax_loss(v, y)[0], x.copy()), dx,
               "softmax loss dx")
loss, dx = softmax_loss(np.array([[1000.0, 0.0], [0.0, 1000.0]]), np.array([0, 0]))
check_close(loss, 500.0, "loss for scores of 1000 (no overflow)")
check_equal(bool(np.all(np.isfinite(dx))), True, "dx is finite for scores of 1000")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_softmax_loss") as rng:
    for _ in range(6):
        N, C = int(rng.integers(1, 8)), int(rng.integers(2, 8))
        x = 5 * rng.standard_normal((N, C))
        y = rng.integers(0, C, size=N)
        loss, dx = softmax_loss(x, y)
        ref_loss, ref_dx = ref.softmax_loss(x, y)
        check_close(loss, ref_loss, f"softmax loss, x {x.shape}")
        check_gradients(dx, ref_dx, f"softmax dx, x {x.shape}")
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Spatial batch normalization
#
# Batch normalization standardises each feature over the minibatch, then scales and
# shifts it by learned parameters `gamma` and `beta`. In a conv layer, every pixel of
# every image is a sample of its channel's feature, so **spatial** batch norm takes one
# mean and one variance per channel, over the `N`, `H` and `W` axes:
#
# - train mode: `mu[c]` and `var[c]` (biased, divide by `N*H*W`) from the batch,
#   `x_hat = (x - mu) / sqrt(var + eps)`, `out = gamma[c] * x_hat + beta[c]`, and update
#   the running averages `running = momentum * running + (1 - momentum) * batch_stat`;
# - test mode: the same with the running mean and variance in place of the batch's.
#
# `bn_param` is a dict: `'mode'` (`'train'` or `'test'`, required), `'eps'` (default
# 1e-5), `'momentum'` (default 0.9), `'running_mean'` and `'running_var'` of shape `(C,)`
# (when missing, start them at zeros and ones). Update the running averages in `bn_param`
# itself.
#
# The backward pass in train mode goes through the batch statistics too (every output of
# a channel depends on every input of that channel). With `M = N*H*W` and sums over
# `N, H, W`:
# `dx = inv_std / M * (M * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))`, where
# `dx_hat = dout * gamma` and `inv_std = 1 / sqrt(var + eps)`; in test mode the statistics
# are constants and `dx = dout * gamma * inv_std`.

# %% nbgrader={"grade": false, "grade_id": "answer_spatial_batchnorm", "locked": false, "schema_version": 3, "solution": true, "task": false}
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization with one statistic per channel.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma, beta : ndarray, shape (C,)
    bn_param : dict
        'mode' ('train' or 'test'); optional 'eps' (1e-5), 'momentum' (0.9),
        'running_mean' (zeros) and 'running_var' (ones), both (C,), updated in train mode.

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : anything
    """
    ### BEGIN SOLUTION
    C = x.shape[1]
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(C, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(C, dtype=x.dtype))
    axes = (0, 2, 3)
    if mode == "train":
        mu, var = x.mean(axis=axes), x.var(axis=axes)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        mu, var = running_mean, running_var
    else:
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    per_channel = (1, C, 1, 1)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mu.reshape(per_channel)) * inv_std.reshape(per_channel)
    out = gamma.reshape(per_channel) * x_hat + beta.reshape(per_channel)
    return out, (x_hat, gamma, inv_std, mode)
    ### END SOLUTION


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of spatial batch normalization.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dgamma : ndarray, shape (C,)
    dbeta : ndarray, shape (C,)
    """
    ### BEGIN SOLUTION
    x_hat, gamma, inv_std, mode = cache
    N, C, H, W = x_hat.shape
    per_channel = (1, C, 1, 1)
    axes = (0, 2, 3)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx_hat = dout * gamma.reshape(per_channel)
    if mode == "train":
        M = N * H * W
        dx = (M * dx_hat - dx_hat.sum(axis=axes, keepdims=True)
              - x_hat * (dx_hat * x_hat).sum(axis=axes, keepdims=True))
        dx *= inv_std.reshape(per_channel) / M
    else:
        dx = dx_hat * inv_std.reshape(per_channel)
    return dx, dgamma, dbeta
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_spatial_batchnorm_forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng_visible = np.random.default_rng(8)
x = 4 * rng_visible.standard_normal((5, 3, 4, 6)) + 7
out, _ = spatial_batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"})
check_shape(out, x.shape, "spatial batch norm output")
check_close(out.mean(axis=(0, 2, 3)), np.zeros(3), "per-channel means (gamma=1, beta=0)",
            atol=1e-9)
check_close(out.std(axis=(0, 2, 3)), np.ones(3), "per-channel std (gamma=1, beta=0)", rtol=1e-4)
gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([0.0, -1.0, 5.0])
out, _ = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
check_close(out.mean(axis=(0, 2, 3)), beta, "per-channel means are beta", atol=1e-9)
check_close(out.std(axis=(0, 2, 3)), gamma, "per-channel std are gamma", rtol=1e-4)
# Test mode uses the running statistics given in bn_param.
mean, var = np.array([7.0, 6.0, 5.0]), np.array([16.0, 4.0, 1.0])
bn_param = {"mode": "test", "running_mean": mean.copy(), "running_var": var.copy(), "eps": 0.0}
out, _ = spatial_batchnorm_forward(x, gamma, beta, bn_param)
expected = (gamma[None, :, None, None] * (x - mean[None, :, None, None])
            / np.sqrt(var)[None, :, None, None] + beta[None, :, None, None])
check_close(out, expected, "test mode with the given running statistics")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_spatial_batchnorm_forward") as rng:
    for _ in range(4):
        N, C, H, W = (int(v) for v in rng.integers(1, 5, size=4))
        N += 1
        x = 3 * rng.standard_normal((N, C, H, W)) + rng.standard_normal()
        gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
        out, _ = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
        expected, _ = ref.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
        check_close(out, expected, f"train mode, x {x.shape}", rtol=1e-6, atol=1e-8)
        stats = {"running_mean": rng.standard_normal(C), "running_var": rng.random(C) + 0.5}
        out, _ = spatial_batchnorm_forward(x, gamma, beta, {"mode": "test", **stats})
        expected, _ = ref.spatial_batchnorm_forward(x, gamma, beta, {"mode": "test", **stats})
        check_close(out, expected, f"test mode, x {x.shape}", rtol=1e-6, atol=1e-8)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_spatial_batchnorm_backward", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
rng_visible = np.random.default_rng(9)
x = 2 * rng_visible.standard_normal((2, 3, 4, 5)) + 1
gamma = rng_visible.standard_normal(3)
beta = rng_visible.standard_normal(3)
for mode in ("train", "test"):
    def bn_param():
        return {"mode": mode, "running_mean": np.array([0.5, -0.5, 1.0]),
                "running_var": np.array([2.0, 1.0, 0.5])}

    out, cache = spatial_batchnorm_forward(x, gamma, beta, bn_param())
    check_shape(out, x.shape, f"output ({mode} mode)")
    dout = rng_visible.standard_normal(out.shape)
    dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(
        lambda v: spatial_batchnorm_forward(v, gamma, beta, bn_param())[0], x.copy(), dout)
    dgamma_num = eval_numerical_gradient_array(
        lambda v: spatial_batchnorm_forward(x, v, beta, bn_param())[0], gamma.copy(), dout)
    dbeta_num = eval_numerical_gradient_array(
        lambda v: spatial_batchnorm_forward(x, gamma, v, bn_param())[0], beta.copy(), dout)
    check_gradient(dx_num, dx, f"batch norm dx ({mode} mode)", tol=1e-6)
    check_gradient(dgamma_num, dgamma, f"batch norm dgamma ({mode} mode)")
    check_gradient(dbeta_num, dbeta, f"batch norm dbeta ({mode} mode)")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_spatial_batchnorm_backward") as rng:
    for k in range(6):
        mode = "train" if k % 2 == 0 else "test"
        N, C, H, W = (int(v) for v in rng.integers(1, 5, size=4))
        N += 1
        x = 3 * rng.standard_normal((N, C, H, W)) + rng.standard_normal()
        gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
        stats = {"running_mean": rng.standard_normal(C), "running_var": rng.random(C) + 0.5}
        out, cache = spatial_batchnorm_forward(x, gamma, beta, {"mode": mode, **stats})
        _, ref_cache = ref.spatial_batchnorm_forward(x, gamma, beta, {"mode": mode, **stats})
        dout = rng.standard_normal(out.shape)
        check_gradients(spatial_batchnorm_backward(dout, cache),
                        ref.spatial_batchnorm_backward(dout, ref_cache),
                        f"batch norm, {mode} mode, x {x.shape}", names=("dx", "dgamma", "dbeta"),
                        rtol=1e-6, atol=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# The running averages: after a few training batches, the running mean and variance
# approach the statistics of the data, and test mode then gives (almost) the same
# result as train mode. Not graded; run it to see your update rule at work.

# %% nbgrader={"grade": false, "grade_id": "demo_running_averages", "locked": true, "schema_version": 3, "solution": false, "task": false}
rng_demo = np.random.default_rng(10)
bn_param = {"mode": "train"}
for _ in range(60):
    batch = 2 * rng_demo.standard_normal((8, 3, 4, 4)) + np.array([1.0, -2.0, 5.0])[:, None, None]
    spatial_batchnorm_forward(batch, np.ones(3), np.zeros(3), bn_param)
print("running mean:", bn_param["running_mean"], "(data: 1, -2, 5)")
print("running var: ", bn_param["running_var"], "(data: 4, 4, 4)")

# %% [markdown]
# ## 8. Optional: local response normalization (not graded)
#
# AlexNet normalised each activation by its neighbours across channels at the same
# pixel: with `n` the window size,
# `out[:, c] = x[:, c] / (k + alpha * sum of x[:, c']**2 over c' in window(c)) ** beta`,
# `window(c) = max(0, c - n//2) ... min(C-1, c + (n-1)//2)`. AlexNet used `n = 5`,
# `alpha = 1e-4`, `beta = 0.75`, `k = 2` (alpha is *not* divided by n here, as in the
# paper; PyTorch and Caffe divide it). It has fallen out of use in favour of batch
# normalization. If you want to try: write both passes below; the cell after them
# checks your gradient numerically.

# %% nbgrader={"grade": false, "grade_id": "answer_lrn_optional", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lrn_forward(x, lrn_param):
    """Local response normalization across channels (optional).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    lrn_param : dict
        'size' n; optional 'alpha' (1e-4), 'beta' (0.75), 'k' (2.0).

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : anything
    """
    ### BEGIN SOLUTION
    n = lrn_param["size"]
    alpha, beta, k = (lrn_param.get(key, d) for key, d in
                      (("alpha", 1e-4), ("beta", 0.75), ("k", 2.0)))
    C = x.shape[1]
    squares = x * x
    window_sum = np.zeros_like(x)
    for c in range(C):
        lo, hi = max(0, c - n // 2), min(C - 1, c + (n - 1) // 2)
        window_sum[:, c] = squares[:, lo:hi + 1].sum(axis=1)
    denom = k + alpha * window_sum
    out = x * denom ** -beta
    return out, (x, denom, (n, alpha, beta))
    ### END SOLUTION


def lrn_backward(dout, cache):
    """Backward pass of local response normalization (optional).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    ### BEGIN SOLUTION
    x, denom, (n, alpha, beta) = cache
    C = x.shape[1]
    dx = dout * denom ** -beta
    # each channel c' whose window contains c adds through its denominator
    t = dout * x * denom ** (-beta - 1)
    for c in range(C):
        lo, hi = max(0, c - (n - 1) // 2), min(C - 1, c + n // 2)
        dx[:, c] -= 2 * alpha * beta * x[:, c] * t[:, lo:hi + 1].sum(axis=1)
    return dx
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "demo_lrn_gradient", "locked": true, "schema_version": 3, "solution": false, "task": false}
rng_demo = np.random.default_rng(11)
x = 3 * rng_demo.standard_normal((2, 6, 3, 3))
for lrn_param in ({"size": 5, "alpha": 0.1}, {"size": 4, "alpha": 0.2, "beta": 0.5, "k": 1.0}):
    out, cache = lrn_forward(x, lrn_param)
    dout = rng_demo.standard_normal(out.shape)
    dx_num = eval_numerical_gradient_array(lambda v: lrn_forward(v, lrn_param)[0], x.copy(), dout)
    check_gradient(dx_num, lrn_backward(dout, cache), f"LRN dx, {lrn_param}")

# %% [markdown]
# ## Summary
#
# - Pooling has no parameters: `(W - F)/S + 1` outputs per axis, the depth unchanged,
#   and settings whose windows do not tile the input are rejected.
# - Max pooling's backward pass routes each gradient to the window's winner, remembered
#   as a switch; average pooling spreads it evenly; L2 pooling weights it by `x / norm`.
# - ReLU, the affine layer and the softmax loss complete the notes' layer pattern.
# - Batch norm normalises each channel over the batch and the pixels; its backward pass
#   in train mode accounts for the batch statistics depending on every input.
