"""Fast layer, group and instance norm: the same results as `reference.normalize` and
`reference.normalize_backward`, in fewer passes over memory, on the threads.

- Blocks of whole images (about a million values each), shared between the threads. The
  normalised axes never include the batch axis, so a statistic never spans two blocks; the
  first pass over a block brings it into the caches and the next ones find it there. The
  blocks are few, so Python's work per block stays small.
- The normalised axes are the trailing ones: a block's statistics are sums along the rows
  of a matrix (a view of C-contiguous memory), einsum for the sums and a batch of BLAS dot
  products for the sums of products (about twice as fast as einsum on the development
  machine).
- The affine map is folded into the same passes, ``y = (x - mu) (inv_std weight) + bias``,
  and the weight and bias gradients come from the sums the input gradient needs.
- The blocks depend on the batch alone and the blocks' weight-gradient parts are added up in
  block order: the same bits for any number of threads.
On a GPU these tricks buy nothing, so there the reference kernels run (as for batch norm).
See ``docs/11_making_it_fast.md``.
"""
import math

from .. import backend
from . import reference
from .parallel import over_batch

# Values per block: 1 MiB per array in float32. Measured on the development machine, blocks
# of 2^16 values (one 64-channel 32x32 image, small enough for its L2 cache) were slower:
# the Python work per block then costs more than the cache saves.
BLOCK = 1 << 18


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


def _sums(a, b, start):
    """The sums of ``a`` (or of ``a * b``, when b is not None) over its trailing axes from
    ``start`` on, kept as 1: einsum along the rows of a matrix, or a batch of dot products."""
    xp = backend.get_array_module(a)
    if start == a.ndim:                                 # nothing to sum
        return a if b is None else a * b
    kept = a.shape[:start] + (1,) * (a.ndim - start)
    a = a.reshape(-1, math.prod(a.shape[start:]))
    if b is None:
        return xp.einsum("ij->i", a).reshape(kept)
    b = b.reshape(a.shape)
    return xp.matmul(a[:, None, :], b[:, :, None]).reshape(kept)


def _falls_back(x, axes):
    trailing = tuple(axes) == tuple(range(x.ndim - len(axes), x.ndim))
    return backend.device_of(x) != "cpu" or not trailing or 0 in axes or x.size == 0


def _per_element(x, weight, axes):
    """True when the weight has one entry per normalised value and is shared by the rest
    (layer norm): a statistic's row then meets the whole weight, and sums of products
    with it are matrix-vector products."""
    first = x.ndim - len(axes)
    return weight.shape[first:] == x.shape[first:] and weight.size == math.prod(x.shape[first:])


def normalize(x, weight, bias, axes, eps):
    if _falls_back(x, axes):
        return reference.normalize(x, weight, bias, axes, eps)
    xp = backend.get_array_module(x)
    m, first = math.prod(x.shape[i] for i in axes), x.ndim - len(axes)
    y = xp.empty(x.shape, x.dtype)
    mean, var = (xp.empty(x.shape[:first] + (1,) * len(axes), x.dtype) for _ in range(2))
    # Per element, weight / sqrt(var) would be a full-size temporary: scale in two passes.
    per_element = _per_element(x, weight, axes)

    def work(k, i):
        xp.divide(_sums(x[i], None, first), m, out=mean[i])
        xp.subtract(x[i], mean[i], out=y[i])         # y = x - mu, and its sum of squares
        xp.divide(_sums(y[i], y[i], first), m, out=var[i])
        if per_element:                               # y = (x - mu) inv_std weight + bias
            y[i] *= 1.0 / xp.sqrt(var[i] + eps)
            y[i] *= weight
        else:
            y[i] *= weight / xp.sqrt(var[i] + eps)
        y[i] += bias
    _on_blocks(work, _blocks(x), 6, x)
    return y, mean, var


def normalize_backward(x, weight, gy, mean, var, eps, axes):
    if _falls_back(x, axes):
        return reference.normalize_backward(x, weight, gy, mean, var, eps, axes)
    if _per_element(x, weight, axes):
        return _per_element_backward(x, weight, gy, mean, var, eps, axes)
    xp = backend.get_array_module(x)
    m, first = math.prod(x.shape[i] for i in axes), x.ndim - len(axes)
    # Sums over the normalised axes after the last one along which the weight varies keep
    # one value per statistic and per weight entry (instance norm: per (n, c); group norm:
    # per (n, g, c); layer norm: every value, its weight being per element).
    fine = max([i + 1 for i in axes if weight.shape[i] != 1], default=first)
    broadcast = tuple(i for i, n in enumerate(weight.shape) if n == 1)
    inv_std = 1.0 / xp.sqrt(var + eps)
    dx, blocks = xp.empty(x.shape, x.dtype), _blocks(x)
    parts = xp.empty((2, len(blocks)) + weight.shape, dtype=dx.dtype)

    def work(k, i):
        s, mu = inv_std[i], mean[i]
        sum_gy = _sums(gy[i], None, fine)
        # sum(dy (x - mu)) = sum(dy x) - mu sum(dy), and below x a - mu a: these lose
        # digits in proportion to |mu| / std, where the variance from sum(x^2) would lose them
        # in proportion to its square (so the forward centres x first).
        sum_gy_xc = _sums(gy[i], x[i], fine) - mu * sum_gy
        parts[0, k] = (sum_gy_xc * s).sum(axis=broadcast, keepdims=True)   # sum(dy xhat)
        parts[1, k] = sum_gy.sum(axis=broadcast, keepdims=True)            # sum(dy)
        # With g = dy weight, the reference formula rearranged into three passes:
        # dx = x a + b + dy inv_std weight,  a = -inv_std^3 mean(g (x - mu)),
        # b = -mu a - inv_std mean(g)
        a = (s * s * s) * (sum_gy_xc * weight).sum(axis=axes, keepdims=True) * (-1.0 / m)
        b = -mu * a - s * (sum_gy * weight).sum(axis=axes, keepdims=True) * (1.0 / m)
        xp.multiply(x[i], a, out=dx[i])
        dx[i] += b
        dx[i] += gy[i] * (s * weight)
    _on_blocks(work, blocks, 10, x)
    return dx, parts[0].sum(axis=0), parts[1].sum(axis=0)


def _per_element_backward(x, weight, gy, mean, var, eps, axes):
    """`normalize_backward` for a weight per normalised value (layer norm). Each block is
    a matrix of rows (one statistic each) by the m normalised values, and every sum the
    gradients need is a matrix-vector product over it:
        sum(g x) = (dy x) w,   sum(g) = dy w          (per row, g = dy w)
        dweight = inv_std (dy x) - (mu inv_std) dy,   dbias = 1 dy   (over the rows)
    so the backward reads dy and x a few times and writes one product and dx."""
    xp = backend.get_array_module(x)
    m, first = math.prod(x.shape[i] for i in axes), x.ndim - len(axes)
    rows = math.prod(x.shape[:first])
    xr, gr = x.reshape(rows, m), gy.reshape(rows, m)
    w = weight.reshape(m)
    s, mu = (1.0 / xp.sqrt(var + eps)).reshape(rows), mean.reshape(rows)
    dx, blocks = xp.empty((rows, m), x.dtype), _blocks(x.reshape((rows,) + x.shape[first:]))
    parts = xp.empty((len(blocks), 2, m), dtype=dx.dtype)

    def work(k, i):
        gx = gr[i] * xr[i]                                  # dy x
        sum_g = gr[i] @ w
        sum_gy_xc = gx @ w - mu[i] * sum_g                  # sum(g (x - mu))
        parts[k, 0] = s[i] @ gx
        parts[k, 0] -= (mu[i] * s[i]) @ gr[i]               # sum(dy xhat)
        parts[k, 1] = gr[i].sum(axis=0)                     # sum(dy)
        # dx = x a + b + dy inv_std w, a and b per row as in `normalize_backward`
        a = (s[i] ** 3) * sum_gy_xc * (-1.0 / m)
        b = -mu[i] * a - s[i] * sum_g * (1.0 / m)
        xp.multiply(xr[i], a[:, None], out=gx)
        gx += b[:, None]
        xp.multiply(gr[i], w, out=dx[i])
        dx[i] *= s[i][:, None]
        dx[i] += gx
    _on_blocks(work, blocks, 10, x)
    shape = weight.shape
    return (dx.reshape(x.shape), parts[:, 0].sum(axis=0).reshape(shape),
            parts[:, 1].sum(axis=0).reshape(shape))
