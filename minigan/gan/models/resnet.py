"""The ResNet generator of CycleGAN (Zhu et al. 2017, after Johnson et al.'s style-transfer
network): downsample twice, transform with residual blocks, upsample twice.

    ReflectionPad(3) - Conv(7) - InstanceNorm - ReLU                    ngf @ S
    Conv(3, stride 2) - InstanceNorm - ReLU                            2ngf @ S/2
    Conv(3, stride 2) - InstanceNorm - ReLU                            4ngf @ S/4
    n_blocks x ResnetBlock:  x + [ReflectionPad(1) - Conv(3) - IN - ReLU
                                  - ReflectionPad(1) - Conv(3) - IN](x)
    ConvTranspose(3, stride 2, output_padding 1) - InstanceNorm - ReLU 2ngf @ S/2
    ConvTranspose(3, stride 2, output_padding 1) - InstanceNorm - ReLU  ngf @ S
    ReflectionPad(3) - Conv(7) - Tanh                                    images in [-1, 1]

Why these pieces: a translation (procedural cat -> photo) changes textures and colours but
keeps the layout, so the blocks learn a *residual* on top of the identity, which is easy to
keep close to "change nothing". Reflection padding mirrors the image at its border instead of
adding a black frame, which would otherwise show as dark edges in the outputs. Instance norm
normalises each image on its own: the style statistics (contrast, colour cast) of one image
do not leak into another through batch statistics. See ``docs/14_image_to_image.md``.
"""
from ...nn import (Module, Sequential, Conv2d, ConvTranspose2d, InstanceNorm2d, ReflectionPad2d,
                   ReLU, Tanh)


class ResnetBlock(Module):
    """x + F(x), F two 3x3 convolutions with reflection padding and instance norm."""

    def __init__(self, channels):
        super().__init__()
        self.body = Sequential(ReflectionPad2d(1), Conv2d(channels, channels, 3, bias=False),
                               InstanceNorm2d(channels), ReLU(),
                               ReflectionPad2d(1), Conv2d(channels, channels, 3, bias=False),
                               InstanceNorm2d(channels))

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(Module):
    """images (N, in_channels, S, S) -> images (N, out_channels, S, S) in [-1, 1], S a
    multiple of 4. The paper uses 6 blocks for 128x128 images and 9 for 256x256."""

    def __init__(self, in_channels=3, out_channels=3, ngf=64, n_blocks=6):
        super().__init__()
        # The convolutions are followed by instance norm, whose mean subtraction cancels any
        # bias: so they have none.
        layers = [ReflectionPad2d(3), Conv2d(in_channels, ngf, 7, bias=False),
                  InstanceNorm2d(ngf), ReLU()]
        for mult in (1, 2):  # ngf -> 2ngf -> 4ngf, halving the size each time
            layers += [Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1, bias=False),
                       InstanceNorm2d(ngf * mult * 2), ReLU()]
        layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for mult in (4, 2):  # 4ngf -> 2ngf -> ngf, doubling the size each time
            layers += [ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1,
                                       bias=False),
                       InstanceNorm2d(ngf * mult // 2), ReLU()]
        layers += [ReflectionPad2d(3), Conv2d(ngf, out_channels, 7), Tanh()]
        self.main = Sequential(*layers)

    def forward(self, x):
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"ResnetGenerator: height and width must be multiples of 4 "
                             f"(two halvings and two doublings), got shape {x.shape}")
        return self.main(x)
