"""Affine (fully-connected) layer and ReLU: hand cases, gradient checks, dtypes, errors."""

import numpy as np
import pytest
from convnets.gradcheck import assert_close, check_layer_gradients
from convnets.layers import affine
from convnets.layers.affine import affine_backward, affine_forward
from convnets.layers.relu import relu_backward, relu_forward

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.pooling_layers]


def test_affine_hand_example():
    x = np.array([[1.0, 2.0], [0.0, -1.0]])
    w = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])
    b = np.array([0.5, 0.0, 1.0])
    out, cache = affine_forward(x, w, b)
    # Row 0: [1*1 + 2*0, 1*0 + 2*1, 1*2 + 2*(-1)] + b = [1.5, 2, 1]
    # Row 1: [0, -1, 1] + b = [0.5, -1, 2]
    assert out.tolist() == [[1.5, 2.0, 1.0], [0.5, -1.0, 2.0]]
    dx, dw, db = affine_backward(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), cache)
    assert dx.tolist() == [[1.0, 0.0], [2.0, -1.0]]  # rows of w picked by dout
    assert dw.tolist() == [[1.0, 0.0, 0.0], [2.0, 0.0, -1.0]]
    assert db.tolist() == [1.0, 0.0, 1.0]


def test_affine_flattens_each_example_row_major():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 4, 5))  # e.g. an (N, C, H, W) volume, D = 40
    w = rng.standard_normal((40, 6))
    b = rng.standard_normal(6)
    out, _ = affine_forward(x, w, b)
    expected = np.array([[sum(x[n].ravel()[d] * w[d, m] for d in range(40)) + b[m]
                          for m in range(6)] for n in range(3)])
    assert_close(out, expected, rtol=1e-12, what="affine on an (N, C, H, W) input")


@pytest.mark.parametrize("N", [1, 2, 3])
@pytest.mark.parametrize("x_dtype, w_dtype", [(np.float32, np.float32),
                                               (np.float32, np.float64)])
def test_affine_small_batch_through_large_weights_equals_one_product(x_dtype, w_dtype, N):
    # A small batch through 4.4 MB (or more) of weights: one or two examples take a
    # vector-matrix product each, three the products per block of rows of w (the last
    # block partial); one example's dw is an outer product. Same values and dtypes as
    # one product.
    rng = np.random.default_rng(8)
    x = rng.standard_normal((N, 11, 10, 10)).astype(x_dtype)             # D = 1100
    w = rng.standard_normal((1100, 1000)).astype(w_dtype)
    b = rng.standard_normal(1000).astype(np.float32)
    assert w.nbytes >= affine.STREAM_MIN_BYTES and 3 <= affine.STREAM_BATCH
    assert (N <= affine.VECTOR_BATCH) == (N < 3)
    blocks = affine._row_blocks(N, w)
    assert len(blocks) > 2 and 1100 % (blocks[0].stop - blocks[0].start) != 0
    out, cache = affine_forward(x, w, b)
    x64, w64 = x.reshape(N, -1).astype(np.float64), w.astype(np.float64)
    assert out.dtype == np.result_type(x, w, b) and out.shape == (N, 1000)
    assert_close(out, x64 @ w64 + b, rtol=1e-4, atol=1e-3, what=f"forward, batch {N}")
    dout = rng.standard_normal((N, 1000)).astype(x_dtype)
    dx, dw, db = affine_backward(dout, cache)
    assert (dx.shape, dx.dtype, dw.dtype) == (x.shape, x.dtype, w.dtype)
    assert dx.flags.c_contiguous and dw.shape == w.shape
    assert_close(dx.reshape(N, -1), dout.astype(np.float64) @ w64.T, rtol=1e-4, atol=1e-3,
                 what=f"dx, batch {N}")
    assert_close(dw, x64.T @ dout, rtol=1e-4, atol=1e-4, what=f"dw, batch {N}")
    # Weights given as a transposed view (not row-contiguous) take the single product.
    assert affine._row_blocks(N, np.asfortranarray(w)) is None
    out_t, _ = affine_forward(x, np.asfortranarray(w), b)
    assert_close(out_t, out, rtol=1e-5, atol=1e-4, what="forward with a column-major w")


def test_affine_one_example_dw_is_the_outer_product_exactly():
    # dw of a single example is computed as an elementwise product (faster than the
    # matrix product with an inner dimension of 1): each entry is one product, exactly.
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((1, 3, 4)), rng.standard_normal((12, 5)), np.zeros(5)
    _, cache = affine_forward(x, w, b)
    dout = rng.standard_normal((1, 5))
    dx, dw, db = affine_backward(dout, cache)
    assert np.array_equal(dw, np.outer(x.ravel(), dout[0]))
    assert_close(dx, (dout @ w.T).reshape(x.shape), rtol=1e-12, what="dx of one example")


@pytest.mark.parametrize("x_shape", [(4, 5), (3, 2, 3), (2, 3, 2, 2)])
def test_affine_numerical_gradient(x_shape):
    rng = np.random.default_rng(1)
    D = int(np.prod(x_shape[1:]))
    inputs = {"x": rng.standard_normal(x_shape), "w": rng.standard_normal((D, 4)),
              "b": rng.standard_normal(4)}
    errors = check_layer_gradients(affine_forward, affine_backward, inputs)
    assert errors["worst"] < 1e-7, errors
    _, cache = affine_forward(*inputs.values())
    dx, dw, db = affine_backward(np.ones((x_shape[0], 4)), cache)
    assert dx.shape == x_shape and dw.shape == (D, 4) and db.shape == (4,)


def test_relu_hand_example():
    x = np.array([[-2.0, -0.0, 0.0, 0.5, 3.0]])
    out, cache = relu_forward(x)
    assert out.tolist() == [[0.0, 0.0, 0.0, 0.5, 3.0]]
    dx = relu_backward(np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]), cache)
    assert dx.tolist() == [[0.0, 0.0, 0.0, 4.0, 5.0]]  # subgradient 0 at x == 0


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2, 2)])
def test_relu_numerical_gradient(shape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    x[np.abs(x) < 1e-3] = 0.5  # stay away from the kink at 0
    errors = check_layer_gradients(relu_forward, relu_backward, {"x": x})
    assert errors["worst"] < 1e-7, errors


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_blocks_non_finite_gradients_exactly(dtype):
    """Where x <= 0 the gradient is exactly 0, even for an infinite or NaN dout (a
    mask multiply would give inf * 0 = NaN); where x > 0 it passes as it is."""
    x = np.array([-1.0, -1.0, 0.0, 2.0, 2.0, 3.0], dtype=dtype)
    dout = np.array([np.inf, np.nan, -np.inf, np.inf, np.nan, 1.0], dtype=dtype)
    dx = relu_backward(dout, relu_forward(x)[1])
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dx, [0.0, 0.0, 0.0, np.inf, np.nan, 1.0])


def test_relu_backward_is_the_mask_on_a_large_random_volume():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 8, 32, 32)).astype(np.float32)
    dout = rng.standard_normal(x.shape).astype(np.float32)
    np.testing.assert_array_equal(relu_backward(dout, relu_forward(x)[1]),
                                  np.where(x > 0, dout, 0))


def test_relu_does_not_modify_its_input():
    x = np.array([-1.0, 2.0])
    relu_forward(x)
    assert x.tolist() == [-1.0, 2.0]


def test_float32_in_float32_out():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 2)).astype(np.float32)
    w = rng.standard_normal((6, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    out, cache = affine_forward(x, w, b)
    assert out.dtype == np.float32
    grads = affine_backward(np.ones((2, 4)), cache)  # float64 dout
    assert [g.dtype for g in grads] == [np.float32] * 3
    out, cache = relu_forward(x)
    assert out.dtype == np.float32
    assert relu_backward(np.ones(x.shape), cache).dtype == np.float32


def test_affine_size_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"x of shape \(2, 3, 4\) flattens to \(N, D\) = "
                                         r"\(2, 12\) but w has shape \(10, 5\), which "
                                         r"expects D = 10"):
        affine_forward(np.zeros((2, 3, 4)), np.zeros((10, 5)), np.zeros(5))


def test_affine_bias_length_mismatch():
    with pytest.raises(ValueError, match=r"b has 4 entries but w of shape \(12, 5\) has "
                                         r"M = 5 outputs"):
        affine_forward(np.zeros((2, 12)), np.zeros((12, 5)), np.zeros(4))


@pytest.mark.parametrize("x, w, b, message", [
    (np.zeros(12), np.zeros((12, 5)), np.zeros(5), r"x must be \(N, d_1, \.\.\., d_k\) with "
                                                   r"at least 2 dimensions, got shape \(12,\)"),
    (np.zeros((2, 12)), np.zeros((12, 5, 1)), np.zeros(5), r"w must be 2-D \(D, M\), got "
                                                            r"shape \(12, 5, 1\)"),
    (np.zeros((2, 12)), np.zeros((12, 5)), np.zeros((1, 5)), r"b must be 1-D \(M,\), got "
                                                              r"shape \(1, 5\)"),
])
def test_affine_bad_shapes(x, w, b, message):
    with pytest.raises(ValueError, match=message):
        affine_forward(x, w, b)


def test_bad_dout_shapes():
    _, cache = affine_forward(np.zeros((2, 3)), np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"dout has shape \(2, 5\) but the output of the "
                                         r"affine layer had shape \(2, 4\)"):
        affine_backward(np.zeros((2, 5)), cache)
    _, cache = relu_forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"dout has shape \(3, 2\) but the output of ReLU had "
                                         r"shape \(2, 3\)"):
        relu_backward(np.zeros((3, 2)), cache)


def test_non_numeric_input_raises_type_error():
    with pytest.raises(TypeError, match="x must hold numbers"):
        relu_forward(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="w must hold numbers"):
        affine_forward(np.zeros((1, 2)), np.array([["a"], ["b"]]), np.zeros(1))
