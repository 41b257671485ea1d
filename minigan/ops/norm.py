"""Batch normalization: make every channel zero-mean, unit-variance over the batch, then let
the network rescale it. Derivation of forward and backward: ``docs/04_batchnorm.md``.

Shape letters: N (batch), C (channels), then any spatial dims (H, W), flattened to L.
Each channel's statistics are taken over its m = N * L values.

- training: normalise with the *batch* statistics; the gradient flows through them too
  (`BatchNormTrain`, forward and backward written by hand).
- eval: normalise with the *running* statistics, constants collected during training: a
  plain per-channel affine map ``x * scale + shift``, left to autograd.
"""
from ..autograd import Function, Tensor, is_grad_enabled
from .. import backend
from .reduce import sum, mean
from .arithmetic import sqrt
from .shape import reshape
from .parallel import over_batch


class BatchNormTrain(Function):
    """y = xhat * gamma + beta,  xhat = (x - mu) * inv_std,  inv_std = 1 / sqrt(var + eps),
    with mu and the *biased* var of each channel over its m values.

    Backward, with g = dy * gamma and sums over a channel's m values:
        dx     = inv_std / m * (m g - sum(g) - xhat * sum(g xhat))
        dgamma = sum(dy xhat),   dbeta = sum(dy)
    computed on raw arrays for a plain backward, and with minigan ops recomputed from x
    when ``create_graph=True``. Derivation: docs/04_batchnorm.md.
    After forward, ``mean`` and ``var`` hold the batch statistics (for the running averages).
    """

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, weight, bias):
        xp = backend.get_array_module(x)
        n, c = x.shape[:2]
        m = x.size // c
        per_channel, dims = _channel_shape(x), _einsum_letters(x)
        # Every pass below goes slice by slice through the batch on the CPU's threads
        # (parallel.py), statistics as per-image sums that are then added up over images.
        # (No reshape to (N, C, L): a strided input, such as a cropped col2im result, would
        # be copied. einsum sums over the image axes of channels-last memory about twice as
        # fast as x.sum(axis=(2, 3)).)
        (sum_x,) = _sum_over_images(lambda i: (xp.einsum(f"{dims}->nc", x[i]),), x, passes=1)
        self.mean = sum_x / m
        mu = self.mean.reshape(per_channel)
        y = xp.empty_like(x)

        def center(i):                                # y = x - mu, and its sum of squares
            xp.subtract(x[i], mu, out=y[i])
            return (xp.einsum(f"{dims},{dims}->nc", y[i], y[i]),)
        (sum_squares,) = _sum_over_images(center, x, passes=3)
        self.var = sum_squares / m                    # the biased variance
        self.inv_std = 1.0 / xp.sqrt(self.var + self.eps)
        scale, shift = (weight * self.inv_std).reshape(per_channel), bias.reshape(per_channel)

        def normalise(start, stop):                   # y = (x - mu) gamma inv_std + beta
            y[start:stop] *= scale
            y[start:stop] += shift
        over_batch(normalise, n, 2 * y.size, y)
        return y

    def backward(self, gy):
        if is_grad_enabled():  # create_graph=True: the gradient will be differentiated again
            return self._backward_differentiable(gy)
        # A plain backward: nobody differentiates the result, so raw arrays and the saved
        # statistics are enough, and each pass goes through the batch slice by slice.
        x, g, weight = self.inputs[0].data, gy.data, self.inputs[1].data
        xp = backend.get_array_module(x)
        n, c = x.shape[:2]
        m = x.size // c
        per_channel, dims = _channel_shape(x), _einsum_letters(x)
        mu = self.mean.reshape(per_channel)
        t = xp.empty_like(x)

        def sums(i):                                   # t = x - mu; sum(dy), sum(dy (x - mu))
            xp.subtract(x[i], mu, out=t[i])
            return xp.einsum(f"{dims}->nc", g[i]), xp.einsum(f"{dims},{dims}->nc", g[i], t[i])
        sum_gy, sum_gy_xc = _sum_over_images(sums, x, passes=4, count=2)
        sum_gy_xhat = sum_gy_xc * self.inv_std
        if not self.inputs[0].requires_grad:
            return None, Tensor(sum_gy_xhat), Tensor(sum_gy)
        # The formula above with g = dy gamma and xhat = (x - mu) inv_std, built in place in t:
        # dx = -gamma inv_std ((x - mu) inv_std sum(dy xhat) / m + sum(dy) / m - dy)
        a = (self.inv_std * sum_gy_xhat / m).reshape(per_channel)
        b = (sum_gy / m).reshape(per_channel)
        s = (-weight * self.inv_std).reshape(per_channel)

        def input_gradient(start, stop):
            ti = t[start:stop]
            ti *= a
            ti += b
            ti -= g[start:stop]
            ti *= s
        over_batch(input_gradient, n, 5 * t.size, t)
        return Tensor(t), Tensor(sum_gy_xhat), Tensor(sum_gy)

    def _backward_differentiable(self, gy):
        """The same formulas in minigan ops, with mu, var and xhat recomputed from the input
        tensor x. Every quantity that depends on x stays in the graph, so differentiating
        this backward is exact (treating xhat or inv_std as constants would give a wrong
        second derivative; see docs/04_batchnorm.md)."""
        x, weight, _ = self.inputs
        axes = (0,) + tuple(range(2, x.ndim))
        gamma = reshape(weight, _channel_shape(x))
        xc = x - mean(x, axes, keepdim=True)
        inv_std = 1.0 / sqrt(mean(xc * xc, axes, keepdim=True) + self.eps)
        xhat = xc * inv_std
        g = gy * gamma
        dx = inv_std * (g - mean(g, axes, keepdim=True) - xhat * mean(g * xhat, axes, keepdim=True))
        return dx, sum(gy * xhat, axes), sum(gy, axes)


def _sum_over_images(per_image, x, passes, count=1):
    """``count`` per-channel sums over the whole batch x (N, C, ...). ``per_image(i)`` gets a
    slice ``i`` of the batch and returns ``count`` arrays (images, C) of per-image sums; the
    slices run on the threads (parallel.py; ``passes``: how often the work reads x) and the
    per-image sums are then added up. Each image's sums do not depend on the slicing: the
    same bits for any number of threads."""
    xp = backend.get_array_module(x)
    n, c = x.shape[:2]
    parts = xp.empty((count, n, c), dtype=x.dtype)

    def work(start, stop):
        for k, part in enumerate(per_image(slice(start, stop))):
            parts[k, start:stop] = part
    over_batch(work, n, passes * x.size, x)
    return parts.sum(axis=1)


def _channel_shape(x):
    """(1, C, 1, 1) for x of shape (N, C, H, W): per-channel values broadcast against x."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _einsum_letters(x):
    """einsum's letters for the axes of x: "nchw" for (N, C, H, W), "nc" for (N, C)."""
    return "nc" + "hwdxyz"[:x.ndim - 2]


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization of x with shape (N, C) or (N, C, H, W) (any (N, C, ...)), as
    PyTorch's ``F.batch_norm``.

    ``weight`` (gamma) and ``bias`` (beta) have shape (C,); None means 1 and 0.
    training=True normalises with the batch statistics and, if the running statistics are
    given, updates them in place on their ``.data``:
    ``running = (1 - momentum) * running + momentum * batch_stat``, using the *unbiased*
    variance (divided by m - 1) for ``running_var``. training=False normalises with the
    running statistics. For PyTorch's ``momentum=None`` (a cumulative average), the caller
    passes the factor ``1 / num_batches_tracked`` as ``momentum``, as PyTorch's modules do.
    """
    _check_inputs(x, running_mean, running_var, weight, bias, training, momentum)
    xp = backend.get_array_module(x.data)
    channels = x.shape[1]
    if weight is None:
        weight = Tensor(xp.ones(channels, dtype=x.dtype))
    if bias is None:
        bias = Tensor(xp.zeros(channels, dtype=x.dtype))
    if not training:
        # y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta: affine in x,
        # gamma and beta, so autograd differentiates it exactly, to any order.
        inv_std = 1.0 / xp.sqrt(running_var.data + eps)
        scale = weight * Tensor(inv_std)
        shift = bias - Tensor(running_mean.data) * scale
        shape = _channel_shape(x)
        return x * reshape(scale, shape) + reshape(shift, shape)
    op = BatchNormTrain(eps)
    y = op(x, weight, bias)
    if running_mean is not None:
        m = x.size // channels
        running_mean.data *= 1.0 - momentum
        running_mean.data += momentum * op.mean
        running_var.data *= 1.0 - momentum
        running_var.data += (momentum * m / (m - 1)) * op.var  # unbiased: docs/04_batchnorm.md
    return y


def _check_inputs(x, running_mean, running_var, weight, bias, training, momentum):
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C) or (N, C, H, W), "
                         f"got shape {x.shape}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: running_mean and running_var must both be given or "
                         "both be None")
    if not training and running_mean is None:
        raise ValueError("batch_norm: eval mode (training=False) normalises with the running "
                         "statistics, so running_mean and running_var must be given")
    if training and x.size // x.shape[1] == 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {x.shape}")
    if momentum is None:
        raise TypeError("batch_norm: momentum must be a number; for a cumulative average "
                        "pass momentum = 1 / num_batches_tracked")
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is None:
            continue
        if t.shape != (x.shape[1],):
            raise ValueError(f"batch_norm: {name} has shape {t.shape}, but the input "
                             f"{x.shape} has {x.shape[1]} channels, so it needs shape "
                             f"({x.shape[1]},)")
        if t.device != x.device:
            raise backend.DeviceError(f"batch_norm: {name} is on {t.device}, the input on "
                                      f"{x.device}; move it with .to(device)")
        if t.dtype != x.dtype:
            raise TypeError(f"batch_norm: {name} is {t.dtype}, the input is {x.dtype}")
