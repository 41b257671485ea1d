"""`Parameter`: a Tensor that a `Module` learns.

It differs from a plain Tensor in one way that matters: assigning it to a module attribute
(``self.weight = Parameter(...)``) registers it, so ``model.parameters()`` finds it and an
optimizer can update it. See ``docs/10_nn_and_optim.md``.
"""
from ..autograd import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` that modules register automatically.

    ``Parameter(t)`` shares ``t``'s array (no copy), as in PyTorch.
    """

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
