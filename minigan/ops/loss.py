"""Losses: mse_loss, l1_loss, binary_cross_entropy(_with_logits), nll_loss, cross_entropy,
kl_div.

``reduction`` is 'mean' (default), 'sum' or 'none', as in PyTorch; the deprecated
``size_average``/``reduce`` pair is translated the way PyTorch does. Signatures follow
``torch.nn.functional``, positional order included.
See ``docs/05_activations_and_losses.md`` for why the logits forms are the stable ones.

Shape letters: N (batch), C (classes), d... (extra dimensions, e.g. pixels of a segmentation).
"""
import math

from ..autograd import Function, Tensor
from .. import backend
from .activation import sigmoid, clip, softplus, where
from .arithmetic import log, exp, abs
from .reduce import mean, sum
from .softmax import log_softmax


def _legacy_reduction(size_average, reduce, reduction):
    """PyTorch's rule for the deprecated arguments: either one given overrides ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


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


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """(input - target)^2, averaged."""
    _check_same_shape("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, _legacy_reduction(size_average, reduce, reduction))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """|input - target|, averaged. Its gradient sign(input - target) has a kink where they meet."""
    _check_same_shape("l1_loss", input, target)
    return _reduce(abs(input - target), _legacy_reduction(size_average, reduce, reduction))


class BCEWithLogits(Function):
    """l = max(x, 0) - x t + log(1 + e^-|x|)  (= -[t log s(x) + (1-t) log(1 - s(x))]);
    dx = dy (s(x) - t), dt = -dy x. Never overflows, even for logits of +-1000."""

    def forward(self, x, t):
        xp = backend.get_array_module(x)
        return xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        x, t = self.inputs
        return gy * (sigmoid(x) - t), -gy * x


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross entropy on raw scores (logits): the loss a GAN discriminator trains on.

    ``weight`` multiplies each element's loss (broadcast to the input's shape);
    ``pos_weight`` (broadcast along the last dimension, one per class) multiplies the
    positive term only: l = -[p t log s(x) + (1-t) log(1 - s(x))]
    = (1 - t) x + (1 + (p - 1) t) softplus(-x), stable for any x."""
    _check_weight_is_not_a_reduction(weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if isinstance(target, (int, float)):  # a constant label such as 1.0 for "real"
        xp = backend.get_array_module(input.data)
        target = Tensor(xp.full(input.shape, target, dtype=input.dtype))
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    if pos_weight is None:
        loss = BCEWithLogits()(input, target)
    else:
        loss = (1.0 - target) * input + ((pos_weight - 1.0) * target + 1.0) * softplus(-input)
    return _reduce(loss if weight is None else loss * weight, reduction)


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


def _check_weight_is_not_a_reduction(weight):
    """PyTorch's third argument is ``weight``; minigan's once was ``reduction``."""
    if isinstance(weight, str):
        raise TypeError(f"the third argument is weight (a tensor), as in PyTorch; pass the "
                        f"reduction by name: reduction={weight!r}")


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross entropy on probabilities ``input`` in [0, 1]; ``weight`` multiplies each
    element's loss (broadcast to the input's shape)."""
    _check_weight_is_not_a_reduction(weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_same_shape("binary_cross_entropy", input, target)
    loss = BCE()(input, target)
    return _reduce(loss if weight is None else loss * weight, reduction)


# ------------------------------------------------------------- classes: nll, cross entropy
def _class_weight(name, weight, input):
    """The per-class weight (C,) as a constant array of the input's dtype, device (ones if None)."""
    classes = input.shape[1]
    if weight is None:
        return backend.get_array_module(input.data).ones(classes, dtype=input.dtype)
    if tuple(weight.shape) != (classes,):
        raise ValueError(f"{name}: weight must have one entry per class, shape ({classes},), "
                         f"got {tuple(weight.shape)}")
    return backend.to_device(weight.data, input.device, input.dtype)


def _class_index(name, input, target, ignore_index):
    """``target`` as an integer array on the input's device, checked: for input (N, C, d...)
    it has shape (N, d...) and values in [0, C) or equal to ``ignore_index``."""
    index = target.data if isinstance(target, Tensor) else target
    index = backend.to_device(index, input.device)  # lists and host arrays are welcome
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: class-index targets must be integers, got {index.dtype}")
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(index.shape) != expected:
        raise ValueError(f"{name}: input of shape {tuple(input.shape)} (N, C, d...) needs a target "
                         f"of shape {expected} (N, d...), got {tuple(index.shape)}")
    classes = input.shape[1]
    bad = (index != ignore_index) & ((index < 0) | (index >= classes))
    if bool(bad.any()):  # checked here (one sync) because CuPy would silently wrap a bad index
        value = int(index[bad][0])
        raise IndexError(f"{name}: target {value} is out of bounds for {classes} classes "
                         f"(expected 0 to {classes - 1}, or ignore_index={ignore_index})")
    return index


def _unbatched(input, target, loss_fn, reduction):
    """Run ``loss_fn`` on an unbatched input (C,) as a batch of one; 'none' then gives a
    0-d loss. The target is a class index (0-d) or class probabilities (C,)."""
    if isinstance(target, Tensor) and backend.is_floating(target.dtype):
        target = target.reshape(1, -1)
    else:
        index = target.data if isinstance(target, Tensor) else target
        target = backend.to_device(index, input.device).reshape(1)
    loss = loss_fn(input.reshape(1, -1), target)
    return loss.reshape(()) if reduction == "none" else loss


@backend.on_input_device  # its constants and index arrays live there too
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of the target classes: l_n = -w[t_n] input[n, t_n], for
    log-probabilities ``input`` (N, C, d...) or (C,) and class indices ``target`` (N, d...).
    Targets equal to ``ignore_index`` contribute nothing; 'mean' is PyTorch's weighted mean,
    sum_n l_n / sum_n w[t_n] over the targets not ignored."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if input.ndim == 1:
        return _unbatched(input, target, lambda x, t: nll_loss(
            x, t, weight, None, ignore_index, None, reduction), reduction)
    if input.ndim < 2:
        raise ValueError(f"nll_loss: input must be (C,) or (N, C, d...), got shape {tuple(input.shape)}")
    loss, sample_weight = _nll(input, _class_index("nll_loss", input, target, ignore_index),
                               _class_weight("nll_loss", weight, input), ignore_index)
    if reduction == "mean":
        return loss.sum() / sample_weight.sum()
    return _reduce(loss, reduction)


def _nll(log_probs, index, class_weight, ignore_index):
    """l = -w[t] log_probs[t] per sample (0 where ignored), and the sample weights w[t]."""
    xp = backend.get_array_module(log_probs.data)
    classes = log_probs.shape[1]
    kept = index != ignore_index
    safe = xp.where(kept, index, 0)
    classes_along_dim1 = xp.arange(classes).reshape((1, classes) + (1,) * (log_probs.ndim - 2))
    pick = (safe[:, None] == classes_along_dim1) & kept[:, None]  # one-hot (N, C, d...)
    sample_weight = class_weight[safe] * kept
    picked = sum(log_probs * pick.astype(log_probs.dtype), dim=1)
    return -picked * sample_weight, sample_weight


@backend.on_input_device  # its constants and index arrays live there too
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross entropy between class scores (logits) ``input`` (N, C, d...) or (C,) and either
    class indices (integer ``target`` of shape (N, d...)) or class probabilities (a float
    ``target`` shaped like ``input``). It is nll_loss(log_softmax(input, 1), target): the
    log-softmax never forms a probability that could round to 0, so the loss stays finite
    for any logits. ``label_smoothing`` e mixes the target with the uniform distribution:
    (1 - e) target + e / C."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim == 1:
        return _unbatched(input, target, lambda x, t: cross_entropy(
            x, t, weight, None, ignore_index, None, reduction, label_smoothing), reduction)
    if input.ndim < 2:
        raise ValueError(f"cross_entropy: input must be (C,) or (N, C, d...), got shape "
                         f"{tuple(input.shape)}")
    soft = isinstance(target, Tensor) and backend.is_floating(target.dtype)
    log_probs = log_softmax(input, dim=1)
    class_weight = _class_weight("cross_entropy", weight, input)
    weight_along_dim1 = class_weight.reshape((1, -1) + (1,) * (input.ndim - 2))
    classes = input.shape[1]
    if soft:
        _check_same_shape("cross_entropy (probability targets)", input, target)
        if ignore_index >= 0:  # (as PyTorch: a negative one is ignored)
            raise ValueError("cross_entropy: ignore_index is not supported for probability "
                             "(floating point) targets")
        if label_smoothing > 0:
            target = target * (1.0 - label_smoothing) + label_smoothing / classes
        loss = -sum(log_probs * target * weight_along_dim1, dim=1)
        if reduction == "mean":  # the mean over samples (N d...), not weighted
            return loss.sum() / float(loss.size)
        return _reduce(loss, reduction)
    index = _class_index("cross_entropy", input, target, ignore_index)
    loss, sample_weight = _nll(log_probs, index, class_weight, ignore_index)
    if label_smoothing > 0:  # the uniform part: -(1/C) sum_c w_c log p_c, 0 where ignored
        kept = (index != ignore_index).astype(input.dtype)
        uniform = -sum(log_probs * weight_along_dim1, dim=1) * kept
        loss = loss * (1.0 - label_smoothing) + uniform * (label_smoothing / classes)
    if reduction == "mean":
        return loss.sum() / sample_weight.sum()
    return _reduce(loss, reduction)


# ------------------------------------------------------------------------- distributions
@backend.on_input_device  # its constants and index arrays live there too
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence sum t (log t - input), with ``input`` given as
    log-probabilities and ``target`` as probabilities (or log-probabilities if ``log_target``).
    t log t is taken as 0 where t = 0. reduction 'batchmean' divides the sum by N, which is
    the true KL divergence per sample; 'mean' divides by every element, as PyTorch does."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_same_shape("kl_div", input, target)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        loss = target * (log(where(target.data > 0, target, 1.0)) - input)
    if reduction == "batchmean":
        return loss.sum() / float(input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)
