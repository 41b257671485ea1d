"""Matrix multiplication and the fully connected layer.

For y = a @ b:  da = dy @ b^T and db = a^T @ dy (batch axes broadcast like NumPy, so their
gradients are summed back with `sum_to`). ``docs/02_broadcasting.md``.
"""
import math

from ..autograd import Function
from .shape import SumTo, sum_to, transpose, reshape


class MatMul(Function):
    """y = a @ b for a, b with at least 2 dims;  da = dy @ b^T, db = a^T @ dy."""

    def forward(self, a, b):
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match "
                             f"({a.shape[-1]} != {b.shape[-2]})")
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(matmul(gy, transpose(b)), a.shape)
        gb = sum_to(matmul(transpose(a), gy), b.shape)
        return ga, gb

    def backward_arrays(self, gy):
        # The same products on raw arrays. A matrix b shared by all of a's batch (a layer
        # applied to every token) gets db = sum_n a_n^T dy_n as one product over all the
        # rows of a, instead of a batch of products and a sum.
        a, b = self.inputs[0].data, self.inputs[1].data
        ga = gb = None
        if self.inputs[0].requires_grad:
            ga = _summed_to(gy @ b.swapaxes(-1, -2), a.shape)
        if self.inputs[1].requires_grad and b.ndim == 2:
            gb = a.reshape(-1, a.shape[-1]).T @ gy.reshape(-1, gy.shape[-1])
        elif self.inputs[1].requires_grad:
            gb = _summed_to(a.swapaxes(-1, -2) @ gy, b.shape)
        return ga, gb


def _summed_to(g, shape):
    """The raw array g summed down to ``shape`` (`sum_to` without the graph)."""
    return g if g.shape == tuple(shape) else SumTo(shape).forward(g)


def matmul(a, b):
    """``a @ b`` with NumPy's rules, 1-D operands included."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands need at least one dimension, got {a.shape} and {b.shape}")
    squeeze_a, squeeze_b = a.ndim == 1, b.ndim == 1
    if squeeze_a:
        a = reshape(a, (1,) + a.shape)
    if squeeze_b:
        b = reshape(b, b.shape + (1,))
    y = MatMul()(a, b)
    if squeeze_a:
        y = reshape(y, y.shape[:-2] + y.shape[-1:])
    if squeeze_b:
        y = reshape(y, y.shape[:-1])
    return y


class Linear(Function):
    """y = x W^T + b for x (N, in), W (out, in), b (out,);
    dx = dy W,  dW = (x^T dy)^T,  db = dy summed over N.

    The same arithmetic as ``matmul(x, transpose(W)) + b`` (same results, bit for bit) in one
    op instead of three: small MLPs spend more time on the bookkeeping of each op than on
    the arithmetic, and their plain backward passes (``backward_arrays``) shrink from seven
    ops per layer to none."""

    def forward(self, x, weight, bias=None):
        y = x @ weight.T
        return y if bias is None else y + bias

    def backward(self, gy):
        x, weight = self.inputs[:2]
        gx = matmul(gy, weight) if x.requires_grad else None
        gw = transpose(matmul(transpose(x), gy)) if weight.requires_grad else None
        return (gx, gw, sum_to(gy, self.inputs[2].shape)) if len(self.inputs) == 3 else (gx, gw)

    def backward_arrays(self, gy):
        x, weight = self.inputs[0].data, self.inputs[1].data
        gx = gy @ weight if self.inputs[0].requires_grad else None
        gw = (x.T @ gy).T if self.inputs[1].requires_grad else None
        return (gx, gw, gy.sum(axis=0)) if len(self.inputs) == 3 else (gx, gw)


def linear(x, weight, bias=None):
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch."""
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input has {x.shape[-1]} features (shape {x.shape}) but the "
                         f"weight {weight.shape} expects {weight.shape[1]}")
    if x.ndim >= 2 and weight.ndim == 2 and (bias is None or bias.ndim == 1):
        rows = x if x.ndim == 2 else reshape(x, (math.prod(x.shape[:-1]), x.shape[-1]))
        y = Linear()(rows, weight) if bias is None else Linear()(rows, weight, bias)
        return y if x.ndim == 2 else reshape(y, x.shape[:-1] + (weight.shape[0],))
    y = matmul(x, transpose(weight))  # other shapes: the general ops
    return y if bias is None else y + bias
