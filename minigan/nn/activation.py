"""Activation modules: thin wrappers over the functional ops in `minigan.ops.activation`.

``inplace`` is accepted so PyTorch code (``nn.ReLU(True)``) runs unchanged; minigan always
computes a new tensor, because overwriting an input that backward still needs is a classic
source of wrong gradients.
"""
from . import functional as F
from .module import Module


class ReLU(Module):
    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, input):
        return F.relu(input)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x (DCGAN discriminators use 0.2)."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    def forward(self, input):
        return F.tanh(input)


class Sigmoid(Module):
    def forward(self, input):
        return F.sigmoid(input)
