"""The convolution demo as an animation that needs no kernel.

``conv_demo_animation`` turns the numbers of a small convolution (the padded input,
the filters, the biases and the stride) into one self-contained HTML fragment: a
player written in plain JavaScript that steps through every output, drawing the
window on each padded input slice, the filter, the per-channel sums and the output
volume filled in so far. The data of every step is embedded in the fragment (as JSON
in the ``data-steps`` attribute), so the animation plays in an exported HTML page or
in JupyterLab alike, with play / pause, previous / next and a slider.
"""

from __future__ import annotations

import hashlib
import html
import json

import numpy as np

__all__ = ["ConvDemoAnimation", "conv_demo_steps", "conv_demo_animation"]


def conv_demo_steps(x_padded, w, b, stride: int) -> list[dict]:
    """Every output of the convolution, in the demo's order (filter, row, column).

    Parameters
    ----------
    x_padded : array (C, H + 2P, W + 2P), the zero-padded input of one image
    w : array (K, C, F, F), the filters
    b : array (K,), the biases
    stride : int

    Returns
    -------
    A list of ``{"k", "i", "j", "top", "left", "sums", "value"}``: output ``(k, i, j)``,
    the window's top-left corner in the padded input, the per-channel sums of products
    and the output value (sums plus bias).
    """
    x_padded, w, b = np.asarray(x_padded), np.asarray(w), np.asarray(b)
    K, C, F, _ = w.shape
    out_h = (x_padded.shape[1] - F) // stride + 1
    out_w = (x_padded.shape[2] - F) // stride + 1
    steps = []
    for k in range(K):
        for i in range(out_h):
            for j in range(out_w):
                top, left = i * stride, j * stride
                window = x_padded[:, top:top + F, left:left + F]
                sums = (window * w[k]).sum(axis=(1, 2))
                steps.append({"k": k, "i": i, "j": j, "top": top, "left": left,
                              "sums": [float(s) for s in sums],
                              "value": float(sums.sum() + b[k])})
    return steps


class ConvDemoAnimation:
    """The player; displays itself in a notebook (``_repr_html_``)."""

    def __init__(self, x_padded, w, b, stride: int, pad: int, interval_ms: int = 1200):
        self.x_padded = np.asarray(x_padded, dtype=float)
        self.w = np.asarray(w, dtype=float)
        self.b = np.asarray(b, dtype=float)
        self.stride, self.pad, self.interval_ms = stride, pad, interval_ms
        self.steps = conv_demo_steps(self.x_padded, self.w, self.b, stride)

    def data(self) -> dict:
        return {"x": self.x_padded.tolist(), "w": self.w.tolist(), "b": self.b.tolist(),
                "pad": self.pad, "stride": self.stride, "steps": self.steps,
                "interval": self.interval_ms}

    def _repr_html_(self) -> str:
        payload = json.dumps(self.data(), separators=(",", ":"))
        uid = "convdemo-" + hashlib.sha1(payload.encode()).hexdigest()[:10]
        return TEMPLATE.replace("UID", uid).replace("DATA", html.escape(payload, quote=True))


def conv_demo_animation(x_padded, w, b, stride: int, pad: int,
                        interval_ms: int = 1200) -> ConvDemoAnimation:
    """The demo's player for these numbers (see the module's docstring)."""
    return ConvDemoAnimation(x_padded, w, b, stride, pad, interval_ms)


TEMPLATE = """\
<div id="UID" class="conv-demo" data-steps="DATA"
     style="font-family: sans-serif; font-size: 13px; line-height: 1.2;">
<style>
#UID table { border-collapse: collapse; margin: 2px 8px 6px 0; }
#UID td { width: 22px; height: 22px; text-align: center; border: 1px solid #999;
          padding: 0; font-size: 12px; }
#UID td.pad { background: #e0e0e0; color: #777; }
#UID td.in { background: #dbe8f7; }
#UID td.win { background: #fbe3a6; }
#UID td.pad.win { background: #e8dcc0; }
#UID td.et { border-top: 3px solid #c0392b; }
#UID td.eb { border-bottom: 3px solid #c0392b; }
#UID td.el { border-left: 3px solid #c0392b; }
#UID td.er { border-right: 3px solid #c0392b; }
#UID td.wt { background: #f8d7d3; }
#UID td.out { background: #d9ead3; }
#UID td.cur { outline: 3px solid #c0392b; outline-offset: -3px; font-weight: bold; }
#UID .row { display: flex; align-items: center; }
#UID .cap { font-size: 12px; color: #333; margin: 0; }
#UID .controls button { margin-right: 4px; }
</style>
<div class="controls">
  <button class="prev" title="previous step">&#9664;</button>
  <button class="play" title="play / pause">pause</button>
  <button class="next" title="next step">&#9654;</button>
  <input class="slider" type="range" min="1" value="1" style="width: 240px;">
  <span class="label"></span>
</div>
<div class="view"></div>
</div>
<script>
(function () {
  var root = document.getElementById("UID");
  if (!root || root.dataset.started) { return; }
  root.dataset.started = "1";
  var d = JSON.parse(root.getAttribute("data-steps"));
  var n = d.steps.length, C = d.x.length, K = d.w.length, F = d.w[0][0].length;
  var size = d.x[0].length, P = d.pad, S = d.stride;
  var oh = (size - F) / S + 1, ow = (d.x[0][0].length - F) / S + 1;
  var view = root.querySelector(".view"), label = root.querySelector(".label");
  var slider = root.querySelector(".slider"), playBtn = root.querySelector(".play");
  slider.max = n;
  var current = 0, timer = null;
  function fmt(v) { return (Math.round(v * 100) / 100).toString(); }
  function table(rows, cls) {
    var h = "<table>";
    for (var r = 0; r < rows.length; r++) {
      h += "<tr>";
      for (var c = 0; c < rows[r].length; c++) {
        h += '<td class="' + cls(r, c) + '">' + rows[r][c] + "</td>";
      }
      h += "</tr>";
    }
    return h + "</table>";
  }
  function draw() {
    var s = d.steps[current];
    var h = "";
    for (var c = 0; c < C; c++) {
      var xin = d.x[c].map(function (row) { return row.map(fmt); });
      var wk = d.w[s.k][c].map(function (row) { return row.map(fmt); });
      h += '<div class="row"><div><p class="cap">x[:, :, ' + c + "] padded</p>" +
        table(xin, function (r, q) {
          var pad = r < P || q < P || r >= size - P || q >= d.x[0][0].length - P;
          var win = r >= s.top && r < s.top + F && q >= s.left && q < s.left + F;
          var edges = !win ? "" : " win" + (r === s.top ? " et" : "") +
            (r === s.top + F - 1 ? " eb" : "") + (q === s.left ? " el" : "") +
            (q === s.left + F - 1 ? " er" : "");
          return (pad ? "pad" : "in") + edges;
        }) + "</div><div><p class=\\"cap\\">w" + s.k + "[:, :, " + c + "]</p>" +
        table(wk, function () { return "wt"; }) +
        "</div><div>channel " + c + ": sum of products = <b>" + fmt(s.sums[c]) +
        "</b></div></div>";
    }
    h += '<div class="row">';
    for (var k = 0; k < K; k++) {
      var grid = [];
      for (var i = 0; i < oh; i++) {
        var row = [];
        for (var j = 0; j < ow; j++) {
          var idx = (k * oh + i) * ow + j;
          row.push(idx <= current ? fmt(d.steps[idx].value) : "");
        }
        grid.push(row);
      }
      h += '<div><p class="cap">o[:, :, ' + k + "]</p>" + table(grid, function (i, j) {
        return "out" + (k === s.k && i === s.i && j === s.j ? " cur" : "");
      }) + "</div>";
    }
    h += "<div>o[" + s.i + "," + s.j + "," + s.k + "] = " +
      s.sums.map(fmt).join(" + ") + " + " + fmt(d.b[s.k]) + " (bias) = <b>" +
      fmt(s.value) + "</b></div></div>";
    view.innerHTML = h;
    slider.value = current + 1;
    label.textContent = "step " + (current + 1) + " of " + n;
    root.setAttribute("data-current", current + 1);
  }
  function go(i) { current = (i + n) % n; draw(); }
  function play() {
    if (timer) { return; }
    timer = setInterval(function () { go(current + 1); }, d.interval);
    playBtn.textContent = "pause";
  }
  function pause() {
    clearInterval(timer); timer = null; playBtn.textContent = "play";
  }
  playBtn.onclick = function () { if (timer) { pause(); } else { play(); } };
  root.querySelector(".prev").onclick = function () { pause(); go(current - 1); };
  root.querySelector(".next").onclick = function () { pause(); go(current + 1); };
  slider.oninput = function () { pause(); go(parseInt(slider.value, 10) - 1); };
  draw();
  play();
})();
</script>
"""
