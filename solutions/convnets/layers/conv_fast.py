"""The convolutional layer, fast: one matrix multiply (im2col + GEMM) instead of loops.

The same layer as :mod:`convnets.layers.conv_naive` (slow but straightforward, the
one to read first), with identical signatures and results, computed as the notes'
"implementation as matrix multiplication": stretch every receptive field into a
column (:func:`~convnets.layers.im2col.im2col`) and compute all dot products with
one BLAS matrix multiply, ``W_row (F, C*HH*WW) @ X_col (C*HH*WW, N*H'*W')``. The
backward pass is two more matrix multiplies and ``col2im``, the adjoint of
``im2col``. For stride 1 the same products are organised so that ``X_col`` never
exists in full (:mod:`convnets.layers.conv_strategies`); speed is measured by
``python -m convnets.bench``.

Every way of computing the layer is also a named strategy, a public pair with the naive
layer's signature, and ``conv_forward_fast(..., method=name)`` forces one:

================  ==========================================  ==============================
``method``        pair                                        applies to
================  ==========================================  ==============================
``'im2col'``      ``conv_forward_im2col`` / ``..._backward``  every layer
``'im2col-grid'`` ``conv_forward_im2col_grid`` / ...          stride 1
``'shifted-gemm'`` ``conv_forward_shifted_gemm`` / ...        stride 1, float32/float64
``'winograd'``    ``conv_forward_winograd`` / ...             3x3, stride 1, dilation 1
``'winograd4'``   ``conv_forward_winograd4`` / ...            3x3, stride 1, dilation 1
``'fft'``         ``conv_forward_fft`` / ...                  every layer (pays off for
                                                              large filters at stride 1)
``'fft-tiled'``   ``conv_forward_fft_tiled`` / ...            every layer (pays off for
                                                              large filters at stride 1
                                                              on small batches)
================  ==========================================  ==============================

``method='auto'`` (the default) runs, per layer, the strategy that the cost model of
:mod:`convnets.layers.conv_cost` predicts fastest, from this machine's measured GEMM,
copy and FFT throughput (measured once, kept in the user's cache directory), among the
strategies that apply to the layer and keep the dtype's accuracy (in float32 and
float16 not Winograd F(4x4, 3x3), whose float32 error bound is 1e-4); on a near-tie
with im2col (within 20%) im2col (:func:`~convnets.layers.conv_cost.preferred`).
``cache['method']`` records which ran, ``cache['auto_predicted']`` the predicted
seconds of every candidate (None when the strategy was named).

Shapes and conventions are those of :mod:`convnets.layers.conv_naive`: ``x (N, C, H, W)``,
``w (F, C, HH, WW)``, ``b (F,)``, ``out (N, F, H', W')``, cross-correlation,
``dilation=1`` contiguous.
"""

from __future__ import annotations

import os

import numpy as np

from ..checks import check_dout
from ..shapes import conv_output_shape
from .conv_cost import ConvCostModel, choose_conv_method, conv_cost_model
from .conv_fft import conv_backward_fft, conv_forward_fft
from .conv_fft_tiled import conv_backward_fft_tiled, conv_forward_fft_tiled
from .conv_strategies import (
    CONV_STRATEGIES,
    check_conv_method,
    conv_strategy_applies,
    im2col_backward,
    im2col_forward,
    im2col_grid_backward,
    im2col_grid_forward,
    pointwise_applies,
    pointwise_backward,
    pointwise_forward,
    shifted_gemm_backward,
    shifted_gemm_forward,
)
from .conv_winograd import (
    conv_backward_winograd,
    conv_backward_winograd4,
    conv_forward_winograd,
    conv_forward_winograd4,
)
from .im2col import check_conv_layer

__all__ = ["CONV_STRATEGIES", "conv_forward_fast", "conv_backward_fast",
           "conv_forward_im2col", "conv_backward_im2col",
           "conv_forward_im2col_grid", "conv_backward_im2col_grid",
           "conv_forward_shifted_gemm", "conv_backward_shifted_gemm",
           "conv_strategy_applies", "run_conv_strategy", "machine_cost_model", "auto_method"]

# The named strategies, in the order of the table in the module docstring.


# Set to a strategy's name, this makes ``method='auto'`` run that strategy wherever it
# applies (else 'im2col'), without asking the cost model: for runs that must not depend
# on the machine's calibration or pay for it (the grader's reference computations).
FIXED_METHOD_ENV = "CONVNETS_CONV_METHOD"


def auto_method(x_shape, w_shape, conv_param, dtype, cost_model=None):
    """``(strategy, predicted seconds per candidate or None)`` that
    ``conv_forward_fast(..., method='auto')`` runs on a layer: the one
    :data:`FIXED_METHOD_ENV` names when set; else 'im2col' when this machine's
    calibration was disturbed (and no ``cost_model`` is given); else the cost model's
    fastest candidate. Benchmarks report with it what auto ran."""
    fixed = _fixed_method(w_shape, conv_param, dtype)
    if fixed:
        return fixed, None
    model = machine_cost_model() if cost_model is None else cost_model
    if cost_model is None and model.disturbed:
        # This machine's calibration was disturbed by other work: its figures may rank
        # the strategies wrongly (once 1.4-3.8x slower than the best), so run the notes'
        # im2col, which is never far off, until a quiet calibration.
        return "im2col", None
    return choose_conv_method(x_shape, w_shape, conv_param, dtype, model,
                              applies=conv_strategy_applies)


def _fixed_method(w_shape, conv_param, dtype) -> str | None:
    """The strategy :data:`FIXED_METHOD_ENV` asks for this layer, or None when unset."""
    fixed = os.environ.get(FIXED_METHOD_ENV, "")
    if not fixed:
        return None
    if fixed not in CONV_STRATEGIES:
        raise ValueError(f"the environment variable {FIXED_METHOD_ENV} must be one of "
                         f"{', '.join(map(repr, CONV_STRATEGIES))} or empty, got {fixed!r}")
    return "im2col" if conv_strategy_applies(fixed, w_shape, conv_param, dtype) else fixed


def conv_forward_fast(x, w, b, conv_param, method="auto", *, block_columns=None,
                      cost_model=None):
    """Forward pass of a convolutional layer as matrix multiplies (im2col + GEMM).

    Fast: the receptive fields are stretched into the columns of
    ``X_col = im2col(x)`` of shape (C*HH*WW, N*H'*W'), the filters into the rows of
    ``W_row = w.reshape(F, C*HH*WW)``, and ``W_row @ X_col`` (one BLAS GEMM, F x
    N*H'*W' dot products of length C*HH*WW) gives every output at once. Costs memory:
    ``X_col`` has C*HH*WW*N*H'*W' entries, about HH*WW/S**2 times the input (the
    stride-1 paths below avoid holding it). Same contract and results as the slow
    but straightforward :func:`conv_forward_naive`.

    The GEMM strategies below, Winograd (:func:`conv_forward_winograd`,
    :func:`conv_forward_winograd4`) and the FFT (:func:`conv_forward_fft`, whole
    planes; :func:`conv_forward_fft_tiled`, tile by tile) give the
    same results; ``method='auto'`` runs the one the machine's cost model predicts
    fastest (see the module docstring; ``cache['method']`` records which ran):

    * ``'im2col'`` (any stride): ``X_col`` is copied from a strided view of the
      padded input (see :func:`im2col`) and kept for the backward pass, with a last
      row of ones: then ``[W_row | b] @ X_col`` is the output, bias included (the
      bias trick of linear classifiers). The product is taken image by image, on
      each image's block of columns in place, so that it writes the output in NCHW
      order with no transpose and no separate bias pass. A 1x1 layer at stride 1
      without padding needs no copy at all: each image's (C, H*W) block of the input
      is its block of ``X_col`` (:func:`~convnets.layers.conv_strategies.pointwise_applies`).
    * ``'im2col-grid'`` (stride 1): outputs are computed at the
      positions of the zero-padded grid, each image flattened to ``Hp*Wp`` numbers
      per channel. There, tap ``(kh, kw)`` of every receptive field is the same row
      shifted by ``kh*D*Wp + kw*D``, so each row of ``X_col`` is a run of contiguous
      slices; ``X_col`` is built and multiplied in blocks of columns that stay in
      cache, never in full. Per image, the positions from the first output to the
      last one are computed (``H'`` rows of ``Wp``, less the last row's tail), the
      ``Wp - W'`` extra ones per row dropped: ``Wp/W'`` times the work of the real
      outputs.
    * ``'shifted-gemm'`` (stride 1, float32/float64): the same grid
      stored channels last, ``(N*Hp*Wp, C)``; then the shifted slice for one tap is
      a contiguous ``(positions, C)`` matrix, and the output is the sum over the
      ``HH*WW`` taps of ``slice @ w[:, :, kh, kw].T``: one GEMM per tap, with no copy
      at all, accumulated by BLAS itself (``beta = 1``, through
      ``scipy.linalg.blas``) block by block in cache.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch; any strides (transposed or sliced views are fine).
    w : ndarray, shape (F, C, HH, WW)
        Filters.
    b : ndarray, shape (F,)
        Biases.
    conv_param : dict
        ``'stride'`` S, ``'pad'`` P and optionally ``'dilation'`` D (default 1 =
        contiguous; the notes' "dilation 1" is ``D = 2``).
    method : str, default 'auto'
        ``'auto'`` chooses by the cost model as above (or runs the strategy named
        by the environment variable ``CONVNETS_CONV_METHOD`` where it applies, else
        'im2col', when that is set: :data:`FIXED_METHOD_ENV`); a name of
        :data:`CONV_STRATEGIES` forces that strategy (``'winograd'``:
        :func:`conv_forward_winograd`, ``'winograd4'``:
        :func:`conv_forward_winograd4`, ``'fft'``: :func:`conv_forward_fft`,
        ``'fft-tiled'``: :func:`conv_forward_fft_tiled`).
    block_columns : int, keyword-only, optional
        Columns per cached block of 'im2col-grid' and 'shifted-gemm' (forward and
        backward); default: as many as fit in
        :data:`convnets.layers.conv_strategies.BLOCK_BYTES`. Results do not depend on
        it; tests pass a small count to exercise many partial blocks.
    cost_model : ConvCostModel, keyword-only, optional
        The model ``'auto'`` asks (default: this machine's,
        :func:`~convnets.layers.conv_cost.conv_cost_model`); ignored for a named
        strategy.

    Returns
    -------
    out : ndarray, shape (N, F, H', W')
        ``H' = 1 + (H + 2P - (D*(HH-1) + 1)) / S``, likewise ``W'``. Contiguous;
        dtype is NumPy's promotion of ``x`` and ``w`` (float32 stays float32).
    cache : dict
        ``'method'`` (above), ``'x_shape'``, the input dtypes ``'x_dtype'``,
        ``'w_dtype'``, ``'b_dtype'``, ``'w'`` (in the computation dtype),
        ``'stride'``, ``'pad'``, ``'dilation'``, and the input as the backward pass
        needs it: ``'x_cols'`` (C*HH*WW + 1, N, H'*W') for 'im2col' (``'x_images'``,
        the input as (N, C, H*W), on the 1x1 layers it multiplies in place), ``'x_grid'`` the
        padded input (C, N, Hp*Wp) for 'im2col-grid' or (N*Hp*Wp, C) for
        'shifted-gemm', ``'block_columns'``, and ``'auto_predicted'``: the predicted
        seconds of each candidate when ``auto`` chose, else None. Winograd's and the
        FFT's caches are described in their modules.

    Raises
    ------
    ValueError, TypeError
        Exactly as :func:`conv_forward_naive`; and ValueError naming ``method`` when
        it is not a strategy's name, or its strategy does not apply to the layer, or
        naming ``block_columns`` when it is not a positive integer.
    """
    check_conv_method(method, auto=True)
    if block_columns is not None and (isinstance(block_columns, bool) or not isinstance(
            block_columns, (int, np.integer)) or block_columns < 1):
        raise ValueError(f"block_columns must be a positive integer or None, "
                         f"got {block_columns!r}")
    x, w, b, S, P, D, H_out, W_out = check_conv_layer(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    dtype = np.result_type(x.dtype, w.dtype)
    predicted = None
    if method == "auto":
        method, predicted = auto_method(x.shape, w.shape, {"stride": S, "pad": P,
                                                           "dilation": D}, dtype, cost_model)
    else:
        broken = conv_strategy_applies(method, w.shape, {"stride": S, "dilation": D}, dtype)
        if broken:
            raise ValueError(f"method={method!r} does not apply to this layer "
                             f"(w shape {w.shape}, stride {S}, pad {P}, dilation {D}, "
                             f"dtype {np.dtype(dtype).name}): {broken}")
    if method in _OTHER_FORWARDS:
        out, cache = _OTHER_FORWARDS[method](x, w, b, conv_param)
        cache["auto_predicted"] = predicted
        return out, cache
    w = np.ascontiguousarray(w, dtype=dtype)
    cache = {"method": method, "x_shape": x.shape, "x_dtype": x.dtype, "w_dtype": w.dtype,
             "b_dtype": b.dtype, "w": w, "stride": S, "pad": P, "dilation": D,
             "block_columns": block_columns, "auto_predicted": predicted}
    if method == "im2col" and pointwise_applies(w.shape, S, P, H_out, W_out):
        out, cache["x_images"] = pointwise_forward(x, w, b.astype(dtype))
        return out, cache
    if method == "im2col":
        out, cache["x_cols"] = im2col_forward(x, w, b.astype(dtype), S, P, D, H_out, W_out)
        return out, cache
    if method == "shifted-gemm":
        out_nhwc, cache["x_grid"] = shifted_gemm_forward(x, w, P, D, H_out, W_out,
                                                         block_columns)
        out_nchw = out_nhwc.transpose(0, 3, 1, 2)
    else:
        out_fnhw, cache["x_grid"] = im2col_grid_forward(x, w, P, D, H_out, W_out,
                                                        block_columns)
        out_nchw = out_fnhw.transpose(1, 0, 2, 3)

    out = np.empty((N, F, H_out, W_out), dtype=dtype)
    np.add(out_nchw, b.astype(dtype)[:, None, None], out=out)
    return out, cache


def conv_backward_fast(dout, cache, *, compute_dx=True):
    """Backward pass of a convolutional layer as matrix multiplies (GEMM + col2im).

    Runs the backward pass of the strategy that ran forward (``cache['method']``).
    Fast: with ``dout_row = dout`` reshaped to (F, N*H'*W'),

    * ``dw = dout_row @ X_col.T`` (one GEMM, computed as ``(X_col @ dout_row.T).T``),
      reshaped to (F, C, HH, WW);
    * ``dx = col2im(W_row.T @ dout_row)`` (one GEMM, then :func:`col2im` adds each
      column back onto the pixels it was copied from);
    * ``db = dout.sum(axis=(0, 2, 3))``.

    For 'im2col' ``db`` is the last row of the dw product (its ``X_col`` has a row of
    ones), and in float64 dX_col is added back with one ``np.add.at`` instead of a
    slice-add per tap (see :func:`~convnets.layers.conv_strategies.col2im_by_scatter`).
    At stride 1, when F is not much larger than C, 'im2col' computes dx as the notes'
    convolution of ``dout`` with the spatially flipped filters instead, by its own
    im2col and GEMM (:func:`~convnets.layers.conv_strategies.dx_by_convolution`): no
    col2im at all.

    The stride-1 paths compute the same products on the padded grid without a full
    ``X_col`` (see :func:`conv_forward_fast`): 'im2col-grid' rebuilds the blocks of
    ``X_col`` for dw and adds each tap's rows of ``W_row.T @ dout`` back at its
    shift; 'shifted-gemm' computes dw from blocks of the channels-last ``X_col``
    rebuilt in cache, and dx as the notes' "convolution with spatially flipped
    filters": ``dout``, zero-padded on the grid, correlated with ``w`` flipped in both
    spatial axes and with F and C swapped, again one accumulated GEMM per tap.

    Same contract and results as the slow but straightforward
    :func:`conv_backward_naive`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Upstream gradient, any strides.
    cache : dict
        From :func:`conv_forward_fast`.
    compute_dx : bool, keyword-only, default True
        False skips the gradient with respect to the input (``dx`` is then None). The
        first layer of a network needs only ``dw`` and ``db``: its input is the data,
        which nothing updates, and ``dx`` costs about as much as ``dw`` (PyTorch
        likewise skips it unless the input requires a gradient).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None when ``compute_dx`` is False
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
        Contiguous, each in the dtype of ``x``, ``w`` and ``b`` respectively.

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of the forward output.
    """
    if cache["method"] in _OTHER_BACKWARDS:
        return _OTHER_BACKWARDS[cache["method"]](dout, cache, compute_dx=compute_dx)
    N, C, H, W = cache["x_shape"]
    w = cache["w"]
    S, P, D = cache["stride"], cache["pad"], cache["dilation"]
    F, _, HH, WW = w.shape
    H_out, W_out = conv_output_shape(H, W, HH, WW, S, P, D)
    dout = check_dout(dout, (N, F, H_out, W_out), "conv", same_ndim=True)
    dtype = w.dtype
    dout = dout.astype(dtype, copy=False)
    Hp, Wp = H + 2 * P, W + 2 * P
    if cache["method"] == "im2col" and "x_images" in cache:
        dx_nchw, dw, db = pointwise_backward(dout, cache["x_images"], w, compute_dx)
    elif cache["method"] == "im2col":
        dx_nchw, dw, db = im2col_backward(dout, cache["x_cols"], w, (N, C, H, W), S, P, D,
                                          compute_dx)
    elif cache["method"] == "shifted-gemm":
        dx_grid, dw = shifted_gemm_backward(dout, cache["x_grid"], w, Hp, Wp, D, compute_dx,
                                            cache["block_columns"])
        if compute_dx:
            dx_nchw = (dx_grid.reshape(N, Hp, Wp, C)[:, P:P + H, P:P + W, :]
                       .transpose(0, 3, 1, 2))
    else:
        dx_grid, dw_row = im2col_grid_backward(dout, cache["x_grid"], w, Wp, D,
                                               compute_dx, cache["block_columns"])
        dw = dw_row.reshape(F, C, HH, WW)
        if compute_dx:
            dx_nchw = (dx_grid.reshape(C, N, Hp, Wp)[:, :, P:P + H, P:P + W]
                       .transpose(1, 0, 2, 3))
    if cache["method"] != "im2col":    # im2col's db is a row of its dw product
        db = dout.sum(axis=(0, 2, 3))

    dx = np.ascontiguousarray(dx_nchw, dtype=cache["x_dtype"]) if compute_dx else None
    return (dx, np.ascontiguousarray(dw, dtype=cache["w_dtype"]),
            db.astype(cache["b_dtype"], copy=False))


def run_conv_strategy(method, x, w, b, conv_param) -> None:
    """Forward and backward (with ``dx``, ``dout = out``) of strategy ``method``: what
    the cost model's calibration times."""
    out, cache = conv_forward_fast(x, w, b, conv_param, method=method)
    conv_backward_fast(out, cache)


def machine_cost_model() -> ConvCostModel:
    """This machine's cost model, the one ``method='auto'`` asks: measured once
    (calibrated with :func:`run_conv_strategy`) and stored, see
    :func:`~convnets.layers.conv_cost.conv_cost_model`."""
    return conv_cost_model(run_conv_strategy)


# The strategies with a module of their own.
_OTHER_FORWARDS = {"winograd": conv_forward_winograd, "winograd4": conv_forward_winograd4,
                   "fft": conv_forward_fft, "fft-tiled": conv_forward_fft_tiled}
_OTHER_BACKWARDS = {"winograd": conv_backward_winograd, "winograd4": conv_backward_winograd4,
                    "fft": conv_backward_fft, "fft-tiled": conv_backward_fft_tiled}


# --- the named strategies: the naive layer's signature, one strategy each -------------

def _backward_of(method, dout, cache, compute_dx):
    if cache.get("method") != method:
        raise ValueError(f"cache['method'] must be {method!r} (a cache of "
                         f"conv_forward_{method.replace('-', '_')}), got {cache.get('method')!r}")
    return conv_backward_fast(dout, cache, compute_dx=compute_dx)


def conv_forward_im2col(x, w, b, conv_param):
    """Strategy 'im2col' of :func:`conv_forward_fast`, for every layer: the full
    ``X_col`` and its GEMMs; same contract, error bound of the plain
    GEMM (float32 within 1e-5 of the largest float64 value, tested)."""
    return conv_forward_fast(x, w, b, conv_param, method="im2col")


def conv_backward_im2col(dout, cache, *, compute_dx=True):
    """Backward of :func:`conv_forward_im2col` (see :func:`conv_backward_fast`)."""
    return _backward_of("im2col", dout, cache, compute_dx)


def conv_forward_im2col_grid(x, w, b, conv_param):
    """Strategy 'im2col-grid' of :func:`conv_forward_fast`, stride 1: ``X_col`` of
    the padded grid in cached blocks; same contract, float32 within 1e-5 of the
    largest float64 value (tested). ValueError naming ``method`` at stride > 1."""
    return conv_forward_fast(x, w, b, conv_param, method="im2col-grid")


def conv_backward_im2col_grid(dout, cache, *, compute_dx=True):
    """Backward of :func:`conv_forward_im2col_grid` (see :func:`conv_backward_fast`)."""
    return _backward_of("im2col-grid", dout, cache, compute_dx)


def conv_forward_shifted_gemm(x, w, b, conv_param):
    """Strategy 'shifted-gemm' of :func:`conv_forward_fast`, stride 1, float32 or
    float64: one accumulated GEMM per filter tap on a channels-last grid; same
    contract, float32 within 1e-5 of the largest float64 value (tested). ValueError
    naming ``method`` at stride > 1 or another dtype."""
    return conv_forward_fast(x, w, b, conv_param, method="shifted-gemm")


def conv_backward_shifted_gemm(dout, cache, *, compute_dx=True):
    """Backward of :func:`conv_forward_shifted_gemm` (see :func:`conv_backward_fast`)."""
    return _backward_of("shifted-gemm", dout, cache, compute_dx)
