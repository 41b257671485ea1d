"""Share a loop over the batch between the CPU cores.

NumPy runs each elementwise operation on one core, but it releases Python's global
interpreter lock while the operation runs: two threads that each take half of the batch
really do run on two cores. The convolutions use this for their copy and add passes
(im2col, col2im), the largest part of a training step that is not a matrix product; the
matrix products are multi-threaded already, inside BLAS. On a GPU (CuPy) every kernel is
parallel anyway, so the work is done in one call there. Each thread writes its own images
only, so the result is bit for bit the same with any number of threads.

The number of threads is ``MINIGAN_NUM_THREADS``, else the number of cores this process may
use. See ``docs/03_convolution.md``.
"""
import os
from concurrent.futures import ThreadPoolExecutor

from .. import backend

MIN_ELEMENTS = 1 << 16  # for less work than this, handing it to threads costs more than it saves
_pools = {}


def num_threads():
    """How many threads `over_batch` uses on the CPU."""
    value = os.environ.get("MINIGAN_NUM_THREADS")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"MINIGAN_NUM_THREADS must be a positive integer, got {value!r}")
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def over_batch(work, batch, elements, array):
    """Call ``work(start, stop)`` on slices ``start:stop`` that together cover ``range(batch)``:
    one slice per thread when ``array`` lives on the CPU and there are ``elements`` enough
    to share, else a single call ``work(0, batch)``."""
    threads = min(num_threads(), batch)
    if threads < 2 or elements < MIN_ELEMENTS or backend.device_of(array) != "cpu":
        work(0, batch)
        return
    if threads not in _pools:
        _pools[threads] = ThreadPoolExecutor(threads - 1, thread_name_prefix="minigan")
    bounds = [batch * i // threads for i in range(threads + 1)]
    slices = list(zip(bounds[:-1], bounds[1:]))
    futures = [_pools[threads].submit(work, *s) for s in slices[1:]]
    work(*slices[0])  # the calling thread takes the first slice itself
    for future in futures:
        future.result()  # waits, and re-raises an exception from the thread
