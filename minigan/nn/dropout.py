"""Dropout: during training, zero each element with probability p and scale the survivors by
1 / (1 - p) ("inverted" dropout), so the expected output equals the input and eval mode can
simply pass the input through. The gradient is the same mask times the upstream gradient,
which the `mul` op already provides.
"""
from .. import backend
from ..autograd import Tensor
from ..creation import default_generator
from .module import Module


def dropout(input, p=0.5, training=True):
    """The mask is drawn on the host from minigan's seeded generator, then moved to the
    device: the same seed drops the same elements on every device."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    keep = default_generator().random(input.shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = keep.astype(input.dtype) * input.dtype.type(scale)
    return input * Tensor(backend.to_device(mask, input.device))


class Dropout(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
