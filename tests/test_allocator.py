"""keep_freed_memory: glibc's malloc keeps freed blocks, so reallocating costs no page faults."""

import platform
import subprocess
import sys
import textwrap

import pytest
from convnets import keep_freed_memory

# Runs in a child process: the setting is process-wide and must not leak into the tests.
CHILD = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from convnets import keep_freed_memory

    def faults_per_cycle():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            # 40 MiB, written: every page is touched. Above 32 MiB, glibc's adaptive
            # threshold never keeps a block by default: each one is a fresh mmap.
            a = np.ones(5 * 2**20)
            del a
        return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20

    faults_per_cycle()                  # warm up NumPy itself
    default = faults_per_cycle()
    applied = keep_freed_memory()
    faults_per_cycle()                  # the first cycle maps the heap once
    kept = faults_per_cycle()
    print(applied, default, kept)
""")


def test_freed_memory_is_reused_without_page_faults():
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                            check=True, timeout=120)
    applied, default, kept = result.stdout.split()
    if platform.libc_ver()[0] != "glibc":
        assert applied == "False"       # other C libraries: a no-op, never an error
        return
    assert applied == "True"
    # By default every block is a fresh mmap: thousands of faults (fewer with
    # transparent huge pages); kept in the heap, it is reused as it is.
    assert float(default) >= 8, result.stdout
    assert float(kept) <= float(default) / 8, result.stdout


@pytest.mark.parametrize("kwargs", [{"largest_block": -1}, {"top_pad": -5}])
def test_negative_sizes_raise(kwargs):
    with pytest.raises(ValueError, match="must be >= 0 bytes"):
        keep_freed_memory(**kwargs)
