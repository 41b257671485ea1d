"""`LayerNorm`, `GroupNorm` and `InstanceNorm2d`: modules around the functions of
`minigan.ops.normalize` (the math, one shared `Normalize` op and its double backward, is
there; see ``docs/04_batchnorm.md``).

Unlike batch norm, these normalise each sample on its own, so training and eval give the
same output, except for `InstanceNorm2d` with ``track_running_stats=True``, which keeps
running averages of its statistics in training and normalises with them in eval.
Parameters start as PyTorch's: weight 1, bias 0; running mean 0, running variance 1.
"""
import warnings

from ..creation import zeros, ones
from . import functional as F
from .batchnorm import _BatchNorm
from .module import Module
from .parameter import Parameter


def _check_eps(module, eps):
    if not eps > 0:
        raise ValueError(f"{type(module).__name__}: eps must be positive, got {eps}")


class LayerNorm(Module):
    """Normalises each sample over its last dims, ``normalized_shape`` (e.g. (C, H, W)), with
    a learned scale and shift per element: weight and bias of shape ``normalized_shape``."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        _check_eps(self, eps)
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(zeros(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Normalises each sample's channels in ``num_groups`` groups of num_channels / num_groups,
    with a learned scale and shift per channel: weight and bias of shape (num_channels,)."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None):
        super().__init__()
        _check_eps(self, eps)
        if num_groups < 1 or num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        if affine:
            self.weight = Parameter(ones(num_channels, device=device, dtype=dtype))
            self.bias = Parameter(zeros(num_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input of shape (N, {self.num_channels}, "
                             f"...), got shape {input.shape}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class InstanceNorm2d(_BatchNorm):
    """Normalises every channel of every image of (N, C, H, W) (or one image (C, H, W)) over
    its H * W pixels. ``affine``: a learned scale and shift per channel (off by default, as
    in PyTorch). ``track_running_stats``: keep running averages of the statistics in
    training and normalise with them in eval."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None):
        # The same parameters and buffers as batch norm (PyTorch's state_dict keys, including
        # num_batches_tracked, which instance norm never counts), other defaults.
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype)

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"InstanceNorm2d: expected 3D or 4D input (C, H, W) or "
                             f"(N, C, H, W), got shape {input.shape}")
        channels = input.shape[-3]
        if channels != self.num_features:
            message = (f"InstanceNorm2d: the input of shape {input.shape} has {channels} "
                       f"channels, expected num_features = {self.num_features}")
            if self.affine or self.track_running_stats:
                raise ValueError(message)
            warnings.warn(message + " (unused, since affine=False)", stacklevel=2)
        unbatched = input.ndim == 3
        x = input.unsqueeze(0) if unbatched else input
        # Input statistics in training, and also in eval when there are no running ones.
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_input_stats=self.training or not self.track_running_stats,
                            momentum=0.0 if self.momentum is None else self.momentum,
                            eps=self.eps)
        return y.squeeze(0) if unbatched else y
