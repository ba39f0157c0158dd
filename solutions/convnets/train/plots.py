"""Pictures of what a ConvNet learned and computes.

- :func:`show_filters`: the first-layer filters as a grid of small images, each
  normalized on its own (RGB for 3-channel filters, gray for 1-channel ones).
- :func:`show_activations`: the activation maps of every layer for one image, one row
  per layer, like the notes' "activations of an example ConvNet" figure (which lays each
  volume out as a column of depth slices; here the rows play that part).
- :func:`plot_history`: the training loss and accuracies of a :class:`convnets.Solver`.

The house style of every figure in the course, and its mechanical check:

- :func:`signed_map`: a map whose sign matters (weights, scores, gradients) in a
  diverging colour map centred at 0 (blue negative, white 0, red positive), with a
  colour bar; panels that are compared share one ``limit``.
- :func:`grey_image`: a grey image in grey, on a fixed scale (0 black, 1 white).
- :func:`figure_problems`: what breaks the style in a figure: text under
  ``MIN_FONT_PT``, a size over ``MAX_FIGURE_INCHES``, a map with values of both signs
  drawn without a diverging colour map centred at 0 or without a colour bar.

Figures are drawn with matplotlib's Agg canvas, without pyplot, so nothing changes the
global backend (they still display in Jupyter). Each function returns the figure and,
when given a path, saves it as PNG. matplotlib is imported inside the functions.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..checks import check_array, check_int

__all__ = ["filter_grid", "show_filters", "show_activations", "plot_history", "signed_map",
           "grey_image", "figure_problems", "MIN_FONT_PT", "MAX_FIGURE_INCHES",
           "SIGNED_CMAP"]


_SEPARATOR = (0.6, 0.68, 0.85)
_SIGNED_SEPARATOR = (0.35, 0.35, 0.35)     # dark grey: no value of the diverging map

MIN_FONT_PT = 8.0
"""The smallest text a figure may hold, in points (tick labels and legends included)."""
MAX_FIGURE_INCHES = (12.0, 8.0)
"""The largest figure, width x height in inches: 1200 x 800 pixels at 100 dpi, which fits
a laptop screen next to the notebook's margins."""
SIGNED_CMAP = "RdBu_r"
"""Blue for negative, white for 0, red for positive."""
_DIVERGING = {"RdBu", "RdBu_r", "bwr", "bwr_r", "coolwarm", "coolwarm_r", "seismic",
              "seismic_r", "PiYG", "PiYG_r", "PRGn", "PRGn_r", "BrBG", "BrBG_r", "PuOr",
              "PuOr_r", "RdGy", "RdGy_r", "RdYlBu", "RdYlBu_r", "Spectral", "Spectral_r"}


def signed_map(ax, values, limit: float | None = None, colorbar: bool = True,
               label: str | None = None, missing=None, **imshow_options):
    """Draw a 2-D map whose sign matters, centred at 0, with a colour bar.

    Parameters
    ----------
    ax : matplotlib Axes
    values : ndarray, shape (H, W)
    limit : float or None
        The colour scale runs from ``-limit`` (blue) to ``+limit`` (red). Give panels
        that are compared the same limit; default ``max |values|`` (1 if all are 0).
    colorbar : bool
        Draw a colour bar next to the axes (a figure with several panels on one
        ``limit`` may draw a single bar for all of them instead, with
        ``fig.colorbar(image, ax=axes)``).
    label : str or None
        The colour bar's label.
    missing : colour or None
        The colour of NaN cells (default: left blank).

    Returns
    -------
    matplotlib.image.AxesImage
    """
    from matplotlib import colormaps

    values = np.asarray(values, dtype=np.float64)
    if limit is None:
        finite = values[np.isfinite(values)]
        limit = float(np.abs(finite).max()) if finite.size else 1.0
    limit = float(limit) if limit and limit > 0 else 1.0
    imshow_options.setdefault("interpolation", "nearest")
    cmap = colormaps[SIGNED_CMAP]
    if missing is not None:
        cmap = cmap.with_extremes(bad=missing)
    image = ax.imshow(values, cmap=cmap, vmin=-limit, vmax=limit, **imshow_options)
    if colorbar:
        bar = ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        if label:
            bar.set_label(label)
    return image


def grey_image(ax, image, vmin: float = 0.0, vmax: float = 1.0, axis_off: bool = True):
    """Draw a grey image in grey (``vmin`` black, ``vmax`` white) on a fixed scale."""
    shown = ax.imshow(np.asarray(image), cmap="gray", vmin=vmin, vmax=vmax,
                      interpolation="nearest")
    if axis_off:
        ax.set_axis_off()
    return shown


def figure_problems(fig) -> list[str]:
    """What in ``fig`` breaks the house style, one sentence per problem ([] if none).

    Checked: the figure fits ``MAX_FIGURE_INCHES``; every visible text (titles, labels,
    tick labels, legends, annotations) is at least ``MIN_FONT_PT``; every image drawn
    through a colour map whose data has negative and positive values uses a diverging
    colour map, centred at 0 (``vmin == -vmax``), and has a colour bar.
    """
    from matplotlib.image import AxesImage
    from matplotlib.text import Text

    problems = []
    width, height = fig.get_size_inches()
    if width > MAX_FIGURE_INCHES[0] + 1e-9 or height > MAX_FIGURE_INCHES[1] + 1e-9:
        problems.append(f"figure is {width:g} x {height:g} in, over "
                        f"{MAX_FIGURE_INCHES[0]:g} x {MAX_FIGURE_INCHES[1]:g}")
    fig.canvas.draw()                        # lays out ticks, so their labels exist
    small = {}
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip() and text.get_figure() is not None:
            size = text.get_fontsize()
            if size < MIN_FONT_PT - 1e-9:
                small.setdefault(size, []).append(text.get_text().strip().replace("\n", " "))
    for size, texts in sorted(small.items()):
        shown = ", ".join(repr(t[:30]) for t in texts[:3])
        more = f" and {len(texts) - 3} more" if len(texts) > 3 else ""
        problems.append(f"{len(texts)} text(s) at {size:g} pt (< {MIN_FONT_PT:g}): "
                        f"{shown}{more}")
    for ax in fig.axes:
        for image in ax.get_images():
            if not isinstance(image, AxesImage):
                continue
            data = np.ma.masked_invalid(np.ma.asarray(image.get_array(), dtype=np.float64))
            if data.ndim != 2 or data.count() == 0:
                continue                     # RGB(A) pictures carry their own colours
            if not (data.min() < 0 < data.max()):
                continue
            title = ax.get_title() or ax.get_ylabel() or f"axes {fig.axes.index(ax)}"
            name = image.get_cmap().name
            lo, hi = image.get_clim()
            if name not in _DIVERGING:
                problems.append(f"signed map {title!r} drawn in {name!r}, not a diverging "
                                f"colour map")
            elif abs(lo + hi) > 1e-9 * max(abs(lo), abs(hi), 1e-300):
                problems.append(f"signed map {title!r} is not centred at 0 "
                                f"(colours from {lo:g} to {hi:g})")
            if image.colorbar is None and not _shares_a_colorbar(fig, image):
                problems.append(f"signed map {title!r} has no colour bar")
    return problems


def _shares_a_colorbar(fig, image) -> bool:
    """True if another image of ``fig`` with the same colour map and limits has a colour
    bar (one bar for panels drawn on one scale)."""
    for ax in fig.axes:
        for other in ax.get_images():
            if (other is not image and other.colorbar is not None
                    and other.get_cmap().name == image.get_cmap().name
                    and other.get_clim() == image.get_clim()):
                return True
    return False


def _normalize(a: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a constant array becomes 0.5 (mid gray) instead of dividing by 0."""
    a = np.asarray(a, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    if hi - lo < 1e-12 * max(1.0, abs(hi), abs(lo)):
        return np.full_like(a, 0.5)
    return (a - lo) / (hi - lo)


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path) -> None:
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")


def filter_grid(w, padding: int = 1, ncols: int | None = None,
                normalize: bool = True) -> np.ndarray:
    """Tile filters into one image, each filter normalized to [0, 1] on its own.

    Parameters
    ----------
    w : ndarray, shape (F, C, HH, WW)
        Filters (e.g. ``model.params['W1']``).
    padding : int
        Pixels between tiles; they hold NaN ("no data"), so that no filter value can be
        mistaken for the separator (:func:`show_filters` draws them in one color).
    ncols : int or None
        Tiles per row; default ``ceil(sqrt(F))`` (a square-ish grid).
    normalize : bool
        Scale each filter to [0, 1] on its own (default). With ``False`` the tiles hold
        the weights as they are, so that one colour scale compares all of them.

    Returns
    -------
    ndarray
        ``(rows*(HH+p) - p, ncols*(WW+p) - p, 3)`` for RGB filters (C == 3), else
        ``(rows*(HH+p) - p, ncols*(WW+p) - p)`` gray. For C other than 1 and 3 each
        channel is its own gray tile: one row of C tiles per filter.
    """
    w = check_array(w, "w", 4, "(F, C, HH, WW)")
    padding = check_int(padding, "padding", minimum=0)
    F, C, HH, WW = w.shape
    scale = _normalize if normalize else (lambda a: np.asarray(a, dtype=np.float64))
    if C == 3:
        tiles = [scale(f).transpose(1, 2, 0) for f in w]       # (HH, WW, 3)
        cols = ncols or math.ceil(math.sqrt(F))
    elif C == 1:
        tiles = [scale(f[0]) for f in w]
        cols = ncols or math.ceil(math.sqrt(F))
    else:
        tiles = [scale(f)[c] for f in w for c in range(C)]    # per filter, C tiles
        cols = ncols or C
    cols = check_int(cols, "ncols", minimum=1)
    rows = math.ceil(len(tiles) / cols)
    shape = (rows * (HH + padding) - padding, cols * (WW + padding) - padding)
    if C == 3:
        shape += (3,)
    grid = np.full(shape, np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        grid[r * (HH + padding):r * (HH + padding) + HH,
             c * (WW + padding):c * (WW + padding) + WW] = tile
    return grid


def show_filters(w, path=None, padding: int = 1, ncols: int | None = None, title=None,
                 limit: float | None = None):
    """Show a bank of (first-layer) filters as a grid of small images.

    Parameters
    ----------
    w : ndarray, shape (F, C, HH, WW)
        Filters. C == 3 is shown in colour (the channels read as R, G, B), each filter
        normalized on its own so that its pattern shows whatever its scale. Other depths
        (one tile per filter when C == 1, one row of C tiles per filter otherwise) show
        the weights themselves on one diverging scale centred at 0 with a colour bar
        (blue negative, white 0, red positive), so that tiles compare.
    path : str or Path or None
        Where to save the PNG.
    padding, ncols
        See :func:`filter_grid`.
    title : str or None
        Default ``'<F> filters, <HH>x<WW>x<C>'``.
    limit : float or None
        The colour scale for C != 3, ``-limit`` to ``+limit``; give two banks that are
        compared (before and after training) the same limit. Default ``max |w|``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    F, C, HH, WW = np.shape(w) if np.ndim(w) == 4 else (0, 0, 0, 0)
    colour = C == 3
    grid = filter_grid(w, padding=padding, ncols=ncols, normalize=colour)
    aspect = grid.shape[0] / grid.shape[1]
    width = float(np.clip(0.3 * grid.shape[1], 2.5, 6.0))
    fig = _new_figure(width + (0 if colour else 1.0),
                      float(np.clip(width * aspect, 1.5, 6.5)) + 0.6)
    ax = fig.add_subplot(1, 1, 1)
    if colour:
        # The separators in one bluish gray that a colour filter never takes exactly.
        rgb = grid.copy()
        rgb[np.isnan(grid[..., 0])] = _SEPARATOR
        ax.imshow(rgb, interpolation="nearest")
    else:
        signed_map(ax, grid, limit=limit, label="weight", missing=_SIGNED_SEPARATOR)
    ax.set_axis_off()
    ax.set_title(title or f"{F} filters, {HH}x{WW}x{C}")
    _save(fig, path)
    return fig


def show_activations(model, x, path=None, max_maps: int = 8, class_names=None):
    """The activations of every layer of ``model`` for one image, one row per layer.

    The first row is the input image (in colour for 3 channels, grey for 1); then, for
    each ``(name, output)`` of ``model.activations(x)``:

    * a volume (1, D, H, W): its first ``max_maps`` depth slices (activation maps),
      side by side, on one colour scale per layer with a colour bar (so that the slices
      compare): diverging and centred at 0 when the layer has negative values (a conv
      before its ReLU), grey from 0 (black) when it has none (after a ReLU or a pool);
    * a vector (1, M) (an FC layer): a strip of M cells, on the same rule;
    * the last layer (the class scores): a bar chart with the class names, the
      top-scoring class in red.

    Parameters
    ----------
    model
        Anything with ``activations(x) -> list[(layer_name, output_array)]``.
    x : ndarray, shape (C, H, W) or (1, C, H, W)
        One image, preprocessed as the model expects.
    path : str or Path or None
        Where to save the PNG.
    max_maps : int
        Depth slices shown per volume.
    class_names : list of str or None
        Labels for the score bars (default the class indices).

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = check_array(x, "x")
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"x must be one image, (C, H, W) or (1, C, H, W), got shape {x.shape}")
    max_maps = check_int(max_maps, "max_maps", minimum=1)
    if not callable(getattr(model, "activations", None)):
        raise TypeError("model must have a method activations(x) -> list of (name, array)")
    layers = [("input", x)] + [(str(n), np.asarray(a)) for n, a in model.activations(x)]
    if len(layers) < 2:
        raise ValueError("model.activations(x) returned no layers")

    row_height = min(1.1, (MAX_FIGURE_INCHES[1] - 0.5) / len(layers))
    fig = _new_figure(min(MAX_FIGURE_INCHES[0], 1.2 * max_maps + 2.4),
                      row_height * len(layers) + 0.5)
    fig.set_layout_engine("constrained")
    grid = fig.add_gridspec(len(layers), max_maps)
    for row, (name, act) in enumerate(layers):
        a = act[0] if act.shape[:1] == (1,) else act
        label = f"{name}\n{' x '.join(map(str, a.shape))}"
        last = row == len(layers) - 1
        if row == 0 and a.ndim == 3 and a.shape[0] in (1, 3):
            ax = fig.add_subplot(grid[row, 0])
            if a.shape[0] == 3:
                ax.imshow(_normalize(a).transpose(1, 2, 0), interpolation="nearest")
            else:
                grey_image(ax, _normalize(a[0]), axis_off=False)
            _label_axis(ax, label)
        elif a.ndim == 3 and not last:
            axes = [fig.add_subplot(grid[row, k]) for k in range(min(max_maps, a.shape[0]))]
            images = [_activation_map(ax, a[k], a) for k, ax in enumerate(axes)]
            for k, ax in enumerate(axes):
                _label_axis(ax, label if k == 0 else None)
                ax.set_title(f"d={k}", fontsize=MIN_FONT_PT)
            fig.colorbar(images[0], ax=axes, fraction=0.02, pad=0.01, aspect=8)
        elif last:
            scores = a.reshape(-1)
            ax = fig.add_subplot(grid[row, :])
            colors = ["tab:blue"] * len(scores)
            colors[int(np.argmax(scores))] = "tab:red"
            ax.bar(np.arange(len(scores)), scores, color=colors)
            if len(scores) <= 20:
                names = class_names or [str(i) for i in range(len(scores))]
                ax.set_xticks(np.arange(len(scores)), [str(n) for n in names],
                              fontsize=MIN_FONT_PT)
            ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=MIN_FONT_PT)
            ax.tick_params(axis="y", labelsize=MIN_FONT_PT)
        else:
            ax = fig.add_subplot(grid[row, :])
            strip = a.reshape(1, -1)
            image = _activation_map(ax, strip, strip, aspect="auto")
            _label_axis(ax, label)
            fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01, aspect=8)
    fig.suptitle("Activations, layer by layer", fontsize=10)
    _save(fig, path)
    return fig


def _activation_map(ax, values, layer, **options):
    """One activation map on its layer's scale: diverging around 0 if the layer has
    negative values, else grey from 0."""
    lo, hi = float(np.min(layer)), float(np.max(layer))
    if lo < 0:
        return signed_map(ax, values, limit=max(-lo, hi), colorbar=False, **options)
    return ax.imshow(values, cmap="gray", vmin=0, vmax=hi if hi > 0 else 1.0,
                     interpolation="nearest", **options)


def _label_axis(ax, label) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    if label is not None:
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=MIN_FONT_PT)


def plot_history(solver, path=None):
    """Plot the training loss and the train/validation accuracy of a solver.

    Parameters
    ----------
    solver : Solver
        Anything with ``loss_history``, ``train_acc_history`` and ``val_acc_history``.
    path : str or Path or None
        Where to save the figure as PNG (parent folders are created).

    Returns
    -------
    matplotlib.figure.Figure
        Drawn with the Agg canvas (no window, no change to pyplot's global state);
        displays itself in Jupyter.
    """
    loss = np.asarray(solver.loss_history, dtype=np.float64)
    train_acc = np.asarray(solver.train_acc_history, dtype=np.float64)
    val_acc = np.asarray(solver.val_acc_history, dtype=np.float64)
    fig = _new_figure(10, 4)
    ax_loss, ax_acc = fig.subplots(1, 2)

    iterations = np.arange(1, len(loss) + 1)
    ax_loss.plot(iterations, loss, ".", markersize=3, alpha=0.4, label="minibatch loss")
    window = max(1, len(loss) // 20)
    if len(loss) >= 2 * window > 2:
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax_loss.plot(iterations[window - 1:], smooth, "-", label=f"mean of {window}")
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("Training loss")
    ax_loss.legend(loc="upper right")

    epochs = np.arange(len(train_acc))
    ax_acc.plot(epochs, train_acc, "o-", label="train")
    ax_acc.plot(epochs[:len(val_acc)], val_acc, "o-", label="val")
    if len(val_acc):
        best = int(np.argmax(val_acc))
        ax_acc.plot([best], [val_acc[best]], "k*", markersize=12,
                    label=f"best val {val_acc[best]:.3f}")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_title("Accuracy")
    ax_acc.set_ylim(0, 1.02)
    ax_acc.legend(loc="lower right")
    fig.tight_layout()
    _save(fig, path)
    return fig
