"""`Conv2d` and `ConvTranspose2d`: modules around `minigan.ops.conv` (which holds the math;
see ``docs/03_convolution.md``).

A DCGAN discriminator shrinks images with strided `Conv2d`; its generator grows noise into
images with strided `ConvTranspose2d`, the gradient (transpose) of a convolution.
"""

from ..creation import zeros
from ..ops.conv import pair
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class _ConvNd(Module):
    """Shared parts: hyperparameters, parameters, PyTorch's default init and the repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 output_padding, bias, weight_shape, device, dtype):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        name = type(self).__name__
        self.kernel_size = pair(kernel_size, "kernel_size", name, 1)
        self.stride = pair(stride, "stride", name, 1)
        self.padding, self.dilation = pair(padding, "padding", name), pair(dilation, "dilation", name, 1)
        self.output_padding = pair(output_padding, "output_padding", name)
        self.weight = Parameter(zeros(*weight_shape, device=device, dtype=dtype))
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
        kh, kw = pair(kernel_size, "kernel_size", type(self).__name__, 1)
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
        kh, kw = pair(kernel_size, "kernel_size", type(self).__name__, 1)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         output_padding, bias, (in_channels, out_channels, kh, kw), device, dtype)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.dilation)
