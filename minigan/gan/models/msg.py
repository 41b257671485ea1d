"""MSG-GAN: multi-scale gradients (Karnewar & Wang 2020, "MSG-GAN: Multi-Scale Gradients for
Generative Adversarial Networks").

ProGAN grows its networks so that the coarse layers learn before the fine ones. MSG-GAN gets
the same effect with fixed networks: every block of G also emits an image (a 1x1 toRGB), and
D takes all of them, each scale's image entering D's block of the same resolution (Fig. 2).
D's verdict then depends on every intermediate layer of G directly, so gradients reach G's
coarse layers by a short path from the first step, and the scales agree because D sees them
side by side. Shapes, for widths (w0, w1, w2) (the ProGAN blocks of progan.py):

    G: z -> (N, w0, 4, 4) -> (N, w1, 8, 8) -> (N, w2, 16, 16)
            | toRGB           | toRGB           | toRGB
            [(N, C, 4, 4),    (N, C, 8, 8),     (N, C, 16, 16)]     (a list, coarsest first)
    D: fromRGB(16x16 image) -> block -> (N, w1, 8, 8) ++ phi(8x8 image) -> block
           -> (N, w0, 4, 4) ++ phi(4x4 image) -> last block -> logits (N,)

where ++ concatenates channels and phi is the paper's combine function (Sec. 3.2):
``"simple"`` concatenates the raw image (phi_simple), ``"conv"`` a 1x1 convolution of it
(phi_lin_cat). The trainer makes real batches into the same pyramids by 2x average pooling.
See ``docs/12_progressive.md``.
"""
from ...nn import Module, ModuleList
from ...nn import functional as F
from ...ops import cat, reshape, clamp
from ..trainer import GANTrainer
from .progan import (EqualizedLinear, generator_block, discriminator_block, to_rgb, from_rgb,
                     check_widths)


class Pyramid(list):
    """One batch of images at every scale, coarsest first. GANTrainer's step can pass it
    around like one batch of images: its ``shape`` is the finest scale's, and ``detach()``
    detaches every scale."""

    @property
    def shape(self):
        return self[-1].shape

    def detach(self):
        return Pyramid(x.detach() for x in self)


def image_pyramid(x, num_scales):
    """[x pooled 2^(num_scales-1) times, ..., x pooled once, x]: the real batch as G makes it."""
    scales = [x]
    for _ in range(num_scales - 1):
        scales.insert(0, F.avg_pool2d(scales[0], 2))
    return Pyramid(scales)


class MSGGenerator(Module):
    """z (N, nz) -> a `Pyramid` of images [(N, C, 4, 4), (N, C, 8, 8), ...] up to
    4 * 2^(len(widths) - 1), linear outputs; ``widths[i]``: channels at 4 * 2^i."""

    def __init__(self, nz=128, widths=(128, 128, 64, 32), channels=3):
        super().__init__()
        self.nz, self.channels = nz, channels
        self.widths = check_widths("MSGGenerator", widths)
        self.blocks = ModuleList([generator_block(i, nz, self.widths)
                                  for i in range(len(self.widths))])
        self.to_rgb = ModuleList([to_rgb(w, channels) for w in self.widths])

    def forward(self, z):
        h = reshape(z, (z.shape[0], self.nz))
        images = Pyramid()
        for block, rgb in zip(self.blocks, self.to_rgb):
            h = block(h)
            images.append(rgb(h))
        return images


class MSGDiscriminator(Module):
    """A pyramid of images (coarsest first, as `MSGGenerator` makes) -> logits (N,).
    ``combine``: "simple" (raw images concatenated) or "conv" (1x1 fromRGB features,
    LeakyReLU, concatenated)."""

    def __init__(self, widths=(128, 128, 64, 32), channels=3, combine="simple"):
        super().__init__()
        if combine not in ("simple", "conv"):
            raise ValueError(f"MSGDiscriminator: combine must be 'simple' or 'conv', "
                             f"got {combine!r}")
        self.channels, self.combine = channels, combine
        self.widths = check_widths("MSGDiscriminator", widths)
        top = len(self.widths) - 1
        self.from_rgb = from_rgb(channels, self.widths[top])  # the finest image starts D
        # phi for every coarser scale; the block of scale i takes widths[i] + extra channels
        self.phi = ModuleList([from_rgb(channels, w) for w in self.widths[:top]]) \
            if combine == "conv" else None
        extra = [self.widths[i] if combine == "conv" else channels for i in range(top)] + [0]
        self.blocks = ModuleList([discriminator_block(i, self.widths, extra[i])
                                  for i in range(len(self.widths))])
        self.head = EqualizedLinear(self.widths[0], 1, gain=1.0)

    def features(self, images):
        if not isinstance(images, (list, tuple)) or len(images) != len(self.widths):
            raise ValueError(f"MSGDiscriminator: takes a list of {len(self.widths)} images, "
                             f"coarsest (4x4) first, got {type(images).__name__}")
        for i, x in enumerate(images):
            if tuple(x.shape[-2:]) != (4 * 2 ** i,) * 2:
                raise ValueError(f"MSGDiscriminator: image {i} must be {4 * 2 ** i}x"
                                 f"{4 * 2 ** i}, got {tuple(x.shape)}")
        top = len(self.widths) - 1
        h = self.blocks[top](self.from_rgb(images[top]))
        for i in range(top - 1, -1, -1):
            image = images[i] if self.phi is None else self.phi[i](images[i])
            h = self.blocks[i](cat([h, image], dim=1))
        return h

    def forward(self, images):
        return reshape(self.head(self.features(images)), (images[0].shape[0],))


class MSGGANTrainer(GANTrainer):
    """`GANTrainer` for pyramids: real batches (at the final resolution) become
    `image_pyramid`s, G's outputs are pyramids, and `sample` returns the final scale.
    The gradient penalties interpolate single batches, so they are refused here."""

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, objective="ns",
                 **options):
        super().__init__(generator, discriminator, g_optimizer, d_optimizer, objective,
                         **options)
        if self.gp_weight or self.r1_gamma:
            raise ValueError("MSGGANTrainer: gradient penalties (WGAN-GP, R1) are not "
                             "implemented for image pyramids; use e.g. 'ns', 'hinge' or "
                             "'rasgan' without gp_weight/r1_gamma")

    def _as_batch(self, batch):
        x, labels = super()._as_batch(batch)
        return image_pyramid(x, len(self.G.widths)), labels

    def _with_noise(self, images):
        return Pyramid(super(MSGGANTrainer, self)._with_noise(x) for x in images)

    def sample(self, noise=None, labels=None, use_ema=True):
        """The final scale of G's pyramid, clamped to [-1, 1]."""
        return clamp(super().sample(noise, labels, use_ema)[-1], -1.0, 1.0)
