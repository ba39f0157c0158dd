"""Pictures and figures drawn straight from NumPy: PNG bytes and SVG text, no matplotlib.

The playground refreshes its views from a training thread; matplotlib drawn from a
thread or a widget callback is fragile in JupyterLab, while an ``ipywidgets.Image``
given PNG or SVG bytes is not. Everything here is a pure function of arrays:

* :func:`png_bytes` encodes a ``(H, W)`` grey or ``(H, W, 3)`` colour uint8 image;
* :func:`tile_maps` lays out every channel of a volume ``(C, H, W)`` as a grid (activations
  in grey, gradients in blue-white-red around zero), :func:`filter_tiles` the filters
  ``(K, C, F, F)`` of a layer (in colour when ``C == 3``);
* :func:`line_chart`, :func:`layer_time_chart`, :func:`prediction_grid` and
  :func:`confusion_chart` return SVG documents whose marks carry ``class`` attributes
  (``curve``, ``bar right``, ``bar wrong``, ``cell``...), so tests read what is drawn.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from html import escape

import numpy as np

__all__ = ["png_bytes", "to_uint8", "upscale", "tile_maps", "filter_tiles", "image_of",
           "line_chart", "layer_time_chart", "prediction_grid", "confusion_chart",
           "probability_bars"]

RIGHT_COLOUR = "#2e7d32"
WRONG_COLOUR = "#c62828"
OTHER_COLOUR = "#9e9e9e"
CURVE_COLOURS = ("#1565c0", "#ef6c00", "#2e7d32")


def png_bytes(pixels: np.ndarray) -> bytes:
    """PNG file bytes of a ``(H, W)`` grey or ``(H, W, 3)`` RGB uint8 image."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim == 2:
        colour_type, channels = 0, 1
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        colour_type, channels = 2, 3
    else:
        raise ValueError(f"pixels must have shape (H, W) or (H, W, 3), got {pixels.shape}")
    H, W = pixels.shape[:2]
    if H == 0 or W == 0:
        raise ValueError(f"pixels must not be empty, got shape {pixels.shape}")
    rows = pixels.reshape(H, W * channels)
    raw = np.zeros((H, W * channels + 1), dtype=np.uint8)  # filter byte 0 on every row
    raw[:, 1:] = rows

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", W, H, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 1)) + chunk(b"IEND", b""))


def to_uint8(x: np.ndarray, symmetric: bool = False) -> np.ndarray:
    """Scale an array to 0..255: min..max, or -m..m around zero with ``symmetric``."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float64))
    if symmetric:
        m = float(np.abs(x).max()) or 1.0
        return np.clip((x / m + 1) * 127.5, 0, 255).astype(np.uint8)
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        return np.full(x.shape, 0 if hi == 0 else 128, dtype=np.uint8)
    return ((x - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def diverging(levels: np.ndarray) -> np.ndarray:
    """uint8 levels (127.5 = zero) -> RGB blue (negative), white (zero), red (positive)."""
    t = levels.astype(np.float64) / 127.5 - 1.0          # -1..1
    rgb = np.empty(levels.shape + (3,), dtype=np.float64)
    pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
    rgb[..., 0] = 255 * (1 - neg * 0.8)
    rgb[..., 1] = 255 * (1 - 0.8 * np.maximum(pos, neg))
    rgb[..., 2] = 255 * (1 - pos * 0.8)
    return rgb.astype(np.uint8)


def upscale(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by an integer factor (crisp pixels in the browser)."""
    if factor <= 1:
        return pixels
    return np.repeat(np.repeat(pixels, factor, axis=0), factor, axis=1)


def _grid(tiles, columns: int, gap: int, background) -> np.ndarray:
    """Tiles ``(N, h, w)`` or ``(N, h, w, 3)`` (an array or a list of equal tiles) laid out
    ``columns`` to a row with ``gap`` pixels of ``background`` between them."""
    tiles = np.asarray(tiles, dtype=np.uint8)
    n, h, w = tiles.shape[:3]
    rows = math.ceil(n / columns)
    padded = np.empty((rows * columns, h + gap, w + gap) + tiles.shape[3:], dtype=np.uint8)
    padded[...] = background
    padded[:n, :h, :w] = tiles
    colour = tiles.shape[3:]
    grid = padded.reshape((rows, columns, h + gap, w + gap) + colour)
    grid = grid.swapaxes(1, 2).reshape((rows * (h + gap), columns * (w + gap)) + colour)
    return np.ascontiguousarray(grid[:rows * (h + gap) - gap, :columns * (w + gap) - gap])


def _factor(side: int, target: int = 48) -> int:
    return max(1, min(16, target // max(side, 1)))


def tile_maps(volume: np.ndarray, gradient: bool = False, columns: int | None = None,
              target: int = 48) -> bytes:
    """PNG of every channel of ``volume`` ``(C, H, W)``, each scaled on its own.

    Activations are grey (black = the channel's smallest value, white = its largest);
    with ``gradient=True`` a diverging colour map around zero, blue negative, red positive.
    """
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"volume must have shape (C, H, W), got {volume.shape}")
    C, H, W = volume.shape
    if H == W == 1:  # an FC layer's units: one row of cells
        volume = volume.reshape(1, 1, C)
        C, H, W = volume.shape
    if H == 1:  # a row of units: cells of up to 16 pixels, the row at most 640 wide
        factor = max(1, min(16, 640 // W))
    else:
        factor = _factor(max(H, W), target)
    # every channel scaled on its own, all at once
    v = np.nan_to_num(volume.astype(np.float64))
    if gradient:
        m = np.abs(v).max(axis=(1, 2), keepdims=True)
        m[m == 0] = 1.0
        tiles = diverging(np.clip((v / m + 1) * 127.5, 0, 255).astype(np.uint8))
    else:
        lo, hi = v.min(axis=(1, 2), keepdims=True), v.max(axis=(1, 2), keepdims=True)
        span = hi - lo
        flat = span <= 0
        scaled = (v - lo) * (255.0 / np.where(flat, 1.0, span))
        tiles = np.where(flat, np.where(hi == 0, 0.0, 128.0), scaled).astype(np.uint8)
    if factor > 1:
        tiles = np.repeat(np.repeat(tiles, factor, axis=1), factor, axis=2)
    columns = columns or max(1, min(C, math.ceil(math.sqrt(C))))
    background = (255, 255, 255) if gradient else 255
    return png_bytes(_grid(tiles, columns, 2, background))


def filter_tiles(w: np.ndarray, target: int = 40) -> bytes:
    """PNG of a conv layer's filters ``(K, C, F, F)``: one tile per filter in colour when
    ``C == 3``, else one row per filter with a grey tile per input channel."""
    w = np.asarray(w)
    if w.ndim != 4:
        raise ValueError(f"filters must have shape (K, C, F, F), got {w.shape}")
    K, C, F, G = w.shape
    factor = _factor(max(F, G), target)
    if C == 3:
        tiles = [upscale(to_uint8(f.transpose(1, 2, 0)), factor) for f in w]
        return png_bytes(_grid(tiles, max(1, math.ceil(math.sqrt(K))), 2, (255, 255, 255)))
    tiles = [upscale(to_uint8(channel), factor) for f in w for channel in f[:16]]
    columns = min(C, 16) if C > 1 else max(1, math.ceil(math.sqrt(K)))
    return png_bytes(_grid(tiles, columns, 2, 255))


def image_of(x: np.ndarray, mean_image: np.ndarray | None = None, target: int = 48) -> bytes:
    """PNG of one input image ``(C, H, W)`` (the mean image added back): grey or colour."""
    x = np.asarray(x, dtype=np.float64)
    if mean_image is not None:
        x = x + mean_image
    factor = _factor(max(x.shape[1:]), target)
    if x.shape[0] == 3:
        return png_bytes(upscale(to_uint8(x.transpose(1, 2, 0)), factor))
    return png_bytes(upscale(255 - to_uint8(x[0]), factor))  # dark ink on white


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _svg(width: int, height: int, body: list[str], title: str = "") -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">')
    top = [f'<rect width="{width}" height="{height}" fill="white"/>']
    if title:
        top.append(f'<text class="title" x="{width / 2:.0f}" y="14" text-anchor="middle" '
                   f'font-size="12" font-weight="bold">{escape(title)}</text>')
    return head + "".join(top + body) + "</svg>"


def _thin(points: list, most: int = 400) -> np.ndarray:
    """At most ``most`` points: consecutive ones averaged in equal groups."""
    array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(array) <= most:
        return array
    groups = np.array_split(array, most)
    return np.array([g.mean(axis=0) for g in groups])


def _ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * step:
            step *= mult
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def _number(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:.3g}"


def line_chart(series: dict[str, list], title: str, x_label: str = "examples seen",
               y_range: tuple[float, float] | None = None, width: int = 380,
               height: int = 220) -> str:
    """SVG line chart of named series of ``(x, y)`` points (each drawn as one polyline
    of class ``curve``, with ``data-name`` and ``data-points``)."""
    left, right, top, bottom = 48, 12, 24, 34
    pw, ph = width - left - right, height - top - bottom
    drawn = {name: _thin(points) for name, points in series.items() if len(points)}
    body = []
    if drawn:
        xs = np.concatenate([p[:, 0] for p in drawn.values()])
        ys = np.concatenate([p[:, 1] for p in drawn.values()])
        ys = ys[np.isfinite(ys)] if np.isfinite(ys).any() else np.zeros(1)
        x0, x1 = 0.0, max(float(xs.max()), 1.0)
        y0, y1 = y_range or (min(0.0, float(ys.min())), float(ys.max()) or 1.0)
        if y1 <= y0:
            y1 = y0 + 1
    else:
        x0, x1, (y0, y1) = 0.0, 1.0, (y_range or (0.0, 1.0))

    def sx(v):
        return left + (v - x0) / (x1 - x0) * pw

    def sy(v):
        return top + ph - (min(max(v, y0), y1) - y0) / (y1 - y0) * ph

    body.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
                f'stroke="#bbb"/>')
    for t in _ticks(y0, y1):
        body.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" '
                    f'stroke="#eee"/><text x="{left - 4}" y="{sy(t) + 4:.1f}" '
                    f'text-anchor="end">{_number(t)}</text>')
    for t in _ticks(x0, x1):
        body.append(f'<text x="{sx(t):.1f}" y="{top + ph + 14}" text-anchor="middle">'
                    f'{_number(t)}</text>')
    body.append(f'<text x="{left + pw / 2:.0f}" y="{height - 4}" text-anchor="middle" '
                f'fill="#555">{escape(x_label)}</text>')
    for k, (name, points) in enumerate(drawn.items()):
        colour = CURVE_COLOURS[k % len(CURVE_COLOURS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points if math.isfinite(y))
        body.append(f'<polyline class="curve" data-name="{escape(name)}" '
                    f'data-points="{len(series[name])}" fill="none" stroke="{colour}" '
                    f'stroke-width="1.5" points="{path}"/>')
        last = series[name][-1][1]
        body.append(f'<text x="{left + 6}" y="{top + 14 + 13 * k}" fill="{colour}">'
                    f'{escape(name)}: {last:.4g}</text>')
    return _svg(width, height, body, title)


def layer_time_chart(names: list[str], forward_ms: list[float], backward_ms: list[float],
                     width: int = 420) -> str:
    """SVG: per layer, its forward (blue) and backward (orange) time in ms and its share
    of the step (bars of class ``bar forward`` / ``bar backward``, ``data-layer``)."""
    row, left, label_w = 20, 110, 110
    height = 30 + row * max(len(names), 1) + 20
    total = sum(forward_ms) + sum(backward_ms)
    scale = (width - left - label_w) / max(max((f + b for f, b in zip(
        forward_ms, backward_ms, strict=True)), default=0), 1e-9)
    body = []
    for i, (name, f, b) in enumerate(zip(names, forward_ms, backward_ms, strict=True)):
        y = 26 + i * row
        share = (f + b) / total if total else 0.0
        body.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(name)}</text>')
        body.append(f'<rect class="bar forward" data-layer="{escape(name)}" data-ms="{f:.4f}" '
                    f'x="{left}" y="{y}" width="{f * scale:.1f}" height="14" '
                    f'fill="{CURVE_COLOURS[0]}"/>')
        body.append(f'<rect class="bar backward" data-layer="{escape(name)}" data-ms="{b:.4f}" '
                    f'x="{left + f * scale:.1f}" y="{y}" width="{b * scale:.1f}" height="14" '
                    f'fill="{CURVE_COLOURS[1]}"/>')
        body.append(f'<text class="share" x="{left + (f + b) * scale + 4:.1f}" y="{y + 12}">'
                    f'{f:.2f} + {b:.2f} ms ({share:.0%})</text>')
    body.append(f'<text x="{left}" y="{height - 6}" fill="#555">forward (blue) + backward '
                f'(orange) per step; total {total:.2f} ms</text>')
    return _svg(width, height, body, "time per layer")


def probability_bars(probabilities: np.ndarray, class_names: list[str], label: int | None,
                     top: int = 3, width: int = 200) -> str:
    """SVG: the ``top`` most probable classes as bars (right class green, others red when
    ``label`` is known; grey when it is not)."""
    order = np.argsort(probabilities)[::-1][:top]
    body = []
    for i, k in enumerate(order):
        y = 22 + 18 * i
        colour = OTHER_COLOUR if label is None else (RIGHT_COLOUR if k == label
                                                      else WRONG_COLOUR)
        kind = "other" if label is None else ("right" if k == label else "wrong")
        body.append(f'<rect class="bar {kind}" data-class="{escape(class_names[k])}" '
                    f'x="70" y="{y}" width="{probabilities[k] * (width - 80):.1f}" height="13" '
                    f'fill="{colour}"/><text x="66" y="{y + 11}" text-anchor="end">'
                    f'{escape(class_names[k][:10])}</text><text x="{72}" y="{y + 11}" '
                    f'fill="white">{probabilities[k]:.0%}</text>')
    return _svg(width, 24 + 18 * len(order), body, "prediction")


def prediction_grid(images: list[bytes], probabilities: np.ndarray, labels: np.ndarray,
                    class_names: list[str], accuracy: float, columns: int = 5,
                    top: int = 3) -> str:
    """SVG grid of test images (PNG bytes) with their ``top`` classes as bars: the true
    class in green (``bar right``), wrong classes in red (``bar wrong``)."""
    cell_w, cell_h, image = 150, 64, 48
    rows = math.ceil(len(images) / columns)
    width, height = columns * cell_w, 24 + rows * cell_h
    body = []
    for i, (png, p, label) in enumerate(zip(images, probabilities, labels, strict=True)):
        r, c = divmod(i, columns)
        x, y = c * cell_w + 4, 24 + r * cell_h
        predicted = int(np.argmax(p))
        body.append(f'<g class="cell" data-label="{int(label)}" data-predicted="{predicted}">')
        body.append(f'<image x="{x}" y="{y}" width="{image}" height="{image}" '
                    f'href="{_data_uri(png)}" xlink:href="{_data_uri(png)}" '
                    f'style="image-rendering:pixelated"/>')
        for j, k in enumerate(np.argsort(p)[::-1][:top]):
            kind = "right" if k == label else "wrong"
            colour = RIGHT_COLOUR if k == label else WRONG_COLOUR
            by = y + 4 + 16 * j
            body.append(f'<rect class="bar {kind}" x="{x + image + 30}" y="{by}" '
                        f'width="{p[k] * (cell_w - image - 40):.1f}" height="12" '
                        f'fill="{colour}"/><text x="{x + image + 27}" y="{by + 10}" '
                        f'text-anchor="end" font-size="10">{escape(class_names[k][:6])}</text>')
        body.append("</g>")
    title = f"test predictions (top {top}); test accuracy {accuracy:.1%}"
    return _svg(width, height, body, title)


def confusion_chart(matrix: np.ndarray, class_names: list[str]) -> str:
    """SVG confusion matrix: rows are true classes, columns predicted ones; each cell
    (class ``cell``, ``data-count``) shaded by its share of its row."""
    matrix = np.asarray(matrix)
    K = len(matrix)
    size = max(14, min(36, 360 // max(K, 1)))
    left, top = 70, 40
    width, height = left + K * size + 10, top + K * size + 30
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    body = [f'<text x="{left + K * size / 2:.0f}" y="{top - 16}" text-anchor="middle" '
            f'fill="#555">predicted</text>']
    for k, name in enumerate(class_names[:K]):
        body.append(f'<text x="{left + k * size + size / 2:.0f}" y="{top - 3}" '
                    f'text-anchor="middle" font-size="9">{escape(name[:5])}</text>')
        body.append(f'<text x="{left - 4}" y="{top + k * size + size / 2 + 4:.0f}" '
                    f'text-anchor="end" font-size="9">{escape(name[:10])}</text>')
    for i in range(K):
        for j in range(K):
            s = share[i, j]
            colour = (f"rgb({int(255 - 200 * s)},{int(255 - 120 * s)},{int(255 - 40 * s)})"
                      if i == j else f"rgb(255,{int(255 - 180 * s)},{int(255 - 180 * s)})")
            x, y = left + j * size, top + i * size
            body.append(f'<rect class="cell" data-row="{i}" data-col="{j}" '
                        f'data-count="{int(matrix[i, j])}" x="{x}" y="{y}" width="{size}" '
                        f'height="{size}" fill="{colour}" stroke="#ddd"/>')
            if matrix[i, j]:
                body.append(f'<text x="{x + size / 2:.0f}" y="{y + size / 2 + 4:.0f}" '
                            f'text-anchor="middle" font-size="9">{int(matrix[i, j])}</text>')
    body.append(f'<text x="4" y="{top + K * size + 20}" fill="#555">rows: true class</text>')
    return _svg(width, height, body, "confusion matrix")
