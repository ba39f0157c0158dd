"""Lesson 4's convolution demo as an animated GIF, for pages that run no code (GitHub).

The executed HTML and JupyterLab show the demo as a player (``convnets.teach``); a
page that only displays files, such as the lesson's ``.py`` text or the README on
GitHub, can still show an image. This script draws the 18 steps of the demo, with the
numbers lesson 4 uses, one frame each, and writes them as a looping GIF::

    .venv/bin/python tools/make_conv_demo_gif.py            # docs/img/conv_demo.gif
    .venv/bin/python tools/make_conv_demo_gif.py --out /tmp/demo.gif

The numbers are not copied here: the script runs the lesson's first code cells (its
imports and the cell that draws ``x``, ``w`` and ``b``) and takes ``x``, ``w``, ``b``,
``S`` and ``P`` from them, so the image follows the lesson. Each step's values come
from ``convnets.teach.conv_demo_steps``, the function that feeds the HTML player. The
GIF's comment holds those numbers and the 18 output values as JSON
(``tests/test_conv_demo_gif.py`` checks them against the lesson's).
Only matplotlib (Agg) and Pillow are used.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "course" / "04_conv_demo.py"
DEFAULT_OUT = ROOT / "docs" / "img" / "conv_demo.gif"
FRAME_MS = 1400            # each step stays this long on screen
LAST_FRAME_MS = 3000       # the full output volume stays a little longer
DPI = 100
CELL = 0.22                # inches per grid cell, the same in every grid
TOP = 0.4                  # inches above the first row, for the step's title
COLOURS = {"pad": "#e0e0e0", "in": "#dbe8f7", "win": "#fbe3a6", "pad_win": "#e8dcc0",
           "w": "#f8d7d3", "out": "#d9ead3", "edge": "#c0392b"}


def lesson_numbers(lesson: Path = LESSON) -> dict:
    """``x_padded`` (C, H+2P, W+2P), ``w`` (K, C, F, F), ``b`` (K,), ``stride``, ``pad``
    as lesson 4 defines them: its code cells are run in order until ``x``, ``w``, ``b``,
    ``S`` and ``P`` are all defined (the imports and the example's cell)."""
    import jupytext

    notebook = jupytext.read(lesson, fmt="py:percent")
    namespace: dict = {}
    names = ("x", "w", "b", "S", "P")
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        with _quiet():
            exec(compile(cell.source, f"{lesson.name} cell", "exec"), namespace)
        if all(name in namespace for name in names):
            break
    else:
        raise RuntimeError(f"{lesson} never defines all of {', '.join(names)}")
    x, pad = np.asarray(namespace["x"], dtype=float), int(namespace["P"])
    return {"x_padded": np.pad(x[0], ((0, 0), (pad, pad), (pad, pad))),
            "w": np.asarray(namespace["w"], dtype=float),
            "b": np.asarray(namespace["b"], dtype=float),
            "stride": int(namespace["S"]), "pad": pad}


class _quiet:
    """Swallow what the lesson's cells print."""

    def __enter__(self):
        self._stdout, sys.stdout = sys.stdout, io.StringIO()

    def __exit__(self, *exc):
        sys.stdout = self._stdout
        return False


def describe(numbers: dict) -> dict:
    """What the GIF's comment records: the demo's numbers and every step's value."""
    from convnets.teach import conv_demo_steps

    steps = conv_demo_steps(numbers["x_padded"], numbers["w"], numbers["b"],
                            numbers["stride"])
    return {"x_padded": numbers["x_padded"].tolist(), "w": numbers["w"].tolist(),
            "b": numbers["b"].tolist(), "stride": numbers["stride"], "pad": numbers["pad"],
            "steps": [{"k": s["k"], "i": s["i"], "j": s["j"], "sums": s["sums"],
                       "value": s["value"]} for s in steps]}


def _fmt(value: float) -> str:
    return f"{value:g}"


def _term(value: float) -> str:
    """A term of a sum: negative numbers in brackets, ``0 + (-1) + 2``."""
    return f"({value:g})" if value < 0 else f"{value:g}"


class _Grid:
    """A grid of numbers in its own axes: cell colours (one image), cell borders, a
    number per cell and a red outline, each changed in place from frame to frame."""

    def __init__(self, fig, rect, values, title):
        self.rows, self.cols = values.shape
        ax = fig.add_axes(rect)
        self.image = ax.imshow(np.ones((self.rows, self.cols, 3)),
                               extent=(0, self.cols, self.rows, 0), interpolation="nearest")
        for r in range(self.rows + 1):
            ax.axhline(r, color="0.55", lw=0.8)
        for c in range(self.cols + 1):
            ax.axvline(c, color="0.55", lw=0.8)
        self.texts = [[ax.text(c + 0.5, r + 0.52, _fmt(values[r, c]), ha="center",
                               va="center", fontsize=9) for c in range(self.cols)]
                      for r in range(self.rows)]
        self.outline = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False,
                                              edgecolor=COLOURS["edge"], lw=2.5, zorder=5))
        ax.set_xlim(-0.05, self.cols + 0.05)
        ax.set_ylim(self.rows + 0.05, -0.05)
        ax.set_axis_off()
        ax.set_title(title, fontsize=9)

    def update(self, colours, values=None, shown=None, outline=None):
        """``colours`` (rows, cols) of colour names; ``outline`` = (top, left, height,
        width) or None; ``shown[r, c]`` False leaves a cell blank."""
        rgb = matplotlib.colors.to_rgba_array(np.ravel(colours))[:, :3]
        self.image.set_data(rgb.reshape(self.rows, self.cols, 3))
        for r in range(self.rows):
            for c in range(self.cols):
                text = self.texts[r][c]
                if values is not None:
                    text.set_text(_fmt(values[r, c]))
                text.set_visible(shown is None or bool(shown[r, c]))
        self.outline.set_visible(outline is not None)
        if outline is not None:
            top, left, height, width = outline
            self.outline.set_bounds(left, top, width, height)


class DemoFigure:
    """The demo drawn as the HTML player lays it out: each padded input slice with the
    window, the filter's slice and the channel's sum of products; the output volume
    filled so far and the step's sum. Every grid has the same cell size, so window and
    filter line up by eye. One figure, changed in place for each step."""

    def __init__(self, numbers: dict):
        from convnets.teach import conv_demo_steps

        self.numbers = numbers
        x_padded, w, pad = numbers["x_padded"], numbers["w"], numbers["pad"]
        self.steps = conv_demo_steps(x_padded, w, numbers["b"], numbers["stride"])
        C, size_h, size_w = x_padded.shape
        K, F = w.shape[0], w.shape[2]
        out_h = max(s["i"] for s in self.steps) + 1
        out_w = max(s["j"] for s in self.steps) + 1
        self.out_shape = (K, out_h, out_w)
        rows = np.arange(size_h)[:, None]
        cols = np.arange(size_w)[None, :]
        self.padding = (rows < pad) | (cols < pad) | (rows >= size_h - pad) | (cols >= size_w - pad)

        # Layout in inches: one row per input channel, columns input | filter | sum | output.
        row_height = size_h * CELL + 0.32
        self.height = height = TOP + max(C, K + 1) * row_height + 0.1
        x_in, x_w = 0.25, 0.25 + size_w * CELL + 0.45
        x_sum = x_w + F * CELL + 0.2
        x_out = x_sum + 1.5
        self.width = width = x_out + max(out_w * CELL, 1.6) + 0.25
        self.fig = fig = plt.figure(figsize=(width, height), dpi=DPI, facecolor="white")

        def rect(x0, row, n_rows, n_cols):
            y_top = height - TOP - row * row_height - 0.25
            return [x0 / width, (y_top - n_rows * CELL) / height,
                    n_cols * CELL / width, n_rows * CELL / height]

        def middle(row):
            return (height - TOP - row * row_height - 0.25 - F * CELL / 2) / height

        self.inputs = [_Grid(fig, rect(x_in, c, size_h, size_w), x_padded[c],
                             f"x[:, :, {c}] padded") for c in range(C)]
        self.filters = [_Grid(fig, rect(x_w, c, F, F), w[0, c], "") for c in range(C)]
        self.sums = [fig.text(x_sum / width, middle(c), "", va="center", fontsize=10)
                     for c in range(C)]
        self.outputs = [_Grid(fig, rect(x_out, k, out_h, out_w), np.zeros((out_h, out_w)),
                              f"o[:, :, {k}]") for k in range(K)]
        self.equation = fig.text(x_out / width, middle(K), "", va="center", fontsize=10,
                                 fontweight="bold")
        self.title = fig.text(0.5, 1 - 0.18 / height, "", ha="center", va="center",
                              fontsize=11)

    def draw(self, current: int) -> Image.Image:
        """Step ``current`` (from 0) as an RGB image."""
        numbers, step = self.numbers, self.steps[current]
        w, b, pad = numbers["w"], numbers["b"], numbers["pad"]
        k, top, left, F = step["k"], step["top"], step["left"], w.shape[2]
        rows = np.arange(self.padding.shape[0])[:, None]
        cols = np.arange(self.padding.shape[1])[None, :]
        window = (rows >= top) & (rows < top + F) & (cols >= left) & (cols < left + F)
        colours = np.where(window, np.where(self.padding, COLOURS["pad_win"], COLOURS["win"]),
                           np.where(self.padding, COLOURS["pad"], COLOURS["in"]))
        for grid in self.inputs:
            grid.update(colours, outline=(top, left, F, F))
        for c, grid in enumerate(self.filters):
            grid.update(np.full((F, F), COLOURS["w"]), values=w[k, c])
            grid.image.axes.set_title(f"w{k}[:, :, {c}]", fontsize=9)
            self.sums[c].set_text(f"channel {c}:\nsum of products\n= {_fmt(step['sums'][c])}")
        out, shown = np.zeros(self.out_shape), np.zeros(self.out_shape, dtype=bool)
        for s in self.steps[:current + 1]:
            out[s["k"], s["i"], s["j"]] = s["value"]
            shown[s["k"], s["i"], s["j"]] = True
        for kk, grid in enumerate(self.outputs):
            grid.update(np.full(out[kk].shape, COLOURS["out"]), values=out[kk],
                        shown=shown[kk], outline=(step["i"], step["j"], 1, 1) if kk == k else None)
        self.equation.set_text(f"o[{step['i']},{step['j']},{k}]\n= "
                               + " + ".join(_term(v) for v in step["sums"])
                               + f"\n   + {_term(b[k])} (bias)\n= {_fmt(step['value'])}")
        self.title.set_text(f"step {current + 1} of {len(self.steps)}: output ({step['i']}, "
                            f"{step['j']}) of filter {k}   (stride {numbers['stride']}, "
                            f"padding {pad}: grey zeros)")
        self.fig.canvas.draw()
        return Image.fromarray(np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy())

    def close(self) -> None:
        plt.close(self.fig)


def render_frames(numbers: dict) -> list[Image.Image]:
    """One palette image per step of the demo."""
    figure = DemoFigure(numbers)
    try:
        frames = [figure.draw(current) for current in range(len(figure.steps))]
    finally:
        figure.close()
    return [frame.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=0)
            for frame in frames]


def write_gif(out: Path, numbers: dict | None = None) -> Path:
    """Draw the demo (lesson 4's numbers unless given) and write it to ``out``."""
    numbers = lesson_numbers() if numbers is None else numbers
    frames = render_frames(numbers)
    durations = [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS]
    comment = json.dumps(describe(numbers), separators=(",", ":"))
    out.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(out, save_all=True, append_images=frames[1:], duration=durations,
                   loop=0, optimize=True, disposal=1, comment=comment.encode())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where to write the GIF (default: {DEFAULT_OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    path = write_gif(args.out)
    with Image.open(path) as image:
        print(f"{path}: {image.n_frames} frames of {image.size[0]}x{image.size[1]}, "
              f"{path.stat().st_size / 1024:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
