"""FC -> CONV conversion: weight reshaping, score maps, crops at stride 32 and 16, timing."""

import numpy as np
import pytest
from convnets import (
    Affine,
    Conv,
    Flatten,
    MaxPool,
    ReLU,
    Sequential,
    assert_close,
    crop_scores,
    dense_scores,
    fc_to_conv,
    summarize,
    time_fc_to_conv,
    zoo,
)

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.fcconv_case_studies]

RNG = np.random.default_rng(2024)
IMAGE = RNG.standard_normal((3, 384, 384))


@pytest.fixture(scope="module")
def vgg():
    """VGG-16 at 1/32 width (2 to 16 channels, 128 hidden units), float64, 10 classes."""
    return zoo.get("vgg16", width=1 / 32, num_classes=10, dtype=np.float64, seed=7)


def valid_vgg_style(seed=0):
    """A VGG-style network whose convs do not pad: five 3x3 conv + 2x2 pool stages
    (total stride 32), then FC -> RELU -> FC -> RELU -> FC. On 224: 222 -> 111 -> 109 ->
    54 -> 52 -> 26 -> 24 -> 12 -> 10 -> 5, so the first FC becomes a 5x5 conv; on 384 the
    last pool gives 10x10 and the map is (10 - 5)/1 + 1 = 6 wide: the same 36 crops."""
    layers = []
    for channels in (2, 4, 4, 8, 8):
        layers += [Conv(channels, 3), ReLU(), MaxPool(2, fit="floor")]
    layers += [Flatten(), Affine(16), ReLU(), Affine(16), ReLU(), Affine(10)]
    return Sequential(layers, (3, 224, 224), dtype=np.float64, seed=seed, name="valid-vgg")


def test_fc_weights_become_f7_and_f1_filters(vgg):
    converted = fc_to_conv(vgg)
    fcs = [layer for layer in vgg if isinstance(layer, Affine)]
    convs = [layer for layer in converted if layer.name in {fc.name for fc in fcs}]
    assert [c.kind for c in convs] == ["CONV7-128", "CONV1-128", "CONV1-10"]
    w = vgg.params["fc1.w"]  # (7*7*16, 128)
    assert w.shape == (7 * 7 * 16, 128)
    assert_close(converted.params["fc1.w"], w.T.reshape(128, 16, 7, 7), rtol=0)
    assert converted.params["fc2.w"].shape == (128, 128, 1, 1)
    for key, value in vgg.params.items():
        if not key.startswith("fc"):
            np.testing.assert_array_equal(converted.params[key], value)
    assert summarize(converted, warn=False).total_params == summarize(vgg).total_params


def test_converted_net_gives_the_same_scores_at_224(vgg):
    x = RNG.standard_normal((2, 3, 224, 224))
    assert_close(fc_to_conv(vgg).forward(x), vgg.forward(x), rtol=1e-10, atol=1e-12)


def test_384_image_gives_a_6x6_map_through_a_12x12_volume(vgg):
    rows = summarize(vgg).rows
    before_fc = rows[[r.name for r in rows].index("FC") - 1]
    assert before_fc.output_shape[1:] == (7, 7)  # 224/2/2/2/2/2 = 7
    assert 224 / 2 / 2 / 2 / 2 / 2 == 7
    converted = fc_to_conv(vgg)
    acts = dict(converted.activations(IMAGE[None]))
    assert acts["pool5"].shape[2:] == (12, 12)  # 384/32
    assert acts["fc1"].shape[1:] == (128, 6, 6)  # (12 - 7)/1 + 1 = 6
    scores = converted.forward(IMAGE[None])
    assert scores.shape == (1, 10, 6, 6)


def test_notes_erratum_padded_convs_see_more_than_the_crop(vgg):
    """With VGG's zero-padded convs the map is NOT the crops' scores: a crop's borders
    meet zeros, the large image real pixels. The conversion itself is exact: on each
    crop alone the converted net gives the original's scores."""
    converted = fc_to_conv(vgg)
    score_map = converted.forward(IMAGE[None])[0]
    for a, b in [(0, 0), (2, 3), (5, 5)]:
        crop = IMAGE[None, :, 32 * a:32 * a + 224, 32 * b:32 * b + 224]
        original = vgg.forward(crop)[0]
        assert_close(converted.forward(crop)[0], original, rtol=1e-10, atol=1e-12)
        assert np.max(np.abs(score_map[:, a, b] - original)) > 1e-3 * np.max(np.abs(original))


def test_unpadded_net_map_equals_the_36_crops_at_stride_32():
    model = valid_vgg_style()
    converted = fc_to_conv(model)
    assert [layer.kind for layer in converted][-5:] == [
        "CONV5-16", "RELU", "CONV1-16", "RELU", "CONV1-10"]
    score_map = converted.forward(IMAGE[None])[0]
    crops = crop_scores(model, IMAGE, stride=32, batch_size=12)
    assert score_map.shape == crops.shape == (10, 6, 6)
    assert_close(score_map, crops, rtol=1e-10, atol=1e-12)


def test_stride_16_needs_four_passes_not_two():
    """The notes: two passes, the second on the image shifted by 16 along both axes.
    That gives 36 + 25 = 61 of the 121 positions of the stride-16 grid; the shifts
    (0, 16) and (16, 0) give the other 60."""
    model = valid_vgg_style(seed=1)
    converted = fc_to_conv(model)
    crops = crop_scores(model, IMAGE, stride=16, batch_size=32)
    assert crops.shape == (10, 11, 11)

    full, filled = dense_scores(converted, IMAGE, stride=16)
    assert filled.all() and filled.size == 121
    assert_close(full, crops, rtol=1e-10, atol=1e-12)

    two, filled2 = dense_scores(converted, IMAGE, stride=16, shifts=[(0, 0), (16, 16)])
    assert filled2.sum() == 61 == 36 + 25
    rows, cols = np.indices(filled2.shape)
    np.testing.assert_array_equal(filled2, rows % 2 == cols % 2)
    assert_close(two[:, filled2], crops[:, filled2], rtol=1e-10, atol=1e-12)
    assert np.all(np.isnan(two[:, ~filled2]))

    one, filled1 = dense_scores(converted, IMAGE, stride=32)
    assert filled1.sum() == 36
    assert_close(one, crops[:, ::2, ::2], rtol=1e-10, atol=1e-12)


def test_global_pooling_net_converts_its_fc_to_1x1():
    model = zoo.get("resnet18", width=1 / 16, num_classes=5, dtype=np.float64,
                    input_shape=(3, 32, 32))
    x = RNG.standard_normal((3, 3, 32, 32))
    model.loss(x, np.array([0, 1, 2]))  # move the BN running statistics away from 0 and 1
    converted = fc_to_conv(model)
    assert converted.layers[-1].kind == "CONV1-5"
    for key, value in model.buffers.items():
        np.testing.assert_array_equal(converted.buffers[key], value)
    assert_close(converted.forward(x), model.forward(x), rtol=1e-10, atol=1e-12)


def test_time_fc_to_conv_reports_both_ways():
    result = time_fc_to_conv(valid_vgg_style(), batch_size=12)
    assert result["image_size"] == 384 and result["window"] == (224, 224)
    assert result["crops"] == 36 and result["map_shape"] == (10, 6, 6)
    assert result["converted_seconds"] > 0 and result["crops_seconds"] > 0
    assert result["speedup"] > 0
    assert result["max_abs_difference"] < 1e-10


def test_errors():
    model = valid_vgg_style()
    converted = fc_to_conv(model)
    with pytest.raises(ValueError, match="must divide the network's total stride 32"):
        dense_scores(converted, IMAGE, stride=12)
    with pytest.raises(ValueError, match="smaller than the window"):
        crop_scores(model, IMAGE[:, :100, :100])
    with pytest.raises(ValueError, match="multiples of 16"):
        dense_scores(converted, IMAGE, stride=16, shifts=[(8, 0)])
    with pytest.raises(TypeError, match="Sequential"):
        fc_to_conv([Affine(3)])
