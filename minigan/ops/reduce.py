"""Reductions: sum, mean, max, min, var over dimensions (``dim``, ``keepdim`` as PyTorch).

A reduction's gradient spreads ``dy`` back over the reduced elements: every element
of a sum gets ``dy``; only the largest element of a max does. ``docs/02_broadcasting.md``.
"""
from ..autograd import Function
from .shape import normalize_axes, reshape, broadcast_to


def _keepdim_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """y = sum of x over ``axes``;  dx = dy broadcast back to x's shape."""

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        shape = self.inputs[0].shape
        return broadcast_to(reshape(gy, _keepdim_shape(shape, self.axes)), shape)


class Max(Function):
    """y = max of x over ``axes``;  dx = dy at the maximal elements (shared equally by ties),
    0 elsewhere. The mask is constant: max is piecewise linear."""

    def __init__(self, axes, keepdim, largest=True):
        self.axes, self.keepdim, self.largest = axes, keepdim, largest

    def forward(self, x):
        if x.size == 0:
            raise ValueError("max/min of an empty tensor")
        reduce = x.max if self.largest else x.min
        return reduce(axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        x = self.inputs[0]
        shape = _keepdim_shape(x.shape, self.axes)
        reduce = x.data.max if self.largest else x.data.min
        mask = (x.data == reduce(axis=self.axes, keepdims=True)).astype(x.dtype)
        mask = mask / mask.sum(axis=self.axes, keepdims=True)
        return broadcast_to(reshape(gy, shape), x.shape) * mask


def sum(x, dim=None, keepdim=False):
    return Sum(normalize_axes(dim, x.ndim), keepdim)(x)


def mean(x, dim=None, keepdim=False):
    axes = normalize_axes(dim, x.ndim)
    count = 1
    for a in axes:
        count *= x.shape[a]
    return Sum(axes, keepdim)(x) / float(count)


def max(x, dim=None, keepdim=False):
    """The largest values over ``dim`` (PyTorch's ``amax``; no indices are returned)."""
    return Max(normalize_axes(dim, x.ndim), keepdim)(x)


def min(x, dim=None, keepdim=False):
    return Max(normalize_axes(dim, x.ndim), keepdim, largest=False)(x)


def var(x, dim=None, unbiased=True, keepdim=False):
    """Variance over ``dim``; ``unbiased`` divides by n - 1 (PyTorch's default), else by n."""
    axes = normalize_axes(dim, x.ndim)
    count = 1
    for a in axes:
        count *= x.shape[a]
    if unbiased and count < 2:
        raise ValueError(f"var: an unbiased variance needs at least 2 elements over dim {dim}")
    centred = x - mean(x, dim=axes, keepdim=True)
    return sum(centred * centred, dim=axes, keepdim=keepdim) / float(count - 1 if unbiased else count)
