"""The DAGAN pair (Antoniou, Storkey & Edwards 2017): a generator that turns a real image x
and noise z into *another image of x's class*, and a discriminator that judges pairs.

G is an encoder-decoder. The encoder squeezes x to a code at 4x4; a Linear layer projects z
to a few 4x4 channels that are concatenated with it; the decoder upsamples back to the image.
As in the paper's UResNet (simplified here: plain conv stages, not residual ones), each
decoder stage also sees the encoder's feature map of the same size (U-Net skips), so
G can keep what x's class is made of and spend z on what varies within the class.

    encoder: (N, C, S, S) -> ngf@S/2 -> 2ngf@S/4 -> ... -> m*ngf@4      Conv(4, stride 2)
    code:    cat(m*ngf@4, Linear(z) -> nzc@4)
    decoder: ... <- cat(up, skip) at every size ...  -> (N, C, S, S) in [-1, 1] (Tanh)

D never sees an image alone: it sees x beside a second image, concatenated on the channels,
(x, x') for a real x' of the same class, (x, G(x, z)) for a generated one. To fool it G must
produce images that *belong with x*, not merely look like some cat; a G that returned x
itself would be caught too, since real pairs are two different images.

In minigan's argument order DAGAN is a conditional GAN whose condition is an image: G(z, x)
and D(image, x), as `ConditionalDCGANGenerator(z, labels)` and `D(x, labels)`, so
`GANTrainer`'s D and G updates serve it unchanged (`minigan.gan.dagan`).
See ``docs/15_augmentation.md``.
"""
from ...nn import (Module, ModuleList, Sequential, Conv2d, ConvTranspose2d, BatchNorm2d, ReLU,
                   LeakyReLU, Linear, Tanh)
from ...ops import cat, reshape
from .dcgan import DCGANDiscriminator, _stages


class DAGANGenerator(Module):
    """(z (N, nz), x (N, channels, S, S) in [-1, 1]) -> (N, channels, S, S) in [-1, 1], for S
    a power of two >= 8. ``nz_channels``: channels of z's projection at 4x4;
    ``skips=False`` drops the U-Net skips (a plain encoder-decoder)."""

    def __init__(self, nz=32, ngf=32, image_size=32, channels=3, nz_channels=8, skips=True):
        super().__init__()
        depth = _stages(image_size) + 1  # stride-2 convs from image_size down to 4x4
        self.nz, self.nz_channels, self.skips = nz, nz_channels, skips
        widths = [ngf * min(2 ** i, 8) for i in range(depth)]
        downs, width = [], channels
        for i, out in enumerate(widths):
            layers = [Conv2d(width, out, 4, 2, 1, bias=i == 0)]
            if i:  # DCGAN: no batch norm on the first layer
                layers.append(BatchNorm2d(out))
            layers.append(LeakyReLU(0.2))
            downs.append(Sequential(*layers))
            width = out
        self.project = Linear(nz, nz_channels * 16)
        width += nz_channels
        ups = []
        for i in reversed(range(1, depth)):  # 4x4 back up to image_size / 2
            ups.append(Sequential(ConvTranspose2d(width, widths[i - 1], 4, 2, 1, bias=False),
                                  BatchNorm2d(widths[i - 1]), ReLU()))
            width = widths[i - 1] * (2 if skips else 1)
        self.downs, self.ups = ModuleList(downs), ModuleList(ups)
        self.last = Sequential(ConvTranspose2d(width, channels, 4, 2, 1), Tanh())

    def forward(self, z, x):
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()  # the 4x4 code is x itself
        h = cat([x, reshape(self.project(z), (z.shape[0], self.nz_channels, 4, 4))], dim=1)
        for up in self.ups:
            h = up(h)
            skip = skips.pop()
            if self.skips:
                h = cat([h, skip], dim=1)
        return self.last(h)


class DAGANDiscriminator(DCGANDiscriminator):
    """D(image, x) -> logits (N,): a DCGAN discriminator on the pair (x, image) concatenated
    on the channels (2 * channels in), so it judges whether ``image`` belongs with ``x``."""

    def __init__(self, ndf=32, image_size=32, channels=3, spectral_norm=False):
        super().__init__(ndf, image_size, 2 * channels, spectral_norm=spectral_norm)

    def features(self, image, x):
        return self.body(cat([x, image], dim=1))

    def forward(self, image, x):
        return reshape(self.head(self.features(image, x)), (x.shape[0],))
