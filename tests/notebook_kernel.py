"""Executing notebooks in tests: a fresh kernel that is this interpreter.

Shared by the lesson tests and the assignment tests. The kernel is ipykernel in
``sys.executable``, so that notebooks import this checkout's ``convnets`` whatever
kernels are installed elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbclient
from ipykernel.kernelspec import RESOURCES, get_kernel_dict
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager

from autograder.pipeline import environment  # noqa: F401 - the kernels' environment

STARTUP_TIMEOUT = 60
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")    # terminal colours in tracebacks


class ThisInterpreterKernel(KernelManager):
    """A kernel manager whose kernel is ipykernel in ``sys.executable``.

    Without it, the kernel named ``python3`` is looked up in the Jupyter data
    directories, where a user-level or system-wide spec could point at another
    Python that has no (or another) ``convnets``.
    """

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
        return self._kernel_spec


def execute(notebook, workdir: Path, allow_errors: bool, timeout: int):
    """Execute ``notebook`` (in place) from a fresh kernel with cwd ``workdir``; cells
    may run ``timeout`` seconds each. Raises nbclient's errors unless ``allow_errors``."""
    client = nbclient.NotebookClient(
        notebook,
        timeout=timeout,
        startup_timeout=STARTUP_TIMEOUT,
        kernel_name="python3",
        kernel_manager_class=ThisInterpreterKernel,
        resources={"metadata": {"path": str(workdir)}},
        allow_errors=allow_errors,
    )
    client.execute()
    return notebook
