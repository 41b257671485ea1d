"""Fast batch norm: the same results as `reference.batch_norm` and
`reference.batch_norm_backward`, in fewer passes over memory and on the CPU's threads.

- Every pass goes slice by slice through the batch on the threads (`parallel.over_batch`),
  statistics as per-image sums that are then added up over images: the same bits for any
  number of threads.
- No reshape to (N, C, L): a strided input, such as a cropped col2im result, would be
  copied. ``einsum`` sums over the image axes of channels-last memory about twice as fast
  as ``x.sum(axis=(2, 3))``, and sums products without building them.
- The output and the input gradient are built in place in one temporary each.
On a GPU these tricks buy nothing (CuPy turns a binary einsum into many small matrix
products), so there the reference kernels run. See ``docs/11_making_it_fast.md``.
"""
from .. import backend
from . import reference
from .parallel import over_batch


def _channel_shape(x):
    """(1, C, 1, 1) for x of shape (N, C, H, W): per-channel values broadcast against x."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _einsum_letters(x):
    """einsum's letters for the axes of x: "nchw" for (N, C, H, W), "nc" for (N, C)."""
    return "nc" + "hwdxyz"[:x.ndim - 2]


def _sum_over_images(per_image, x, passes, count=1):
    """``count`` per-channel sums over the whole batch x (N, C, ...). ``per_image(i)`` gets a
    slice ``i`` of the batch and returns ``count`` arrays (images, C) of per-image sums; the
    slices run on the threads (``passes``: how often the work reads x) and the per-image sums
    are then added up. Each image's sums do not depend on the slicing."""
    xp = backend.get_array_module(x)
    n, c = x.shape[:2]
    parts = xp.empty((count, n, c), dtype=x.dtype)

    def work(start, stop):
        for k, part in enumerate(per_image(slice(start, stop))):
            parts[k, start:stop] = part
    over_batch(work, n, passes * x.size, x)
    return parts.sum(axis=1)


def batch_norm(x, weight, bias, eps):
    if backend.device_of(x) != "cpu":
        return reference.batch_norm(x, weight, bias, eps)
    xp = backend.get_array_module(x)
    n, c = x.shape[:2]
    m = x.size // c
    per_channel, dims = _channel_shape(x), _einsum_letters(x)
    (sum_x,) = _sum_over_images(lambda i: (xp.einsum(f"{dims}->nc", x[i]),), x, passes=1)
    mean = sum_x / m
    mu = mean.reshape(per_channel)
    y = xp.empty_like(x)

    def center(i):                                # y = x - mu, and its sum of squares
        xp.subtract(x[i], mu, out=y[i])
        return (xp.einsum(f"{dims},{dims}->nc", y[i], y[i]),)
    (sum_squares,) = _sum_over_images(center, x, passes=3)
    var = sum_squares / m                         # the biased variance
    inv_std = 1.0 / xp.sqrt(var + eps)
    scale, shift = (weight * inv_std).reshape(per_channel), bias.reshape(per_channel)

    def normalise(start, stop):                   # y = (x - mu) gamma inv_std + beta
        y[start:stop] *= scale
        y[start:stop] += shift
    over_batch(normalise, n, 2 * y.size, y)
    return y, mean, var


def batch_norm_backward(x, weight, gy, mean, var, eps, need_x):
    if backend.device_of(x) != "cpu":
        return reference.batch_norm_backward(x, weight, gy, mean, var, eps, need_x)
    xp = backend.get_array_module(x)
    n, c = x.shape[:2]
    m = x.size // c
    per_channel, dims = _channel_shape(x), _einsum_letters(x)
    inv_std = 1.0 / xp.sqrt(var + eps)
    mu = mean.reshape(per_channel)
    dx = xp.empty_like(x)

    def sums(i):                                   # dx = x - mu; sum(dy), sum(dy (x - mu))
        xp.subtract(x[i], mu, out=dx[i])
        return xp.einsum(f"{dims}->nc", gy[i]), xp.einsum(f"{dims},{dims}->nc", gy[i], dx[i])
    sum_gy, sum_gy_xc = _sum_over_images(sums, x, passes=4, count=2)
    sum_gy_xhat = sum_gy_xc * inv_std
    if not need_x:
        return None, sum_gy_xhat, sum_gy
    # The reference formula, rearranged to be built in place in dx:
    # dx = -gamma inv_std ((x - mu) inv_std sum(dy xhat) / m + sum(dy) / m - dy)
    times_xc = (inv_std * sum_gy_xhat / m).reshape(per_channel)
    plus = (sum_gy / m).reshape(per_channel)
    scale = (-weight * inv_std).reshape(per_channel)

    def input_gradient(start, stop):
        part = dx[start:stop]
        part *= times_xc
        part += plus
        part -= gy[start:stop]
        part *= scale
    over_batch(input_gradient, n, 5 * dx.size, dx)
    return dx, sum_gy_xhat, sum_gy
