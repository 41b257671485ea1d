"""The DCGAN pair for images (the MLP pair for the 2-D toy data is in mlp.py).

Every discriminator returns raw *logits* of shape (N,) (no sigmoid: the objectives in
`minigan.gan.objectives` take logits) and has a ``features(x)`` method giving the activations
before its last layer, which feature matching compares. With ``out_features=F > 1`` its head
gives F numbers per example instead, (N, F): the critic features f(x) that MMD-GAN's kernel
compares (Li et al. 2017 use F = nz).

DCGAN (Radford et al. 2016) rules, all visible below: strided (transposed) convolutions
instead of pooling; batch norm in both nets except D's first layer (and G's output); ReLU
in G with a Tanh output in [-1, 1]; LeakyReLU(0.2) in D; weights from N(0, 0.02)
(`dcgan_init`). Shapes, for image_size = 64:

    G: z (N, nz) -> (N, 8ngf, 4, 4) -> (N, 4ngf, 8, 8) -> (N, 2ngf, 16, 16) -> (N, ngf, 32, 32)
       -> (N, channels, 64, 64)
    D: the mirror image, (N, channels, 64, 64) -> ... -> (N, 8ndf, 4, 4) -> logits (N,)

For image_size = 32 one stage is dropped (G starts at 4ngf). See ``docs/08_gan_basics.md``.
"""
from ...nn import (Module, Sequential, Conv2d, ConvTranspose2d, BatchNorm2d, ReLU, LeakyReLU,
                  Tanh, init)
from ...ops import reshape
from ..spectral_norm import spectral_norm as _spectral_norm
from ..tricks import MinibatchStdDev


def _stages(image_size):
    """How many 2x up/down-sampling convolutions sit between 4x4 and image_size // 2."""
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(f"DCGAN: image_size must be a power of two >= 8, got {image_size}")
    return image_size.bit_length() - 4  # 64 -> 3, 32 -> 2


class DCGANGenerator(Module):
    def __init__(self, nz=100, ngf=64, image_size=64, channels=3):
        super().__init__()
        self.nz, self.image_size = nz, image_size
        mult = 2 ** _stages(image_size)  # 8 for 64x64: the widest layer has 8 * ngf channels
        layers = [ConvTranspose2d(nz, ngf * mult, 4, 1, 0, bias=False),  # 1x1 -> 4x4
                  BatchNorm2d(ngf * mult), ReLU()]
        while mult > 1:  # each stage doubles the size and halves the channels
            layers += [ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False),
                       BatchNorm2d(ngf * mult // 2), ReLU()]
            mult //= 2
        layers += [ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False), Tanh()]
        self.main = Sequential(*layers)

    def forward(self, z):
        """z of shape (N, nz) or (N, nz, 1, 1) -> images (N, channels, size, size) in [-1, 1]."""
        return self.main(reshape(z, (z.shape[0], self.nz, 1, 1)))


class _Discriminator(Module):
    """Shared by both discriminators: ``body`` (features), an optional minibatch-stddev
    feature ``mbstd``, and a ``head`` giving one logit per example (or F features)."""

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        h = self.features(x)
        if self.mbstd is not None:
            h = self.mbstd(h)
        out = self.head(h)  # (N, F, 1, 1) or (N, F)
        return reshape(out, (x.shape[0],) if out.shape[1] == 1 else (x.shape[0], out.shape[1]))


class DCGANDiscriminator(_Discriminator):
    """``spectral_norm=True`` wraps every conv in `spectral_norm` and drops batch norm (SNGAN);
    ``minibatch_std=True`` appends a batch-diversity channel before the last conv;
    ``out_features`` outputs per image (1: a logit)."""

    def __init__(self, ndf=64, image_size=64, channels=3, spectral_norm=False, minibatch_std=False,
                 out_features=1):
        super().__init__()
        sn = _spectral_norm if spectral_norm else (lambda layer: layer)
        layers = [sn(Conv2d(channels, ndf, 4, 2, 1, bias=False)), LeakyReLU(0.2)]
        mult = 1
        for _ in range(_stages(image_size)):
            layers.append(sn(Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False)))
            if not spectral_norm:
                layers.append(BatchNorm2d(ndf * mult * 2))
            layers.append(LeakyReLU(0.2))
            mult *= 2
        self.body = Sequential(*layers)
        self.mbstd = MinibatchStdDev() if minibatch_std else None
        # 4x4 -> 1x1: one logit per image
        self.head = sn(Conv2d(ndf * mult + int(minibatch_std), out_features, 4, 1, 0, bias=False))


def dcgan_init(module):
    """The DCGAN paper's initialisation, for ``model.apply(dcgan_init)``: conv weights from
    N(0, 0.02); batch norm scale from N(1, 0.02) and shift 0."""
    name = type(module).__name__
    if name in ("Conv2d", "ConvTranspose2d", "Linear"):
        weight = module._parameters.get("weight_orig", module._parameters.get("weight"))
        init.normal_(weight, 0.0, 0.02)
        if module._parameters.get("bias") is not None:
            init.zeros_(module.bias)
    elif name in ("BatchNorm1d", "BatchNorm2d", "VirtualBatchNorm"):
        init.normal_(module.weight, 1.0, 0.02)
        init.zeros_(module.bias)
