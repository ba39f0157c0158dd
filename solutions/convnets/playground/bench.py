"""Playground training speed against the Solver: ``python -m convnets.playground.bench``.

The same network, data, batch size and update rule are trained three ways, in turns
(each measured several times, the best kept, so that other work on the machine disturbs
all three alike):

* ``Solver``: :class:`convnets.Solver` (``verbose=False``, no progress bar), examples per
  second over whole epochs, its per-epoch accuracy checks included;
* ``engine``: the playground's :class:`~.engine.LiveTrainer` stepping in a plain loop
  (per-layer timing, no views);
* ``playground``: the :class:`~.widget.Playground` itself, its *train* button pressed, the
  worker thread training and refreshing every view on the default budget (figures every
  0.25 s, pictures every second), until as many examples were seen.

Each is measured in wall-clock examples per second and in examples per CPU second of the
whole process (all threads: the worker, the views, BLAS), the latter less disturbed by
other work on a shared machine. The issue's target: the playground trains at no less
than 0.9 of the Solver's speed.
Speed is printed here, never asserted in tests. Each run lasts about 4 s of the Solver's
training (``--quick``: 1 s, one turn).
:func:`section_playground` gives the same figures as rows of :mod:`convnets.bench.report`:
``make bench``'s section "playground" (``python -m convnets.bench --only playground``).
"""

from __future__ import annotations

import argparse
import os
import time

from ..train.solver import Solver
from .datasets import resolve_data
from .definition import DEFAULT_DEFINITION, build_network
from .engine import LiveTrainer

__all__ = ["measure", "section_playground", "main", "CASES", "TARGET_RATIO"]

TARGET_RATIO = 0.9
CASES = {
    "notes' INPUT-CONV-RELU-POOL-FC": DEFAULT_DEFINITION,
    "[CONV-RELU-POOL]*2-FC-RELU-FC, 16/32 filters":
        "INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC\nfilters = 16, 32\nhidden = 64",
}
SETTINGS = dict(learning_rate=0.02, momentum=0.9, batch_size=32)


def _timed(run) -> tuple[float, float, object]:
    """(wall-clock seconds, CPU seconds of the whole process, result) of ``run()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _solver_rate(text, data, epochs: int) -> tuple[float, float]:
    model = build_network(text, data["X_train"].shape[1:], 10, seed=0).model
    model.reg = 1e-4
    solver = Solver(model, data, update_rule="sgd_momentum",
                    optim_config={"learning_rate": SETTINGS["learning_rate"],
                                  "momentum": SETTINGS["momentum"]},
                    batch_size=SETTINGS["batch_size"], num_epochs=epochs, verbose=False,
                    progress=False, seed=0)
    wall, cpu, _ = _timed(solver.train)
    examples = epochs * solver.iterations_per_epoch * SETTINGS["batch_size"]
    return examples / wall, examples / cpu


def _engine_rate(text, data, examples: int) -> tuple[float, float]:
    model = build_network(text, data["X_train"].shape[1:], 10, seed=0).model
    trainer = LiveTrainer(model, data, weight_decay=1e-4, **SETTINGS)

    def run():
        while trainer.examples_seen < examples:
            trainer.step()

    wall, cpu, _ = _timed(run)
    return trainer.examples_seen / wall, trainer.examples_seen / cpu


def _playground_rate(text, data, examples: int) -> tuple[float, float, int]:
    from .widget import Playground
    pg = Playground(data=data, net=text, weight_decay=1e-4, **SETTINGS)
    try:
        pg.wait_idle(60)
        refreshes = []
        pg.loss_view.observe(lambda change: refreshes.append(1), names="value")

        def run():
            pg.train_button.click()
            while pg.trainer.examples_seen < examples:
                time.sleep(0.05)  # a person watching: the main thread mostly idle
            return pg.trainer.examples_seen

        wall, cpu, seen = _timed(run)
        pg.pause_button.click()
        pg.wait_idle(60)
        return seen / wall, seen / cpu, len(refreshes)
    finally:
        pg.close()


def measure(text: str = DEFAULT_DEFINITION, seconds: float = 4.0, turns: int = 3,
            data=None) -> dict:
    """Best examples per second of the three ways (see the module docstring) on the
    digits, each over as many whole epochs as the Solver trains in about ``seconds``
    (at least 2: the playground's start-up, its first full refresh, is then a small part
    of the run, as in a session of minutes); the ratios to the Solver."""
    data = data or resolve_data("digits")
    iterations = len(data["X_train"]) // SETTINGS["batch_size"]
    epoch = iterations * SETTINGS["batch_size"]
    rate, _ = _solver_rate(text, data, 1)            # calibration (and warm-up)
    epochs = max(2, min(200, round(seconds * rate / epoch)))
    examples = epochs * epoch
    names = ("Solver", "engine", "playground")
    best = dict.fromkeys(names, 0.0)
    cpu = dict.fromkeys(names, 0.0)
    refreshes = 0
    for _ in range(turns):
        for name, (rate, per_cpu) in (("Solver", _solver_rate(text, data, epochs)),
                                      ("engine", _engine_rate(text, data, examples))):
            best[name], cpu[name] = max(best[name], rate), max(cpu[name], per_cpu)
        rate, per_cpu, count = _playground_rate(text, data, examples)
        if rate > best["playground"]:
            best["playground"], refreshes = rate, count
        cpu["playground"] = max(cpu["playground"], per_cpu)
    return {**best, **{f"{name} per CPU second": cpu[name] for name in names},
            "examples": examples, "loss view refreshes": refreshes,
            "engine / Solver": best["engine"] / best["Solver"],
            "playground / Solver": best["playground"] / best["Solver"],
            "playground / Solver, CPU": cpu["playground"] / cpu["Solver"]}


def section_playground(quick: bool = False):
    """The figures as rows of :mod:`convnets.bench.report` (``Row``)."""
    from ..bench.report import Row
    try:
        import ipywidgets  # noqa: F401
        data = resolve_data("digits")
    except ImportError as err:
        return [Row("playground", "needs the course extra", "float32", "skipped", str(err))]
    rows = []
    for case, text in CASES.items():
        result = measure(text, seconds=1.0 if quick else 4.0, turns=1 if quick else 3,
                         data=data)
        rows.append(Row("playground", case, "float32", "Solver examples/s",
                        f"{result['Solver']:,.0f}"))
        rows.append(Row("playground", case, "float32", "playground / Solver",
                        f"{result['playground / Solver']:.2f} ({result['playground']:,.0f}/s)",
                        f">= {TARGET_RATIO}", result["playground / Solver"] >= TARGET_RATIO))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convnets.playground.bench",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="runs of about 1 s, one turn")
    args = parser.parse_args(argv)
    from ..bench.report import blas_info
    print(blas_info())
    data = resolve_data("digits")
    for case, text in CASES.items():
        r = measure(text, seconds=1.0 if args.quick else 4.0, turns=1 if args.quick else 3,
                    data=data)
        print(f"\n{case}: {r['examples']:,} examples of 1x8x8 digits, batch "
              f"{SETTINGS['batch_size']}, SGD+momentum, float32")
        for name in ("Solver", "engine", "playground"):
            print(f"  {name:<11} {r[name]:>9,.0f} examples/s  "
                  f"{r[name + ' per CPU second']:>9,.0f} examples per CPU second")
        print(f"  engine / Solver     {r['engine / Solver']:.2f}")
        print(f"  playground / Solver {r['playground / Solver']:.2f} wall clock, "
              f"{r['playground / Solver, CPU']:.2f} CPU time (target >= {TARGET_RATIO}; "
              f"{r['loss view refreshes']} refreshes of the loss view)")
    print(f"\nload average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          f"(figures from a loaded machine are noisy; CPU time is less sensitive to it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
