"""Differentiable ops, grouped by kind. Each file keeps forward and backward side by side.

Importing this package also gives `Tensor` its operators and methods (``a + b``, ``x.sum()``),
which are thin calls into these ops.
"""
from ..autograd import Tensor
from .arithmetic import add, sub, mul, div, neg, pow, exp, log, sqrt, abs
from .shape import (reshape, permute, transpose, broadcast_to, sum_to, getitem, concat, cat,
                    stack, unsqueeze, squeeze, flatten, pad)
from .reduce import sum, mean, max, min, var
from .linalg import matmul, linear
from .activation import relu, leaky_relu, tanh, sigmoid, softplus, where, clip, clamp
from .loss import mse_loss, binary_cross_entropy_with_logits, binary_cross_entropy
from .loss import l1_loss, nll_loss, cross_entropy, kl_div
from .softmax import softmax, log_softmax
from .activation import erf, gelu, elu, silu
from .conv import conv2d, conv_transpose2d
from .pool import avg_pool2d, max_pool2d, adaptive_avg_pool2d
from .resample import pixel_shuffle, pixel_unshuffle
from .norm import batch_norm
from .normalize import layer_norm, group_norm, instance_norm


def _compare(op):
    # Comparisons give boolean tensors with no gradient, as in PyTorch.
    def compare(self, other):
        return Tensor(op(self.data, other.data if isinstance(other, Tensor) else other))
    return compare


def _install_tensor_methods():
    T = Tensor
    T.__add__ = T.__radd__ = add
    T.__sub__ = sub
    T.__rsub__ = lambda self, other: sub(other, self)
    T.__mul__ = T.__rmul__ = mul
    T.__truediv__ = div
    T.__rtruediv__ = lambda self, other: div(other, self)
    T.__neg__ = neg
    T.__pow__ = pow
    T.__matmul__ = matmul
    T.__rmatmul__ = lambda self, other: matmul(other, self)
    T.__getitem__ = getitem
    T.__lt__ = _compare(lambda a, b: a < b)
    T.__le__ = _compare(lambda a, b: a <= b)
    T.__gt__ = _compare(lambda a, b: a > b)
    T.__ge__ = _compare(lambda a, b: a >= b)
    T.__hash__ = object.__hash__  # tensors are dict keys by identity (== is elementwise)
    T.eq = _compare(lambda a, b: a == b)
    for f in (exp, log, sqrt, abs, reshape, permute, transpose, sum, mean, max, min, var,
              unsqueeze, squeeze, flatten, relu, tanh, sigmoid, matmul, clip, pow):
        setattr(T, f.__name__, f)
    T.view = reshape
    T.clamp = clip
    T.T = property(lambda self: permute(self, tuple(reversed(range(self.ndim)))))


_install_tensor_methods()
