"""`Conv2d` and `ConvTranspose2d`: modules around `minigan.ops.conv` (which holds the math;
see ``docs/03_convolution.md``).

A DCGAN discriminator shrinks images with strided `Conv2d`; its generator grows noise into
images with strided `ConvTranspose2d`, the gradient (transpose) of a convolution.
"""

from ..creation import zeros
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


class _ConvNd(Module):
    """Shared parts: hyperparameters, parameters, PyTorch's default init and the repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 output_padding, bias, weight_shape, device, dtype):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.dilation = _pair(padding), _pair(dilation)
        self.output_padding = _pair(output_padding)
        # The weight (A, B, KH, KW) is stored in (A, KH, KW, B) memory, the order of im2col's
        # columns, so the convolutions use it as a matrix without copying it every call
        # (minigan/ops/im2col.py, weight_matrix). It still is an ordinary (A, B, KH, KW) array.
        a, b, kh, kw = weight_shape
        self.weight = Parameter(zeros(a, kh, kw, b, device=device, dtype=dtype).permute(0, 3, 1, 2))
        if bias:
            self.bias = Parameter(zeros(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """As PyTorch: W ~ U(+-1/sqrt(fan_in)) via kaiming_uniform_(a=sqrt(5)), b likewise.
        fan_in comes from weight dim 1, which for ConvTranspose2d is out_channels."""
        init.default_reset_(self.weight, self.bias)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """(N, in_channels, H, W) -> (N, out_channels, OH, OW); weight (out, in, KH, KW)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 bias=True, device=None, dtype=None):
        kh, kw = _pair(kernel_size)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 0,
                         bias, (out_channels, in_channels, kh, kw), device, dtype)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class ConvTranspose2d(_ConvNd):
    """(N, in_channels, H, W) -> (N, out_channels, OH, OW) with
    OH = (H - 1) stride - 2 padding + dilation (KH - 1) + output_padding + 1;
    weight (in, out, KH, KW), as PyTorch."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True, dilation=1, device=None, dtype=None):
        kh, kw = _pair(kernel_size)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         output_padding, bias, (in_channels, out_channels, kh, kw), device, dtype)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.dilation)
