"""Losses: mse_loss, binary_cross_entropy_with_logits, binary_cross_entropy.

``reduction`` is 'mean' (default), 'sum' or 'none', as in PyTorch.
See ``docs/05_activations_and_losses.md`` for why the logits form is the stable one.
"""
import math

from ..autograd import Function, Tensor
from .. import backend
from .activation import sigmoid, clip
from .arithmetic import log
from .reduce import mean


def _reduce(loss, reduction):
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(name, input, target):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{name}: input {tuple(input.shape)} and target {tuple(target.shape)} "
                         f"must have the same shape")


def mse_loss(input, target, reduction="mean"):
    """(input - target)^2, averaged."""
    _check_same_shape("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


class BCEWithLogits(Function):
    """l = max(x, 0) - x t + log(1 + e^-|x|)  (= -[t log s(x) + (1-t) log(1 - s(x))]);
    dx = dy (s(x) - t), dt = -dy x. Never overflows, even for logits of +-1000."""

    def forward(self, x, t):
        xp = backend.get_array_module(x)
        return xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        x, t = self.inputs
        return gy * (sigmoid(x) - t), -gy * x


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """Binary cross entropy on raw scores (logits): the loss a GAN discriminator trains on."""
    if isinstance(target, (int, float)):  # a constant label such as 1.0 for "real"
        xp = backend.get_array_module(input.data)
        target = Tensor(xp.full(input.shape, target, dtype=input.dtype))
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    return _reduce(BCEWithLogits()(input, target), reduction)


class BCE(Function):
    """l = -[t max(log p, -100) + (1-t) max(log(1-p), -100)] (clamped like PyTorch, so p = 0
    or 1 gives a large finite loss);  dp = dy (p - t) / max(p (1-p), 1e-12),
    dt = dy [max(log(1-p), -100) - max(log p, -100)]. The dp form stays finite at p = 0 or 1
    where the textbook -t/p + (1-t)/(1-p) gives inf - inf."""

    def forward(self, p, t):
        xp = backend.get_array_module(p)
        floor, tiny = p.dtype.type(-100), p.dtype.type(_TINY)
        # log(max(p, e^-100)) rather than log(p): the same value after the clamp, without
        # NumPy's divide-by-zero warning at p = 0
        with_log = [xp.maximum(xp.log(xp.maximum(q, tiny)), floor) for q in (p, 1 - p)]
        return -(t * with_log[0] + (1 - t) * with_log[1])

    def backward(self, gy):
        p, t = self.inputs
        gp = gy * (p - t) / clip(p * (1.0 - p), min=1e-12)
        gt = gy * (_clamped_log(1.0 - p) - _clamped_log(p))
        return gp, gt


_TINY = math.exp(-100)  # log(_TINY) = -100, PyTorch's clamp of log in BCE


def _clamped_log(q):
    """max(log q, -100), differentiable, with no warning at q = 0."""
    return clip(log(clip(q, min=_TINY)), min=-100.0)


def binary_cross_entropy(input, target, reduction="mean"):
    """Binary cross entropy on probabilities ``input`` in [0, 1]."""
    _check_same_shape("binary_cross_entropy", input, target)
    return _reduce(BCE()(input, target), reduction)
