"""`Embedding`: a lookup table, row ``i`` of ``weight`` for index ``i``.

The lookup is indexing (``weight[indices]``). Its gradient scatters the upstream rows back
into a zero table and *adds* where an index repeats, which `getitem`'s backward already does
(with `backend.scatter_add`). A conditional GAN uses it to turn class labels into vectors.
"""
from .. import backend
from ..autograd import Tensor
from ..creation import zeros
from ..ops.shape import getitem
from . import init
from .module import Module
from .parameter import Parameter


def embedding(input, weight):
    """Rows of ``weight`` (num_embeddings, embedding_dim) for integer ``input`` of any shape:
    the result has shape input.shape + (embedding_dim,)."""
    index = input.data if isinstance(input, Tensor) else input
    index = backend.to_device(index, weight.device)  # also accepts lists and host arrays
    if index.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got {index.dtype}")
    if index.size and (int(index.min()) < 0 or int(index.max()) >= weight.shape[0]):
        # Checked here because CuPy would silently wrap an out-of-range index around.
        raise IndexError(f"embedding: indices must lie in [0, {weight.shape[0]}), got values "
                         f"from {int(index.min())} to {int(index.max())}")
    return getitem(weight, index)


class Embedding(Module):
    def __init__(self, num_embeddings, embedding_dim, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(zeros(num_embeddings, embedding_dim, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)  # N(0, 1), PyTorch's default

    def forward(self, input):
        return embedding(input, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
