"""The ConvNet playground driven from Python: buttons pressed with ``.click()``, values set,
definitions typed; what the network and the displayed figures do is asserted.

The widget's worker thread does the work; ``wait_idle`` waits until it has applied every
command and redrawn the views. The figures are PNG and SVG bytes: PNGs are decoded with
Pillow, SVGs parsed with ElementTree (their marks carry ``class`` attributes).
"""

from __future__ import annotations

import datetime
import io
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

pytest.importorskip("ipywidgets", reason="the playground needs the 'course' extra")
pytest.importorskip("sklearn", reason="the digits need the 'course' extra")

from convnets.playground import (  # noqa: E402
    DEFAULT_DEFINITION,
    PRETRAINED_DIGITS,
    LiveTrainer,
    Playground,
    StepFailed,
    build_network,
    read_definition,
    resolve_data,
    timed_loss,
)
from convnets.playground.canvas import canvas_grid, drawing_to_input  # noqa: E402
from convnets.playground.render import (  # noqa: E402
    confusion_chart,
    line_chart,
    png_bytes,
    prediction_grid,
    tile_maps,
)

SVG = "{http://www.w3.org/2000/svg}"
# 8x8 -> conv 3x3 without padding -> 6x6 -> pool -> 3x3 -> pool 2 stride 2: 1.5
BROKEN = """INPUT
CONV filters=8 size=3 stride=1 pad=0
RELU
POOL size=2 stride=2
POOL size=2 stride=2
FC"""
TWO_CONVS = "INPUT -> [CONV -> RELU -> POOL]*2 -> FC\nfilters = 4, 8"


@pytest.fixture(scope="module")
def digits():
    return resolve_data("digits")


@pytest.fixture
def playground(digits):
    pg = Playground(data=digits, figure_interval=0.05, picture_interval=0.1)
    assert pg.wait_idle(30)
    yield pg
    pg.close()


def svg(image) -> ET.Element:
    assert image.format == "svg+xml"
    return ET.fromstring(bytes(image.value).decode())


def png(image):
    from PIL import Image
    data = bytes(image.value)
    assert image.format == "png" and data.startswith(b"\x89PNG")
    return np.asarray(Image.open(io.BytesIO(data)))


def marks(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(SVG + tag) if cls in e.get("class", "").split()]


# ------------------------------------------------------------------- the definition

def test_the_default_definition_is_the_notes_small_convnet():
    d = build_network(DEFAULT_DEFINITION, (1, 8, 8), 10)
    assert [row.name for row in d.summary.rows] == ["INPUT", "CONV3-8", "RELU", "POOL2", "FC"]
    assert [row.output_shape for row in d.summary.rows][-2:] == [(8, 4, 4), (10, 1, 1)]
    assert d.summary.total_params == 8 * 9 + 8 + 8 * 4 * 4 * 10 + 10
    assert not d.model.allocated  # checked from the shapes alone


def test_the_notes_pattern_notation_is_accepted_with_options():
    d = build_network(TWO_CONVS, (1, 8, 8), 10)
    kinds = [row.name for row in d.summary.rows]
    assert kinds == ["INPUT", "CONV3-4", "RELU", "POOL2", "CONV3-8", "RELU", "POOL2", "FC"]
    one_line = build_network("INPUT -> CONV filters=4 size=5 pad=2 -> RELU -> POOL -> FC",
                             (1, 8, 8), 10)
    assert one_line.summary.rows[1].name == "CONV5-4"


def test_a_layer_that_does_not_fit_raises_the_cores_sizing_error_with_its_numbers():
    with pytest.raises(ValueError) as err:
        build_network(BROKEN, (1, 8, 8), 10)
    message = str(err.value)
    assert "layer 'pool2' (POOL2) on input 3x3x8" in message
    assert "(3 - 2)/2 + 1 = 1.5 is not an integer" in message


@pytest.mark.parametrize("text, expected", [
    ("CONV filters=8 sze=3\nFC", "line 1 ('CONV filters=8 sze=3'): CONV has no hyperparameter "
                                 "'sze'; it takes filters, size, stride, pad, dilation"),
    ("CONV filters=8\nRELUU\nFC", "line 2 ('RELUU'): unknown layer kind 'RELUU'"),
    ("CONV filters=0\nFC", "line 1 ('CONV filters=0'): filters must be >= 1, got filters = 0"),
    ("CONV filters=8\nRELU", "the last layer must be FC"),
    ("CONV filters=8\nFC units=7", "units must be the number of classes 10, got units = 7"),
    ("FC\nFC", "a hidden FC layer needs its number of units"),
    ("# nothing", "the definition has no layers"),
    ("INPUT -> [CONV -> RELU\n", "'[' at position 9 is never closed"),
])
def test_syntax_mistakes_name_the_line_and_the_rule(text, expected):
    with pytest.raises(ValueError, match=None) as err:
        build_network(text, (1, 8, 8), 10)
    assert expected in str(err.value)


# ------------------------------------------------------------------- the engine

NORMALIZED = """INPUT
CONV filters=6 size=3 pad=1
BN
RELU
LRN size=3
L2POOL size=2
FC"""


def test_normalization_and_l2_pooling_layers_are_kinds_of_their_own(digits):
    from convnets.nn.layers import LRN, L2Pool, SpatialBatchNorm
    checked = build_network(NORMALIZED, (1, 8, 8), 10, seed=1)
    kinds = [type(layer) for layer in checked.model.layers]
    assert SpatialBatchNorm in kinds and LRN in kinds and L2Pool in kinds
    assert checked.model.layers[kinds.index(LRN)].lrn_param["size"] == 3
    # BN learns one scale and one shift per channel of the CONV before it
    assert checked.summary.total_params == (6 * 9 + 6) + 2 * 6 + (6 * 4 * 4 * 10 + 10)
    # it trains: the timed step is the model's own loss, gradients of every parameter
    trainer = LiveTrainer(checked.model, digits, learning_rate=0.05, batch_size=16)
    first = trainer.step()
    for _ in range(20):
        last = trainer.step()
    assert np.isfinite(last) and last < first
    # looking inside with one example leaves the running statistics as training left them
    before = {k: v.copy() for k, v in checked.model.buffers.items()}
    assert before and any(np.any(v != 0) for k, v in before.items() if "mean" in k)
    outputs, grads, p = trainer.inspect(digits["X_val"][0], int(digits["y_val"][0]))
    assert len(outputs) == len(grads) == len(checked.model.layers) and p.sum() == \
        pytest.approx(1.0)
    for key, value in checked.model.buffers.items():
        np.testing.assert_array_equal(value, before[key])
    with pytest.raises(ValueError, match=r"LRN has no hyperparameter 'alpha'"):
        build_network("INPUT\nCONV\nLRN alpha=2\nFC", (1, 8, 8), 10)
    with pytest.raises(ValueError, match=r"BN takes no hyperparameters"):
        build_network("INPUT\nCONV\nBN 3\nFC", (1, 8, 8), 10)


def test_the_timed_step_computes_exactly_what_model_loss_computes(digits):
    model = build_network(TWO_CONVS, (1, 8, 8), 10, seed=3).model
    model.reg = 1e-2
    X, y = digits["X_train"][:16], digits["y_train"][:16]
    forward, backward = [], []
    loss, grads, _, _ = timed_loss(model, X, y, forward, backward)
    ref_loss, ref_grads = model.loss(X, y)
    assert loss == pytest.approx(float(ref_loss), rel=1e-6)
    assert set(grads) == set(ref_grads)
    for key in grads:
        np.testing.assert_allclose(grads[key], ref_grads[key], rtol=1e-5, atol=1e-7)
    assert len(forward) == len(backward) == len(model.layers)
    assert all(t >= 0 for t in forward + backward)


def test_a_nan_loss_stops_with_the_last_good_weights_and_update_state(digits):
    model = build_network(DEFAULT_DEFINITION, (1, 8, 8), 10).model
    trainer = LiveTrainer(model, digits, learning_rate=0.01)
    trainer.step()
    trainer.step()
    good = {k: v.copy() for k, v in model.params.items()}
    trainer.learning_rate = 1e12  # the next update blows the weights up
    with pytest.raises(StepFailed, match="last step whose loss was finite"):
        for _ in range(20):
            trainer.step()
    assert all(np.isfinite(v).all() for v in model.params.values())
    # the weights are those of the last step whose loss was finite: not far from `good`
    # (the update with the huge rate that followed it was undone)
    seen = trainer.examples_seen
    trainer.learning_rate = 0.01
    trainer.step()  # training goes on from there
    assert trainer.examples_seen == seen + trainer.batch_size
    assert set(good) == set(model.params)


def test_an_exception_in_a_step_changes_nothing(digits):
    model = build_network(DEFAULT_DEFINITION, (1, 8, 8), 10).model
    broken = dict(digits, y_train=np.full_like(digits["y_train"], 12))  # no class 12
    trainer = LiveTrainer(model, broken)
    before = {k: v.copy() for k, v in model.params.items()}
    with pytest.raises(StepFailed, match="raised ValueError"):
        trainer.step()
    for key, value in model.params.items():
        np.testing.assert_array_equal(value, before[key])
    assert trainer.examples_seen == 0


def test_hyperparameters_change_live_and_bad_values_name_the_argument(digits):
    model = build_network(DEFAULT_DEFINITION, (1, 8, 8), 10).model
    trainer = LiveTrainer(model, digits, update_rule="sgd_momentum")
    trainer.step()
    velocity = trainer.configs["conv1.w"]["velocity"]
    trainer.learning_rate = 0.05
    trainer.momentum = 0.5
    trainer.weight_decay = 1e-3
    assert trainer.configs["conv1.w"]["velocity"] is velocity  # the state is kept
    assert trainer.configs["conv1.w"]["learning_rate"] == 0.05
    assert trainer.configs["conv1.w"]["momentum"] == 0.5 and model.reg == 1e-3
    trainer.update_rule = "adam"
    assert "velocity" not in trainer.configs["conv1.w"]  # a new rule starts afresh
    trainer.step()
    assert trainer.configs["conv1.w"]["t"] == 1 and trainer.configs["conv1.w"]["beta1"] == 0.5
    for name, value, words in [("learning_rate", 0.0, "learning_rate must be > 0, got "
                                "learning_rate = 0.0"),
                               ("momentum", 1.0, "momentum must be in [0, 1), got momentum "
                                "= 1.0"),
                               ("batch_size", 0, "batch_size must be >= 1"),
                               ("weight_decay", -1.0, "weight_decay must be >= 0"),
                               ("update_rule", "newton", "update_rule must be one of")]:
        with pytest.raises(ValueError) as err:
            setattr(trainer, name, value)
        assert words in str(err.value)


def test_data_as_arrays_is_split_and_checked():
    rng = np.random.default_rng(0)
    X, y = rng.random((50, 6, 6)), np.arange(50) % 3
    data = resolve_data((X, y, ["a", "b", "c"]))
    assert data["X_train"].shape == (35, 1, 6, 6) and len(data["X_test"]) == 10
    assert data["class_names"] == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"X has 50 examples but y has 49 labels"):
        resolve_data((X, y[:49]))
    with pytest.raises(ValueError, match=r"data must be 'digits'.*got 'digitz'"):
        resolve_data("digitz")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        resolve_data("mnist:/nonexistent/folder")  # the project's loader, its own message


# ------------------------------------------------------------------- figures from NumPy

def test_tiled_maps_scale_every_channel_on_its_own():
    from convnets.playground.render import diverging, to_uint8, upscale
    from PIL import Image
    volume = np.random.default_rng(3).standard_normal((16, 8, 8))
    volume[3], volume[4] = 0.0, 2.0                    # flat channels
    for gradient in (False, True):
        picture = np.asarray(Image.open(io.BytesIO(tile_maps(volume, gradient=gradient))))
        assert picture.shape[:2] == (4 * 48 + 3 * 2, 4 * 48 + 3 * 2)  # 4x4 tiles, 2 px gaps
        for channel in range(16):
            r, c = divmod(channel, 4)
            tile = picture[r * 50:r * 50 + 48, c * 50:c * 50 + 48]
            levels = to_uint8(volume[channel], symmetric=gradient)
            expected = upscale(diverging(levels) if gradient else levels, 6)
            np.testing.assert_array_equal(tile, expected)


def test_png_bytes_decode_to_the_same_pixels():
    from PIL import Image
    rng = np.random.default_rng(1)
    for shape in ((5, 7), (4, 3, 3)):
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        decoded = np.asarray(Image.open(io.BytesIO(png_bytes(pixels))))
        np.testing.assert_array_equal(decoded, pixels)
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\), got \(2, 2, 4\)"):
        png_bytes(np.zeros((2, 2, 4), np.uint8))


def test_every_channel_is_tiled_and_svg_marks_say_what_is_drawn():
    from PIL import Image
    volume = np.random.default_rng(0).random((9, 4, 4))
    picture = np.asarray(Image.open(io.BytesIO(tile_maps(volume))))
    assert picture.shape[0] == picture.shape[1]  # 3 x 3 tiles of the 9 channels
    chart = ET.fromstring(line_chart({"loss": [(32, 2.3), (64, 1.9)]}, "loss"))
    (curve,) = marks(chart, "polyline", "curve")
    assert curve.get("data-name") == "loss" and curve.get("data-points") == "2"
    grid = ET.fromstring(prediction_grid([png_bytes(np.zeros((4, 4), np.uint8))] * 2,
                                         np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]),
                                         np.array([0, 1]), ["a", "b", "c"], 0.5))
    assert len(marks(grid, "rect", "right")) == 2 and len(marks(grid, "rect", "wrong")) == 4
    matrix = ET.fromstring(confusion_chart(np.array([[3, 1], [0, 4]]), ["a", "b"]))
    counts = [int(c.get("data-count")) for c in marks(matrix, "rect", "cell")]
    assert counts == [3, 1, 0, 4]


# ------------------------------------------------------------------- the widget

def test_one_step_trains_one_batch_and_draws_every_view(playground):
    pg = playground
    pg.step_button.click()
    assert pg.wait_idle(30)
    assert pg.trainer.examples_seen == 32 and pg.trainer.steps == 1
    assert "examples seen: <b>32</b>" in pg.status.value
    (curve,) = marks(svg(pg.loss_view), "polyline", "curve")
    assert curve.get("data-points") == "1"
    bars = marks(svg(pg.times_view), "rect", "forward")
    assert [b.get("data-layer") for b in bars] == ["conv1", "relu1", "pool1", "fc1"]
    assert len(pg.maps_box.children) == 4
    conv_maps = png(pg.maps_box.children[0].children[1])
    assert conv_maps.ndim == 2 and conv_maps.shape[0] > 8  # 8 channels of 8x8, tiled
    assert png(pg.filters_view).ndim == 2 and png(pg.filter_grads_view).ndim == 2
    cells = [e for e in svg(pg.predictions_view).iter(SVG + "g")
             if e.get("class") == "cell"]
    assert len(cells) == 20
    counts = [int(c.get("data-count")) for c in marks(svg(pg.confusion_view), "rect", "cell")]
    assert sum(counts) == len(pg.data["X_test"])
    assert "nan" not in pg.layer_table.value  # min/max of activations and gradients


def test_train_and_pause_then_the_counter_and_the_curve_stop(playground):
    pg = playground
    pg.train_button.click()
    deadline = time.monotonic() + 20
    while pg.trainer.examples_seen < 640 and time.monotonic() < deadline:
        time.sleep(0.02)
    pg.pause_button.click()
    assert pg.wait_idle(30)
    seen, points = pg.trainer.examples_seen, len(pg.trainer.history.loss)
    assert seen >= 640
    assert pg.examples_per_second > 0
    time.sleep(0.3)
    assert pg.trainer.examples_seen == seen and len(pg.trainer.history.loss) == points
    (curve,) = marks(svg(pg.loss_view), "polyline", "curve")
    assert int(curve.get("data-points")) == points


def test_views_refresh_on_a_wall_clock_budget_whatever_the_step_rate(digits):
    pg = Playground(data=digits, figure_interval=0.5, picture_interval=2.0)
    try:
        assert pg.wait_idle(30)
        updates = {"loss": 0, "maps": 0}
        pg.loss_view.observe(lambda _: updates.__setitem__("loss", updates["loss"] + 1),
                             names="value")
        pg.predictions_view.observe(lambda _: updates.__setitem__("maps", updates["maps"] + 1),
                                    names="value")
        start = time.perf_counter()
        pg.train(1.5)
        took = time.perf_counter() - start
        assert pg.trainer.steps > 20  # many more steps than refreshes
        assert updates["loss"] <= took / 0.5 + 2
        assert updates["maps"] <= took / 2.0 + 2
    finally:
        pg.close()


def test_an_invalid_definition_shows_the_sizing_error_and_never_replaces_the_network(
        playground):
    pg = playground
    model = pg.trainer.model
    pg.editor.value = BROKEN
    assert "(3 - 2)/2 + 1 = 1.5 is not an integer" in pg.summary.value
    assert pg.build_button.disabled
    pg.build_button.click()
    assert pg.wait_idle(30)
    assert pg.trainer.model is model
    pg.editor.value = TWO_CONVS
    assert "CONV3-4" in pg.summary.value and "CONV3-8" in pg.summary.value
    assert not pg.build_button.disabled
    assert pg.trainer.model is model  # typing alone changes nothing
    pg.build_button.click()
    assert pg.wait_idle(30)
    assert [layer.kind for layer in pg.trainer.model.layers] == [
        "CONV3-4", "RELU", "POOL2", "CONV3-8", "RELU", "POOL2", "FC"]
    assert len(pg.maps_box.children) == 7
    assert len(marks(svg(pg.times_view), "rect", "forward")) == 7


def test_reset_with_the_same_seed_replays_the_run_and_new_weights_differ(playground):
    pg = playground
    first = {k: v.copy() for k, v in pg.trainer.model.params.items()}
    pg.step(3)
    losses = [loss for _, loss in pg.trainer.history.loss]
    pg.reset_button.click()
    assert pg.wait_idle(30)
    assert pg.trainer.examples_seen == 0
    for key, value in pg.trainer.model.params.items():
        np.testing.assert_array_equal(value, first[key])
    pg.step(3)
    assert [loss for _, loss in pg.trainer.history.loss] == losses
    pg.new_button.click()
    assert pg.wait_idle(30)
    assert not np.array_equal(pg.trainer.model.params["conv1.w"], first["conv1.w"])


def test_hyperparameters_change_live_without_a_reset(playground):
    pg = playground
    pg.step(2)
    pg.learning_rate.value = 1e-3
    pg.momentum.value = 0.5
    pg.batch_size.value = 10
    pg.weight_decay.value = 0.01
    pg.update_rule.value = "adam"
    pg.step(1)
    t = pg.trainer
    assert (t.learning_rate, t.momentum, t.batch_size, t.weight_decay, t.update_rule) == (
        pytest.approx(1e-3), 0.5, 10, 0.01, "adam")
    assert t.examples_seen == 2 * 32 + 10  # the run went on
    assert t.configs["fc1.w"]["learning_rate"] == pytest.approx(1e-3)


def test_save_and_load_round_trip_and_a_bad_file_keeps_the_network(playground, tmp_path):
    pg = playground
    pg.editor.value = TWO_CONVS
    pg.build_button.click()
    pg.step(2)
    saved = {k: v.copy() for k, v in pg.trainer.model.params.items()}
    pg.path.value = str(tmp_path / "net.npz")
    pg.save_button.click()
    assert pg.wait_idle(30)
    assert (tmp_path / "net.npz").is_file() and "saved" in pg.message
    pg.reset_button.click()
    pg.editor.value = DEFAULT_DEFINITION
    pg.build_button.click()
    assert pg.wait_idle(30)
    pg.load_button.click()
    assert pg.wait_idle(30)
    assert pg.editor.value == TWO_CONVS
    for key, value in pg.trainer.model.params.items():
        np.testing.assert_array_equal(value, saved[key])
    model = pg.trainer.model
    (tmp_path / "junk.npz").write_bytes(b"not a network")
    pg.path.value = str(tmp_path / "junk.npz")
    pg.load_button.click()
    assert pg.wait_idle(30)
    assert pg.trainer.model is model and pg.message.startswith("error: ValueError")


def test_the_bundled_trained_digits_net_is_small_and_classifies_the_test_set(playground):
    assert PRETRAINED_DIGITS.is_file() and PRETRAINED_DIGITS.stat().st_size < 50_000
    text, shape, classes, _ = read_definition(PRETRAINED_DIGITS)
    assert (text, shape, classes) == (DEFAULT_DEFINITION, (1, 8, 8), 10)
    pg = playground
    pg.pretrained_button.click()
    assert pg.wait_idle(30)
    assert pg.test_accuracy > 0.9
    assert "test accuracy 9" in pg.status.value
    counts = np.array([int(c.get("data-count"))
                       for c in marks(svg(pg.confusion_view), "rect", "cell")]).reshape(10, 10)
    assert np.trace(counts) / counts.sum() == pytest.approx(pg.test_accuracy)


def test_a_drawn_digit_is_classified_and_its_activations_shown(playground):
    pg = playground
    pg.pretrained_button.click()
    assert pg.wait_idle(30)
    grid, k = canvas_grid(pg.input_shape)
    assert (grid, k) == (32, 4)
    # a vertical stroke, as a person draws a one
    cells = np.zeros((grid, grid), dtype=int)
    cells[4:28, 14:18] = 1
    pg.canvas.pixels = cells.ravel().tolist()
    assert pg.wait_idle(30)
    assert pg.drawing_probabilities is not None
    assert pg.drawing_probabilities.sum() == pytest.approx(1.0)
    assert pg.class_names[int(np.argmax(pg.drawing_probabilities))] == "1"
    assert len(marks(svg(pg.drawing_bars), "rect", "other")) == 3
    assert len(pg.drawing_maps.children) == 4
    x = drawing_to_input(cells.ravel(), (1, 8, 8), pg.data["mean_image"])
    np.testing.assert_allclose(pg.drawing_probabilities, pg.trainer.predict_proba(x[None])[0])
    # the ink is scaled to fill the grid (as the training digits were), then averaged in
    # 4x4 blocks: the stroke becomes a full-height column of ink
    raw = drawing_to_input(cells.ravel(), (1, 8, 8))
    assert raw.shape == (1, 8, 8) and (raw[0].max(axis=1) >= 0.5).all()
    small = np.zeros((grid, grid), dtype=int)
    small[10:14, 10:14] = 1  # a dot in a corner fills the whole image once fitted
    assert drawing_to_input(small.ravel(), (1, 8, 8)).min() == 1.0
    assert drawing_to_input(small.ravel(), (1, 8, 8), fit=False).min() == 0.0
    with pytest.raises(ValueError, match=r"grid \* grid = 32 \* 32 = 1024 values for an "
                                         r"input of 8x8, got 5"):
        drawing_to_input([0] * 5, (1, 8, 8))


def test_a_nan_stops_training_with_a_message_and_keeps_good_weights(playground):
    pg = playground
    pg.step(2)
    pg.trainer.learning_rate = 1e12   # the worker is idle: as if the slider went that far
    pg.train_button.click()
    deadline = time.monotonic() + 20
    while pg.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pg.wait_idle(30)
    assert not pg.running and pg.message.startswith("stopped: the loss became")
    assert "stopped" in pg.status.value
    assert all(np.isfinite(v).all() for v in pg.trainer.model.params.values())
    pg.learning_rate.value = 0.01
    pg.step(1)  # usable afterwards
    assert np.isfinite(pg.trainer.history.loss[-1][1])


def test_an_uploaded_image_is_classified_like_the_same_drawing(playground):
    from PIL import Image
    pg = playground
    pg.pretrained_button.click()
    assert pg.wait_idle(30)
    ink = np.zeros((8, 8), dtype=np.uint8)
    ink[1:7, 3:5] = 255                       # a one, white ink on black...
    buffer = io.BytesIO()
    Image.fromarray(255 - ink).save(buffer, format="PNG")  # ...saved as dark on white
    pg.upload.value = ({"name": "one.png", "type": "image/png", "size": buffer.tell(),
                        "content": memoryview(buffer.getvalue()),
                        "last_modified": datetime.datetime.now(datetime.UTC)},)
    assert pg.wait_idle(30)
    expected = pg.trainer.predict_proba((ink[None] / 255.0 - pg.data["mean_image"])[None])[0]
    np.testing.assert_allclose(pg.drawing_probabilities, expected, rtol=1e-5)
    assert png(pg.drawing_view).shape[:2] == (48, 48)


def test_colour_images_as_arrays_give_colour_filters(digits):
    rng = np.random.default_rng(2)
    X = rng.random((60, 3, 8, 8)).astype(np.float32)
    y = np.arange(60) % 4
    pg = Playground(data=(X, y, ["w", "x", "y", "z"]), figure_interval=0.05,
                    picture_interval=0.1)
    try:
        pg.step(2)
        assert pg.trainer.model.input_shape == (3, 8, 8) and pg.num_classes == 4
        assert png(pg.filters_view).shape[-1] == 3          # RGB tiles, one per filter
        assert png(pg.example_view).shape[-1] == 3
        ticks = [t.text for t in svg(pg.confusion_view).iter(SVG + "text")]
        assert {"w", "x", "y", "z"} <= set(ticks)
        with pytest.raises(ValueError, match="units must be the number of classes 4"):
            Playground(data=(X, y), net="CONV filters=2\nFC units=10", start=False)
    finally:
        pg.close()


def test_a_long_run_keeps_its_whole_loss_curve_in_bounded_memory(digits, monkeypatch):
    from convnets.playground import engine
    monkeypatch.setattr(engine, "MAX_LOSS_POINTS", 10)
    model = build_network(DEFAULT_DEFINITION, (1, 8, 8), 10).model
    trainer = LiveTrainer(model, digits, batch_size=4)
    for _ in range(25):
        trainer.step()
    points = trainer.history.loss
    assert 5 <= len(points) <= 10
    assert points[0][0] < 30 and points[-1][0] >= 90  # from the first steps to the last
    assert all(a[0] < b[0] for a, b in zip(points, points[1:], strict=False))


def test_the_speed_benchmark_measures_all_three_ways_in_one_run(digits):
    """make bench's "playground" section: figures printed, never asserted as speeds."""
    from convnets import bench
    from convnets.playground.bench import TARGET_RATIO, measure

    assert "playground" in [name for name, _ in bench.SECTIONS]
    result = measure(DEFAULT_DEFINITION, seconds=0.1, turns=1, data=digits)
    epoch = len(digits["X_train"]) // 32 * 32
    assert result["examples"] >= 2 * epoch and result["examples"] % epoch == 0
    for name in ("Solver", "engine", "playground"):
        assert result[name] > 0 and result[f"{name} per CPU second"] > 0
    assert result["playground / Solver"] == pytest.approx(result["playground"] / result["Solver"])
    assert result["loss view refreshes"] >= 1      # the views were drawn while it trained
    rows = bench.format_table(bench.section_playground(quick=True))
    assert "playground / Solver" in rows and f">= {TARGET_RATIO}" in rows


def test_accuracy_measurements_keep_to_their_share_of_the_training_time(digits):
    """A fast network on the digits with eval_every=1 would measure after every step;
    the trainer spaces the measurements so that they cost at most EVAL_SHARE of the time
    (plus the one in progress), and still measures on the first step."""
    from convnets.playground.engine import EVAL_SHARE

    trainer = LiveTrainer(build_network(DEFAULT_DEFINITION, (1, 8, 8), 10).model, digits,
                          eval_every=1)
    spent = []
    measure = trainer.evaluate

    def timed_evaluate():
        started = time.perf_counter()
        try:
            return measure()
        finally:
            spent.append(time.perf_counter() - started)

    trainer.evaluate = timed_evaluate
    started = time.perf_counter()
    for _ in range(300):
        trainer.step()
    elapsed = time.perf_counter() - started
    assert len(trainer.history.val_acc) == len(spent) >= 1
    assert trainer.history.val_acc[0][0] == 32             # measured on the first step
    assert len(spent) < 300
    assert sum(spent) <= EVAL_SHARE * elapsed + max(spent) + 1e-3
