"""Keep freed memory for reuse, so that a training loop stops paying for page faults.

A training step allocates and frees arrays of the same sizes again and again: the
layer outputs, their caches, the gradients, Adam's temporaries. By default glibc's
``malloc`` serves every block above a threshold (128 KiB at first, raised adaptively
up to 32 MiB) with a fresh ``mmap`` and gives it back to the kernel on ``free``. So
each step's arrays land on new pages that the kernel must fault in and zero: for
ThreeLayerConvNet on a batch of 50 CIFAR-sized images that is about 2,000 page faults
per step, some 10-15% of the step's time (PyTorch's CPU allocator calls the same
``malloc`` and pays the same). Raising the thresholds keeps freed blocks in the
process's heap, where the next step finds them already mapped.

This is a process-wide setting of the C library, so nothing in ``convnets`` applies it
on import: call :func:`keep_freed_memory` once at the start of a long training run
(the training benchmark does, for NumPy and PyTorch alike). The price is that the
process keeps the memory it has used at its peak instead of returning it.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["keep_freed_memory"]

# mallopt parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(largest_block: int = 1 << 30, top_pad: int = 64 << 20) -> bool:
    """Make glibc's malloc keep freed memory for reuse instead of unmapping it.

    Parameters
    ----------
    largest_block : int
        Blocks up to this many bytes come from the heap (whose freed memory is reused)
        instead of a private ``mmap`` each (default 1 GiB; older glibc versions refuse
        more than 32 MiB, which is then used instead).
    top_pad : int
        Extra bytes the heap grows by each time it grows, and keeps when it could
        shrink (default 64 MiB).

    Returns
    -------
    bool
        True if the settings were applied; False when the C library is not glibc
        (macOS, musl, Windows): nothing changes then, and nothing breaks.
    """
    if largest_block < 0 or top_pad < 0:
        raise ValueError(f"largest_block and top_pad must be >= 0 bytes, got "
                         f"largest_block = {largest_block}, top_pad = {top_pad}")
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    int_max = 2**31 - 1
    ok = (mallopt(_M_MMAP_THRESHOLD, min(largest_block, int_max))
          or mallopt(_M_MMAP_THRESHOLD, min(largest_block, 32 << 20)))
    ok &= mallopt(_M_TRIM_THRESHOLD, int_max)   # never give the heap's top back
    ok &= mallopt(_M_TOP_PAD, min(top_pad, int_max))
    return bool(ok)
