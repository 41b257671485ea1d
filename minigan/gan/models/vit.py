"""A small Vision Transformer discriminator (Dosovitskiy et al. 2021, Eq. 1-4), with the
options ViTGAN (Lee et al. 2022) adds to keep such a D Lipschitz. It pairs with a conv G
(the DCGAN or ResNet generator): only D changes.

A convolution mixes a pixel with its neighbours; a transformer mixes every patch with every
other one from the first layer on. For an image (N, C, H, W) and patches of P x P pixels:

    tokens  = PatchEmbed(x)                      (N, T, E): a P x P conv with stride P,
                                                 T = (H / P) * (W / P) patches  (Eq. 1)
    h_0     = [cls; tokens] + pos                learned position embeddings     (Eq. 1)
    h'_l    = h_{l-1} + MSA(LN(h_{l-1}))         pre-norm attention block        (Eq. 2)
    h_l     = h'_l + MLP(LN(h'_l))               MLP: Linear, GELU, Linear       (Eq. 3)
    logit   = Linear(LN(h_L[cls]))               or the mean over the tokens     (Eq. 4)

ViTGAN's options, built here (``spectral_norm``, ``l2_attention``, ``overlap``):

- dot-product attention is not Lipschitz (Kim et al. 2021), which a GAN discriminator needs
  to be; *L2 attention* scores a query against a key by minus their squared distance, with
  tied query and key projections (W_q = W_k):

      scores_ij = -||q_i - k_j||^2 / sqrt(D) = (2 q_i . k_j - ||q_i||^2 - ||k_j||^2) / sqrt(D)

  (`L2MultiheadAttention`; composed of matrix products and a softmax, so no new op.)
- spectral norm on every linear layer (the attention's projections, the MLP, the patch
  embedding and the head). ViTGAN's *improved* spectral norm also multiplies each weight by its
  spectral norm at initialisation; that rescaling is not built here.
- overlapping patches (Sec. 4.2): the patch embedding reads ``overlap`` pixels of each
  neighbouring patch too (a (P + 2o) x (P + 2o) conv, stride P, padding o).

``pos_std`` is the scale the position embeddings start at (ViT's 0.02 by default). A D that
barely knows where a patch is judges a bag of patches, and a G can fool it with one good patch
tiled everywhere; ``examples/archs/vit_d.py`` starts them at 1.

Dot-product attention is `nn.MultiheadAttention` (batch_first=True). See
``docs/12_architectures.md``.
"""
import math

from ...creation import zeros
from ...nn import Module, ModuleList, Sequential, Conv2d, Linear, LayerNorm, GELU, \
    MultiheadAttention, Parameter, init
from ...ops import reshape, permute, transpose, concat, broadcast_to, getitem, mean, matmul, \
    softmax, sum
from ..spectral_norm import spectral_norm as _spectral_norm


class L2MultiheadAttention(Module):
    """Self-attention (N, T, E) -> (N, T, E) with L2-distance scores and tied query/key
    projections (ViTGAN Sec. 4.1), H heads of size D = E / H."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads
        self.qk = Linear(embed_dim, embed_dim)  # W_q = W_k
        self.v = Linear(embed_dim, embed_dim)
        self.out_proj = Linear(embed_dim, embed_dim)

    def _heads(self, x):
        N, T, E = x.shape
        return permute(reshape(x, (N, T, self.num_heads, self.head_dim)), 0, 2, 1, 3)

    def forward(self, x):
        N, T, E = x.shape
        q, v = self._heads(self.qk(x)), self._heads(self.v(x))  # (N, H, T, D); k = q
        squared = sum(q * q, dim=-1, keepdim=True)              # ||q_i||^2, (N, H, T, 1)
        distance = squared - 2.0 * matmul(q, transpose(q, -1, -2)) + transpose(squared, -1, -2)
        weights = softmax(distance * (-1.0 / math.sqrt(self.head_dim)), dim=-1)
        out = permute(matmul(weights, v), 0, 2, 1, 3)           # (N, T, H, D)
        return self.out_proj(reshape(out, (N, T, E)))


class TransformerBlock(Module):
    """Pre-norm block: x + MSA(LN(x)), then + MLP(LN(x)) with a GELU MLP of width
    ``mlp_ratio * dim`` (ViT Eq. 2-3)."""

    def __init__(self, dim, num_heads, mlp_ratio=2, l2_attention=False, spectral_norm=False):
        super().__init__()
        sn = _spectral_norm if spectral_norm else (lambda layer, name="weight": layer)
        self.norm1 = LayerNorm(dim)
        if l2_attention:
            self.attn = L2MultiheadAttention(dim, num_heads)
            for layer in (self.attn.qk, self.attn.v, self.attn.out_proj):
                sn(layer)
        else:
            self.attn = sn(MultiheadAttention(dim, num_heads, batch_first=True),
                           name="in_proj_weight")  # W_q, W_k, W_v stacked: one matrix
            sn(self.attn.out_proj)
        self.norm2 = LayerNorm(dim)
        # GELU's tanh formula: within 1e-3 of the exact one, and several times cheaper than
        # minigan's float64-accurate erf series (most of a CPU step went there).
        self.mlp = Sequential(sn(Linear(dim, mlp_ratio * dim)), GELU(approximate="tanh"),
                              sn(Linear(mlp_ratio * dim, dim)))

    def _attend(self, h):
        if isinstance(self.attn, L2MultiheadAttention):
            return self.attn(h)
        return self.attn(h, h, h, need_weights=False)[0]

    def forward(self, x):
        x = x + self._attend(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViTDiscriminator(Module):
    """images (N, channels, image_size, image_size) -> logits (N,).

    ``patch_size`` must divide ``image_size``; ``pool``: "cls" (a learned class token read
    out at the end) or "mean" (the mean of the patch tokens); ``overlap`` and ``pos_std``:
    see the module's docstring. ``features(x)`` gives the pooled, normalised token (N, dim)."""

    def __init__(self, image_size=32, patch_size=4, dim=64, depth=4, num_heads=4, mlp_ratio=2,
                 channels=3, pool="cls", l2_attention=False, spectral_norm=False, overlap=0,
                 pos_std=0.02):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"ViTDiscriminator: patch_size {patch_size} does not divide "
                             f"image_size {image_size}")
        if pool not in ("cls", "mean"):
            raise ValueError(f"ViTDiscriminator: pool must be 'cls' or 'mean', got {pool!r}")
        sn = _spectral_norm if spectral_norm else (lambda layer: layer)
        self.dim, self.pool = dim, pool
        tokens = (image_size // patch_size) ** 2
        # Overlapping patches (ViTGAN Sec. 4.2): each token sees its P x P patch plus
        # ``overlap`` pixels of its neighbours on every side, so D is not tied to the patch
        # grid (a G can otherwise fool it with one patch tiled everywhere); T stays the same.
        self.patch_embed = sn(Conv2d(channels, dim, patch_size + 2 * overlap, patch_size,
                                     padding=overlap))
        if pool == "cls":
            self.cls_token = Parameter(zeros(1, 1, dim))
            init.normal_(self.cls_token, 0.0, 0.02)
            tokens += 1
        self.pos_embed = Parameter(zeros(1, tokens, dim))
        init.normal_(self.pos_embed, 0.0, pos_std)
        self.blocks = ModuleList([TransformerBlock(dim, num_heads, mlp_ratio, l2_attention,
                                                   spectral_norm) for _ in range(depth)])
        self.norm = LayerNorm(dim)
        self.head = sn(Linear(dim, 1))

    def features(self, x):
        N = x.shape[0]
        h = permute(reshape(self.patch_embed(x), (N, self.dim, -1)), 0, 2, 1)  # (N, T, E)
        if self.pool == "cls":
            h = concat([broadcast_to(self.cls_token, (N, 1, self.dim)), h], dim=1)
        h = h + self.pos_embed
        for block in self.blocks:
            h = block(h)
        h = self.norm(h)
        return getitem(h, (slice(None), 0)) if self.pool == "cls" else mean(h, dim=1)

    def forward(self, x):
        return reshape(self.head(self.features(x)), (x.shape[0],))
