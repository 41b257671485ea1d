"""Softmax and log-softmax over one dimension: probabilities from scores (logits).

Both subtract the largest score before exponentiating, which changes nothing mathematically
(softmax(x) = softmax(x - c)) and keeps ``exp`` from overflowing. Both backward passes are
written through the *output* tensor, so they can be differentiated again. The forward passes
and the plain backward (``backward_arrays``) are kernels on raw arrays: ``reference.py`` in
``minigan/kernels/`` states them, ``softmax.py`` there makes them fast.
Derivations: ``docs/05_activations_and_losses.md`` (softmax, log-softmax and cross-entropy).

``dim`` is required. PyTorch guesses one when it is left out (0 for 0-, 1- and 3-d inputs,
else 1) and warns that the guess is deprecated; minigan raises instead of guessing.
"""
from ..autograd import Function
from .. import kernels
from .reduce import sum
from .arithmetic import exp
from .shape import normalize_axes


class Softmax(Function):
    """y_i = e^(x_i - m) / sum_j e^(x_j - m) over ``axis`` (m = max x);
    dx = y * (dy - sum(dy * y))  (the Jacobian diag(y) - y y^T applied to dy).
    ``docs/05_activations_and_losses.md``"""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return kernels.current().softmax(x, self.axis)

    def backward(self, gy):
        y = self.output()
        return y * (gy - sum(gy * y, dim=self.axis, keepdim=True))

    def backward_arrays(self, gy):
        return kernels.current().softmax_backward(self.output().data, gy, self.axis)


class LogSoftmax(Function):
    """y_i = (x_i - m) - log sum_j e^(x_j - m) over ``axis`` (m = max x);
    dx = dy - softmax(x) * sum(dy), with softmax(x) = exp(y) taken from the output.
    ``docs/05_activations_and_losses.md``"""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return kernels.current().log_softmax(x, self.axis)

    def backward(self, gy):
        y = self.output()
        return gy - exp(y) * sum(gy, dim=self.axis, keepdim=True)

    def backward_arrays(self, gy):
        return kernels.current().log_softmax_backward(self.output().data, gy, self.axis)


def _axis(name, input, dim):
    if dim is None:
        raise ValueError(f"{name}: pass dim explicitly (e.g. dim=1 for scores of shape (N, C)); "
                         f"PyTorch's implicit choice of dim is deprecated and minigan does not guess")
    if not isinstance(dim, int):
        raise TypeError(f"{name}: dim must be one int, got {dim!r}")
    return normalize_axes(dim, max(input.ndim, 1))[0]


def _cast(input, dtype):
    return input if dtype is None else input.to(dtype=dtype)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Probabilities along ``dim``: non-negative, summing to 1. ``dtype`` casts the input first."""
    input = _cast(input, dtype)
    if input.ndim == 0:  # a single score is certainly probability 1
        return input * 0.0 + 1.0
    return Softmax(_axis("softmax", input, dim))(input)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log(softmax(input, dim)), computed without forming the (possibly 0) probabilities."""
    input = _cast(input, dtype)
    if input.ndim == 0:
        return input * 0.0
    return LogSoftmax(_axis("log_softmax", input, dim))(input)
