"""Fast LeakyReLU: the same results as `reference.leaky_relu` and
`reference.leaky_relu_backward`, in fewer passes and on the CPU's threads.

A DCGAN discriminator's activations are large, so both passes share the batch between the
cores (`parallel.over_batch`), each slice going through all its steps while it is still in
the cache. See ``docs/11_making_it_fast.md``.
"""
from .. import backend
from . import reference
from .parallel import over_batch


def leaky_relu(x, negative_slope):
    # For 0 <= a <= 1, max(x, a x) is the same as where(x > 0, x, a x), in two quick passes.
    if x.ndim == 0 or not 0 <= negative_slope <= 1:
        return reference.leaky_relu(x, negative_slope)
    xp = backend.get_array_module(x)
    slope = x.dtype.type(negative_slope)
    y = xp.empty_like(x)

    def work(start, stop):
        xp.multiply(x[start:stop], slope, out=y[start:stop])
        xp.maximum(x[start:stop], y[start:stop], out=y[start:stop])
    over_batch(work, x.shape[0], 2 * x.size, x)
    return y


def _scale(x, negative_slope):
    """a + (1 - a) [x > 0], built in place from the mask: NumPy's where() with scalar
    arguments is about ten times slower than these three quick passes."""
    scale = (x > 0).astype(x.dtype)
    scale *= x.dtype.type(1 - negative_slope)
    scale += x.dtype.type(negative_slope)
    return scale


def leaky_relu_backward(x, gy, negative_slope):
    if x.ndim == 0:
        return reference.leaky_relu_backward(x, gy, negative_slope)
    xp = backend.get_array_module(x)
    dx = xp.empty_like(gy)

    def work(start, stop):
        xp.multiply(gy[start:stop], _scale(x[start:stop], negative_slope), out=dx[start:stop])
    over_batch(work, x.shape[0], 6 * x.size, x)
    return dx
