"""Activations and elementwise selection: relu, leaky_relu, tanh, sigmoid, softplus, where, clip,
and the smooth ones: erf, gelu, elu, silu.

Piecewise-linear ops (relu, leaky_relu, clip, where) multiply the gradient by a constant mask:
their second derivative is zero wherever they are differentiable. Smooth ops (tanh, sigmoid,
softplus) express their derivative through their output, which stays in the graph, so
double backward works. See ``docs/05_activations_and_losses.md``.
"""
import math

from ..autograd import Function, Tensor
from .. import backend, kernels
from .arithmetic import exp
from .shape import reshape, sum_to


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
        return LeakyReLUBackward(self.inputs[0].data, self.slope)(gy)

    def backward_arrays(self, gy):
        return kernels.current().leaky_relu_backward(self.inputs[0].data, gy, self.slope)


class LeakyReLUBackward(Function):
    """dx = dy if x > 0 else a * dy, for a constant x: LeakyReLU's backward as one op, so a
    gradient penalty differentiates it in one pass. It is linear in dy with a constant mask,
    so its own backward is the same map: ddy = ddx if x > 0 else a * ddx."""

    def __init__(self, x, negative_slope):
        self.x, self.slope = x, negative_slope

    def forward(self, gy):
        return kernels.current().leaky_relu_backward(self.x, gy, self.slope)

    def backward(self, ggx):
        return LeakyReLUBackward(self.x, self.slope)(ggx)

    def backward_arrays(self, ggx):
        return self.forward(ggx)


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


def prelu(input, weight):
    """max(0, x) + a min(0, x) with a learned slope ``a`` per channel (axis 1), or one slope
    for all (He et al. 2015; SRGAN's activation). Written as relu(x) - a relu(-x), so both
    gradients (to x and to a) come from relu's: no backward of its own to get wrong."""
    if weight.ndim != 1 or (weight.shape[0] != 1 and (input.ndim < 2
                                                      or weight.shape[0] != input.shape[1])):
        raise ValueError(f"prelu: weight must hold 1 slope or one per channel (axis 1 of "
                         f"{input.shape}), got shape {weight.shape}")
    if input.ndim >= 2:
        weight = reshape(weight, (1, weight.shape[0]) + (1,) * (input.ndim - 2))
    return relu(input) - weight * relu(-input)


def tanh(x):
    return Tanh()(x)


def sigmoid(x):
    return Sigmoid()(x)


def softplus(x):
    return Softplus()(x)


def where(condition, a, b):
    """Pick from ``a`` where ``condition`` holds, else from ``b`` (both broadcast)."""
    # (not getattr(condition, "data", ...): a CuPy array's .data is its device pointer)
    condition = condition.data if isinstance(condition, Tensor) else condition
    return Where(condition)(a, b)


def clip(x, min=None, max=None):
    """Limit values to [min, max] (either may be None); PyTorch calls this ``clamp``."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    return Clip(min, max)(x)


clamp = clip


# ------------------------------------------------- smooth activations: erf, GELU, ELU, SiLU
# (``docs/05_activations_and_losses.md``, section "GELU, ELU and SiLU")
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_ERF_SPLIT, _ERF_TERMS = 2.5, 40


def _erf_array(x):
    """erf on a raw array, accurate to about 1.3e-15 in float64 (checked against math.erf on
    a grid over [-8, 8] in tests/test_activations_losses.py). NumPy has no erf, and the usual
    Abramowitz-Stegun formula 7.1.26 is accurate only to 1.5e-7: too rough for float64
    gradient checks, whose finite differences would see its wiggles.

    - |x| < 2.5: erf x = 2/sqrt(pi) e^(-x^2) sum_n (2x^2)^n x / (1*3*...*(2n+1)), a series of
      positive terms (no cancellation), 40 terms.
    - |x| >= 2.5: erfc x = e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
      a continued fraction, 40 levels, evaluated from the bottom up.
    """
    xp = backend.get_array_module(x)
    a = xp.abs(x)
    s = xp.minimum(a, a.dtype.type(_ERF_SPLIT))  # the series part, on |x| < 2.5
    term, total, two_s2 = s, s, 2 * s * s
    for n in range(1, _ERF_TERMS):
        term = term * two_s2 / (2 * n + 1)
        total = total + term
    near = _TWO_OVER_SQRT_PI * xp.exp(-s * s) * total
    b = xp.maximum(a, a.dtype.type(_ERF_SPLIT))  # the continued fraction, on |x| >= 2.5
    fraction = b
    for k in range(_ERF_TERMS, 0, -1):
        fraction = b + (k / 2) / fraction
    far = 1 - xp.exp(-b * b) / (math.sqrt(math.pi) * fraction)
    return xp.sign(x) * xp.where(a < _ERF_SPLIT, near, far)


class Erf(Function):
    """y = erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt;  dx = dy * 2/sqrt(pi) e^(-x^2).
    ``docs/05_activations_and_losses.md``"""

    def forward(self, x):
        return _erf_array(x)

    def backward(self, gy):
        x = self.inputs[0]
        return gy * (exp(-(x * x)) * _TWO_OVER_SQRT_PI)


class GELU(Function):
    """y = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 the normal CDF;
    dx = dy (Phi(x) + x phi(x)), phi(x) = e^(-x^2/2) / sqrt(2 pi) the normal density.
    ``docs/05_activations_and_losses.md``"""

    def forward(self, x):
        return x * (1 + _erf_array(x * x.dtype.type(_SQRT_HALF))) * x.dtype.type(0.5)

    def backward(self, gy):
        x = self.inputs[0]
        cdf = (erf(x * _SQRT_HALF) + 1.0) * 0.5
        density = exp(x * x * -0.5) * _INV_SQRT_2PI
        return gy * (cdf + x * density)


class GELUTanh(Function):
    """GELU's tanh approximation: y = x (1 + tanh u) / 2, u = sqrt(2/pi) (x + 0.044715 x^3);
    dx = dy [(1 + t) / 2 + x (1 - t^2) / 2 * sqrt(2/pi) (1 + 3 * 0.044715 x^2)], t = tanh u.
    ``docs/05_activations_and_losses.md``"""

    def forward(self, x):
        y, self.t = kernels.current().gelu_tanh(x)  # t, kept for backward_arrays
        return y

    def backward(self, gy):
        x = self.inputs[0]
        t = tanh((x + x * x * x * _GELU_CUBIC) * _SQRT_2_OVER_PI)
        du = (x * x * (3 * _GELU_CUBIC) + 1.0) * _SQRT_2_OVER_PI
        return gy * ((t + 1.0) * 0.5 + x * (1.0 - t * t) * du * 0.5)

    def backward_arrays(self, gy):
        return kernels.current().gelu_tanh_backward(self.inputs[0].data, self.t, gy)


_SQRT_HALF, _INV_SQRT_2PI = math.sqrt(0.5), 1.0 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI, _GELU_CUBIC = math.sqrt(2 / math.pi), 0.044715


class ELU(Function):
    """y = x if x > 0 else alpha (e^x - 1);  dx = dy if x > 0 else dy (y + alpha)
    (alpha e^x = y + alpha, so the backward reuses the output and stays differentiable).
    ``docs/05_activations_and_losses.md``"""

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        xp = backend.get_array_module(x)
        # expm1 of min(x, 0): no overflow on the unused branch, no cancellation near 0
        negative = xp.expm1(xp.minimum(x, 0)) * x.dtype.type(self.alpha)
        return xp.where(x > 0, x, negative)

    def backward(self, gy):
        y = self.output()
        return where(self.inputs[0].data > 0, gy, gy * (y + self.alpha))


class SiLU(Function):
    """y = x sigmoid(x) (also called swish);  dx = dy s (1 + x (1 - s)), s = sigmoid(x).
    ``docs/05_activations_and_losses.md``"""

    def forward(self, x):
        half = x.dtype.type(0.5)
        return x * (backend.get_array_module(x).tanh(x * half) * half + half)

    def backward(self, gy):
        x = self.inputs[0]
        s = sigmoid(x)
        return gy * s * (x * (1.0 - s) + 1.0)


def erf(x):
    return Erf()(x)


def gelu(input, approximate="none"):
    """Gaussian error linear unit: x times the probability that a standard normal is below x."""
    if approximate == "none":
        return GELU()(input)
    if approximate == "tanh":
        return GELUTanh()(input)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def elu(input, alpha=1.0, inplace=False):
    """Exponential linear unit (``inplace`` is accepted and ignored: minigan never overwrites)."""
    return ELU(alpha)(input)


def silu(input, inplace=False):
    """x * sigmoid(x) (``inplace`` is accepted and ignored)."""
    return SiLU()(input)
