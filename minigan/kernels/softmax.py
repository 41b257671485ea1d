"""Fast softmax and log-softmax over the last axis: the same results as `reference.softmax`,
`reference.log_softmax` and their backward passes, in fewer passes and on the CPU's threads.

Attention takes a softmax over each row of its scores, (N, H, L, S): many short rows. The
reference builds a new full-size temporary for every step of the formula (x - m, its exp,
the quotient), each a trip through main memory. Here the rows are cut into blocks, each
block goes through every step in place (one output array, no temporaries), and the threads
share the blocks (`parallel.over_batch`). The row sums are one matrix-vector product with a
vector of ones, which BLAS does faster than NumPy's sum over short rows, and the division
is a multiplication by the inverted sums. Other axes, and arrays on a GPU, use the
reference. See ``docs/11_making_it_fast.md``.
"""
from .. import backend
from . import reference
from .parallel import over_batch

# Values per block: 1 MiB in float32, as in normalize.py. On the development machine blocks
# of 2^16 values (L2-sized) measured slower: NumPy's calls per block cost more than the cache
# saves. The blocks are what the threads share.
BLOCK = 1 << 18


def _falls_back(x, axis):
    return backend.device_of(x) != "cpu" or axis != x.ndim - 1 or x.size == 0


def _rows(a):
    """a as a C-contiguous matrix with one row per softmax (a copy only if a is strided)."""
    xp = backend.get_array_module(a)
    return xp.ascontiguousarray(a).reshape(-1, a.shape[-1])


def _on_blocks(work, rows, passes):
    """``work(block)`` for slices of rows of about BLOCK values, shared between the threads."""
    per_block = max(1, BLOCK // rows.shape[1])
    blocks = [slice(i, i + per_block) for i in range(0, rows.shape[0], per_block)]

    def run(start, stop):
        for block in blocks[start:stop]:
            work(block)
    over_batch(run, len(blocks), passes * rows.size, rows)


def softmax(x, axis):
    if _falls_back(x, axis):
        return reference.softmax(x, axis)
    xp, shape, x = backend.get_array_module(x), x.shape, _rows(x)
    y, ones = xp.empty_like(x), xp.ones(x.shape[1], x.dtype)

    def work(i):
        xp.subtract(x[i], x[i].max(axis=1, keepdims=True), out=y[i])
        xp.exp(y[i], out=y[i])
        y[i] *= (1.0 / (y[i] @ ones))[:, None]     # the sums of the rows, inverted once
    _on_blocks(work, x, 5)
    return y.reshape(shape)


def softmax_backward(y, gy, axis):
    if _falls_back(y, axis):
        return reference.softmax_backward(y, gy, axis)
    xp, shape = backend.get_array_module(y), y.shape
    y, gy = _rows(y), _rows(gy)
    dx, ones = xp.empty_like(y), xp.ones(y.shape[1], y.dtype)

    def work(i):                                    # dx = y (dy - sum(dy y))
        xp.multiply(gy[i], y[i], out=dx[i])
        xp.subtract(gy[i], (dx[i] @ ones)[:, None], out=dx[i])
        dx[i] *= y[i]
    _on_blocks(work, y, 6)
    return dx.reshape(shape)


def log_softmax(x, axis):
    if _falls_back(x, axis):
        return reference.log_softmax(x, axis)
    xp, shape, x = backend.get_array_module(x), x.shape, _rows(x)
    y, ones = xp.empty_like(x), xp.ones(x.shape[1], x.dtype)

    def work(i):
        xp.subtract(x[i], x[i].max(axis=1, keepdims=True), out=y[i])
        y[i] -= xp.log(xp.exp(y[i]) @ ones)[:, None]
    _on_blocks(work, x, 5)
    return y.reshape(shape)


def log_softmax_backward(y, gy, axis):
    if _falls_back(y, axis):
        return reference.log_softmax_backward(y, gy, axis)
    xp, shape = backend.get_array_module(y), y.shape
    y, gy = _rows(y), _rows(gy)
    dx, ones = xp.empty_like(y), xp.ones(y.shape[1], y.dtype)

    def work(i):                                    # dx = dy - e^y sum(dy)
        xp.exp(y[i], out=dx[i])
        dx[i] *= -(gy[i] @ ones)[:, None]
        dx[i] += gy[i]
    _on_blocks(work, y, 5)
    return dx.reshape(shape)
