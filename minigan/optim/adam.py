"""Adam (Kingma & Ba 2015), exactly as ``torch.optim.Adam``. For step t = 1, 2, ...:

    g   = grad + weight_decay * p            (L2 penalty; AdamW would decay p directly)
    m   = beta1 * m + (1 - beta1) * g        (moving average of gradients)
    v   = beta2 * v + (1 - beta2) * g^2      (moving average of squared gradients)
    v_max = max(v_max, v)                    (amsgrad only; then used in place of v)
    p   = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

m and v start at zero, so early averages are too small; dividing by 1 - beta^t (the bias
correction) undoes that. See ``docs/10_nn_and_optim.md``.
"""
import math

from .. import backend
from ..autograd import Tensor
from .optimizer import Optimizer


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    def _check_options(self, group):
        if group["lr"] < 0 or group["eps"] < 0 or group["weight_decay"] < 0:
            raise ValueError(f"Adam: lr, eps and weight_decay must be >= 0, got lr={group['lr']}, "
                             f"eps={group['eps']}, weight_decay={group['weight_decay']}")
        if not all(0.0 <= b < 1.0 for b in group["betas"]):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {group['betas']}")

    def _update(self, param, grad, state, group):
        # float(): a NumPy float64 option would turn float32 arrays into float64 ones.
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        xp = backend.get_array_module(param.data)
        if not state:  # first step: zero averages on the parameter's device
            state["step"] = 0
            state["exp_avg"] = Tensor(xp.zeros_like(param.data))
            state["exp_avg_sq"] = Tensor(xp.zeros_like(param.data))
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = Tensor(xp.zeros_like(param.data))
        state["step"] += 1
        t = state["step"]
        if weight_decay != 0:
            grad = grad + weight_decay * param.data  # a new array: grads are never changed
        # In place, with as few passes over memory as possible: the same arithmetic as the
        # formulas above, in the same order.
        m, v = state["exp_avg"].data, state["exp_avg_sq"].data
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            v_max = state["max_exp_avg_sq"].data
            xp.maximum(v_max, v, out=v_max)
            v = v_max
        step_size = lr / (1 - beta1 ** t)
        denom = xp.sqrt(v)
        denom /= math.sqrt(1 - beta2 ** t)
        denom += eps
        update = xp.divide(m, denom, out=denom)
        update *= step_size
        param.data -= update
