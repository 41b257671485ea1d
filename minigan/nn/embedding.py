"""`Embedding`: a lookup table, row ``i`` of ``weight`` for index ``i``.

The lookup is indexing (``weight[indices]``). Its gradient scatters the upstream rows back
into a zero table and *adds* where an index repeats, which `getitem`'s backward already does
(with `backend.scatter_add`). A conditional GAN uses it to turn class labels into vectors.
"""
from .. import backend
from ..autograd import Tensor
from ..creation import zeros
from ..ops.activation import where
from ..ops.shape import getitem
from . import init
from .module import Module
from .parameter import Parameter


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, embedding_dim) for integer ``input`` of any shape:
    the result has shape input.shape + (embedding_dim,). The row ``padding_idx`` gets no
    gradient (its entries are read but never trained), as in PyTorch."""
    _refuse_unsupported("embedding", max_norm, scale_grad_by_freq, sparse)
    with backend.device_context(weight.device):  # raw index arrays: on the weight's device
        index = input.data if isinstance(input, Tensor) else input
        index = backend.to_device(index, weight.device)  # also accepts lists and host arrays
        if index.dtype.kind not in "iu":
            raise TypeError(f"embedding: indices must be integers, got {index.dtype}")
        if index.size and bool(((index < 0) | (index >= weight.shape[0])).any()):
            # Checked here because CuPy would silently wrap an out-of-range index around
            # (one sync per call on a GPU; min and max are read only to word the error).
            raise IndexError(f"embedding: indices must lie in [0, {weight.shape[0]}), got "
                             f"values from {int(index.min())} to {int(index.max())}")
        if padding_idx is None:
            return getitem(weight, index)
        padding_idx = _check_padding_idx(padding_idx, weight.shape[0])
        # Rows read at padding_idx come from a detached copy: their gradient stops there.
        mask = (index != padding_idx).reshape(index.shape + (1,))
        return where(mask, getitem(weight, index), getitem(weight.detach(), index))


def _check_padding_idx(padding_idx, num_embeddings):
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"Embedding: padding_idx must be within [-{num_embeddings}, "
                         f"{num_embeddings}), got {padding_idx}")
    return padding_idx % num_embeddings


def _refuse_unsupported(op, max_norm, scale_grad_by_freq, sparse):
    """PyTorch options minigan lacks: a clear error instead of a silently different layer."""
    for name, value, default in (("max_norm", max_norm, None),
                                 ("scale_grad_by_freq", scale_grad_by_freq, False),
                                 ("sparse", sparse, False)):
        if value != default:
            raise NotImplementedError(f"{op}: {name}={value!r} is not supported by minigan "
                                      f"(leave it at {default!r})")


class Embedding(Module):
    """PyTorch's signature, positional order included. ``_weight`` starts from a given
    table; ``_freeze=True`` makes it a constant."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, *, device=None, dtype=None):
        super().__init__()
        _refuse_unsupported("Embedding", max_norm, scale_grad_by_freq, sparse)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else \
            _check_padding_idx(padding_idx, num_embeddings)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(zeros(num_embeddings, embedding_dim, device=device,
                                          dtype=dtype), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {tuple(_weight.shape)}, expected "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)  # N(0, 1), PyTorch's default
        if self.padding_idx is not None:  # the padding row starts at zero, as in PyTorch
            with backend.device_context(self.weight.device):
                self.weight.data[self.padding_idx] = 0

    def forward(self, input):
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"
