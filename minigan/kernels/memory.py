"""Keep freed host memory for reuse instead of handing it back to the operating system.

A training step allocates and frees the same large temporaries (im2col matrices, activation
gradients) again and again. By default glibc's malloc serves blocks above 128 KiB with fresh
pages from the kernel and returns them on free, so the next step *page-faults* every page
back in, zero-filled by the kernel: about 10,000 page faults and 25 ms of kernel time per
32x32 DCGAN step on the development machine, a tenth of the step. Two malloc options stop
that: blocks up to 32 MiB come from malloc's own heap, and the heap is never trimmed.
(PyTorch keeps a caching allocator for the same reason.) The cost is that the process keeps
its peak memory. Only glibc (Linux) has these options; elsewhere nothing changes.

It is a process-wide setting, so ``import minigan`` does not make it: `GANTrainer`, the
examples and the benchmarks call `keep_freed_memory()` when they start, and a script of
your own may too. Set ``MINIGAN_KEEP_FREED_MEMORY=0`` to leave malloc alone.
See ``docs/11_making_it_fast.md``.
"""
import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's <malloc.h>
_LARGEST_HEAP_BLOCK = 32 * 1024 * 1024       # glibc's upper limit for M_MMAP_THRESHOLD (64-bit)


def keep_freed_memory():
    """Ask glibc's malloc to keep freed memory; True if it agreed."""
    if os.environ.get("MINIGAN_KEEP_FREED_MEMORY", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl without mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; the trim threshold is the largest int: never trim
    return bool(mallopt(M_MMAP_THRESHOLD, _LARGEST_HEAP_BLOCK)) and \
        bool(mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
