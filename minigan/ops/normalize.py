"""Layer, group and instance normalization: batch norm's derivation over other axes.
Forward and backward: ``docs/04_batchnorm.md`` (the last section).

Shape letters: N (batch), C (channels), G (groups), then any spatial dims (H, W).
All three are one op, `Normalize`: normalise x over a set of axes, then scale and shift it
with a weight and a bias that broadcast against x:

- layer norm:    over the last len(normalized_shape) axes; weight and bias per element;
- group norm:    (N, C, H, W) viewed as (N, G, C/G, H * W), over the last two axes; weight
  and bias per channel, seen as (1, G, C/G, 1);
- instance norm: over H, W for every (n, c); per channel. With running statistics it also
  keeps averages of them, as batch norm does, and eval mode (``use_input_stats=False``)
  normalises with those instead: batch norm's eval map (`minigan.ops.norm.batch_norm`).
"""
import math

from ..autograd import Function, Tensor
from .. import backend, kernels
from .arithmetic import sqrt
from .norm import batch_norm
from .shape import reshape, sum_to


class Normalize(Function):
    """y = xhat * weight + bias,  xhat = (x - mu) * inv_std,  inv_std = 1 / sqrt(var + eps),
    with mu and the *biased* var of x over ``axes`` (one mean and variance per position of
    the other axes); weight and bias have x's number of dims and broadcast against it.

    Backward, with dy the upstream gradient, g = dy * weight, and means over the same axes
    (batch norm's derivation, docs/04_batchnorm.md):
        dx      = inv_std * (g - mean(g) - xhat * mean(g xhat))
        dweight = sum(dy xhat),   dbias = sum(dy),   summed over the axes they broadcast along
    After forward, ``mean`` and ``var`` hold the statistics (shape of x with the normalised
    axes kept as 1), for running averages.
    """

    def __init__(self, axes, eps):
        self.axes, self.eps = tuple(axes), eps

    def forward(self, x, weight, bias):
        y, self.mean, self.var = kernels.current().normalize(x, weight, bias, self.axes,
                                                             self.eps)
        return y

    def backward(self, gy):
        # mu, var and xhat are recomputed from the input *tensor* x (not the saved arrays),
        # so the backward stays a function of x in the graph: its derivative, the second
        # derivative of the op, is then exact (docs/04_batchnorm.md, "Second order").
        x, weight, _ = self.inputs
        axes = self.axes
        xc = x - x.mean(axes, keepdim=True)
        inv_std = 1.0 / sqrt((xc * xc).mean(axes, keepdim=True) + self.eps)
        xhat = xc * inv_std
        g = gy * weight
        dx = inv_std * (g - g.mean(axes, keepdim=True)
                        - xhat * (g * xhat).mean(axes, keepdim=True))
        return dx, sum_to(gy * xhat, weight.shape), sum_to(gy, weight.shape)

    def backward_arrays(self, gy):
        x, weight = self.inputs[0], self.inputs[1]
        return kernels.current().normalize_backward(x.data, weight.data, gy, self.mean,
                                                    self.var, self.eps, self.axes)


def _weight_and_bias(x, weight, bias, shape):
    """weight and bias reshaped to ``shape``, which broadcasts against x; None: the constants
    1 and 0."""
    xp = backend.get_array_module(x.data)
    weight = Tensor(xp.ones(shape, dtype=x.dtype)) if weight is None else reshape(weight, shape)
    bias = Tensor(xp.zeros(shape, dtype=x.dtype)) if bias is None else reshape(bias, shape)
    return weight, bias


def _channel_shape(x):
    """(1, C, 1, 1) for x of shape (N, C, H, W): per-channel values broadcast against x."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


@backend.on_input_device  # the constant weight and bias are made there too
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise each sample over its last dims, ``normalized_shape`` (an int or a tuple
    such as (C, H, W)), as PyTorch's ``F.layer_norm``. ``weight`` and ``bias`` have shape
    ``normalized_shape``: one scale and shift per element, not per channel."""
    x = input
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k:] != normalized_shape:
        raise ValueError(f"layer_norm: normalized_shape {normalized_shape} must be the last "
                         f"dims of the input, got input of shape {x.shape}")
    _check(x, "layer_norm", eps, normalized_shape, weight=weight, bias=bias)
    affine = _weight_and_bias(x, weight, bias, (1,) * (x.ndim - k) + normalized_shape)
    return Normalize(range(x.ndim - k, x.ndim), eps)(x, *affine)


@backend.on_input_device  # the constant weight and bias are made there too
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the C channels of x, shape (N, C, ...), into ``num_groups`` groups of C/G and
    normalise each sample's group over its C/G * H * W values, as PyTorch's
    ``F.group_norm``. ``weight`` and ``bias`` have shape (C,)."""
    x = input
    if x.ndim < 2:
        raise ValueError(f"group_norm: expected an input of shape (N, C, ...), "
                         f"got shape {x.shape}")
    if num_groups < 1 or x.shape[1] % num_groups != 0:
        raise ValueError(f"group_norm: the {x.shape[1]} channels of the input {x.shape} "
                         f"cannot be split into {num_groups} groups of equal size")
    _check(x, "group_norm", eps, (x.shape[1],), weight=weight, bias=bias)
    n, c = x.shape[:2]  # (N, G, C/G, H * W): a group's channels kept apart for the weight
    grouped = reshape(x, (n, num_groups, c // num_groups, math.prod(x.shape[2:])))
    affine = _weight_and_bias(x, weight, bias, (1, num_groups, c // num_groups, 1))
    return reshape(Normalize((2, 3), eps)(grouped, *affine), x.shape)


@backend.on_input_device  # the constant weight and bias are made there too
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise every channel of every sample of x, shape (N, C, H, W) (any (N, C, ...)),
    over its own H * W values, as PyTorch's ``F.instance_norm``. ``weight``, ``bias`` and
    the running statistics have shape (C,).

    With ``use_input_stats`` and running statistics given, they are updated in place as in
    batch norm, ``running = (1 - momentum) * running + momentum * stat``, where stat is the
    mean over the batch of each sample's mean and *unbiased* variance (as PyTorch does).
    ``use_input_stats=False`` normalises with the running statistics (eval mode).
    """
    x = input
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected an input of shape (N, C, H, W) (or "
                         f"(N, C, L)), got shape {x.shape}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("instance_norm: running_mean and running_var must both be given or "
                         "both be None")
    if not use_input_stats and running_mean is None:
        raise ValueError("instance_norm: use_input_stats=False normalises with the running "
                         "statistics, so running_mean and running_var must be given")
    m = x.size // max(x.shape[0] * x.shape[1], 1)  # values per (n, c): H * W
    if use_input_stats and m <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element when using "
                         f"input statistics, got input of shape {x.shape}")
    _check(x, "instance_norm", eps, (x.shape[1],), weight=weight, bias=bias,
           running_mean=running_mean, running_var=running_var)
    if not use_input_stats:  # a per-channel affine map with constants: batch norm's eval
        return batch_norm(x, running_mean, running_var, weight, bias, training=False, eps=eps)
    op = Normalize(range(2, x.ndim), eps)
    y = op(x, *_weight_and_bias(x, weight, bias, _channel_shape(x)))
    if running_mean is not None:
        n, c = x.shape[:2]
        with backend.device_context(x.device):  # in place, on the device's own arrays
            running_mean.data *= 1.0 - momentum
            running_mean.data += momentum * op.mean.reshape(n, c).mean(axis=0)
            running_var.data *= 1.0 - momentum
            running_var.data += (momentum * m / (m - 1)) * op.var.reshape(n, c).mean(axis=0)
    return y


def _check(x, name, eps, shape, **tensors):
    """eps > 0; weight, bias and running statistics (None: absent) of ``shape``, on x's
    device and of x's dtype."""
    if not eps > 0:  # eps <= 0 divides by zero for constant values; eps < 0 takes a root
        raise ValueError(f"{name}: eps must be positive, got {eps}")  # of a negative number
    for key, t in tensors.items():
        if t is None:
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {key} must be a Tensor or None, got {type(t).__name__}")
        if t.shape != shape:
            raise ValueError(f"{name}: {key} has shape {t.shape}, but the input of shape "
                             f"{x.shape} needs shape {shape}")
        if t.device != x.device:
            raise backend.DeviceError(f"{name}: {key} is on {t.device}, the input on "
                                      f"{x.device}; move it with .to(device)")
        if t.dtype != x.dtype:
            raise TypeError(f"{name}: {key} is {t.dtype}, the input is {x.dtype}")
