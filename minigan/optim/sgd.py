"""Stochastic gradient descent with momentum, exactly as ``torch.optim.SGD``:

    g = grad + weight_decay * p
    b = g                                   (first step)
    b = momentum * b + (1 - dampening) * g  (later steps)
    d = g + momentum * b  if nesterov  else  b     (d = g without momentum)
    p = p - lr * d
"""
from ..autograd import Tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    def _check_options(self, group):
        for name in ("lr", "momentum", "weight_decay"):
            if group[name] < 0:
                raise ValueError(f"SGD: invalid {name} {group[name]} (must be >= 0)")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")

    def _update(self, param, grad, state, group):
        # float(): a NumPy float64 option would turn float32 arrays into float64 ones.
        lr, momentum = float(group["lr"]), float(group["momentum"])
        dampening, weight_decay = float(group["dampening"]), float(group["weight_decay"])
        if weight_decay != 0:
            grad = grad + weight_decay * param.data  # a new array: grads are never changed
        if momentum != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = Tensor(grad.copy())
            else:
                buf = state["momentum_buffer"].data
                buf[...] = momentum * buf + (1 - dampening) * grad
            buf = state["momentum_buffer"].data
            grad = grad + momentum * buf if group["nesterov"] else buf
        param.data[...] = param.data - lr * grad
