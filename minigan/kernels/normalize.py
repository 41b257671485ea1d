"""Fast layer, group and instance norm: `reference.normalize` and
`reference.normalize_backward` on slices of the batch, shared between the CPU's threads.

Every image's statistics are its own (the normalised axes never include the batch axis), so
the batch splits cleanly: each thread runs the reference formula on its images and writes
its part of the result; the same bits for any number of threads.
See ``docs/11_making_it_fast.md``.
"""
from .. import backend
from . import reference
from .parallel import over_batch


def normalize(x, axes, eps):
    if 0 in axes or x.ndim == 0:
        return reference.normalize(x, axes, eps)
    xp = backend.get_array_module(x)
    stats = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    y, mean, var = xp.empty_like(x), xp.empty(stats, x.dtype), xp.empty(stats, x.dtype)

    def work(start, stop):
        y[start:stop], mean[start:stop], var[start:stop] = \
            reference.normalize(x[start:stop], axes, eps)
    over_batch(work, x.shape[0], 6 * x.size, x)
    return y, mean, var


def normalize_backward(x, gy, mean, var, eps, axes):
    if 0 in axes or x.ndim == 0:
        return reference.normalize_backward(x, gy, mean, var, eps, axes)
    dx = backend.get_array_module(x).empty_like(gy)

    def work(start, stop):
        dx[start:stop] = reference.normalize_backward(x[start:stop], gy[start:stop],
                                                      mean[start:stop], var[start:stop], eps, axes)
    over_batch(work, x.shape[0], 10 * x.size, x)
    return dx
