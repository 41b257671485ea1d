"""The ResNet pair of SNGAN (Miyato et al. 2018, Appendix B, Table 4 "ResNet for CIFAR-10"):
DCGAN's plain stacks of strided convolutions become stacks of *residual blocks*, so each
block learns a correction to an identity path and gradients reach the first layers through
the shortcuts. Shapes for image_size = 32 (Table 4):

    G: z (N, nz) -> Linear -> (N, ngf, 4, 4) -> up-block -> 8x8 -> up-block -> 16x16
       -> up-block -> (N, ngf, 32, 32) -> BN, ReLU, conv3x3, Tanh -> (N, channels, 32, 32)
    D: (N, channels, 32, 32) -> first down-block -> 16x16 -> down-block -> (N, ndf, 8, 8)
       -> two blocks at 8x8 -> ReLU, sum over positions -> (N, ndf) -> Linear -> logits (N,)

The blocks (Miyato et al. 2018, Appendix B; He et al. 2016's pre-activation order):

    G block:  y = conv3x3(ReLU(BN(conv3x3(up(ReLU(BN(x))))))) + conv1x1(up(x))
    D block:  y = pool(conv3x3(ReLU(conv3x3(ReLU(x))))) + pool(conv1x1(x))

``up`` is nearest-neighbour 2x upsampling and ``pool`` 2x2 average pooling. D's first block
skips the leading ReLU (its input is an image, not an activation) and pools the shortcut
*before* its 1x1 conv (the same result, four times cheaper). SNGAN spectrally normalises every
layer of D (``spectral_norm=True``, the default); G keeps batch norm. Widths here are one
number per net (SNGAN: 256 in G, 128 in D), all blocks the same width.

Like `DCGANDiscriminator`, D returns raw logits (N,) and has ``features(x)`` (the pooled
features before the last Linear). See ``docs/12_architectures.md``. (CycleGAN's
image-to-image ResNet generator is another family: resnet.py.)
"""
from ...nn import (Module, Sequential, Conv2d, Linear, BatchNorm2d, ReLU, Tanh,
                   Upsample, AvgPool2d, Identity)
from ...ops import reshape, relu, sum
from ..spectral_norm import spectral_norm as _spectral_norm


def _levels(image_size):
    """log2(image_size): the number of 2x steps from 1x1 (8 -> 3, 32 -> 5, 64 -> 6)."""
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(f"ResNet GAN: image_size must be a power of two >= 8, got {image_size}")
    return image_size.bit_length() - 1


def _sn_or_not(spectral_norm):
    return _spectral_norm if spectral_norm else (lambda layer: layer)


class GeneratorBlock(Module):
    """BN, ReLU, 2x nearest upsampling, conv3x3, BN, ReLU, conv3x3; plus the upsampled input
    through a 1x1 conv (the shortcut must change the width when the block does)."""

    def __init__(self, in_channels, out_channels, sn=lambda layer: layer):
        super().__init__()
        self.residual = Sequential(
            BatchNorm2d(in_channels), ReLU(), Upsample(scale_factor=2),
            sn(Conv2d(in_channels, out_channels, 3, 1, 1)),
            BatchNorm2d(out_channels), ReLU(),
            sn(Conv2d(out_channels, out_channels, 3, 1, 1)))
        self.shortcut = Sequential(Upsample(scale_factor=2),
                                   sn(Conv2d(in_channels, out_channels, 1, 1, 0)))

    def forward(self, x):
        return self.residual(x) + self.shortcut(x)


class DiscriminatorBlock(Module):
    """ReLU, conv3x3, ReLU, conv3x3, then 2x2 average pooling (if ``downsample``); the
    shortcut is a 1x1 conv (only when the width changes or the block pools) and the same
    pooling. ``first=True``: the block that reads the image (no leading ReLU, shortcut pooled
    before its conv)."""

    def __init__(self, in_channels, out_channels, downsample=True, first=False,
                 sn=lambda layer: layer):
        super().__init__()
        pool = AvgPool2d(2) if downsample else Identity()
        self.residual = Sequential(
            Identity() if first else ReLU(),
            sn(Conv2d(in_channels, out_channels, 3, 1, 1)), ReLU(),
            sn(Conv2d(out_channels, out_channels, 3, 1, 1)), pool)
        if first:
            self.shortcut = Sequential(pool, sn(Conv2d(in_channels, out_channels, 1, 1, 0)))
        elif downsample or in_channels != out_channels:
            self.shortcut = Sequential(sn(Conv2d(in_channels, out_channels, 1, 1, 0)), pool)
        else:
            self.shortcut = Identity()

    def forward(self, x):
        return self.residual(x) + self.shortcut(x)


class SNGANGenerator(Module):
    """z (N, nz) -> images (N, channels, image_size, image_size) in [-1, 1].

    ``attention``: a factory ``channels -> Module`` placed after the block that reaches
    ``attention_resolution``, or after the last block for smaller images (SAGAN, sagan.py).
    ``spectral_norm``: on every conv and linear layer of G too (SAGAN does this, SNGAN does
    not)."""

    def __init__(self, nz=128, ngf=256, image_size=32, channels=3, spectral_norm=False,
                 attention=None, attention_resolution=16):
        super().__init__()
        sn = _sn_or_not(spectral_norm)
        self.nz, self.ngf, self.image_size = nz, ngf, image_size
        self.linear = sn(Linear(nz, ngf * 4 * 4))  # z -> a 4x4 map (Table 4's first row)
        blocks, size = [], 4
        for _ in range(_levels(image_size) - 2):  # 4 -> 8 -> ... -> image_size
            blocks.append(GeneratorBlock(ngf, ngf, sn))
            size *= 2
            if attention is not None and size == min(attention_resolution, image_size):
                blocks.append(attention(ngf))
        self.blocks = Sequential(*blocks)
        self.output = Sequential(BatchNorm2d(ngf), ReLU(), sn(Conv2d(ngf, channels, 3, 1, 1)),
                                 Tanh())

    def forward(self, z):
        h = reshape(self.linear(reshape(z, (z.shape[0], self.nz))), (z.shape[0], self.ngf, 4, 4))
        return self.output(self.blocks(h))


def discriminator_blocks(ndf, image_size, channels, sn, attention=None, attention_resolution=16):
    """D's body as a list: down-blocks to 8x8, then two blocks at 8x8 (Table 4); an
    ``attention`` block after the first block whose output is ``attention_resolution`` or
    smaller. Shared with BigGAN's discriminator (biggan.py)."""
    downs = _levels(image_size) - 3  # image_size -> 8x8 (32: two down-blocks)
    blocks, size = [], image_size
    for i in range(downs + 2):
        blocks.append(DiscriminatorBlock(channels if i == 0 else ndf, ndf, downsample=i < downs,
                                         first=i == 0, sn=sn))
        size //= 2 if i < downs else 1
        if attention is not None and size <= attention_resolution:
            blocks.append(attention(ndf))
            attention = None  # once
    return blocks


class SNGANDiscriminator(Module):
    """images (N, channels, image_size, image_size) -> logits (N,): `discriminator_blocks`,
    ReLU, a sum over positions and a Linear. ``attention``: see `discriminator_blocks`."""

    def __init__(self, ndf=128, image_size=32, channels=3, spectral_norm=True, attention=None,
                 attention_resolution=16):
        super().__init__()
        sn = _sn_or_not(spectral_norm)
        self.blocks = Sequential(*discriminator_blocks(ndf, image_size, channels, sn, attention,
                                                       attention_resolution))
        self.linear = sn(Linear(ndf, 1))

    def features(self, x):
        """(N, ndf): ReLU, then the *sum* over positions (SNGAN's global sum pooling)."""
        return sum(relu(self.blocks(x)), dim=(2, 3))

    def forward(self, x):
        return reshape(self.linear(self.features(x)), (x.shape[0],))
