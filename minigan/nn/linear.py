"""`Linear`: y = x W^T + b, the fully connected layer (math in `minigan.ops.linalg.linear`)."""

from ..creation import zeros
from ..ops.linalg import linear
from . import init
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """Maps (*, in_features) to (*, out_features). Weight shape (out_features, in_features)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(zeros(out_features, in_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(zeros(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) gives W ~ U(-1/sqrt(fan_in),
        1/sqrt(fan_in)), and the bias gets the same bound."""
        init.default_reset_(self.weight, self.bias)

    def forward(self, input):
        return linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
