"""Pooling modules: `AvgPool2d`, `MaxPool2d`, `AdaptiveAvgPool2d`, thin wrappers over
`minigan.ops.pool` (the maths and its gradients: ``docs/03_convolution.md``)."""
from . import functional as F
from .module import Module
from ..ops.pool import _no_ceil_mode, _no_return_indices


class AvgPool2d(Module):
    """Mean of each window (`F.avg_pool2d`); ``stride`` defaults to ``kernel_size``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        _no_ceil_mode("AvgPool2d", ceil_mode)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(Module):
    """Largest value of each window (`F.max_pool2d`); ties send the gradient to the first
    maximal element. Note PyTorch's order: ``return_indices`` comes before ``ceil_mode``
    here, after it in `F.max_pool2d`."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        _no_ceil_mode("MaxPool2d", ceil_mode)
        _no_return_indices("MaxPool2d", return_indices)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (`F.adaptive_avg_pool2d`), whatever the input
    size: ``AdaptiveAvgPool2d(1)`` is global average pooling."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
