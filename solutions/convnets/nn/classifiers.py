"""A small complete ConvNet to train: CS231n's three-layer convolutional network.

    INPUT -> CONV -> RELU -> POOL -> FC -> RELU -> FC -> softmax

written with the course's layers (``conv_forward_fast``, ``max_pool_forward_fast``,
``affine_forward``, ``relu_forward``, ``softmax_loss`` and their backward passes).
It has the model interface :class:`convnets.Solver` trains: ``params``,
``loss(X, y=None)`` and ``activations(x)``.
"""

from __future__ import annotations

import numpy as np

from ..checks import check_array, check_int
from ..layers.affine import affine_backward, affine_forward
from ..layers.conv_fast import conv_backward_fast, conv_forward_fast
from ..layers.losses import softmax_loss
from ..layers.pooling import max_pool_backward_fast, max_pool_forward_fast
from ..layers.relu import relu_backward, relu_forward
from ..shapes import conv_output_shape, pool_output_shape

__all__ = ["ThreeLayerConvNet"]


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    The convolution has stride 1 and zero-padding ``(filter_size - 1) // 2``, so with
    an odd filter size it keeps the spatial size; the pool then halves it. (When
    training, the first ReLU is applied after the pool, which gives exactly the same
    numbers for a quarter of the work: max pooling and ReLU commute; and the backward
    pass stops at the first layer's weights: the gradient with respect to the images
    is never needed, so ``conv_backward_fast(..., compute_dx=False)`` skips it.)

    Shapes, for an input batch ``X`` of shape (N, C, H, W), ``F = num_filters``,
    ``HH = filter_size``, ``H1 x W1`` the conv output size and ``Hp = H1 // 2``,
    ``Wp = W1 // 2``::

        W1 (F, C, HH, HH)       b1 (F,)             conv: (N, F, H1, W1)
                                                    pool: (N, F, Hp, Wp)
        W2 (F*Hp*Wp, hidden)    b2 (hidden,)        fc2:  (N, hidden)
        W3 (hidden, classes)    b3 (classes,)       fc3:  (N, classes) = scores

    Parameters
    ----------
    input_dim : tuple (C, H, W)
        Size of one input image.
    num_filters : int
        Filters in the convolutional layer.
    filter_size : int
        Width and height of the filters.
    hidden_dim : int
        Units in the hidden fully-connected layer.
    num_classes : int
        Scores produced by the last layer.
    weight_scale : float
        Standard deviation of the normal distribution the weights are drawn from;
        biases start at zero.
    reg : float
        L2 regularization strength: the loss adds ``0.5 * reg * sum(W**2)`` over W1, W2
        and W3 (not the biases).
    dtype : floating dtype
        Dtype of the parameters and of the computation (float64 for gradient checks).
    seed : int or None
        Seed of the weight initialization (not in CS231n's signature; None draws fresh
        random weights).

    Attributes
    ----------
    params : dict
        ``'W1', 'b1', 'W2', 'b2', 'W3', 'b3'``.
    reg : float
    dtype : numpy.dtype

    Raises
    ------
    ValueError
        If the input size does not fit the layers (e.g. an odd conv output size, which
        the 2x2 pool with stride 2 cannot tile), naming the layer and the formula.
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32, seed=None):
        if len(tuple(input_dim)) != 3:
            raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
        C, H, W = (check_int(v, f"input_dim[{i}]", minimum=1) for i, v in enumerate(input_dim))
        F = check_int(num_filters, "num_filters", minimum=1)
        HH = check_int(filter_size, "filter_size", minimum=1)
        hidden_dim = check_int(hidden_dim, "hidden_dim", minimum=1)
        num_classes = check_int(num_classes, "num_classes", minimum=1)
        self.dtype = np.dtype(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise TypeError(f"dtype must be a floating-point type, got {self.dtype}")
        if weight_scale < 0 or reg < 0:
            raise ValueError(f"weight_scale and reg must be >= 0, got weight_scale = "
                             f"{weight_scale}, reg = {reg}")
        self.reg = float(reg)
        self.input_dim = (C, H, W)
        self.conv_param = {"stride": 1, "pad": (HH - 1) // 2}
        self.pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}

        P = self.conv_param["pad"]
        try:
            H1, W1 = conv_output_shape(H, W, HH, HH, 1, P)
            Hp, Wp = pool_output_shape(H1, W1, 2, 2, 2)
        except ValueError as err:
            raise ValueError(f"ThreeLayerConvNet with input_dim {self.input_dim} and "
                             f"filter_size {HH} (pad {P}): the conv output is "
                             f"{H + 2 * P - HH + 1}x{W + 2 * P - HH + 1} and the 2x2 pool "
                             f"with stride 2 needs even sizes: {err}") from err
        self.layer_shapes = {"conv1": (F, H1, W1), "pool1": (F, Hp, Wp)}

        rng = np.random.default_rng(seed)

        def normal(*shape):
            return (weight_scale * rng.standard_normal(shape)).astype(self.dtype)

        self.params = {
            "W1": normal(F, C, HH, HH), "b1": np.zeros(F, dtype=self.dtype),
            "W2": normal(F * Hp * Wp, hidden_dim), "b2": np.zeros(hidden_dim, dtype=self.dtype),
            "W3": normal(hidden_dim, num_classes), "b3": np.zeros(num_classes, dtype=self.dtype),
        }

    def _check_input(self, X) -> np.ndarray:
        X = check_array(X, "X", 4, "(N, C, H, W)")
        if X.shape[1:] != self.input_dim:
            raise ValueError(f"X must be (N, C, H, W) = (N, {', '.join(map(str, self.input_dim))}) "
                             f"for this network (input_dim {self.input_dim}), got shape "
                             f"{X.shape}")
        return X.astype(self.dtype, copy=False)

    def _forward(self, X):
        """Scores and the caches of the training path.

        Max pooling commutes with ReLU (``max(relu(a), relu(b)) == relu(max(a, b))``:
        ReLU never changes the order of two numbers), so the training path pools first
        and applies the first ReLU to the pooled volume, a quarter of the size. The
        scores, the loss and every gradient are exactly those of conv - relu - pool;
        :meth:`activations` computes the layers in the architecture's order.
        """
        p = self.params
        conv, conv_cache = conv_forward_fast(X, p["W1"], p["b1"], self.conv_param)
        pool, pool_cache = max_pool_forward_fast(conv, self.pool_param)
        relu1, relu1_cache = relu_forward(pool)
        fc2, fc2_cache = affine_forward(relu1, p["W2"], p["b2"])
        relu2, relu2_cache = relu_forward(fc2)
        scores, fc3_cache = affine_forward(relu2, p["W3"], p["b3"])
        return scores, (conv_cache, pool_cache, relu1_cache, fc2_cache, relu2_cache,
                        fc3_cache)

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients.

        Parameters
        ----------
        X : ndarray, shape (N, C, H, W)
            Input images (cast to the model's dtype).
        y : ndarray of int, shape (N,), or None
            Labels in ``0 .. num_classes - 1``.

        Returns
        -------
        scores : ndarray, shape (N, num_classes)
            When ``y`` is None.
        (loss, grads) : (float, dict)
            Otherwise: the softmax loss averaged over the batch plus
            ``0.5 * reg * (sum(W1**2) + sum(W2**2) + sum(W3**2))``, and the gradient
            of that loss for every entry of ``params`` (same keys, shapes and dtype).
        """
        X = self._check_input(X)
        scores, caches = self._forward(X)
        if y is None:
            return scores
        conv_cache, pool_cache, relu1_cache, fc2_cache, relu2_cache, fc3_cache = caches
        p, reg = self.params, self.reg

        data_loss, dscores = softmax_loss(scores, y)
        reg_loss = 0.0
        if reg:
            reg_loss = 0.5 * reg * sum(float(np.sum(p[k].astype(np.float64) ** 2))
                                       for k in ("W1", "W2", "W3"))
        grads = {}
        drelu2, grads["W3"], grads["b3"] = affine_backward(dscores, fc3_cache)
        dfc2 = relu_backward(drelu2, relu2_cache)
        drelu1, grads["W2"], grads["b2"] = affine_backward(dfc2, fc2_cache)
        dpool = relu_backward(drelu1, relu1_cache)
        dconv = max_pool_backward_fast(dpool, pool_cache)
        # The input is the data: nothing needs its gradient, so skip that half of the work.
        _, grads["W1"], grads["b1"] = conv_backward_fast(dconv, conv_cache, compute_dx=False)
        if reg:
            for k in ("W1", "W2", "W3"):
                grads[k] = grads[k] + self.dtype.type(reg) * p[k]
        grads = {k: grads[k].astype(self.dtype, copy=False) for k in p}
        return float(data_loss) + reg_loss, grads

    def activations(self, x):
        """The output of every layer for a batch, in order.

        Parameters
        ----------
        x : ndarray, shape (N, C, H, W) or (C, H, W)
            A batch, or a single image (treated as a batch of one).

        Returns
        -------
        list of (str, ndarray)
            ``[('conv1', (N, F, H1, W1)), ('relu1', ...), ('pool1', (N, F, Hp, Wp)),
            ('fc2', (N, hidden)), ('relu2', (N, hidden)), ('fc3', (N, classes))]``.
        """
        x = np.asarray(x)
        if x.ndim == 3:
            x = x[None]
        X = self._check_input(x)
        p = self.params
        conv, _ = conv_forward_fast(X, p["W1"], p["b1"], self.conv_param)
        relu1, _ = relu_forward(conv)
        pool, _ = max_pool_forward_fast(relu1, self.pool_param)
        fc2, _ = affine_forward(pool, p["W2"], p["b2"])
        relu2, _ = relu_forward(fc2)
        scores, _ = affine_forward(relu2, p["W3"], p["b3"])
        return [("conv1", conv), ("relu1", relu1), ("pool1", pool), ("fc2", fc2),
                ("relu2", relu2), ("fc3", scores)]

    def __repr__(self) -> str:
        F, C, HH, _ = self.params["W1"].shape
        return (f"ThreeLayerConvNet(input_dim={self.input_dim}, num_filters={F}, "
                f"filter_size={HH}, hidden_dim={self.params['W2'].shape[1]}, "
                f"num_classes={self.params['W3'].shape[1]}, reg={self.reg}, "
                f"dtype={self.dtype.name})")
