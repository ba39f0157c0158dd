"""The convnet-benchmarks networks: OverFeat[fast] and VGG-A in the zoo with the layer
shapes of soumith/convnet-benchmarks' Torch scripts, the same networks in PyTorch
(``torch_mirror``, checked by ``verify_mirror`` in the benchmark before torch is timed:
PyTorch is not installed for the tests), and the bench section's network tables and
files on tiny copies (timings printed, never asserted)."""

from __future__ import annotations

import json

import pytest
from convnets.bench import report
from convnets.bench.convnet_benchmarks import (
    NETWORKS,
    auto_choices,
    convnet_benchmark_networks,
    quick_run,
    summary_rows,
    timed_turns,
    write_networks,
)
from convnets.bench.report import SWITCH_PAUSE, best_times, library_of, pause_on_switch
from convnets.layers.conv_strategies import SCIPY_BLAS_STRATEGIES
from convnets.nn import zoo
from convnets.nn.layers import Conv


def conv_shapes(model):
    return [(layer.filters, layer.size, layer.stride, layer.pad)
            for layer in model.layers if isinstance(layer, Conv)]


def test_overfeat_fast_has_the_scripts_layers():
    model = zoo.get("overfeat_fast")
    assert model.input_shape == (3, 231, 231)
    assert conv_shapes(model) == [(96, (11, 11), 4, 0), (256, (5, 5), 1, 0),
                                  (512, (3, 3), 1, 1), (1024, (3, 3), 1, 1),
                                  (1024, (3, 3), 1, 1)]
    sizes = [out[1] for _, _, out in model.trace()]
    # 231 -> 56 -> pool 28 -> 24 -> pool 12 -> 12 -> 12 -> 12 -> pool 6, then FCs.
    assert [s for s in sizes if s > 1] == [56, 56, 28, 24, 24, 12, 12, 12, 12, 12, 12, 12, 6]
    fc_in = [inp for layer, inp, _ in model.trace() if layer.kind == "FC"][0]
    assert fc_in == (1024, 6, 6)
    # 34,944 + 614,656 + 1,180,160 + 4,719,616 + 9,438,208 convs,
    # 113,249,280 + 12,587,008 + 4,097,000 FCs.
    assert model.num_params() == 145_920_872


def test_vgg_a_is_configuration_a():
    model = zoo.get("vgg_a")
    assert [f for f, *_ in conv_shapes(model)] == [64, 128, 256, 256, 512, 512, 512, 512]
    assert {(size, s, p) for _, size, s, p in conv_shapes(model)} == {((3, 3), 1, 1)}
    assert [inp for layer, inp, _ in model.trace() if layer.kind == "FC"][0] == (512, 7, 7)
    assert model.num_params() == 132_863_336       # torchvision's vgg11 count


def test_benchmark_networks_are_known_but_not_case_studies():
    assert "vgg_a" not in zoo.names() and "overfeat_fast" not in zoo.names()
    assert zoo.names(benchmarks=True)[-2:] == ["overfeat_fast", "vgg_a"]
    assert {name for name, _ in NETWORKS.values()} <= set(zoo.names(benchmarks=True))
    with pytest.raises(ValueError, match=r"unknown architecture 'vgg_b'; choose one of "
                                         r"\[.*'overfeat_fast', 'vgg_a'\]"):
        zoo.get("vgg_b")


def test_network_tables_and_files_on_tiny_copies(tmp_path):
    tiny = {"VGG-A": ("vgg_a", "as the script"), "GoogLeNet": ("googlenet", "paper's")}
    records, table = convnet_benchmark_networks(tiny, batch=1, repeat=1, with_torch=False,
                                                width=1 / 32)
    assert [r["network"] for r in records] == ["VGG-A", "GoogLeNet"]
    for r in records:
        assert r["implementation"] == "numpy" and r["batch"] == 1
        assert r["total_ms"] == pytest.approx(r["forward_ms"] + r["backward_ms"]) or (
            r["backward_ms"] == 0.0)
        assert r["total_ms"] > 0
    # auto's choice for every conv layer is counted (8 convs in VGG-A, 57 in GoogLeNet).
    counts = [sum(int(part.rsplit("x", 1)[1]) for part in r["conv_strategies"].split(", "))
              for r in records]
    assert counts == [8, 57]
    assert "VGG-A: input 1x3x224x224" in table and "torch: not installed" in table
    assert "| Library | Class" in table and "Sequential.loss, auto:" in table
    (tmp_path / "convnet_benchmarks.json").write_text(json.dumps({"rows": [1]}))
    write_networks(records, tmp_path)
    saved = json.loads((tmp_path / "convnet_benchmarks.json").read_text())
    assert saved["rows"] == [1] and len(saved["networks"]) == 2
    lines = (tmp_path / "convnet_benchmarks_networks.csv").read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("network,zoo,input")


def test_auto_choices_are_valid_strategies():
    from convnets.layers.conv_fast import CONV_STRATEGIES

    model = zoo.get("alexnet", width=1 / 16)
    counts = auto_choices(model, batch=2)
    assert sum(counts.values()) == 5 and set(counts) <= set(CONV_STRATEGIES)


def test_quick_run_from_the_flag_or_the_environment(monkeypatch):
    monkeypatch.delenv("CONVNETS_BENCH_QUICK", raising=False)
    assert quick_run(True) and not quick_run(False)
    monkeypatch.setenv("CONVNETS_BENCH_QUICK", "1")
    assert quick_run(False)
    monkeypatch.setenv("CONVNETS_BENCH_QUICK", "0")
    assert not quick_run(False)


# --- how the bench times: pauses between NumPy and PyTorch, more turns for short calls

def test_library_of_tells_torch_calls_from_ours():
    assert library_of("torch") == "torch"
    assert library_of(("torch", "forward")) == "torch"
    for key in ("fast", "numpy", "shards", ("im2col", "forward"), ("fft-tiled", "backward"),
                ("winograd", "forward")):
        assert library_of(key) == "numpy"


def test_library_of_tells_the_strategies_in_scipys_blas_from_numpys():
    # shifted-gemm's products run in SciPy's OpenBLAS, whose own threads spin after it.
    assert SCIPY_BLAS_STRATEGIES == ("shifted-gemm",)
    assert library_of(("shifted-gemm", "forward")) == "scipy-blas"
    assert library_of(("shifted-gemm", "backward weights")) == "scipy-blas"


def test_timed_turns_pauses_after_a_strategy_in_scipys_blas(monkeypatch):
    events = []
    monkeypatch.setattr(report.time, "sleep", lambda s: events.append(("sleep", s)))
    fns = {key: (lambda key=key: events.append(key))
           for key in (("im2col", "forward"), ("shifted-gemm", "forward"),
                       ("shifted-gemm", "backward"), ("winograd", "forward"))}
    timed_turns(fns, turns=1, warmup=False, pause=0.5)
    assert events == [("im2col", "forward"), ("sleep", 0.5), ("shifted-gemm", "forward"),
                      ("shifted-gemm", "backward"), ("sleep", 0.5), ("winograd", "forward")]


def test_pause_on_switch_sleeps_only_between_libraries(monkeypatch):
    slept = []
    monkeypatch.setattr(report.time, "sleep", slept.append)
    library = None
    for key in (("im2col", "forward"), ("fft", "forward"), ("torch", "forward"),
                ("torch", "backward"), ("im2col", "forward")):
        library = pause_on_switch(library, key, pause=0.5)
    assert slept == [0.5, 0.5]          # into torch, and back: not at the start
    assert library == "numpy"


def test_best_times_pauses_before_torch_turns(monkeypatch):
    events = []
    monkeypatch.setattr(report.time, "sleep", lambda s: events.append(("sleep", s)))
    fns = {"fast": lambda: events.append("fast"), "torch": lambda: events.append("torch")}
    times = best_times(fns, repeat=2, inner=1)
    assert set(times) == {"fast", "torch"} and all(t >= 0 for t in times.values())
    pause = ("sleep", SWITCH_PAUSE)
    assert events == ["fast", "fast", pause, "torch", "torch",
                      pause, "fast", "fast", pause, "torch", "torch"]


def test_timed_turns_adds_turns_within_the_budget(monkeypatch):
    monkeypatch.setattr(report.time, "sleep", lambda s: None)
    calls = {"a": 0, ("torch", "forward"): 0}

    def counter(key):
        def call():
            calls[key] += 1
        return call

    fns = {key: counter(key) for key in calls}
    timed_turns(fns, turns=2, warmup=False)         # no budget: exactly the turns asked
    assert calls == {"a": 2, ("torch", "forward"): 2}
    calls.update(dict.fromkeys(calls, 0))
    timed_turns(fns, turns=2, warmup=True, budget=60.0, max_turns=7)  # fast calls: the cap
    assert calls == {"a": 8, ("torch", "forward"): 8}   # 1 warm-up + 7 turns


def test_bench_recalibrates_auto_before_its_sections_when_asked(monkeypatch, capsys):
    from convnets.bench import run
    from convnets.layers.conv_fast import machine_cost_model

    calls = []

    def remeasured(run_strategy, *, remeasure=False):
        calls.append(remeasure)
        return machine_cost_model()

    monkeypatch.setattr(run, "load_or_measure", remeasured)
    assert run.main(["--quick", "--only", "memory"]) == 0
    assert calls == []                     # the stored model, as auto uses it
    assert run.main(["--quick", "--only", "memory", "--recalibrate"]) == 0
    assert calls == [True]
    assert "auto's cost model measured again (--recalibrate)" in capsys.readouterr().out


def test_summary_rows_hold_auto_to_torch_and_to_the_strategies_it_may_run():
    def record(impl, total_ms, auto=False):
        return {"layer": "L5", "input": "384x13x13", "filters": "384x3x3", "batch": 8,
                "implementation": impl, "auto": auto, "total_ms": total_ms,
                "gflops": 100.0, "vs_torch": total_ms / 40.0}
    # Winograd F(4x4) is the fastest, but auto may not run it in float32 (bound 1e-4).
    records = [record("im2col", 50.0), record("winograd", 41.0, auto=True),
               record("winograd4", 30.0), record("torch", 40.0)]
    networks = [{"network": "VGG-A", "input": "2x3x224x224", "implementation": "numpy",
                 "total_ms": 540.0, "vs_torch": 0.9},
                {"network": "VGG-A", "input": "2x3x224x224", "implementation": "torch",
                 "total_ms": 600.0, "vs_torch": 1.0}]
    rows = {row.figure: row for row in summary_rows(records, networks)}
    candidate = rows["auto's time / fastest of auto's candidates' (winograd)"]
    assert (candidate.value, candidate.target, candidate.met) == ("1.00", "<= 1.2", True)
    vs_torch = rows["auto's time / torch time"]
    assert (vs_torch.value, vs_torch.met) == ("1.02", False)            # 41 / 40
    fastest = rows["fastest time / torch time"]
    assert fastest.value == "0.75" and fastest.met is None              # reported only
    assert rows["fastest: winograd4 fwd+bwd"].value.startswith("30 ms")
    assert rows["time / torch time"].met is True and rows["fwd+bwd"].value == "540 ms"
