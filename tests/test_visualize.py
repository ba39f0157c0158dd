"""Filter grids and activation maps: PNG files written, sized and not blank."""

import numpy as np
import pytest
from convnets import ThreeLayerConvNet
from convnets.visualize import filter_grid, show_activations, show_filters


def read_png(path):
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    return image


def distinct_colours(image):
    return np.unique(image[..., :3].reshape(-1, 3), axis=0).shape[0]


def test_filter_grid_rgb_normalizes_each_filter():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 3, 4, 4)) * np.array([1, 10, 100, 0.1, 1])[:, None, None, None]
    grid = filter_grid(w, padding=1)
    assert grid.shape == (2 * 5 - 1, 3 * 5 - 1, 3)  # ceil(sqrt(5)) = 3 columns, 2 rows
    for i in range(5):
        r, c = divmod(i, 3)
        tile = grid[r * 5:r * 5 + 4, c * 5:c * 5 + 4]
        assert tile.min() == 0.0 and tile.max() == 1.0, i  # whatever the filter's scale
        np.testing.assert_allclose(tile, (w[i].transpose(1, 2, 0) - w[i].min())
                                   / (w[i].max() - w[i].min()))
    assert np.all(np.isnan(grid[4, :]))  # the line between rows is "no data"


def test_filter_grid_gray_and_other_depths():
    rng = np.random.default_rng(1)
    gray = filter_grid(rng.standard_normal((4, 1, 3, 3)), padding=0)
    assert gray.shape == (6, 6)
    deep = filter_grid(rng.standard_normal((2, 5, 3, 3)), padding=1)
    assert deep.shape == (2 * 4 - 1, 5 * 4 - 1)  # one row of 5 channel tiles per filter
    constant = filter_grid(np.zeros((1, 1, 2, 2)))
    assert np.all(constant == 0.5)  # a constant filter is mid gray, not a division by zero
    with pytest.raises(ValueError, match="w must be 4-D"):
        filter_grid(np.zeros((3, 3, 3)))


@pytest.mark.parametrize("channels", [3, 1])
def test_show_filters_writes_a_png(tmp_path, channels):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((16, channels, 5, 5))
    path = tmp_path / "sub" / f"filters{channels}.png"
    fig = show_filters(w, path)
    image = read_png(path)
    assert image.shape[0] >= 300 and image.shape[1] >= 300
    assert distinct_colours(image) > 20
    assert fig.axes[0].get_title() == f"16 filters, 5x5x{channels}"
    if channels == 3:  # colour filters give coloured pixels
        rgb = image[..., :3]
        assert np.any(np.abs(rgb[..., 0] - rgb[..., 1]) > 0.1)


@pytest.mark.parametrize("input_dim", [(3, 16, 16), (1, 8, 8)])
def test_show_activations_one_row_per_layer(tmp_path, input_dim):
    rng = np.random.default_rng(3)
    model = ThreeLayerConvNet(input_dim=input_dim, num_filters=6, filter_size=3, hidden_dim=20,
                              weight_scale=0.5, seed=0)
    x = rng.standard_normal(input_dim)
    path = tmp_path / "acts.png"
    fig = show_activations(model, x, path, max_maps=4, class_names=list("abcdefghij"))
    image = read_png(path)
    assert image.shape[0] >= 7 * 100  # input + six layers, about an inch each
    assert distinct_colours(image) > 50
    labels = [ax.get_ylabel().split("\n")[0] for ax in fig.axes if ax.get_ylabel()]
    assert labels == ["input", "conv1", "relu1", "pool1", "fc2", "relu2", "fc3"]
    # four depth slices per volume: conv1, relu1, pool1 (the input is one picture,
    # in colour or in grey)
    assert sum(ax.get_title().startswith("d=") for ax in fig.axes) == 3 * 4
    bars = fig.axes[-1]
    assert [t.get_text() for t in bars.get_xticklabels()] == list("abcdefghij")


def test_show_activations_bad_input():
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=2, filter_size=3, seed=0)
    with pytest.raises(ValueError, match="x must be one image"):
        show_activations(model, np.zeros((2, 1, 8, 8)))
    with pytest.raises(TypeError, match="activations"):
        show_activations(object(), np.zeros((1, 8, 8)))
