"""Batch normalization: make every channel zero-mean, unit-variance over the batch, then let
the network rescale it. Derivation of forward and backward: ``docs/04_batchnorm.md``.

Shape letters: N (batch), C (channels), then any spatial dims (H, W).
Each channel's statistics are taken over its m = N * H * W values.

- training: normalise with the *batch* statistics; the gradient flows through them too
  (`BatchNormTrain`, forward and backward written by hand; the array work is done by
  ``kernels.reference.batch_norm`` or its fast twin in ``minigan/kernels/batchnorm.py``).
- eval: normalise with the *running* statistics, constants collected during training: a
  plain per-channel affine map ``x * scale + shift``, left to autograd.
"""
from ..autograd import Function, Tensor
from .. import backend, kernels
from .arithmetic import sqrt
from .shape import reshape


class BatchNormTrain(Function):
    """y = xhat * gamma + beta,  xhat = (x - mu) * inv_std,  inv_std = 1 / sqrt(var + eps),
    with mu and the *biased* var of each channel over its m values.

    Backward, with dy the upstream gradient, gy_hat = dy * gamma, and sums and means over a
    channel's m values:
        dx     = inv_std * (gy_hat - mean(gy_hat) - xhat * mean(gy_hat xhat))
        dgamma = sum(dy xhat),   dbeta = sum(dy)
    Derivation: docs/04_batchnorm.md. After forward, ``mean`` and ``var`` hold the batch
    statistics (for the running averages).
    """

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, weight, bias):
        y, self.mean, self.var = kernels.current().batch_norm(x, weight, bias, self.eps)
        return y

    def backward(self, gy):
        # mu, var and xhat are recomputed from the input *tensor* x, so that every quantity
        # that depends on x stays in the graph and differentiating this backward is exact
        # (treating xhat or inv_std as constants gives a wrong second derivative).
        x, weight, _ = self.inputs
        axes = (0,) + tuple(range(2, x.ndim))
        xc = x - x.mean(axes, keepdim=True)
        inv_std = 1.0 / sqrt((xc * xc).mean(axes, keepdim=True) + self.eps)
        xhat = xc * inv_std
        gy_hat = gy * reshape(weight, _channel_shape(x))
        dx = inv_std * (gy_hat - gy_hat.mean(axes, keepdim=True)
                        - xhat * (gy_hat * xhat).mean(axes, keepdim=True))
        return dx, (gy * xhat).sum(axes), gy.sum(axes)

    def backward_arrays(self, gy):
        x, weight = self.inputs[0], self.inputs[1]
        return kernels.current().batch_norm_backward(x.data, weight.data, gy, self.mean,
                                                     self.var, self.eps, x.requires_grad)


def _channel_shape(x):
    """(1, C, 1, 1) for x of shape (N, C, H, W): per-channel values broadcast against x."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
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
    An empty batch (N = 0) gives an empty output and leaves the running statistics alone.
    """
    _check_inputs(input, running_mean, running_var, weight, bias, training, momentum, eps)
    with backend.device_context(input.device):  # raw arrays below: on the input's device
        return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    xp = backend.get_array_module(x.data)
    channels = x.shape[1]
    if weight is None:
        weight = Tensor(xp.ones(channels, dtype=x.dtype))
    if bias is None:
        bias = Tensor(xp.zeros(channels, dtype=x.dtype))
    if x.size == 0:  # no values, no statistics: 0/0 must not reach the running averages
        shape = _channel_shape(x)
        return x * reshape(weight, shape) + reshape(bias, shape)
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


def _check_inputs(x, running_mean, running_var, weight, bias, training, momentum, eps):
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C) or (N, C, H, W), "
                         f"got shape {x.shape}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: running_mean and running_var must both be given or "
                         "both be None")
    if not training and running_mean is None:
        raise ValueError("batch_norm: eval mode (training=False) normalises with the running "
                         "statistics, so running_mean and running_var must be given")
    if training and x.size // max(x.shape[1], 1) == 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {x.shape}")
    if not eps > 0:  # eps <= 0 divides by zero for a constant channel, and eps < 0 takes a
        raise ValueError(f"batch_norm: eps must be positive, got {eps}")  # root of < 0
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
