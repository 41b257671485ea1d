"""`Identity`: returns its input. A placeholder where a layer is optional (``norm =
nn.BatchNorm2d(c) if use_norm else nn.Identity()``), so ``forward`` needs no ``if``."""
from .module import Module


class Identity(Module):
    """Any arguments are accepted and ignored, as in PyTorch."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input
