"""A drawing canvas widget: draw a digit with the mouse (or a finger), read it as pixels.

:class:`DrawingCanvas` is a small anywidget: the browser side is the few lines of
JavaScript below (a ``<canvas>`` of ``grid x grid`` cells painted black where the pointer
passes, and a *clear* button); the Python side sees ``pixels``, a flat list of
``grid * grid`` zeros and ones, updated when a stroke ends. Setting ``pixels`` from Python
draws it in the browser, which is how the tests draw.

:func:`drawing_to_input` turns the cells into one input image of a network: the grid is
averaged in ``k x k`` blocks down to the network's ``H x W`` (the UCI digits were made the
same way: 32x32 bitmaps counted in 4x4 blocks), copied to every channel and the data
set's mean image subtracted.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DrawingCanvas", "drawing_to_input", "fit_to_box", "canvas_grid", "HAVE_ANYWIDGET"]

try:
    import anywidget
    import traitlets
    HAVE_ANYWIDGET = True
except ImportError:  # the playground then offers the upload box only
    HAVE_ANYWIDGET = False

_ESM = """
function render({ model, el }) {
  const n = model.get("grid");
  const scale = Math.max(3, Math.floor(192 / n));
  const canvas = document.createElement("canvas");
  canvas.width = n * scale;
  canvas.height = n * scale;
  canvas.className = "convnets-drawing";
  canvas.style.border = "1px solid #888";
  canvas.style.cursor = "crosshair";
  canvas.style.touchAction = "none";
  const ctx = canvas.getContext("2d");
  let cells = (model.get("pixels") || []).slice();
  if (cells.length !== n * n) cells = new Array(n * n).fill(0);
  const radius = Math.max(1, n / 18);
  function paint() {
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "black";
    for (let i = 0; i < n * n; i++) {
      if (cells[i]) ctx.fillRect((i % n) * scale, Math.floor(i / n) * scale, scale, scale);
    }
  }
  function mark(event) {
    const box = canvas.getBoundingClientRect();
    const cx = (event.clientX - box.left) / box.width * n;
    const cy = (event.clientY - box.top) / box.height * n;
    const r = Math.ceil(radius);
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        const x = Math.floor(cx + dx), y = Math.floor(cy + dy);
        if (x < 0 || y < 0 || x >= n || y >= n) continue;
        if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= radius * radius) cells[y * n + x] = 1;
      }
    }
    paint();
  }
  let drawing = false;
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    mark(event);
  });
  canvas.addEventListener("pointermove", (event) => { if (drawing) mark(event); });
  function finish() {
    if (!drawing) return;
    drawing = false;
    model.set("pixels", cells.slice());
    model.save_changes();
  }
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  const clear = document.createElement("button");
  clear.textContent = "clear";
  clear.className = "convnets-drawing-clear";
  clear.style.display = "block";
  clear.addEventListener("click", () => {
    cells = new Array(n * n).fill(0);
    paint();
    model.set("pixels", cells.slice());
    model.save_changes();
  });
  model.on("change:pixels", () => {
    const given = (model.get("pixels") || []).slice();
    cells = given.length === n * n ? given : new Array(n * n).fill(0);
    paint();
  });
  paint();
  el.appendChild(canvas);
  el.appendChild(clear);
}
export default { render };
"""


def canvas_grid(input_shape) -> tuple[int, int]:
    """``(grid, k)``: cells per side of the canvas and the block size per input pixel
    (an 8x8 input gets a 32x32 canvas, averaged in 4x4 blocks)."""
    _, H, W = input_shape
    k = max(1, 32 // max(H, W))
    return max(H, W) * k, k


def fit_to_box(cells: np.ndarray, margin: int = 0) -> np.ndarray:
    """The ink of a square grid of cells, cropped to its bounding box and scaled (nearest
    cell) to fill the grid less ``margin`` cells on each side, centred, aspect kept: a
    digit drawn small or off-centre then looks like the size-normalized training digits."""
    n = cells.shape[0]
    rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
    if rows.size == 0:
        return cells
    ink = cells[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = ink.shape
    scale = (n - 2 * margin) / max(h, w)
    out_h, out_w = max(1, round(h * scale)), max(1, round(w * scale))
    r = np.minimum((np.arange(out_h) / scale).astype(int), h - 1)
    c = np.minimum((np.arange(out_w) / scale).astype(int), w - 1)
    fitted = np.zeros_like(cells)
    top, left = (n - out_h) // 2, (n - out_w) // 2
    fitted[top:top + out_h, left:left + out_w] = ink[np.ix_(r, c)]
    return fitted


def drawing_to_input(pixels, input_shape, mean_image=None, fit: bool = True) -> np.ndarray:
    """The canvas cells as one input image ``(C, H, W)`` (float32), mean subtracted.

    With ``fit`` (the default) the ink is first scaled to fill the grid
    (:func:`fit_to_box`), as the digits of the training set were.

    Raises
    ------
    ValueError
        If ``pixels`` does not hold ``grid * grid`` values for this input shape.
    """
    C, H, W = input_shape
    grid, k = canvas_grid(input_shape)
    cells = np.asarray(pixels, dtype=np.float32).reshape(-1)
    if cells.size != grid * grid:
        raise ValueError(f"pixels must hold grid * grid = {grid} * {grid} = {grid * grid} "
                         f"values for an input of {H}x{W}, got {cells.size}")
    cells = cells.reshape(grid, grid)
    if fit:
        cells = fit_to_box(cells)
    cells = cells[:H * k, :W * k]
    image = cells.reshape(H, k, W, k).mean(axis=(1, 3))
    x = np.repeat(image[None], C, axis=0)
    if mean_image is not None:
        x = x - np.asarray(mean_image, dtype=np.float32)
    return x.astype(np.float32)


if HAVE_ANYWIDGET:
    class DrawingCanvas(anywidget.AnyWidget):
        """A ``grid x grid`` drawing canvas; ``pixels`` holds the cells (0 or 1), row by row."""

        _esm = _ESM
        grid = traitlets.Int(32).tag(sync=True)
        pixels = traitlets.List(traitlets.Int(), default_value=[]).tag(sync=True)

        def clear(self) -> None:
            self.pixels = [0] * (self.grid * self.grid)
else:  # pragma: no cover - only without anywidget
    DrawingCanvas = None
