"""PacGAN (Lin, Khetan, Fanti & Oh 2018): D judges m samples at once.

Packing concatenates m samples from the same source (all real or all generated) into one
input of D (Lin et al. 2018): a (N, C, ...) batch becomes (N/m, m C, ...), samples
i m .. i m + m - 1 side by side along the channel (or feature) axis. A D that sees m samples
together can tell that a collapsed G's samples look alike, so mode collapse is penalised;
the paper shows packing turns the divergence between "m-fold product" distributions into a
much larger one when modes are missing. The paper's D is the original one with m times as
many input channels and the rest unchanged (``PackedDiscriminator`` wraps such a D); m = 2
to 4 is typical. See ``docs/08_gan_objectives.md``.
"""
from ..nn import Module
from ..ops import reshape


def pack(x, m):
    """(N, C, ...) -> (N / m, m C, ...): groups of m consecutive samples along dim 1.
    In memory the m samples of a group are already adjacent, so it is a reshape."""
    if m < 1 or x.shape[0] % m:
        raise ValueError(f"pack: the batch of {x.shape[0]} samples must split into groups of "
                         f"m = {m} (m >= 1 dividing the batch size)")
    if x.ndim < 2:
        raise ValueError(f"pack: needs (N, C, ...) samples, got shape {x.shape}")
    return reshape(x, (x.shape[0] // m, m * x.shape[1]) + tuple(x.shape[2:]))


class PackedDiscriminator(Module):
    """D(pack(x, m)): ``discriminator`` must take m times the channels/features of one
    sample; it returns one score per pack, (N / m,). ``features`` packs too."""

    def __init__(self, discriminator, m=2):
        super().__init__()
        self.discriminator, self.m = discriminator, m

    def features(self, x):
        return self.discriminator.features(pack(x, self.m))

    def forward(self, x):
        return self.discriminator(pack(x, self.m))
