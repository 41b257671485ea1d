"""Share the work of a training step between the CPU cores.

NumPy runs each operation on one core, but it releases Python's global interpreter lock
while the operation runs: two threads that each take half of the rows really do run on two
cores. Three ways to share, from fine to coarse:

- `over_batch`: a pass over a batch, in slices of images (im2col, col2im, the sub-pixel
  interleave, batch norm, LeakyReLU), or over a list (the optimizers' parameters);
- `matmul_on_threads`: the rows of a matrix product (the convolutions' products);
- `side_by_side`: two independent jobs at once (a convolution's input and weight gradients).

On a GPU (CuPy, or the strict emulator) every kernel is parallel anyway, so the work is done
in one call there.

Who splits the matrix products, BLAS or minigan? Not both: OpenBLAS's own threads spin
while they wait for work, and on the same cores as minigan's threads they slow both down.
`blas.py` keeps BLAS on one thread (unless you chose otherwise), and then
`matmul_on_threads` splits the products itself.

Determinism: `over_batch` gives bit-identical results for any number of threads (each thread
writes its own images); `matmul_on_threads` is deterministic for a given number of threads,
but BLAS may round a product split into different pieces differently in the last bit.

The number of threads is ``MINIGAN_NUM_THREADS``, else the number of cores this process may
use; ``minigan.kernels.use("fast", threads=...)`` overrides both. See ``docs/11_making_it_fast.md``.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from .. import backend
from . import blas


class options:
    """Settings that `minigan.kernels.use` may change (tests share even tiny work)."""
    threads = None  # None: MINIGAN_NUM_THREADS, else the cores this process may use
    # Waking a thread and handing it work costs about 0.1 ms (measured on the 2-core
    # development machine), as much as a pass over half a million floats: smaller work is
    # done by the calling thread alone.
    min_elements = 1 << 20        # elements read and written by array passes
    min_multiply_adds = 1 << 24   # multiply-adds of a matrix product


_pools = {}
_side_by_side = False  # True while `side_by_side` runs two jobs: their own work is not split


def num_threads():
    """How many threads `over_batch` and `matmul_on_threads` use on the CPU."""
    if options.threads is not None:
        return options.threads
    value = os.environ.get("MINIGAN_NUM_THREADS")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"MINIGAN_NUM_THREADS must be a positive integer, got {value!r}")
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _pool(threads):
    if threads not in _pools:
        _pools[threads] = ThreadPoolExecutor(threads - 1, thread_name_prefix="minigan")
    return _pools[threads]


def _in_worker():
    """True on one of minigan's own threads: work handed out from there would wait for a
    pool that may be busy running it, so it runs in place."""
    return threading.current_thread().name.startswith("minigan")


def _on_cpu(array):
    return backend.device_of(array) == "cpu"


def side_by_side(first, second, array):
    """``(first(), second())``, computed at the same time on two threads when ``array``
    lives on the CPU. For two independent jobs, such as the input and weight gradients of a
    convolution: one hand-off for the whole job instead of one per pass, and each job's
    products stay whole (they measured 13-15% faster than splitting every product)."""
    global _side_by_side
    if num_threads() < 2 or _side_by_side or _in_worker() or not _on_cpu(array):
        return first(), second()
    _side_by_side = True
    try:
        future = _pool(2).submit(second)
        return first(), future.result()
    finally:
        _side_by_side = False


def over_batch(work, batch, elements, array):
    """Call ``work(start, stop)`` on slices ``start:stop`` that together cover ``range(batch)``:
    one slice per thread when ``array`` lives on the CPU and the work is large enough to
    share (``elements``: about how many array elements it reads and writes, all passes
    together), else a single call ``work(0, batch)``."""
    threads = min(num_threads(), batch)
    if (threads < 2 or elements < options.min_elements or _side_by_side or _in_worker()
            or not _on_cpu(array)):
        work(0, batch)
        return
    bounds = [batch * i // threads for i in range(threads + 1)]
    slices = list(zip(bounds[:-1], bounds[1:]))
    futures = [_pool(threads).submit(work, *s) for s in slices[1:]]
    work(*slices[0])  # the calling thread takes the first slice itself
    for future in futures:
        future.result()  # waits, and re-raises an exception from the thread


def matmul_on_threads(a, b):
    """``a @ b`` for 2-D arrays, with the rows of the result shared between the threads."""
    xp = backend.get_array_module(a, b)
    M, K, N = a.shape[0], a.shape[1], b.shape[1]
    if (M * K * N < options.min_multiply_adds or not blas.single_threaded() or _side_by_side
            or not _on_cpu(a)):
        return a @ b
    out = xp.empty((M, N), dtype=xp.result_type(a, b))

    def rows(start, stop):
        xp.matmul(a[start:stop], b, out=out[start:stop])
    over_batch(rows, M, M * K * N, out)
    return out


def for_each(work, items, sizes, array):
    """``work(item)`` for every item, the items shared between the threads: largest first,
    dealt alternately to the two halves of the list, so that each half holds about half of
    the elements (``sizes``). For independent updates, such as an optimizer's parameters."""
    order = sorted(range(len(items)), key=lambda i: -sizes[i])
    order = order[0::2] + order[1::2][::-1]

    def run(start, stop):
        for i in order[start:stop]:
            work(items[i])
    if items:
        over_batch(run, len(items), 12 * sum(sizes), array)
