"""The playground as a page of its own: ``python -m convnets.playground.page`` (``make
playground``).

Writes a one-cell notebook that displays a :class:`~.widget.Playground` (in
``out/playground/`` by default: build output, never committed) and serves it with Voila,
which runs the notebook and shows only its outputs: the widget, without the code or
the JupyterLab around it, for a projector. The page has its own kernel; close the tab
and stop the server with Ctrl-C.

``--data`` is passed to the playground (``digits``, ``mnist:<folder>``,
``cifar10:<folder>``); ``--port`` and ``--no-browser`` to Voila.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

__all__ = ["write_notebook", "voila_command", "main"]

DEFAULT_FOLDER = Path("out") / "playground"


def write_notebook(folder=DEFAULT_FOLDER, data: str = "digits") -> Path:
    """Write ``playground.ipynb`` (one code cell showing the playground) into ``folder``."""
    import nbformat
    if not isinstance(data, str) or not data:
        raise ValueError(f"data must be a name such as 'digits' or 'mnist:<folder>', got "
                         f"{data!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [
        nbformat.v4.new_code_cell("from convnets.playground import Playground\n\n"
                                  f"playground = Playground(data={data!r})\nplayground"),
    ]
    path = folder / "playground.ipynb"
    nbformat.write(notebook, path)
    return path


def voila_command(notebook: Path, port: int | None = None, browser: bool = True) -> list[str]:
    """The command line that serves ``notebook`` with Voila (this interpreter's)."""
    command = [sys.executable, "-m", "voila", str(notebook), "--Voila.ip=127.0.0.1",
               "--theme=light"]
    if port is not None:
        command.append(f"--port={int(port)}")
    if not browser:
        command.append("--no-browser")
    return command


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convnets.playground.page",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="digits")
    parser.add_argument("--folder", default=str(DEFAULT_FOLDER))
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args(argv)
    notebook = write_notebook(args.folder, args.data)
    command = voila_command(notebook, args.port, not args.no_browser)
    print(" ".join(command))
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
