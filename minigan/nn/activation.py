"""Activation modules: thin wrappers over the functional ops in `minigan.ops.activation`.

``inplace`` is accepted so PyTorch code (``nn.ReLU(True)``) runs unchanged; minigan always
computes a new tensor, because overwriting an input that backward still needs is a classic
source of wrong gradients. The math (GELU, ELU, SiLU, softmax and their derivatives):
``docs/05_activations_and_losses.md``.
"""
from ..creation import full
from . import functional as F
from .module import Module
from .parameter import Parameter


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


class PReLU(Module):
    """x if x > 0 else a x, with the slope ``a`` learned: one for all channels
    (``num_parameters=1``) or one per channel; it starts at ``init`` (0.25, as PyTorch)."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(full((num_parameters,), init, device=device, dtype=dtype))

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Tanh(Module):
    def forward(self, input):
        return F.tanh(input)


class Sigmoid(Module):
    def forward(self, input):
        return F.sigmoid(input)


class GELU(Module):
    """x Phi(x) (Phi the standard normal CDF); approximate='tanh' for the tanh formula."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class ELU(Module):
    """x if x > 0 else alpha (e^x - 1)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class SiLU(Module):
    """x * sigmoid(x)."""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, input):
        return F.silu(input)


class Softmax(Module):
    """Probabilities along ``dim`` (required at call time: minigan does not guess it)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(input, dim)), computed stably."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.log_softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
