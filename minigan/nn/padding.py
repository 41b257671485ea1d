"""Padding modules around `F.pad` (``minigan.ops.shape.pad``): `ZeroPad2d`, `ConstantPad2d`,
`ReflectionPad2d`, `ReplicationPad2d`. ``padding`` is an int (all four sides) or
(left, right, top, bottom), as in PyTorch. The constant modes' gradient is the interior of
dy; reflect and replicate are gathers, so a border pixel's gradient is added onto the pixel
it copies (``docs/02_broadcasting.md``)."""
import numbers

from . import functional as F
from .module import Module


class _Pad2d(Module):
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        name = type(self).__name__
        sides = (padding,) * 4 if isinstance(padding, numbers.Integral) else tuple(padding)
        if len(sides) != 4 or not all(isinstance(p, numbers.Integral) and p >= 0 for p in sides):
            raise ValueError(f"{name}: padding must be a non-negative int or "
                             f"(left, right, top, bottom), got {padding!r}")
        self.padding = tuple(int(p) for p in sides)

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__}: expected a 4-D input (N, C, H, W) or a "
                             f"3-D one (C, H, W), got shape {input.shape}")
        if self.mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return str(self.padding)


class ConstantPad2d(_Pad2d):
    """Borders of ``value``."""

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """Borders of zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return str(self.padding)


class ReflectionPad2d(_Pad2d):
    """Borders mirrored at the edge, the edge itself not repeated: a row [a b c d] padded by
    2 on each side is [c b | a b c d | c b]; the padding must be smaller than the side."""
    mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Borders copying the edge pixel: [a b c] padded by 2 is [a a | a b c | c c]."""
    mode = "replicate"
