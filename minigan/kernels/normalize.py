"""Fast layer, group and instance norm: the same results as `reference.normalize` and
`reference.normalize_backward`, in about one trip through memory each way, on the threads.

- Blocks of whole images, small enough to stay in a core's cache: the first pass over a
  block (a sum) brings it from memory, the next ones (centre, sum of squares, scale, shift)
  find it in the cache. The normalised axes never include the batch axis, so a statistic
  never spans two blocks, and the blocks are shared between the threads.
- Sums with ``einsum``: it sums products without building them, over any strides
  (channels-last memory too).
- The affine map is folded into the same passes, ``y = (x - mu) (inv_std weight) + bias``,
  and the weight and bias gradients come from the per-block sums the input gradient needs.
- The blocks depend on the batch alone and each block's weight-gradient part is added up in
  block order: the same bits for any number of threads.
On a GPU these tricks buy nothing, so there the reference kernels run (as for batch norm).
See ``docs/11_making_it_fast.md``.
"""
import math

from .. import backend
from . import reference
from .parallel import over_batch

# Elements per block: a block of x and of its result (256 KiB each in float32) fit in the
# 1 MiB L2 cache of a core of the development machine, with room for a temporary.
BLOCK = 1 << 16


def _blocks(x):
    """Slices of the batch of about BLOCK elements each (at least one image)."""
    per_block = max(1, BLOCK // max(x[0].size, 1))
    return [slice(i, i + per_block) for i in range(0, x.shape[0], per_block)]


def _on_blocks(work, blocks, passes, x):
    """``work(k, blocks[k])`` for every block, the blocks shared between the threads."""
    def run(start, stop):
        for k in range(start, stop):
            work(k, blocks[k])
    over_batch(run, len(blocks), passes * x.size, x)


def _sums(keep, a, b=None):
    """The sums of ``a`` (or of ``a * b``) over every axis not in ``keep``, with those axes
    kept as 1."""
    letters = "abcdefghij"[:a.ndim]
    to = "".join(letters[i] for i in keep)
    operands = (a,) if b is None else (a, b)
    spec = ",".join([letters] * len(operands)) + "->" + to
    s = backend.get_array_module(a).einsum(spec, *operands)
    return s.reshape([n if i in keep else 1 for i, n in enumerate(a.shape)])


def _falls_back(x, axes):
    return backend.device_of(x) != "cpu" or 0 in axes or x.size == 0


def normalize(x, weight, bias, axes, eps):
    if _falls_back(x, axes):
        return reference.normalize(x, weight, bias, axes, eps)
    xp = backend.get_array_module(x)
    m = math.prod(x.shape[i] for i in axes)           # values per statistic
    rows = [i for i in range(x.ndim) if i not in axes]
    stats = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    y, mean, var = xp.empty_like(x), xp.empty(stats, x.dtype), xp.empty(stats, x.dtype)

    def work(k, i):
        xp.divide(_sums(rows, x[i]), m, out=mean[i])
        xp.subtract(x[i], mean[i], out=y[i])         # y = x - mu, and its sum of squares
        xp.divide(_sums(rows, y[i], y[i]), m, out=var[i])
        y[i] *= weight / xp.sqrt(var[i] + eps)        # y = (x - mu) inv_std weight + bias
        y[i] += bias
    _on_blocks(work, _blocks(x), 6, x)
    return y, mean, var


def normalize_backward(x, weight, gy, mean, var, eps, axes):
    if _falls_back(x, axes):
        return reference.normalize_backward(x, weight, gy, mean, var, eps, axes)
    xp = backend.get_array_module(x)
    m = math.prod(x.shape[i] for i in axes)
    # The sums keep one value per statistic and per weight entry (instance norm: per (n, c);
    # group norm: per (n, g, c); layer norm: every value, the weight being per element).
    keep = [i for i in range(x.ndim) if i not in axes or weight.shape[i] != 1]
    broadcast = tuple(i for i, n in enumerate(weight.shape) if n == 1)
    inv_std = 1.0 / xp.sqrt(var + eps)
    dx, blocks = xp.empty_like(gy), _blocks(x)
    parts = xp.empty((2, len(blocks)) + weight.shape, dtype=dx.dtype)

    def work(k, i):
        s = inv_std[i]
        xc = xp.subtract(x[i], mean[i], out=dx[i])   # dx = x - mu, built on in place
        sum_gy, sum_gy_xc = _sums(keep, gy[i]), _sums(keep, gy[i], xc)
        parts[0, k] = (sum_gy_xc * s).sum(axis=broadcast, keepdims=True)   # sum(dy xhat)
        parts[1, k] = sum_gy.sum(axis=broadcast, keepdims=True)            # sum(dy)
        # With g = dy weight, the reference formula rearranged to be built in place:
        # dx = (x - mu) (-inv_std^3 mean(g (x - mu))) - inv_std mean(g) + dy inv_std weight
        mean_g = (sum_gy * weight).sum(axis=axes, keepdims=True) / m
        mean_g_xc = (sum_gy_xc * weight).sum(axis=axes, keepdims=True) / m
        xc *= -s * s * s * mean_g_xc
        xc -= s * mean_g
        xc += gy[i] * (s * weight)
    _on_blocks(work, blocks, 10, x)
    return dx, parts[0].sum(axis=0), parts[1].sum(axis=0)
