"""Dropout: during training, zero each element with probability p and scale the survivors by
1 / (1 - p) ("inverted" dropout), so the expected output equals the input and eval mode can
simply pass the input through. The gradient is the same mask times the upstream gradient,
which the `mul` op already provides.

`dropout2d` draws one keep-or-drop decision per (sample, channel) and applies it to the
whole feature map: neighbouring pixels of a convolution are strongly correlated, so dropping
single pixels hardly regularises, while dropping a whole channel does.

``inplace=True`` is accepted for PyTorch compatibility, but minigan has no in-place ops: the
result is always a new tensor.
"""
from .. import random
from ..autograd import Tensor
from .module import Module
from .. import backend


def _check_p(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


@backend.on_input_device  # the mask's arithmetic runs where the mask was drawn
def _drop(input, p, mask_shape):
    """input * (keep / (1 - p)) with keep ~ Bernoulli(1 - p) of ``mask_shape`` (broadcast).
    The mask is drawn on the input's device from its seeded generator (`minigan.random`):
    no copy from the host per call."""
    keep = random.default_generator(input.device).random(mask_shape, input.dtype) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = keep.astype(input.dtype) * input.dtype.type(scale)
    return input * Tensor(mask)


def dropout(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    return _drop(input, p, input.shape)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels: input (N, C, H, W); one mask value per (n, c), as PyTorch.
    A 3-D input is read as (N, C, L), which is what PyTorch does today (with a warning)."""
    _check_p(p)
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3D or 4D input (N, C, H, W), got shape {input.shape}")
    if not training or p == 0.0:
        return input
    return _drop(input, p, input.shape[:2] + (1,) * (input.ndim - 2))


class Dropout(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        _check_p(p)
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Channel-wise dropout for (N, C, H, W) feature maps (see `dropout2d`)."""

    def forward(self, input):
        return dropout2d(input, self.p, self.training)
