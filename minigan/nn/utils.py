"""Gradient clipping, as ``torch.nn.utils``: call between ``backward()`` and ``step()``.

- `clip_grad_norm_` treats all gradients as one long vector g and rescales it when its norm
  is too large:  g <- g * min(1, max_norm / (||g|| + 1e-6)). The direction is kept; only
  the step length is limited, which tames the rare huge gradient of an unstable run.
- `clip_grad_value_` clips every element into [-clip_value, clip_value], which may change
  the direction.

Gradients are replaced by new tensors, never changed in place (two parameters may share one
gradient tensor in minigan). ``foreach`` is accepted for PyTorch compatibility and ignored.
See ``docs/10_nn_and_optim.md``.
"""
import math

from .. import backend
from ..autograd import Tensor


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients so that their total ``norm_type``-norm is at most ``max_norm``;
    returns the total norm *before* clipping, as a 0-d Tensor."""
    norm_type = float(norm_type)
    if not (norm_type > 0 or norm_type == math.inf):
        raise ValueError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}")
    params = _with_grads(parameters)
    if not params:
        return Tensor(0.0)
    with backend.device_context(params[0].device):  # a GPU works on its current device
        return _clip_grad_norm(params, max_norm, norm_type, error_if_nonfinite)


def _clip_grad_norm(params, max_norm, norm_type, error_if_nonfinite):
    grads = [p.grad.data for p in params]
    xp = backend.get_array_module(grads[0])
    if norm_type == math.inf:  # the largest |g_i| of all gradients
        total = xp.max(xp.stack([xp.abs(g).max() for g in grads]))
    else:  # (sum_i |g_i|^p)^(1/p) over every element of every gradient
        total = sum((xp.abs(g) ** norm_type).sum() for g in grads) ** (1.0 / norm_type)
    total = xp.asarray(total, dtype=grads[0].dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           f"is non-finite, so it cannot be clipped. To disable this error and "
                           f"scale the gradients by the non-finite norm anyway, set "
                           f"`error_if_nonfinite=False`")
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)  # stays on the device: no sync
    for p in params:
        p.grad = Tensor(p.grad.data * coef.astype(p.grad.dtype))
    return Tensor(total)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clip every gradient element into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for p in _with_grads(parameters):
        xp = backend.get_array_module(p.grad.data)
        with backend.device_context(p.device):
            p.grad = Tensor(xp.clip(p.grad.data, -clip_value, clip_value).astype(p.grad.dtype))
