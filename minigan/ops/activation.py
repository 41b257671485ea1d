"""Activations and elementwise selection: relu, leaky_relu, tanh, sigmoid, softplus, where, clip.

Piecewise-linear ops (relu, leaky_relu, clip, where) multiply the gradient by a constant mask:
their second derivative is zero wherever they are differentiable. Smooth ops (tanh, sigmoid,
softplus) express their derivative through their output, which stays in the graph, so
double backward works. See ``docs/05_activations_and_losses.md``.
"""
from ..autograd import Function
from .. import backend, kernels
from .shape import sum_to


class ReLU(Function):
    """y = max(x, 0);  dx = dy * [x > 0]."""

    def forward(self, x):
        return backend.get_array_module(x).maximum(x, 0)

    def backward(self, gy):
        return gy * (self.inputs[0].data > 0).astype(gy.dtype)


class LeakyReLU(Function):
    """y = x if x > 0 else a * x;  dx = dy if x > 0 else a * dy (a constant mask, so the
    second derivative is zero).  ``docs/05_activations_and_losses.md``"""

    def __init__(self, negative_slope):
        self.slope = negative_slope

    def forward(self, x):
        return kernels.current().leaky_relu(x, self.slope)

    def backward(self, gy):
        return where(self.inputs[0].data > 0, gy, gy * self.slope)

    def backward_arrays(self, gy):
        return kernels.current().leaky_relu_backward(self.inputs[0].data, gy, self.slope)


class Tanh(Function):
    """y = tanh x;  dx = dy * (1 - y^2)."""

    def forward(self, x):
        return backend.get_array_module(x).tanh(x)

    def backward(self, gy):
        y = self.output()
        return gy * (1.0 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x), computed as (1 + tanh(x/2)) / 2, which never overflows;
    dx = dy * y * (1 - y)."""

    def forward(self, x):
        half = x.dtype.type(0.5)
        return backend.get_array_module(x).tanh(x * half) * half + half

    def backward(self, gy):
        y = self.output()
        return gy * y * (1.0 - y)


class Softplus(Function):
    """y = log(1 + e^x) = max(x, 0) + log(1 + e^-|x|) (stable);  dx = dy * sigmoid(x)."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0])


class Where(Function):
    """y = a where cond else b (cond is a constant boolean array);
    da = dy where cond else 0, db = dy where not cond else 0."""

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        return backend.get_array_module(a, b).where(self.condition, a, b)

    def backward(self, gy):
        a, b = self.inputs
        zero = gy * 0.0
        ga = Where(self.condition)(gy, zero)
        gb = Where(self.condition)(zero, gy)
        return sum_to(ga, a.shape), sum_to(gb, b.shape)


class Clip(Function):
    """y = min(max(x, low), high);  dx = dy where low <= x <= high, else 0 (as PyTorch)."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        xp = backend.get_array_module(x)
        low = -xp.inf if self.low is None else self.low
        high = xp.inf if self.high is None else self.high
        return xp.clip(x, x.dtype.type(low), x.dtype.type(high))

    def backward(self, gy):
        x = self.inputs[0].data
        inside = x == x  # all True
        if self.low is not None:
            inside = inside & (x >= self.low)
        if self.high is not None:
            inside = inside & (x <= self.high)
        return gy * inside.astype(gy.dtype)


def relu(x):
    return ReLU()(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU(negative_slope)(x)


def tanh(x):
    return Tanh()(x)


def sigmoid(x):
    return Sigmoid()(x)


def softplus(x):
    return Softplus()(x)


def where(condition, a, b):
    """Pick from ``a`` where ``condition`` holds, else from ``b`` (both broadcast)."""
    condition = getattr(condition, "data", condition)
    return Where(condition)(a, b)


def clip(x, min=None, max=None):
    """Limit values to [min, max] (either may be None); PyTorch calls this ``clamp``."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    return Clip(min, max)(x)


clamp = clip
