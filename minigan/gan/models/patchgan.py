"""The PatchGAN discriminator of Pix2Pix and CycleGAN: a map of logits, one per image patch.

Instead of one real/fake verdict per image, the last layers are convolutions with stride 1,
so the output is a grid of logits, each judging only the patch of the input it can see (its
*receptive field*). The losses average over the grid. Why: the L1 loss of Pix2Pix already
gets the low frequencies right (the layout, the average colour); what it blurs is the local
texture, and texture is a property of patches. A patch D has fewer parameters, runs on any
image size, and treats the image as a texture of independent patches (a Markov random field).

    Conv(4, stride 2) - LeakyReLU(0.2)                          no norm on the first layer
    n_layers - 1 times:  Conv(4, stride 2) - Norm - LeakyReLU(0.2)
    Conv(4, stride 1) - Norm - LeakyReLU(0.2)
    Conv(4, stride 1) -> 1 channel of logits

Receptive field, from the output back (r_in = (r_out - 1) * stride + 4, starting at 1):

    n_layers   receptive field   logits for 32x32 / 64x64 / 256x256 inputs
       1           16 x 16          14x14 / 30x30 / 126x126
       2           34 x 34           6x6  / 14x14 /  62x62
       3           70 x 70           2x2  /  6x6  /  30x30   (the paper's "70x70" D)

The paper's 70-pixel patches are about a quarter of its 256-pixel images; scaled to cat
faces, ``n_layers=1`` (16 pixels, half of a 32x32 image) and ``n_layers=2`` (34 pixels,
about half of a 64x64 one) are the examples' choices (`patch_layers_for`).

For Pix2Pix the discriminator is conditional: it sees the input image and the (real or
generated) output concatenated on the channels, ``D(output, condition)``, so it judges
whether the output is a plausible translation *of this input*. See
``docs/14_image_to_image.md``.
"""
from ...nn import Module, Sequential, Conv2d, BatchNorm2d, InstanceNorm2d, LeakyReLU
from ...ops import cat


def receptive_field(n_layers):
    """The side, in input pixels, of the patch each logit of a PatchGAN sees."""
    r = 1
    for stride in [1, 1] + [2] * n_layers:  # from the output back to the input
        r = (r - 1) * stride + 4
    return r


def patch_layers_for(image_size):
    """The examples' n_layers: patches about half the image's side (1 for 32, 2 for 64)."""
    return max(1, min(3, (image_size // 32).bit_length()))


class PatchGANDiscriminator(Module):
    """(N, in_channels, H, W) [+ condition (N, condition_channels, H, W)] -> logits
    (N, 1, H', W'). ``norm``: "batch" (Pix2Pix) or "instance" (CycleGAN). The receptive
    field is ``self.receptive_field`` pixels (see the module docstring)."""

    def __init__(self, in_channels=3, ndf=64, n_layers=3, norm="batch", condition_channels=0):
        super().__init__()
        if norm not in ("batch", "instance"):
            raise ValueError(f"PatchGANDiscriminator: norm must be 'batch' or 'instance', "
                             f"got {norm!r}")
        if n_layers < 1:
            raise ValueError(f"PatchGANDiscriminator: n_layers must be at least 1, got {n_layers}")
        Norm = BatchNorm2d if norm == "batch" else InstanceNorm2d
        self.condition_channels = condition_channels
        self.receptive_field = receptive_field(n_layers)
        width = ndf
        layers = [Conv2d(in_channels + condition_channels, ndf, 4, 2, 1), LeakyReLU(0.2)]
        for i in range(1, n_layers + 1):  # the last of these has stride 1
            out = ndf * min(2 ** i, 8)
            # batch norm has its own shift: no conv bias (instance norm without affine: same)
            layers += [Conv2d(width, out, 4, 2 if i < n_layers else 1, 1, bias=False),
                       Norm(out), LeakyReLU(0.2)]
            width = out
        layers.append(Conv2d(width, 1, 4, 1, 1))
        self.main = Sequential(*layers)

    def forward(self, x, condition=None):
        if (condition is None) != (self.condition_channels == 0):
            raise ValueError(f"PatchGANDiscriminator: built with condition_channels="
                             f"{self.condition_channels}, so a condition must "
                             f"{'' if self.condition_channels else 'not '}be given")
        if condition is not None:
            x = cat([condition, x], dim=1)
        return self.main(x)
