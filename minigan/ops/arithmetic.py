"""Elementwise arithmetic: add, sub, mul, div, neg, pow, exp, log, sqrt, abs.

Binary ops broadcast like NumPy. Broadcasting copies an input along new axes, so its
gradient must be *summed* back over those axes (`sum_to`): see ``docs/02_broadcasting.md``.
Each backward is written with these same ops, so it can be differentiated again.
"""
from ..autograd import Function
from .. import backend
from .shape import sum_to


def _unbroadcast(grad, x):
    return grad if grad.shape == x.shape else sum_to(grad, x.shape)


class Add(Function):
    """y = a + b;  da = dy, db = dy (summed over broadcast axes)."""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        a, b = self.inputs
        return _unbroadcast(gy, a), _unbroadcast(gy, b)


class Sub(Function):
    """y = a - b;  da = dy, db = -dy."""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        return _unbroadcast(gy, a), _unbroadcast(-gy, b) if b.requires_grad else None


class Mul(Function):
    """y = a * b;  da = dy * b, db = dy * a."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs  # (a gradient nobody needs, e.g. of a constant, is not computed)
        return (_unbroadcast(gy * b, a) if a.requires_grad else None,
                _unbroadcast(gy * a, b) if b.requires_grad else None)


class Div(Function):
    """y = a / b;  da = dy / b, db = -dy * a / b^2."""

    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b
        return (_unbroadcast(ga, a) if a.requires_grad else None,
                _unbroadcast(-ga * a / b, b) if b.requires_grad else None)


class Neg(Function):
    """y = -x;  dx = -dy."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """y = x^c for a constant c;  dx = dy * c * x^(c-1)."""

    def __init__(self, exponent):
        if not isinstance(exponent, (int, float)):
            raise TypeError(f"pow: the exponent must be a Python number, got {type(exponent).__name__}")
        self.c = exponent

    def forward(self, x):
        return x ** x.dtype.type(self.c)

    def backward(self, gy):
        x, = self.inputs
        return gy * self.c * x ** (self.c - 1)


class Exp(Function):
    """y = e^x;  dx = dy * y."""

    def forward(self, x):
        return backend.get_array_module(x).exp(x)

    def backward(self, gy):
        return gy * self.output()


class Log(Function):
    """y = ln x;  dx = dy / x."""

    def forward(self, x):
        return backend.get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    """y = sqrt(x);  dx = dy / (2 y)."""

    def forward(self, x):
        return backend.get_array_module(x).sqrt(x)

    def backward(self, gy):
        return gy / (2.0 * self.output())


class Abs(Function):
    """y = |x|;  dx = dy * sign(x) (0 at the kink, as PyTorch)."""

    def forward(self, x):
        return backend.get_array_module(x).abs(x)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * backend.get_array_module(x).sign(x)


def add(a, b):
    return Add()(a, b)


def sub(a, b):
    return Sub()(a, b)


def mul(a, b):
    return Mul()(a, b)


def div(a, b):
    return Div()(a, b)


def neg(x):
    return Neg()(x)


def pow(x, exponent):
    return Pow(exponent)(x)


def exp(x):
    return Exp()(x)


def log(x):
    return Log()(x)


def sqrt(x):
    return Sqrt()(x)


def abs(x):
    return Abs()(x)
