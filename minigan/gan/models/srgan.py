"""SRGAN's generator (Ledig et al. 2017, "SRResNet"): a low-resolution image in, an image
``scale`` times larger out. Its discriminator is the DCGAN one (`DCGANDiscriminator` at the
high resolution): strided convolutions, batch norm, LeakyReLU, one logit per image.

    x (N, 3, h, w) -> conv 9x9, PReLU                       -> (N, nf, h, w)   "skip"
      -> num_blocks x [conv 3x3, BN, PReLU, conv 3x3, BN, + input]   (residual blocks)
      -> conv 3x3, BN, + skip                                          (long skip)
      -> log2(scale) x [conv 3x3 to 4 nf, PixelShuffle(2), PReLU]    -> (N, nf, 4h, 4w) for x4
      -> conv 9x9, Tanh                                     -> (N, 3, scale h, scale w) in [-1, 1]

With ``input_skip=True`` the last conv's output is instead *added* to the bilinearly enlarged
input (no Tanh): G then learns only the detail that smooth enlargement misses, a global
residual as in VDSR (Kim, Lee and Lee 2016), which a short run needs (see the docs page).

Everything runs at the low resolution until the sub-pixel stages: a conv makes 4 nf channels
and `PixelShuffle(2)` rearranges each group of 4 into a 2x2 block of pixels (Shi et al. 2016),
cheaper than a transposed convolution and free of its uneven overlap. The skips carry the
early features past the blocks, so the blocks learn corrections to them. See
docs/15_super_resolution.md.
"""
from ...nn import Module, Sequential, Conv2d, BatchNorm2d, PReLU, PixelShuffle
from ...ops import tanh
from ...ops.resample import interpolate


class ResidualBlock(Module):
    """x + BN(conv(PReLU(BN(conv(x))))): keeps the size and the channels."""

    def __init__(self, channels):
        super().__init__()
        self.body = Sequential(Conv2d(channels, channels, 3, 1, 1), BatchNorm2d(channels),
                               PReLU(channels),
                               Conv2d(channels, channels, 3, 1, 1), BatchNorm2d(channels))

    def forward(self, x):
        return x + self.body(x)


class SRGANGenerator(Module):
    """``scale`` (a power of two) times larger images; ``nf`` feature maps (64 in the paper),
    ``num_blocks`` residual blocks (16 in the paper); ``input_skip``: add the enlarged input."""

    nz = 0  # no noise: G sees only the small image (so GANTrainer's noise batches are empty)

    def __init__(self, scale=4, nf=64, num_blocks=16, channels=3, input_skip=False):
        super().__init__()
        if scale < 2 or scale & (scale - 1):
            raise ValueError(f"SRGANGenerator: scale must be a power of two >= 2, got {scale}")
        self.scale, self.input_skip = scale, input_skip
        self.head = Sequential(Conv2d(channels, nf, 9, 1, 4), PReLU(nf))
        self.blocks = Sequential(*[ResidualBlock(nf) for _ in range(num_blocks)])
        self.merge = Sequential(Conv2d(nf, nf, 3, 1, 1), BatchNorm2d(nf))
        upsampling = []
        for _ in range(scale.bit_length() - 1):  # x2 per stage: 4 -> 2 stages
            upsampling += [Conv2d(nf, 4 * nf, 3, 1, 1), PixelShuffle(2), PReLU(nf)]
        self.upsample = Sequential(*upsampling)
        self.tail = Conv2d(nf, channels, 9, 1, 4)

    def forward(self, x):
        skip = self.head(x)
        h = skip + self.merge(self.blocks(skip))
        out = self.tail(self.upsample(h))
        if self.input_skip:
            return interpolate(x, scale_factor=self.scale, mode="bilinear") + out
        return tanh(out)
