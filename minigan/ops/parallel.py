"""Share the work of a training step between the CPU cores.

NumPy runs each operation on one core, but it releases Python's global interpreter lock
while the operation runs: two threads that each take half of the rows really do run on two
cores. Three ways to share, from fine to coarse:

- `over_batch`: a pass over a batch, in slices of images (im2col, col2im, the sub-pixel
  interleave, batch norm, LeakyReLU), or over a list (the optimizers' parameters);
- `matmul`: the rows of a matrix product (the convolutions' forward products);
- `side_by_side`: two independent jobs at once (a convolution's input and weight gradients).

On a GPU (CuPy) every kernel is parallel anyway, so the work is done in one call there.

Who splits the matrix products, BLAS or minigan? Not both: OpenBLAS's own threads spin
while they wait for work, and on the same cores as minigan's threads they slow both down.
With ``OPENBLAS_NUM_THREADS=1`` in the environment before NumPy loads (the examples and
benchmarks set it on their first lines) BLAS stays on one core and `matmul` splits the
products; otherwise products are left to BLAS's threads. On a 2-core machine the first way
made a 32x32 DCGAN training step about 10-15% faster.

Determinism: `over_batch` gives bit-identical results for any number of threads (each thread
writes its own images); `matmul` is deterministic for a given number of threads, but BLAS
may round a product split into different pieces differently in the last bit.

The number of threads is ``MINIGAN_NUM_THREADS``, else the number of cores this process may
use. See ``docs/07_backend.md``.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from .. import backend
from ..autograd import is_grad_enabled

# Waking a thread and handing it work costs about 0.1 ms here (measured on the 2-core
# development machine), as much as a pass over half a million floats: smaller work is done
# by the calling thread alone.
MIN_ELEMENTS = 1 << 20         # elements read and written by array passes
MIN_MULTIPLY_ADDS = 1 << 24    # multiply-adds of a matrix product
_pools = {}
_side_by_side = False  # True while `side_by_side` runs two jobs: their own work is not split


def num_threads():
    """How many threads `over_batch` and `matmul` use on the CPU."""
    value = os.environ.get("MINIGAN_NUM_THREADS")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"MINIGAN_NUM_THREADS must be a positive integer, got {value!r}")
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def blas_is_single_threaded():
    """True when BLAS runs each product on one core, so minigan should split products itself."""
    return os.environ.get("OPENBLAS_NUM_THREADS") == "1"


def _pool(threads):
    if threads not in _pools:
        _pools[threads] = ThreadPoolExecutor(threads - 1, thread_name_prefix="minigan")
    return _pools[threads]


def _in_worker():
    """True on one of minigan's own threads: work handed out from there would wait for a
    pool that may be busy running it, so it runs in place."""
    return threading.current_thread().name.startswith("minigan")


def side_by_side(first, second, array):
    """``(first(), second())``, computed at the same time on two threads when ``array``
    lives on the CPU. For two independent jobs, such as the input and weight gradients of a
    convolution: one hand-off for the whole job instead of one per pass, and each job's
    products stay whole (they measured 13-15% faster than splitting every product).
    Only in a plain backward pass: graph recording (``create_graph=True``) stays on one thread."""
    global _side_by_side
    if (num_threads() < 2 or _side_by_side or _in_worker() or is_grad_enabled()
            or backend.device_of(array) != "cpu"):
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
    if (threads < 2 or elements < MIN_ELEMENTS or _side_by_side or _in_worker()
            or backend.device_of(array) != "cpu"):
        work(0, batch)
        return
    bounds = [batch * i // threads for i in range(threads + 1)]
    slices = list(zip(bounds[:-1], bounds[1:]))
    futures = [_pool(threads).submit(work, *s) for s in slices[1:]]
    work(*slices[0])  # the calling thread takes the first slice itself
    for future in futures:
        future.result()  # waits, and re-raises an exception from the thread


def matmul(a, b):
    """``a @ b`` for 2-D arrays, with the rows of the result shared between the threads."""
    xp = backend.get_array_module(a, b)
    M, K, N = a.shape[0], a.shape[1], b.shape[1]
    if (M * K * N < MIN_MULTIPLY_ADDS or not blas_is_single_threaded() or _side_by_side
            or backend.device_of(a) != "cpu"):
        return a @ b
    out = xp.empty((M, N), dtype=xp.result_type(a, b))

    def rows(start, stop):
        xp.matmul(a[start:stop], b, out=out[start:stop])
    over_batch(rows, M, M * K * N, out)
    return out
