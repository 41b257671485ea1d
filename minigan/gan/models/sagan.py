"""Self-Attention GAN (Zhang et al. 2019): a convolution sees a 3x3 neighbourhood, so a
generator that must draw two matching eyes relates them only through many layers. A
*self-attention* block lets every position look at every other one in a single layer.

`SelfAttention2d` (Zhang et al. 2019, Fig. 2 and Eq. 1-3), for x of shape (N, C, H, W) with
P = H * W positions, each a C-vector x_i:

    q_i = W_q x_i,  k_j = W_k x_j  (C/8 each),   v_j = W_v x_j  (C/2)     1x1 convolutions
    beta_ij = softmax_j(q_i . k_j)                 how much position i attends to position j
    o_i = W_o sum_j beta_ij v_j                    (W_o: a 1x1 conv from C/2 back to C)
    y_i = gamma * o_i + x_i                        gamma is learned and starts at 0

Starting at gamma = 0 makes the block an identity at first: the network learns the local
convolutional cues, then lets gamma grow to use distant ones. The C/2 value width and the
output conv W_o follow the official code (the paper's Eq. 2 after its revision);
``pool=True`` also max-pools keys and values 2x2, as that code does (four times fewer
positions to attend to). The attention itself is `F.scaled_dot_product_attention` with
scale 1 (SAGAN does not divide by sqrt(d)): matrix products and a softmax, whose gradients
of any order minigan already has.

SAGAN's training recipe, all in the pair below and examples/archs/sagan.py: ResNet bodies
(sngan.py) with the attention block at 16x16 in both nets, spectral norm in G *and* D, the
hinge loss, and two time scales: Adam(lr_G = 1e-4, lr_D = 4e-4, betas = (0, 0.9))
(Heusel et al. 2017's TTUR). See ``docs/12_architectures.md``.
"""
import functools

from ...creation import zeros
from ...nn import Module, Conv2d, MaxPool2d, Parameter
from ...nn.functional import scaled_dot_product_attention
from ...ops import reshape, permute
from .sngan import SNGANGenerator, SNGANDiscriminator
from ..spectral_norm import spectral_norm as _spectral_norm


class SelfAttention2d(Module):
    """(N, C, H, W) -> (N, C, H, W): gamma * attention output + x (see the module docstring).

    ``pool``: max-pool keys and values 2x2 (H and W must then be even).
    ``spectral_norm``: normalise the four 1x1 convolutions (SAGAN does)."""

    def __init__(self, channels, pool=False, spectral_norm=False):
        super().__init__()
        sn = _spectral_norm if spectral_norm else (lambda layer: layer)
        inner, value = max(1, channels // 8), max(1, channels // 2)
        self.query = sn(Conv2d(channels, inner, 1, bias=False))
        self.key = sn(Conv2d(channels, inner, 1, bias=False))
        self.value = sn(Conv2d(channels, value, 1, bias=False))
        self.out = sn(Conv2d(value, channels, 1, bias=False))
        self.pool = MaxPool2d(2) if pool else None
        self.gamma = Parameter(zeros(1))

    @staticmethod
    def _positions(x):
        """(N, C, H, W) -> (N, H*W, C): one row per position."""
        return permute(reshape(x, (x.shape[0], x.shape[1], -1)), 0, 2, 1)

    def forward(self, x):
        N, C, H, W = x.shape
        k, v = self.key(x), self.value(x)
        if self.pool is not None:
            k, v = self.pool(k), self.pool(v)
        o = scaled_dot_product_attention(self._positions(self.query(x)), self._positions(k),
                                         self._positions(v), scale=1.0)  # (N, H*W, C/2)
        o = reshape(permute(o, 0, 2, 1), (N, o.shape[2], H, W))
        return self.gamma * self.out(o) + x

    def extra_repr(self):
        return f"pool={self.pool is not None}"


def _attention(spectral_norm, pool):
    return functools.partial(SelfAttention2d, pool=pool, spectral_norm=spectral_norm)


class SAGANGenerator(SNGANGenerator):
    """The ResNet generator with spectral norm and a `SelfAttention2d` at 16x16."""

    def __init__(self, nz=128, ngf=64, image_size=32, channels=3, attention_resolution=16,
                 pool=False, spectral_norm=True):
        super().__init__(nz, ngf, image_size, channels, spectral_norm=spectral_norm,
                         attention=_attention(spectral_norm, pool),
                         attention_resolution=attention_resolution)


class SAGANDiscriminator(SNGANDiscriminator):
    """The ResNet discriminator with spectral norm and a `SelfAttention2d` at 16x16."""

    def __init__(self, ndf=64, image_size=32, channels=3, attention_resolution=16, pool=False,
                 spectral_norm=True):
        super().__init__(ndf, image_size, channels, spectral_norm=spectral_norm,
                         attention=_attention(spectral_norm, pool),
                         attention_resolution=attention_resolution)
