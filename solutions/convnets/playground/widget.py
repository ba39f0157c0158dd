"""The playground widget: type a network, train it live, look inside it (ipywidgets 8).

How it stays responsive and consistent
--------------------------------------
All the work (training steps, rebuilding the network, loading, measuring, drawing the
views) happens in one background thread, the *worker*. Widget callbacks never touch the
network: they append a command to a queue (or set a flag such as ``running``) and wake
the worker, which applies the commands between two steps. So the network is never seen
half-updated, pause takes effect after the current step, a kernel interrupt (which stops
the main thread only) leaves training and the widget alone, and a cell that runs for a
long time does not stop training.

The views are refreshed on a wall-clock budget, whatever the step rate: the figures
(curves, per-layer times and statistics, status line) every ``figure_interval`` seconds,
the pictures (activation maps, filters, test predictions, confusion matrix) every
``picture_interval`` seconds, and less often when drawing them would take more than a few
per cent of the time (a large network): the views cost at most about 6% of the training
time (``FIGURE_SHARE``, ``PICTURE_SHARE``, ``TEST_SHARE``). Each refresh sends
one message per view that changed, a few dozen messages per second at most
(jupyter_server drops output beyond about 1000 per second). Every figure is PNG or SVG
bytes made with NumPy (:mod:`.render`): no matplotlib in the thread.

A step that fails (a loss that is not finite, an exception) stops training, says so in
the status line and keeps the last good weights (:class:`~.engine.LiveTrainer`).
"""

from __future__ import annotations

import collections
import math
import threading
import time
from html import escape
from pathlib import Path

import numpy as np

from ..nn.summary import format_bytes
from ..train.solver import load_checkpoint
from .canvas import HAVE_ANYWIDGET, DrawingCanvas, canvas_grid, drawing_to_input
from .datasets import resolve_data
from .definition import DEFAULT_DEFINITION, Definition, build_network
from .engine import LiveTrainer, StepFailed, next_due, read_definition
from .render import (
    confusion_chart,
    filter_tiles,
    image_of,
    layer_time_chart,
    line_chart,
    prediction_grid,
    probability_bars,
    tile_maps,
)

__all__ = ["Playground", "PRETRAINED_DIGITS"]

PRETRAINED_DIGITS = Path(__file__).with_name("digits_pretrained.npz")
"""A network trained on the digits (written by ``python -m convnets.playground.pretrain``)."""

UPDATE_RULE_NAMES = ("sgd", "sgd_momentum", "rmsprop", "adam")
GRID_SIZE = 20               # test images in the predictions grid
TEST_SAMPLES = 1000          # test examples behind the accuracy and the confusion matrix
# Shares of the wall-clock time, at most, spent on the views while training (together
# 6%, under the 10% with room for the thread's own costs): each view is redrawn at
# its interval, or later when drawing it took long (a large network, a loaded machine).
FIGURE_SHARE = 0.02          # curves, per-layer times and statistics, the status line
PICTURE_SHARE = 0.03         # activation maps, filters, predictions grid
TEST_SHARE = 0.01            # the test accuracy and the confusion matrix


def _widgets():
    import ipywidgets
    return ipywidgets


def summary_html(definition: Definition) -> str:
    """The summary of a definition as an HTML table (the rows of :func:`convnets.summarize`)."""
    rows = []
    for row in definition.summary.rows:
        C, H, W = row.output_shape
        rf = row.receptive_field
        rf = rf if isinstance(rf, int) else f"{rf[0]}x{rf[1]}"
        rows.append(f"<tr><td>{escape(row.path)}</td><td>{escape(row.name)}</td>"
                    f"<td>{H}x{W}x{C}</td><td>{row.activations:,}</td>"
                    f"<td>{row.params:,}</td><td>{rf}</td></tr>")
    s = definition.summary
    memory = format_bytes(s.memory("float32", training=True, batch_size=1))
    warn = "".join(f"<div class='cn-warning'>note: {escape(w)}</div>"
                   for w in definition.warnings)
    return ("<table class='cn-summary' style='white-space:nowrap'><thead><tr>"
            "<th>layer</th><th>kind</th>"
            "<th>output volume</th><th>activations</th><th>parameters</th>"
            "<th>receptive field</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
            f"<div class='cn-totals'>total: {s.total_params:,} parameters, "
            f"{s.total_activations:,} activations per image; training memory per image "
            f"(float32): {memory}</div>" + warn)


def error_html(error: Exception) -> str:
    return (f"<pre class='cn-error' style='color:#b71c1c;white-space:pre-wrap'>"
            f"{escape(str(error))}</pre>")


class Playground:
    """Design a ConvNet as text, train it live and look inside it, in JupyterLab.

    Parameters
    ----------
    data : str, dict or tuple
        ``"digits"`` (default), ``"mnist:<folder>"``, ``"cifar10:<folder>"``, a dict of
        splits, or arrays ``(X, y)`` / ``(X, y, class_names)``
        (:func:`~convnets.playground.resolve_data`).
    net : str, optional
        The definition to start with (:mod:`.definition`); default
        ``INPUT -> CONV -> RELU -> POOL -> FC``.
    seed : int
        Seed of the initial weights and of the minibatch order (reset with *same seed*
        replays the same run).
    update_rule, learning_rate, momentum, batch_size, weight_decay
        The starting hyperparameters (changed live with the controls).
    figure_interval, picture_interval : float
        Seconds between two refreshes of the figures and of the pictures.
    start : bool
        Start the worker thread now (default). The thread sleeps while nothing is asked.

    Raises
    ------
    ValueError
        If ``net`` is not a valid definition for the data (the message of
        :func:`~convnets.playground.build_network`), or ``data`` cannot be read.

    Attributes
    ----------
    trainer : LiveTrainer
        The network being trained and its histories.
    widget : ipywidgets.VBox
        What is displayed (``display(playground)`` shows it).
    """

    def __init__(self, data="digits", net: str | None = None, *, seed: int = 0,
                 update_rule: str = "sgd_momentum", learning_rate: float = 0.02,
                 momentum: float = 0.9, batch_size: int = 32, weight_decay: float = 1e-4,
                 figure_interval: float = 0.25, picture_interval: float = 1.0,
                 start: bool = True):
        self.data = resolve_data(data, seed=0)
        self.input_shape = tuple(self.data["X_train"].shape[1:])
        self.class_names = self.data["class_names"]
        self.num_classes = max(len(self.class_names), int(self.data["y_train"].max()) + 1)
        self.seed = int(seed)
        self.figure_interval = float(figure_interval)
        self.picture_interval = float(picture_interval)
        self.definition = build_network(net or DEFAULT_DEFINITION, self.input_shape,
                                        self.num_classes, seed=self.seed)
        self.checked = self.definition          # the editor's text, checked
        self.trainer = LiveTrainer(self.definition.model, self.data, update_rule=update_rule,
                                   learning_rate=learning_rate, momentum=momentum,
                                   batch_size=batch_size, weight_decay=weight_decay,
                                   seed=self.seed)
        # state shared with the worker: commands and flags only
        self.running = False
        self.message = "ready: press train"
        self._commands: collections.deque = collections.deque()
        self._steps_wanted = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._busy = False
        self._lock = threading.RLock()
        self._next_figures = self._next_pictures = self._next_test = -math.inf
        self._dirty = True
        self._rate_samples: collections.deque = collections.deque(maxlen=200)
        self.examples_per_second = 0.0
        self.example_index = 0
        self._grid_offset = 0
        self.test_accuracy = math.nan
        self.confusion = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        self.drawing_probabilities = None
        self._build_widgets(update_rule, learning_rate, momentum, batch_size, weight_decay)
        self._thread = None
        if start:
            self.start()

    # ================================================================= the widgets
    def _build_widgets(self, update_rule, learning_rate, momentum, batch_size, weight_decay):
        w = _widgets()
        button = dict(layout=w.Layout(width="auto", flex="0 0 auto"))
        self.editor = w.Textarea(value=self.definition.text, continuous_update=True,
                                 layout=w.Layout(width="100%", height="150px"),
                                 description="")
        self.editor.add_class("cn-editor")
        self.summary = w.HTML(summary_html(self.definition))
        self.summary.add_class("cn-summary-box")
        self.build_button = w.Button(description="build this network", icon="check",
                                     **button)
        self.train_button = w.Button(description="train", icon="play",
                                     button_style="success", **button)
        self.pause_button = w.Button(description="pause", icon="pause", **button)
        self.step_button = w.Button(description="one step", icon="step-forward", **button)
        self.reset_button = w.Button(description="reset (same seed)", icon="undo", **button)
        self.new_button = w.Button(description="reset (new weights)", icon="random", **button)
        self.pretrained_button = w.Button(description="load trained digits net",
                                          icon="graduation-cap", **button)
        self.path = w.Text(value="playground_net.npz", description="file",
                           layout=w.Layout(width="280px"))
        self.save_button = w.Button(description="save", icon="save", **button)
        self.load_button = w.Button(description="load", icon="folder-open", **button)
        self.learning_rate = w.FloatLogSlider(value=learning_rate, base=10, min=-5, max=0,
                                              step=0.1, description="learning rate",
                                              readout_format=".1e", continuous_update=False)
        self.momentum = w.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01,
                                      description="momentum", continuous_update=False)
        self.batch_size = w.IntSlider(value=batch_size, min=1, max=256, description="batch",
                                      continuous_update=False)
        self.weight_decay = w.BoundedFloatText(value=weight_decay, min=0.0, max=10.0,
                                               step=1e-4, description="weight decay")
        self.update_rule = w.Dropdown(options=UPDATE_RULE_NAMES, value=update_rule,
                                      description="update rule")
        self.status = w.HTML()
        self.status.add_class("cn-status")
        for control in (self.learning_rate, self.momentum, self.batch_size, self.weight_decay,
                        self.update_rule):
            control.style.description_width = "100px"

        def svg(width: int) -> dict:  # shown at its own size, not stretched to the box
            return dict(format="svg+xml", layout=w.Layout(width=f"{width}px",
                                                          flex="0 0 auto"))

        def picture(border: str = "") -> dict:  # a PNG at its own size
            return dict(format="png", layout=w.Layout(flex="0 0 auto", width="auto",
                                                      height="auto", border=border))

        self.loss_view = w.Image(**svg(380))
        self.loss_view.add_class("cn-loss")
        self.accuracy_view = w.Image(**svg(380))
        self.times_view = w.Image(**svg(420))
        self.layer_table = w.HTML()
        self.example = w.IntSlider(value=0, min=0, max=len(self.data["X_val"]) - 1,
                                   description="example", continuous_update=False)
        self.example_view = w.Image(**picture("1px solid #bbb"))  # white paper
        self.example_label = w.HTML()
        self.maps_box = w.VBox()
        self.filters_view = w.Image(**picture())
        self.filter_grads_view = w.Image(**picture())
        self.predictions_view = w.Image(**svg(750))
        self.confusion_view = w.Image(**svg(420))
        grid, _ = canvas_grid(self.input_shape)
        self.canvas = DrawingCanvas(grid=grid) if HAVE_ANYWIDGET else None
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="image")
        self.upload.add_class("cn-upload")
        self.drawing_view = w.Image(**picture("1px solid #bbb"))
        self.drawing_view.add_class("cn-your-input")
        self.drawing_bars = w.Image(**svg(200))
        self.drawing_maps = w.VBox()

        # callbacks: they set flags and queue commands, nothing else
        self.editor.observe(self._on_text, names="value")
        self.build_button.on_click(lambda _: self._queue(self._apply_definition, self.checked))
        self.train_button.on_click(lambda _: self._set_running(True))
        self.pause_button.on_click(lambda _: self._set_running(False))
        self.step_button.on_click(lambda _: self._request_steps(1))
        self.reset_button.on_click(lambda _: self._queue(self._reset, False))
        self.new_button.on_click(lambda _: self._queue(self._reset, True))
        self.pretrained_button.on_click(lambda _: self._queue(self._load, PRETRAINED_DIGITS))
        self.save_button.on_click(lambda _: self._queue(self._save, self.path.value))
        self.load_button.on_click(lambda _: self._queue(self._load, self.path.value))
        for name in ("learning_rate", "momentum", "batch_size", "weight_decay", "update_rule"):
            getattr(self, name).observe(
                lambda change, name=name: self._queue(self._set_hyper, name, change["new"]),
                names="value")
        self.example.observe(lambda change: self._queue(self._set_example, change["new"]),
                             names="value")
        if self.canvas is not None:
            self.canvas.observe(lambda change: self._queue(self._predict_drawing,
                                                           list(change["new"])),
                                names="pixels")
        self.upload.observe(lambda change: self._queue(self._predict_upload, change["new"]),
                            names="value")

        wrap = w.Layout(flex_flow="row wrap")
        controls = w.VBox([
            w.HBox([self.train_button, self.pause_button, self.step_button,
                    self.reset_button, self.new_button], layout=wrap),
            w.HBox([self.learning_rate, self.momentum]),
            w.HBox([self.batch_size, self.weight_decay]),
            w.HBox([self.update_rule, self.pretrained_button]),
            w.HBox([self.path, self.save_button, self.load_button]),
        ])
        design = w.VBox([w.HTML("<b>network</b> (one layer per line, or the notes' pattern "
                                "notation)"), self.editor, self.build_button, self.summary])
        top = w.Layout(align_items="flex-start")
        training = w.VBox([w.HBox([self.loss_view, self.accuracy_view]), self.times_view])
        layers = w.VBox([self.layer_table,
                         w.HBox([self.example, self.example_view, self.example_label],
                                layout=top),
                         w.HTML("<b>first layer's filters</b> and their gradients"),
                         w.HBox([self.filters_view, self.filter_grads_view], layout=top),
                         w.HTML("<b>activations</b> (left) and their gradients (right) of "
                                "the chosen example, every channel"),
                         self.maps_box])
        testing = w.VBox([self.predictions_view, self.confusion_view])
        drawing = w.VBox([
            w.HTML("Draw a digit (or upload an image); the network's answer and its "
                   "activations follow."),
            w.HBox([w.VBox(([self.canvas] if self.canvas is not None else [])
                           + [self.upload]), self.drawing_view, self.drawing_bars],
                   layout=top),
            self.drawing_maps])
        self.tabs = w.Tab(children=[training, layers, testing, drawing])
        for i, title in enumerate(("training", "layers", "test set", "your input")):
            self.tabs.set_title(i, title)
        self.widget = w.VBox([
            w.HTML("<h3 style='margin:0'>ConvNet playground</h3>"), self.status,
            w.HBox([w.Box([design], layout=w.Layout(width="48%")),
                    w.Box([controls], layout=w.Layout(width="52%"))]),
            self.tabs])
        self.widget.add_class("cn-playground")
        self._update_status()

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)

    # ================================================================= callbacks
    def _queue(self, command, *args) -> None:
        self._commands.append((command, args))
        self._wake.set()

    def _set_running(self, running: bool) -> None:
        self.running = running
        if not running:
            self._steps_wanted = 0
        self._wake.set()

    def _request_steps(self, n: int) -> None:
        self._steps_wanted += n
        self._wake.set()

    def _on_text(self, change) -> None:
        """Check the typed definition (shapes only: the running network is not touched)."""
        text = change["new"]
        try:
            checked = build_network(text, self.input_shape, self.num_classes, seed=self.seed)
        except (ValueError, TypeError) as err:
            self.checked = None
            self.summary.value = error_html(err)
            self.build_button.disabled = True
            return
        self.checked = checked
        self.summary.value = summary_html(checked)
        self.build_button.disabled = False

    # ================================================================= the worker
    def start(self) -> None:
        """Start the worker thread (if it is not running)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._work, name="convnets-playground",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the worker thread and close the widgets."""
        self.running = False
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.widget.close()

    def _work(self) -> None:
        while not self._stop.is_set():
            if not (self.running or self._steps_wanted or self._commands):
                if self._dirty:  # paused or idle: bring every view up to date once
                    self._busy = True
                    try:
                        self._safely(self.refresh, True)
                    finally:
                        self._busy = False
                    continue
                self._wake.wait(timeout=0.2)
                self._wake.clear()
                continue
            self._busy = True
            try:
                with self._lock:
                    while self._commands:
                        command, args = self._commands.popleft()
                        self._safely(command, *args)
                    if self.running or self._steps_wanted:
                        self._train_one()
                    self._safely(self.refresh, False)
            finally:
                self._busy = False

    def _safely(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as err:  # the worker must survive anything a command does
            self.running = False
            self._steps_wanted = 0
            self.message = f"error: {type(err).__name__}: {err}"
            self._dirty = True
            try:
                self._update_status()
            except Exception:  # pragma: no cover - the widget itself is broken
                pass

    def _train_one(self) -> None:
        now = time.perf_counter()
        # per-layer statistics: when the figures are due, on the last step asked for, and
        # on the first step of a new network
        record = (now >= self._next_figures or self._steps_wanted == 1
                  or math.isnan(self.trainer.layers[0].act_min))
        try:
            self.trainer.step(record_stats=record)
        except StepFailed as err:
            self.running = False
            self._steps_wanted = 0
            self.message = f"stopped: {err}"
            self._dirty = True
            return
        if self._steps_wanted:
            self._steps_wanted -= 1
        self._rate_samples.append((time.perf_counter(), self.trainer.examples_seen))
        first_t, first_n = self._rate_samples[0]
        last_t, last_n = self._rate_samples[-1]
        if last_t > first_t:
            self.examples_per_second = (last_n - first_n) / (last_t - first_t)
        self.message = "training" if self.running else "paused"
        self._dirty = True

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until the worker has run every queued command and requested step and
        training is paused (for scripts and tests). Returns False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not (self._commands or self._steps_wanted or self.running or self._busy
                    or self._dirty):
                return True
            time.sleep(0.01)
        return False

    def step(self, n: int = 1, timeout: float = 60.0) -> None:
        """Run ``n`` training steps in the worker and wait for them (and the views)."""
        self._request_steps(int(n))
        if not self.wait_idle(timeout):
            raise TimeoutError(f"{n} steps did not finish within {timeout} s")

    def train(self, seconds: float) -> None:
        """Train for about ``seconds`` seconds, then pause and wait for the views."""
        self._set_running(True)
        time.sleep(seconds)
        self._set_running(False)
        self.wait_idle()

    # ================================================================= commands
    def _apply_definition(self, checked: Definition | None) -> None:
        if checked is None:
            self.message = "the definition has an error: the running network is unchanged"
            return
        model = build_network(checked.text, self.input_shape, self.num_classes,
                              seed=self.seed).model
        self.trainer.set_model(model)
        self.definition = checked
        self.message = f"built a new network ({checked.summary.total_params:,} parameters)"
        self._reset_views()

    def _reset(self, new_weights: bool) -> None:
        if new_weights:
            self.seed += 1
        self.trainer.seed = self.seed
        self.trainer.set_model(self.definition.rebuild(self.seed))
        self.message = f"reset to the initial weights of seed {self.seed}"
        self._reset_views()

    def _reset_views(self) -> None:
        self.running = False
        self._steps_wanted = 0
        self._rate_samples.clear()
        self.examples_per_second = 0.0
        self._next_test = -math.inf
        self._dirty = True

    def _set_hyper(self, name: str, value) -> None:
        setattr(self.trainer, name, value)
        self.message = f"{name.replace('_', ' ')} = {value}"
        self._dirty = True

    def _set_example(self, index: int) -> None:
        self.example_index = int(index)
        self._next_pictures = -math.inf
        self._dirty = True

    def _save(self, path) -> None:
        written = self.trainer.save(path, self.definition.text)
        self.message = f"saved the network to {written}"
        self._dirty = True

    def _load(self, path) -> None:
        text, input_shape, num_classes, _ = read_definition(Path(path))
        if tuple(input_shape) != self.input_shape or num_classes != self.num_classes:
            raise ValueError(f"{path} holds a network for inputs {input_shape} and "
                             f"{num_classes} classes; this data has {self.input_shape} and "
                             f"{self.num_classes}")
        checked = build_network(text, self.input_shape, self.num_classes, seed=self.seed)
        model = checked.model
        load_checkpoint(Path(path), model)  # raises before the running network is replaced
        self.trainer.set_model(model)
        self.definition = self.checked = checked
        self.editor.value = text
        self.message = f"loaded the network of {path}"
        self._reset_views()

    def _predict_drawing(self, pixels) -> None:
        if not any(pixels):
            self.drawing_probabilities = None
            self.drawing_view.value = b""
            return
        x = drawing_to_input(pixels, self.input_shape, self.data["mean_image"])
        self._show_input(x)

    def _predict_upload(self, files) -> None:
        if not files:
            return
        import io

        from PIL import Image as PILImage
        item = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        content = bytes(item["content"])
        C, H, W = self.input_shape
        picture = PILImage.open(io.BytesIO(content)).convert("RGB" if C == 3 else "L")
        picture = picture.resize((W, H))
        array = np.asarray(picture, dtype=np.float32) / 255.0
        x = array.transpose(2, 0, 1) if C == 3 else (1.0 - array)[None]  # dark ink on white
        self._show_input(x - self.data["mean_image"])

    def _show_input(self, x) -> None:
        # the gradients shown are those of the loss of the class the network chose
        guess = int(np.argmax(self.trainer.predict_proba(x[None])[0]))
        outputs, grads, p = self.trainer.inspect(x, guess)
        self.drawing_probabilities = p
        self.drawing_view.value = image_of(x, self.data["mean_image"])
        self.drawing_bars.value = probability_bars(p, self.class_names, None).encode()
        self.drawing_maps.children = self._map_rows(outputs, grads, self.drawing_maps)
        predicted = self.class_names[int(np.argmax(p))]
        self.message = f"your input: the network says {predicted} ({p.max():.0%})"
        self._dirty = True

    # ================================================================= views
    def refresh(self, force: bool = False) -> None:
        """Redraw the views that are due (all of them with ``force``).

        The figures are due every ``figure_interval`` seconds and the pictures every
        ``picture_interval``, or less often when drawing them takes longer than
        ``FIGURE_SHARE`` / ``PICTURE_SHARE`` of the time in between (a large network):
        the views never take more than about 6% of the training time."""
        now = time.perf_counter()
        if force or now >= self._next_figures:
            self._draw_figures()
            took = time.perf_counter() - now
            self._next_figures = next_due(now, took, FIGURE_SHARE, self.figure_interval)
        start = time.perf_counter()
        if force or start >= self._next_pictures:
            self._draw_pictures(force or start >= self._next_test)
            took = time.perf_counter() - start
            self._next_pictures = next_due(start, took, PICTURE_SHARE, self.picture_interval)
        if force:
            self._dirty = False

    def _update_status(self) -> None:
        t = self.trainer
        loss = f"{t.history.loss[-1][1]:.4f}" if t.history.loss else "-"
        val = f"{t.history.val_acc[-1][1]:.1%}" if t.history.val_acc else "-"
        test = "-" if math.isnan(self.test_accuracy) else f"{self.test_accuracy:.1%}"
        self.status.value = (
            f"<div class='cn-status-line'><span class='cn-seen'>examples seen: "
            f"<b>{t.examples_seen:,}</b></span> &middot; <span class='cn-rate'>"
            f"{self.examples_per_second:,.0f} examples/s</span> &middot; loss {loss} &middot; "
            f"validation accuracy {val} &middot; test accuracy {test} &middot; "
            f"<span class='cn-message'>{escape(self.message)}</span></div>")

    def _draw_figures(self) -> None:
        t = self.trainer
        self._update_status()
        self.loss_view.value = line_chart({"training loss": t.history.loss},
                                          "loss").encode()
        self.accuracy_view.value = line_chart({"training": t.history.train_acc,
                                               "validation": t.history.val_acc},
                                              "accuracy", y_range=(0.0, 1.0)).encode()
        self.times_view.value = layer_time_chart([s.name for s in t.layers],
                                                 [s.forward_ms for s in t.layers],
                                                 [s.backward_ms for s in t.layers]).encode()
        rows = []
        for s in t.layers:
            C, H, W = s.output_shape
            layer = next(layer for layer in t.model.layers if layer.path == s.name)
            size = getattr(layer, "size", None)
            size = f"{size[0]}x{size[1]}" if isinstance(size, tuple) else (
                f"{size}x{size}" if size else "")
            stride = getattr(layer, "stride", "")
            rows.append(f"<tr><td>{escape(s.name)}</td><td>{escape(s.kind)}</td>"
                        f"<td>{H}x{W}x{C}</td><td>{size}</td><td>{stride}</td>"
                        f"<td>{s.params:,}</td><td>{s.act_min:.3g} / {s.act_max:.3g}</td>"
                        f"<td>{s.grad_min:.3g} / {s.grad_max:.3g}</td>"
                        f"<td>{s.forward_ms:.2f} / {s.backward_ms:.2f}</td></tr>")
        self.layer_table.value = (
            "<table class='cn-layers' style='white-space:nowrap'><thead><tr><th>layer</th>"
            "<th>kind</th><th>output</th>"
            "<th>filter</th><th>stride</th><th>parameters</th><th>activations min / max</th>"
            "<th>gradients min / max</th><th>forward / backward ms</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")

    def _map_rows(self, outputs, grads, box) -> tuple:
        w = _widgets()
        names = [s.name for s in self.trainer.layers]
        kinds = [s.kind for s in self.trainer.layers]
        old = list(box.children)
        if len(old) != len(outputs) or getattr(box, "_names", None) != names:
            natural = dict(format="png", layout=w.Layout(flex="0 0 auto", width="auto",
                                                         height="auto"))
            old = [w.HBox([w.HTML(layout=w.Layout(width="110px", flex="0 0 auto")),
                           w.Image(**natural), w.Image(**natural)],
                          layout=w.Layout(align_items="flex-start"))
                   for _ in outputs]
            box._names = names
        for row, name, kind, out, grad in zip(old, names, kinds, outputs, grads, strict=True):
            label, act_view, grad_view = row.children
            C, H, W = out.shape
            label.value = f"<b>{escape(name)}</b><br>{escape(kind)}<br>{H}x{W}x{C}"
            act_view.value = tile_maps(out)
            grad_view.value = tile_maps(grad, gradient=True)
        return tuple(old)

    def _draw_pictures(self, with_test: bool) -> None:
        t = self.trainer
        X_val, y_val = self.data["X_val"], self.data["y_val"]
        index = min(self.example_index, len(X_val) - 1)
        x, label = X_val[index], int(y_val[index])
        outputs, grads, p = t.inspect(x, label)
        self.example_view.value = image_of(x, self.data["mean_image"])
        guess = int(np.argmax(p))
        self.example_label.value = (f"label <b>{escape(self.class_names[label])}</b>, network "
                                    f"says <b>{escape(self.class_names[guess])}</b> "
                                    f"({p[guess]:.0%})")
        self.maps_box.children = self._map_rows(outputs, grads, self.maps_box)
        first = next((layer for layer in t.model.layers
                      if layer.param_shapes(t.model.input_shape)), None)
        if first is not None and t.model.layers.index(first) == 0:
            key = first.key("w")
            weights = t.model.params[key]
            if weights.ndim == 4:
                self.filters_view.value = filter_tiles(weights)
                grad = getattr(t, "last_grads", {}).get(key)
                if grad is not None:
                    self.filter_grads_view.value = filter_tiles(grad)
        X_test, y_test = self.data["X_test"], self.data["y_test"]
        start = self._grid_offset % len(X_test)
        idx = (np.arange(GRID_SIZE) + start) % len(X_test)
        self._grid_offset += GRID_SIZE
        if with_test:
            started = time.perf_counter()
            n = min(len(X_test), TEST_SAMPLES)
            predicted = t.predict_proba(X_test[:n]).argmax(axis=1)
            self.test_accuracy = float(np.mean(predicted == y_test[:n]))
            confusion = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
            np.add.at(confusion, (y_test[:n], predicted), 1)
            self.confusion = confusion
            self.confusion_view.value = confusion_chart(confusion, self.class_names).encode()
            # measured again once it costs at most TEST_SHARE of the time in between
            took = time.perf_counter() - started
            self._next_test = next_due(started, took, TEST_SHARE, self.picture_interval)
        probabilities = t.predict_proba(X_test[idx])
        images = [image_of(X_test[i], self.data["mean_image"], target=48) for i in idx]
        self.grid_indices = idx
        self.predictions_view.value = prediction_grid(
            images, probabilities, y_test[idx], self.class_names,
            self.test_accuracy if not math.isnan(self.test_accuracy) else 0.0).encode()
        self._update_status()
