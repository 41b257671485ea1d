"""`Conv2d` and `ConvTranspose2d`: modules around `minigan.ops.conv` (which holds the math;
see ``docs/03_convolution.md``).

A DCGAN discriminator shrinks images with strided `Conv2d`; its generator grows noise into
images with strided `ConvTranspose2d`, the gradient (transpose) of a convolution.
"""
import numbers

from ..creation import zeros
from ..ops.conv import conv_transpose_output_size, pair, same_padding
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared parts: hyperparameters, parameters, PyTorch's default init and the repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, output_padding, bias, padding_mode, transposed, device, dtype):
        super().__init__()
        name = type(self).__name__
        for what, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: {what} must be a positive integer, got {value!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, "
                             f"got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size", name, 1)
        self.stride = pair(stride, "stride", name, 1)
        self.dilation = pair(dilation, "dilation", name, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be 'same', 'valid' or numbers, "
                                 f"got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride {self.stride})")
            self.padding = padding
        else:
            self.padding = pair(padding, "padding", name)
        self.output_padding = pair(output_padding, "output_padding", name)
        self.padding_mode = padding_mode
        kh, kw = self.kernel_size
        if transposed:   # (in, out / groups, KH, KW)
            weight_shape = (in_channels, out_channels // groups, kh, kw)
        else:            # (out, in / groups, KH, KW)
            weight_shape = (out_channels, in_channels // groups, kh, kw)
        self.weight = Parameter(zeros(*weight_shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(zeros(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """As PyTorch: W ~ U(+-1/sqrt(fan_in)) via kaiming_uniform_(a=sqrt(5)), b likewise.
        fan_in comes from weight dim 1, which for ConvTranspose2d is out_channels / groups."""
        init.default_reset_(self.weight, self.bias)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding!r}" if isinstance(self.padding, str) \
                else f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv2d(_ConvNd):
    """(N, in_channels, H, W) or (in_channels, H, W) -> (N, out_channels, OH, OW);
    weight (out, in / groups, KH, KW). ``padding_mode`` other than "zeros" pads the input
    with `F.pad` (reflect, replicate, circular) and convolves it unpadded."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", *, device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, 0, bias, padding_mode, False, device, dtype)

    def forward(self, input):
        if self.padding_mode == "zeros":
            return F.conv2d(input, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups)
        if self.padding == "same":
            top, bottom, left, right = same_padding(self.kernel_size, self.dilation)
        elif self.padding == "valid":
            top = bottom = left = right = 0
        else:
            (top, left), (bottom, right) = self.padding, self.padding
        padded = F.pad(input, (left, right, top, bottom), mode=self.padding_mode)
        return F.conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation,
                        self.groups)


class ConvTranspose2d(_ConvNd):
    """(N, in_channels, H, W) or (in_channels, H, W) -> (N, out_channels, OH, OW) with
    OH = (H - 1) stride - 2 padding + dilation (KH - 1) + output_padding + 1;
    weight (in, out / groups, KH, KW), as PyTorch. ``forward(input, output_size)`` picks the
    output_padding that gives ``output_size`` (the sizes a strided conv2d maps to one size)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros", *,
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose2d: only padding_mode='zeros' is supported (as in "
                             f"PyTorch), got {padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be numbers, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, output_padding, bias, padding_mode, True, device, dtype)

    def forward(self, input, output_size=None):
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(input, output_size)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)

    def _output_padding_for(self, input, output_size):
        """The output_padding that makes the output ``output_size`` (its last two numbers),
        refused if no output_padding smaller than the stride or dilation reaches it."""
        size = tuple(output_size)[-2:]
        smallest = conv_transpose_output_size(input.shape[-2:], self.kernel_size, self.stride,
                                              self.padding, (0, 0), self.dilation)
        extra = tuple(int(n) - m for n, m in zip(size, smallest))
        if len(size) != 2 or any(e < 0 or (e >= s and e >= d)
                                 for e, s, d in zip(extra, self.stride, self.dilation)):
            largest = tuple(m + max(s, d) - 1 for m, s, d in zip(smallest, self.stride,
                                                                 self.dilation))
            raise ValueError(f"ConvTranspose2d: requested an output size of {tuple(output_size)}, "
                             f"but valid sizes range from {smallest} to {largest} (for an "
                             f"input of {tuple(input.shape)})")
        return extra
