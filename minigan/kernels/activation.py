"""Fast LeakyReLU and GELU (tanh formula): the same results as `reference.leaky_relu`,
`reference.gelu_tanh` and their backward passes, in fewer passes and on the CPU's threads.

A DCGAN discriminator's activations are large, so both passes share the batch between the
cores (`parallel.over_batch`), each slice going through all its steps while it is still in
the cache. GELU's formula has a dozen steps: each is done in place in one of two buffers,
where the reference (and the textbook backward in ops) makes a new array per step.
See ``docs/11_making_it_fast.md``.
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


def gelu_tanh(x):
    if x.ndim == 0:
        return reference.gelu_tanh(x)
    xp = backend.get_array_module(x)
    y, t = xp.empty_like(x), xp.empty_like(x)
    cubic, scale, half = (x.dtype.type(c) for c in (reference.GELU_CUBIC,
                                                    reference.SQRT_2_OVER_PI, 0.5))

    def work(start, stop):
        a, b, c = x[start:stop], y[start:stop], t[start:stop]
        xp.multiply(a, a, out=c)                    # t = tanh(sqrt(2/pi) (x + 0.044715 x^3))
        c *= a
        c *= cubic
        c += a
        c *= scale
        xp.tanh(c, out=c)
        xp.add(c, 1, out=b)                         # y = x (1 + t) / 2
        b *= a
        b *= half
    over_batch(work, x.shape[0], 12 * x.size, x)
    return y, t


def gelu_tanh_backward(x, t, gy):
    if x.ndim == 0:
        return reference.gelu_tanh_backward(x, t, gy)
    xp = backend.get_array_module(x)
    dx = xp.empty_like(gy)
    cubic3, scale, half = (x.dtype.type(c) for c in (3 * reference.GELU_CUBIC,
                                                     reference.SQRT_2_OVER_PI, 0.5))

    def work(start, stop):
        # dx = dy (1 + t) / 2 (1 + x du (1 - t)), the reference's formula with
        # 1 - t^2 = (1 - t)(1 + t) factored out
        a, tt, d = x[start:stop], t[start:stop], dx[start:stop]
        w = a * a                                   # w = x du
        w *= cubic3
        w += 1
        w *= scale
        w *= a
        xp.subtract(1, tt, out=d)                   # w = 1 + x du (1 - t)
        w *= d
        w += 1
        xp.add(tt, 1, out=d)                        # dx = dy (1 + t) / 2 w
        d *= half
        d *= w
        d *= gy[start:stop]
    over_batch(work, x.shape[0], 14 * x.size, x)
    return dx
