"""The U-Net generator of Pix2Pix (Isola et al. 2017): an encoder-decoder whose decoder also
sees the encoder's feature map of the same size ("skip connections").

In image-to-image translation the input and the output share their structure: the edges of
a cat sit where the cat's outlines must go. An encoder-decoder alone must squeeze all of it
through a 1x1 bottleneck; the skips hand each decoder stage the matching encoder stage, so
the low-level layout goes straight across and the bottleneck only has to carry what changes.

    down i:  Conv(4, stride 2) - BatchNorm - LeakyReLU(0.2)   halves H and W
             (no batch norm on the first layer, as in DCGAN, nor on the 1x1 innermost one)
    up i:    ConvTranspose(4, stride 2) - BatchNorm - [Dropout(0.5)] - ReLU, then the
             output is concatenated with down i's output along the channels
    last:    ConvTranspose(4, stride 2) - Tanh                  images in [-1, 1]

The downs go all the way to 1x1 (log2(image_size) of them); widths are ngf, 2ngf, 4ngf, 8ngf,
8ngf, ... For image_size = 64 and ngf = 64 (C = channels, N the batch):

    (N, C, 64, 64) -> 64@32 -> 128@16 -> 256@8 -> 512@4 -> 512@2 -> 512@1
                   <- 64+64@32 <- 128+128@16 <- 256+256@8 <- 512+512@4 <- 512+512@2 <-
    -> (N, out_channels, 64, 64)

Dropout, in the three innermost up stages, is Pix2Pix's only source of randomness: the
paper found that noise z added to the input was simply ignored by the generator.
See ``docs/14_image_to_image.md``.
"""
from ...nn import (Module, ModuleList, Sequential, Conv2d, ConvTranspose2d, BatchNorm2d, ReLU,
                   LeakyReLU, Tanh, Dropout)
from ...ops import cat


class UNetGenerator(Module):
    """images (N, in_channels, S, S) -> images (N, out_channels, S, S) in [-1, 1], for S a
    power of two >= 4. ``dropout``: the probability in the three innermost up stages."""

    def __init__(self, in_channels=3, out_channels=3, ngf=64, image_size=64, dropout=0.5):
        super().__init__()
        if image_size < 4 or image_size & (image_size - 1):
            raise ValueError(f"UNetGenerator: image_size must be a power of two >= 4, "
                             f"got {image_size}")
        depth = image_size.bit_length() - 1  # downs from image_size to 1x1
        widths = [ngf * min(2 ** i, 8) for i in range(depth)]
        downs, width = [], in_channels
        for i, out in enumerate(widths):
            outer_or_inner = i == 0 or i == depth - 1
            layers = [Conv2d(width, out, 4, 2, 1, bias=outer_or_inner)]
            if not outer_or_inner:
                layers.append(BatchNorm2d(out))
            layers.append(LeakyReLU(0.2))
            downs.append(Sequential(*layers))
            width = out
        ups = []
        for i in reversed(range(1, depth)):  # from 1x1 back to image_size / 2
            layers = [ConvTranspose2d(width, widths[i - 1], 4, 2, 1, bias=False),
                      BatchNorm2d(widths[i - 1])]
            if len(ups) < 3 and dropout:
                layers.append(Dropout(dropout))
            layers.append(ReLU())
            ups.append(Sequential(*layers))
            width = 2 * widths[i - 1]  # concatenated with the skip
        self.downs, self.ups = ModuleList(downs), ModuleList(ups)
        self.last = Sequential(ConvTranspose2d(width, out_channels, 4, 2, 1), Tanh())

    def forward(self, x):
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()  # the innermost output is x itself
        for up in self.ups:
            x = cat([up(x), skips.pop()], dim=1)
        return self.last(x)
