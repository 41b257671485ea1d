"""Attention: each query position takes a weighted average of the values, weighted by how
well the query matches each key. Shape letters: N batch, H heads, L query length, S key/value
length, E embedding size, D = E / H the size of one head.

    scores  = q k^T * scale + mask          (..., L, S)   one matrix product
    weights = softmax(scores) over S        (..., L, S)   each row sums to 1
    output  = weights v                     (..., L, Ev)  another matrix product

Nothing here needs its own backward: it is `matmul` (whose gradients are matrix products
again) and `softmax` (minigan/ops/softmax.py), both differentiable to any order. The
derivation is in ``docs/10_nn_and_optim.md``.
"""
import math

from .. import backend
from ..autograd import Tensor
from ..creation import zeros
from ..ops.linalg import matmul, linear
from ..ops.reduce import sum
from ..ops.softmax import softmax
from ..ops.shape import transpose, reshape, permute
from . import init
from .dropout import dropout
from .linear import Linear
from .module import Module
from .parameter import Parameter


def _additive_mask(mask, like, masked_value):
    """A boolean mask becomes 0 / -inf (-inf where ``mask == masked_value``); a float mask
    is returned as it is (a Tensor, so it may even carry gradients)."""
    if not isinstance(mask, Tensor):
        mask = Tensor(mask, device=like.device)
    if mask.dtype != bool:
        return mask
    xp = backend.get_array_module(like.data)
    with backend.device_context(like.device):
        blocked = mask.data == masked_value
        return Tensor(xp.where(blocked, -xp.inf, 0.0).astype(like.dtype))


def _attention(query, key, value, mask, dropout_p, scale):
    """(softmax(q k^T * scale + mask) v, the weights). ``mask`` is additive or None."""
    scores = matmul(query, transpose(key)) * scale
    if mask is not None:
        scores = scores + mask
    weights = softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value), weights


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None):
    """PyTorch's ``F.scaled_dot_product_attention``: query (..., L, E), key (..., S, E),
    value (..., S, Ev) -> (..., L, Ev). ``attn_mask`` broadcasts to (..., L, S): boolean
    True means "may attend", a float mask is added to the scores. ``is_causal`` lets
    position i attend to positions j <= i. ``scale`` defaults to 1 / sqrt(E). Dropout
    (on the weights) is applied whenever ``dropout_p > 0``, as in PyTorch: pass
    ``dropout_p=0.0`` in eval mode. A row with every key masked gives NaN, as in PyTorch."""
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
        xp = backend.get_array_module(query.data)
        with backend.device_context(query.device):
            attn_mask = Tensor(xp.tril(xp.ones((L, S), dtype=bool)))
    mask = None if attn_mask is None else _additive_mask(attn_mask, query, masked_value=False)
    return _attention(query, key, value, mask, dropout_p, scale)[0]


class MultiheadAttention(Module):
    """PyTorch's ``nn.MultiheadAttention``: H heads of size D = E / H, each attending with
    its own slice of the projections; the heads' outputs are joined and projected again.

    Parameters as PyTorch names them (so state dicts load both ways): ``in_proj_weight``
    (3E, E) holding W_q, W_k, W_v stacked, ``in_proj_bias`` (3E,), and ``out_proj`` (a
    Linear(E, E)). Inputs are (L, N, E), or (N, L, E) with ``batch_first``, or unbatched
    (L, E). Masks follow PyTorch's MultiheadAttention convention, the *opposite* of
    ``scaled_dot_product_attention``'s: a boolean True means "masked out"."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        kdim = embed_dim if kdim is None else kdim
        vdim = embed_dim if vdim is None else vdim
        if add_bias_kv or add_zero_attn or kdim != embed_dim or vdim != embed_dim:
            raise NotImplementedError("MultiheadAttention: add_bias_kv, add_zero_attn and "
                                      "kdim/vdim different from embed_dim are not implemented "
                                      "in minigan")
        self.embed_dim, self.kdim, self.vdim = embed_dim, kdim, vdim
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.add_zero_attn, self.bias_k, self.bias_v = False, None, None
        self.in_proj_weight = Parameter(zeros(3 * embed_dim, embed_dim, device=device, dtype=dtype))
        if bias:
            self.in_proj_bias = Parameter(zeros(3 * embed_dim, device=device, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self):
        """PyTorch's init: xavier_uniform_ for the input projections, zero biases; the output
        projection keeps Linear's default weight."""
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _heads(self, x, part):
        """Project x (N, T, E) with the ``part``-th third of the input projection and split
        it into heads: (N, H, T, D)."""
        E = self.embed_dim
        w = self.in_proj_weight[part * E:(part + 1) * E]
        b = None if self.in_proj_bias is None else self.in_proj_bias[part * E:(part + 1) * E]
        N, T = x.shape[:2]
        return permute(reshape(linear(x, w, b), (N, T, self.num_heads, self.head_dim)), 0, 2, 1, 3)

    def _mask(self, attn_mask, key_padding_mask, like, N, L, S):
        """One additive mask broadcasting to (N, H, L, S), or None."""
        mask = None
        if attn_mask is not None:
            mask = _additive_mask(attn_mask, like, masked_value=True)
            if mask.ndim == 3:  # (N * H, L, S): one mask per batch element and head
                mask = reshape(mask, (N, self.num_heads, L, S))
        if key_padding_mask is not None:  # (N, S): True marks padding keys
            padding = reshape(_additive_mask(key_padding_mask, like, masked_value=True), (N, 1, 1, S))
            mask = padding if mask is None else mask + padding
        return mask

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """Returns (attn_output, attn_weights): the output is shaped like ``query``; the
        weights are (N, L, S) averaged over heads, (N, H, L, S) with
        ``average_attn_weights=False``, or None with ``need_weights=False``. ``is_causal`` is
        only a hint, as in PyTorch: the causal ``attn_mask`` must still be given."""
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask` "
                               "to create this mask.")
        batched = query.ndim == 3
        if not batched:  # (L, E): a batch of one
            query, key, value = (reshape(t, (1,) + t.shape) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = reshape(key_padding_mask, (1,) + key_padding_mask.shape)
        elif not self.batch_first:  # (L, N, E) -> (N, L, E)
            query, key, value = (transpose(t, 0, 1) for t in (query, key, value))
        N, L, S = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = self._heads(query, 0), self._heads(key, 1), self._heads(value, 2)
        mask = self._mask(attn_mask, key_padding_mask, q, N, L, S)
        dropout_p = self.dropout if self.training else 0.0
        out, weights = _attention(q, k, v, mask, dropout_p, 1.0 / math.sqrt(self.head_dim))
        out = self.out_proj(reshape(permute(out, 0, 2, 1, 3), (N, L, self.embed_dim)))
        if not batched:
            out = reshape(out, out.shape[1:])
        elif not self.batch_first:
            out = transpose(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = sum(weights, dim=1) / float(self.num_heads)
        return out, weights if batched else reshape(weights, weights.shape[1:])
