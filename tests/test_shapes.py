"""shapes.py: the output-size formulas and the input checks every layer shares."""

from __future__ import annotations

import numpy as np
import pytest
from convnets.shapes import (
    check_array,
    check_conv_inputs,
    check_conv_param,
    check_int,
    check_key,
    check_pool_param,
    conv_output_size,
    effective_filter_size,
    pool_output_size,
)

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.conv_naive, pytest.mark.pooling_layers, pytest.mark.architectures]

# --------------------------------------------------------------------------------------
# conv_output_size
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("W, F, S, P, expected", [
    (7, 3, 1, 0, 5),          # the notes: 7x7 input, 3x3 filter, stride 1 -> 5x5
    (7, 3, 2, 0, 3),          #            ... stride 2 -> 3x3
    (5, 3, 1, 1, 5),          # the 1-D example, stride 1
    (5, 3, 2, 1, 3),          #                  stride 2
    (227, 11, 4, 0, 55),      # AlexNet
    (11, 5, 2, 0, 4),         # the numpy example
    (5, 3, 2, 1, 3),          # the conv demo
    (32, 5, 1, 2, 32),        # 'same' padding
    (1, 1, 1, 0, 1),
    (3, 3, 5, 0, 1),          # a single position fits for any stride
])
def test_conv_output_size_examples(W, F, S, P, expected):
    assert conv_output_size(W, F, S, P) == expected == (W - F + 2 * P) // S + 1


@pytest.mark.parametrize("F", [1, 3, 5, 7, 9])
def test_same_padding(F):
    for W in (F, 10, 17, 32):
        assert conv_output_size(W, F, S=1, P=(F - 1) // 2) == W


@pytest.mark.parametrize("W, F, S, P, text", [
    (10, 3, 2, 0, "(W - F + 2P)/S + 1 = (10 - 3 + 0)/2 + 1 = 4.5 is not an integer"),
    (224, 11, 4, 0, "(224 - 11 + 0)/4 + 1 = 54.25 is not an integer"),
    (5, 3, 3, 1, "(5 - 3 + 2)/3 + 1 = 2.333 is not an integer"),
])
def test_conv_output_size_not_an_integer(W, F, S, P, text):
    with pytest.raises(ValueError) as info:
        conv_output_size(W, F, S, P)
    assert text in str(info.value)
    assert "width" in str(info.value)


def test_conv_output_size_names_the_axis():
    with pytest.raises(ValueError, match="along the height"):
        conv_output_size(10, 3, 2, 0, axis="height")


def test_conv_output_size_filter_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"filter larger than the padded input along the "
                                         r"width: F = 7 > W \+ 2P = 4 \+ 2\*1 = 6"):
        conv_output_size(4, 7, 1, 1)
    assert conv_output_size(4, 6, 1, 1) == 1      # exactly as large: one position


@pytest.mark.parametrize("F, D, expected", [(3, 1, 3), (3, 2, 5), (3, 3, 7), (1, 5, 1),
                                            (2, 4, 5)])
def test_effective_filter_size(F, D, expected):
    assert effective_filter_size(F, D) == expected


def test_conv_output_size_with_dilation():
    # A 3-tap filter with dilation 2 spans 5 pixels.
    assert conv_output_size(5, 3, 1, 0, dilation=2) == 1
    assert conv_output_size(9, 3, 2, 1, dilation=2) == 4
    with pytest.raises(ValueError, match=r"F is the dilated filter size 2\*\(3-1\)\+1"):
        conv_output_size(4, 3, 1, 0, dilation=2)
    with pytest.raises(ValueError, match=r"\(10 - 5 \+ 0\)/2 \+ 1 = 3.5 is not an integer "
                                         r"\(F is the dilated"):
        conv_output_size(10, 3, 2, 0, dilation=2)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"S": 0}, ValueError, r"stride must be >= 1, got stride = 0"),
    ({"P": -1}, ValueError, r"pad must be >= 0, got pad = -1"),
    ({"dilation": 0}, ValueError, r"dilation must be >= 1, got dilation = 0"),
    ({"S": 1.5}, TypeError, r"stride must be an integer, got 1.5"),
    ({"P": "1"}, TypeError, r"pad must be an integer, got '1'"),
])
def test_conv_output_size_bad_hyperparameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        conv_output_size(10, 3, **kwargs)


# --------------------------------------------------------------------------------------
# pool_output_size
# --------------------------------------------------------------------------------------

def test_pool_output_size():
    assert pool_output_size(224, 2, 2) == 112
    assert pool_output_size(55, 3, 2) == 27        # F=3, S=2 overlapping (AlexNet)
    assert pool_output_size(4, 4, 1) == 1
    with pytest.raises(ValueError, match=r"\(7 - 2\)/2 \+ 1 = 3.5 is not an integer"):
        pool_output_size(7, 2, 2)
    with pytest.raises(ValueError, match=r"pooling window larger than the input along the "
                                         r"width: F = 5 > W = 4"):
        pool_output_size(4, 5, 1)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        pool_output_size(4, 2, 0)


# --------------------------------------------------------------------------------------
# The shared checks
# --------------------------------------------------------------------------------------

def test_check_int():
    assert check_int(3, "n") == 3
    assert check_int(np.int64(3), "n") == 3 and type(check_int(np.int64(3), "n")) is int
    assert check_int(2.0, "n") == 2                 # a whole float is accepted
    with pytest.raises(TypeError, match="n must be an integer, got True"):
        check_int(True, "n")
    with pytest.raises(TypeError, match="n must be an integer, got 2.5"):
        check_int(2.5, "n")
    with pytest.raises(TypeError, match="n must be an integer, got None"):
        check_int(None, "n")
    with pytest.raises(ValueError, match="n must be >= 1, got n = 0"):
        check_int(0, "n", minimum=1)


def test_check_array():
    a = check_array([[1, 2], [3, 4]], "a", 2)
    assert isinstance(a, np.ndarray) and a.dtype == np.float64      # ints -> float64
    f32 = np.zeros((2, 2), np.float32)
    assert check_array(f32, "a").dtype == np.float32                 # float32 kept
    view = np.zeros((4, 6))[::2, ::3]
    assert check_array(view, "a", 2) is view                          # no copy of views
    with pytest.raises(ValueError, match=r"a must be 3-D \(N, H, W\), got shape \(2, 2\) "
                                         r"\(2-D\)"):
        check_array(f32, "a", 3, "(N, H, W)")
    with pytest.raises(TypeError, match="a must hold numbers, got dtype <U1"):
        check_array(np.array(["x"]), "a")
    with pytest.raises(TypeError, match="a must hold numbers, got dtype object"):
        check_array(np.array([None]), "a")
    with pytest.raises(TypeError, match="a must be real, got dtype complex128"):
        check_array(np.zeros(2, complex), "a")
    with pytest.raises(TypeError, match="a must be an array, got list"):
        check_array([[1, 2], [3]], "a")                               # ragged


def test_check_key():
    assert check_key({"stride": 2}, "stride", "conv_param") == 2
    assert check_key({}, "dilation", "conv_param", default=1) == 1
    with pytest.raises(ValueError, match=r"conv_param is missing the key 'pad' \(got keys "
                                         r"\['stride'\]\)"):
        check_key({"stride": 1}, "pad", "conv_param")
    with pytest.raises(TypeError, match="conv_param must be a dict, got list"):
        check_key([1, 0], "stride", "conv_param")


def test_check_conv_param():
    assert check_conv_param({"stride": 2, "pad": 1}) == (2, 1, 1)      # dilation defaults to 1
    assert check_conv_param({"stride": 1, "pad": 0, "dilation": 3}) == (1, 0, 3)
    with pytest.raises(ValueError, match=r"conv_param\['dilation'\] must be >= 1"):
        check_conv_param({"stride": 1, "pad": 0, "dilation": 0})
    with pytest.raises(ValueError, match="missing the key 'pad'"):
        check_conv_param({"stride": 1})
    with pytest.raises(TypeError, match="conv_param must be a dict"):
        check_conv_param(None)


def test_check_pool_param():
    assert check_pool_param({"pool_height": 2, "pool_width": 3, "stride": 2}) == (2, 3, 2)
    with pytest.raises(ValueError, match=r"pool_param\['pool_width'\] must be >= 1"):
        check_pool_param({"pool_height": 2, "pool_width": 0, "stride": 2})
    with pytest.raises(ValueError, match="missing the key 'stride'"):
        check_pool_param({"pool_height": 2, "pool_width": 2})


def test_check_conv_inputs():
    x, w, b = np.zeros((2, 3, 5, 5)), np.zeros((4, 3, 3, 3)), np.zeros(4)
    x2, w2, b2 = check_conv_inputs(x, w, b)
    assert (x2.shape, w2.shape, b2.shape) == (x.shape, w.shape, b.shape)
    with pytest.raises(ValueError, match=r"channel mismatch: x has C = 3 channels \(shape "
                                         r"\(2, 3, 5, 5\)\) but the filters w expect C = 2"):
        check_conv_inputs(x, np.zeros((4, 2, 3, 3)), b)
    with pytest.raises(ValueError, match=r"bias length mismatch: b has 3 entries but there "
                                         r"are F = 4 filters"):
        check_conv_inputs(x, w, np.zeros(3))
    with pytest.raises(ValueError, match=r"w must be 4-D \(F, C, HH, WW\)"):
        check_conv_inputs(x, np.zeros((4, 3, 3)), b)
