"""Pictures of what a ConvNet learned and computes.

- :func:`show_filters`: the first-layer filters as a grid of small images, each
  normalized on its own (RGB for 3-channel filters, gray for 1-channel ones).
- :func:`show_activations`: the activation maps of every layer for one image, one row
  per layer, like the notes' "activations of an example ConvNet" figure (which lays each
  volume out as a column of depth slices; here the rows play that part).
- :func:`plot_history`: the training loss and accuracies of a :class:`convnets.Solver`.

Figures are drawn with matplotlib's Agg canvas, without pyplot, so nothing changes the
global backend (they still display in Jupyter). Each function returns the figure and,
when given a path, saves it as PNG. matplotlib is imported inside the functions.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..checks import check_array, check_int

__all__ = ["filter_grid", "show_filters", "show_activations", "plot_history"]


_SEPARATOR = (0.6, 0.68, 0.85)


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


def filter_grid(w, padding: int = 1, ncols: int | None = None) -> np.ndarray:
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
    if C == 3:
        tiles = [_normalize(f).transpose(1, 2, 0) for f in w]       # (HH, WW, 3)
        cols = ncols or math.ceil(math.sqrt(F))
    elif C == 1:
        tiles = [_normalize(f[0]) for f in w]
        cols = ncols or math.ceil(math.sqrt(F))
    else:
        tiles = [_normalize(f)[c] for f in w for c in range(C)]    # per filter, C tiles
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


def show_filters(w, path=None, padding: int = 1, ncols: int | None = None, title=None):
    """Show a bank of (first-layer) filters as a grid of small images.

    Parameters
    ----------
    w : ndarray, shape (F, C, HH, WW)
        Filters; C == 3 is shown in color (the channels read as R, G, B), C == 1 in gray,
        other depths one gray tile per channel. Each filter is normalized on its own so
        that its pattern is visible whatever its scale.
    path : str or Path or None
        Where to save the PNG.
    padding, ncols
        See :func:`filter_grid`.
    title : str or None
        Default ``'<F> filters, <HH>x<WW>x<C>'``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    grid = filter_grid(w, padding=padding, ncols=ncols)
    F, C, HH, WW = np.shape(w)
    # Draw in RGB: gray tiles as equal channels, the separators in one bluish gray that a
    # gray filter never takes.
    gap = np.isnan(grid if grid.ndim == 2 else grid[..., 0])
    rgb = np.repeat(grid[..., None], 3, axis=-1) if grid.ndim == 2 else grid.copy()
    rgb[gap] = _SEPARATOR
    side = 6.0
    aspect = grid.shape[0] / grid.shape[1]
    fig = _new_figure(side, max(2.0, side * aspect) + 0.5)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(rgb, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title or f"{F} filters, {HH}x{WW}x{C}")
    fig.tight_layout()
    _save(fig, path)
    return fig


def show_activations(model, x, path=None, max_maps: int = 8, class_names=None):
    """The activations of every layer of ``model`` for one image, one row per layer.

    The first row is the input image; then, for each ``(name, output)`` of
    ``model.activations(x)``:

    * a volume (1, D, H, W): its first ``max_maps`` depth slices (activation maps),
      side by side, on one color scale per layer (so that the slices compare);
    * a vector (1, M) (an FC layer): a strip of M cells;
    * the last layer (the class scores): a bar chart, the top-scoring class in red.

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

    fig = _new_figure(1.3 * max_maps + 1.5, 1.35 * len(layers) + 0.4)
    grid = fig.add_gridspec(len(layers), max_maps)
    for row, (name, act) in enumerate(layers):
        a = act[0] if act.shape[:1] == (1,) else act
        label = f"{name}\n{' x '.join(map(str, a.shape))}"
        last = row == len(layers) - 1
        if row == 0 and a.ndim == 3 and a.shape[0] == 3:
            ax = fig.add_subplot(grid[row, 0])
            ax.imshow(_normalize(a).transpose(1, 2, 0), interpolation="nearest")
            _label_axis(ax, label)
        elif a.ndim == 3 and not last:
            lo, hi = float(a.min()), float(a.max())
            if hi <= lo:
                hi = lo + 1.0
            for k in range(min(max_maps, a.shape[0])):
                ax = fig.add_subplot(grid[row, k])
                ax.imshow(a[k], cmap="viridis", vmin=lo, vmax=hi, interpolation="nearest")
                _label_axis(ax, label if k == 0 else None)
                ax.set_title(f"d={k}", fontsize=7)
        elif last:
            scores = a.reshape(-1)
            ax = fig.add_subplot(grid[row, :])
            colors = ["tab:blue"] * len(scores)
            colors[int(np.argmax(scores))] = "tab:red"
            ax.bar(np.arange(len(scores)), scores, color=colors)
            if len(scores) <= 20:
                names = class_names or [str(i) for i in range(len(scores))]
                ax.set_xticks(np.arange(len(scores)), [str(n) for n in names], fontsize=7)
            ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
            ax.tick_params(axis="y", labelsize=7)
        else:
            ax = fig.add_subplot(grid[row, :])
            ax.imshow(a.reshape(1, -1), cmap="viridis", aspect="auto",
                      interpolation="nearest")
            _label_axis(ax, label)
    fig.suptitle("Activations, layer by layer", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    return fig


def _label_axis(ax, label) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    if label is not None:
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)


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
