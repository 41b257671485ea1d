"""ProGAN: progressive growing of GANs (Karras et al. 2018, "Progressive Growing of GANs for
Improved Quality, Stability, and Variation").

Training starts with a G and a D that only know 4x4 images. Each `grow()` adds a stage that
doubles the resolution (4 -> 8 -> 16 -> 32 -> 64), so the networks learn the coarse structure
first and the details later, on top of layers that already work. A new stage is faded in
(Fig. 2): while ``alpha`` goes from 0 to 1, G's output is

    (1 - alpha) * upsample(toRGB_old(h)) + alpha * toRGB_new(block_new(h))

and D mirrors it: the image enters through the new fromRGB and block, and through the old
fromRGB after 2x average pooling, the two blended the same way. Shapes, for widths (w0, w1, w2):

    G: z (N, nz) -> (N, w0, 4, 4) -> (N, w1, 8, 8) -> (N, w2, 16, 16) -> toRGB (N, channels, 16, 16)
    D: fromRGB (N, w2, 16, 16) -> (N, w1, 8, 8) -> (N, w0, 4, 4) -> minibatch stddev -> logits (N,)

Three other ideas of the paper keep the growing stable (Sec. 3 and 4):
- minibatch standard deviation (Sec. 3): D's last block sees how varied the batch is
  (`minigan.gan.tricks.MinibatchStdDev`);
- equalised learning rate (Sec. 4.1): weights drawn from N(0, 1) and multiplied at run time by
  He's constant sqrt(2 / fan_in), so Adam, whose steps have the same size for every weight
  whatever its scale, changes every layer at the same relative speed;
- pixelwise feature normalisation in G (Sec. 4.2, `pixel_norm`) instead of batch norm.

`ProGANTrainer` follows the growth schedule, and checkpoints mid-growth resume exactly.
See ``docs/12_progressive.md``.
"""
import math

from ... import backend
from ...nn import (Module, Sequential, ModuleList, Conv2d, Linear, LeakyReLU, Upsample,
                   AvgPool2d, Flatten, Unflatten, init)
from ...nn import functional as F
from ...ops import mean, sqrt, reshape, clamp
from ..tricks import MinibatchStdDev
from ..trainer import GANTrainer


# ------------------------------------------------------------------ the building blocks
def pixel_norm(x, eps=1e-8):
    """Sec. 4.2, Eq. (1): every pixel's feature vector scaled to unit mean square,
        b_{x,y} = a_{x,y} / sqrt(1/C sum_j (a^j_{x,y})^2 + eps),
    over the channels (dim 1) of (N, C, H, W) or the features of (N, C). It stops the
    magnitudes in G from escalating as G and D compete, without batch statistics."""
    return x / sqrt(mean(x * x, dim=1, keepdim=True) + eps)


class PixelNorm(Module):
    """`pixel_norm` as a layer, after every convolution of G."""

    def __init__(self, eps=1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return pixel_norm(x, self.eps)


class EqualizedConv2d(Conv2d):
    """Sec. 4.1: the stored weight w ~ N(0, 1); the layer convolves with w * c, where
    c = gain / sqrt(fan_in) (He's constant for gain sqrt(2)). Multiplying in ``forward`` lets
    autograd carry c into the gradient, so each stored weight sees gradient c * dL/d(wc):
    Adam normalises that away, and every layer then learns at the same speed relative to its
    weights' scale. Biases start at zero."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 gain=math.sqrt(2.0)):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias=bias)
        self.scale = gain / math.sqrt(in_channels * self.kernel_size[0] * self.kernel_size[1])

    def reset_parameters(self, generator=None):
        init.normal_(self.weight, 0.0, 1.0, generator)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.conv2d(input, self.weight * self.scale, self.bias, self.stride, self.padding)


class EqualizedLinear(Linear):
    """`EqualizedConv2d`'s rule for a fully connected layer: y = x (w c)^T + b, w ~ N(0, 1),
    c = gain / sqrt(in_features)."""

    def __init__(self, in_features, out_features, bias=True, gain=math.sqrt(2.0)):
        super().__init__(in_features, out_features, bias=bias)
        self.scale = gain / math.sqrt(in_features)

    def reset_parameters(self, generator=None):
        init.normal_(self.weight, 0.0, 1.0, generator)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.linear(input, self.weight * self.scale, self.bias)


def fade_in(old, new, alpha):
    """Fig. 2 (b): (1 - alpha) * old + alpha * new, both at the new resolution (G's old
    output upsampled, D's old input path average-pooled)."""
    return (1.0 - alpha) * old + alpha * new


def check_widths(name, widths):
    """Channels per resolution 4, 8, 16, ... as a tuple of ints, or a clear error."""
    if len(widths) < 1 or any(int(w) != w or w < 1 for w in widths):
        raise ValueError(f"{name}: widths must be positive channel counts, one per resolution "
                         f"4, 8, 16, ..., got {widths!r}")
    return tuple(int(w) for w in widths)


def _settle(module, like, generator):
    """A new stage: on the device and dtype of the model (``like``, one of its parameters),
    and initialised from ``generator`` (a host NumPy generator, as `minigan.nn.init` takes)
    so that a resumed run grows exactly the layers the straight run grew."""
    for layer in module.modules():
        if isinstance(layer, (EqualizedConv2d, EqualizedLinear)):
            layer.reset_parameters(generator)
    return module.to(like.device, like.dtype)


def generator_block(i, nz, widths):
    """G's block for resolution 4 * 2^i (Table 2): block 0 turns z into 4x4 features (a dense
    layer, the paper's 4x4 convolution of a 1x1 input), the others upsample 2x; each
    convolution is followed by LeakyReLU(0.2) and pixel norm."""
    w = widths[i]
    if i == 0:
        first = [PixelNorm(), EqualizedLinear(nz, w * 16, gain=math.sqrt(2.0) / 4),
                 Unflatten(1, (w, 4, 4))]
    else:
        first = [Upsample(scale_factor=2), EqualizedConv2d(widths[i - 1], w, 3, padding=1)]
    return Sequential(*first, LeakyReLU(0.2), PixelNorm(),
                      EqualizedConv2d(w, w, 3, padding=1), LeakyReLU(0.2), PixelNorm())


def discriminator_block(i, widths, extra_channels=0):
    """D's block for resolution 4 * 2^i (Table 2), the mirror of `generator_block`: two 3x3
    convolutions then 2x average pooling; block 0 ends D with minibatch stddev, a 3x3 and a
    4x4 convolution, giving one feature vector per image (the head turns it into a logit).
    ``extra_channels``: more input channels (MSG-GAN concatenates images)."""
    w = widths[i] + extra_channels
    if i == 0:
        return Sequential(MinibatchStdDev(), EqualizedConv2d(w + 1, widths[0], 3, padding=1),
                          LeakyReLU(0.2), EqualizedConv2d(widths[0], widths[0], 4),
                          LeakyReLU(0.2), Flatten())
    return Sequential(EqualizedConv2d(w, widths[i], 3, padding=1), LeakyReLU(0.2),
                      EqualizedConv2d(widths[i], widths[i - 1], 3, padding=1), LeakyReLU(0.2),
                      AvgPool2d(2))


def to_rgb(width, channels):
    """1x1 convolution to an image, linear (gain 1, no activation), as the paper."""
    return EqualizedConv2d(width, channels, 1, gain=1.0)


def from_rgb(channels, width):
    return Sequential(EqualizedConv2d(channels, width, 1), LeakyReLU(0.2))


# --------------------------------------------------------------------------- the networks
class ProGANGenerator(Module):
    """z (N, nz) -> images (N, channels, R, R) at the current resolution R = 4 * 2^stage,
    linear outputs (the data is in [-1, 1]; `ProGANTrainer.sample` clamps for display).
    ``widths[i]``: channels at resolution 4 * 2^i; ``len(widths)`` stages at most."""

    def __init__(self, nz=128, widths=(128, 128, 64, 32), channels=3):
        super().__init__()
        self.nz, self.channels = nz, channels
        self.widths = check_widths("ProGANGenerator", widths)
        self.stage, self.alpha = 0, 1.0
        self.blocks = ModuleList([generator_block(0, nz, self.widths)])
        self.to_rgb = ModuleList([to_rgb(self.widths[0], channels)])

    @property
    def resolution(self):
        return 4 * 2 ** self.stage

    @property
    def max_resolution(self):
        return 4 * 2 ** (len(self.widths) - 1)

    def grow(self, generator=None):
        """Add the next stage (a block and its toRGB) and start its fade-in (alpha = 0).
        Returns the new parameters, for the optimizer. The old toRGB stays: the fade-in
        blends it in until alpha reaches 1."""
        if self.stage + 1 >= len(self.widths):
            raise ValueError(f"ProGANGenerator: already at its largest resolution "
                             f"{self.resolution} (widths {self.widths})")
        self.stage += 1
        self.alpha = 0.0
        like = next(self.parameters())
        block = _settle(generator_block(self.stage, self.nz, self.widths), like, generator)
        rgb = _settle(to_rgb(self.widths[self.stage], self.channels), like, generator)
        self.blocks.append(block)
        self.to_rgb.append(rgb)
        return list(block.parameters()) + list(rgb.parameters())

    def forward(self, z):
        h = reshape(z, (z.shape[0], self.nz))
        for block in self.blocks[:-1]:
            h = block(h)
        new = self.to_rgb[-1](self.blocks[-1](h))
        if self.stage == 0 or self.alpha >= 1.0:
            return new
        old = F.interpolate(self.to_rgb[-2](h), scale_factor=2, mode="nearest")
        return fade_in(old, new, self.alpha)


class ProGANDiscriminator(Module):
    """Images (N, channels, R, R) at the current resolution -> logits (N,); ``features(x)``
    gives the (N, widths[0]) vector before the last, linear layer."""

    def __init__(self, widths=(128, 128, 64, 32), channels=3):
        super().__init__()
        self.channels = channels
        self.widths = check_widths("ProGANDiscriminator", widths)
        self.stage, self.alpha = 0, 1.0
        self.from_rgb = ModuleList([from_rgb(channels, self.widths[0])])
        self.blocks = ModuleList([discriminator_block(0, self.widths)])
        self.head = EqualizedLinear(self.widths[0], 1, gain=1.0)

    @property
    def resolution(self):
        return 4 * 2 ** self.stage

    def grow(self, generator=None):
        """Add the next stage (fromRGB and a block in front) and start its fade-in."""
        if self.stage + 1 >= len(self.widths):
            raise ValueError(f"ProGANDiscriminator: already at its largest resolution "
                             f"{self.resolution} (widths {self.widths})")
        self.stage += 1
        self.alpha = 0.0
        like = next(self.parameters())
        block = _settle(discriminator_block(self.stage, self.widths), like, generator)
        rgb = _settle(from_rgb(self.channels, self.widths[self.stage]), like, generator)
        self.blocks.append(block)
        self.from_rgb.append(rgb)
        return list(block.parameters()) + list(rgb.parameters())

    def features(self, x):
        if tuple(x.shape[-2:]) != (self.resolution, self.resolution):
            raise ValueError(f"ProGANDiscriminator: at stage {self.stage} it takes "
                             f"{self.resolution}x{self.resolution} images, got {tuple(x.shape)}")
        s = self.stage
        h = self.from_rgb[s](x)
        for i in range(s, 0, -1):
            h = self.blocks[i](h)
            if i == s and self.alpha < 1.0:  # the old path: half resolution, old fromRGB
                h = fade_in(self.from_rgb[s - 1](F.avg_pool2d(x, 2)), h, self.alpha)
        return self.blocks[0](h)

    def forward(self, x):
        return reshape(self.head(self.features(x)), (x.shape[0],))


# ---------------------------------------------------------------------------- training
def growth_stage(step, num_stages, fade_steps, stable_steps):
    """Where step ``step`` (0, 1, ...) is in the schedule: (stage, alpha).

    Stage 0 (4x4) trains for ``stable_steps``; every later stage first fades in for
    ``fade_steps`` (alpha = 1/fade_steps, 2/fade_steps, ..., 1), then stabilises for
    ``stable_steps`` at alpha = 1. The last stage goes on until training ends. (The paper
    counts 800k real images for each phase.)"""
    if fade_steps < 0 or stable_steps < 0 or fade_steps + stable_steps < 1:
        raise ValueError(f"growth_stage: fade_steps and stable_steps must be >= 0 and not both "
                         f"0, got {fade_steps} and {stable_steps}")
    if step < stable_steps or num_stages == 1:
        return 0, 1.0
    stage, into = divmod(step - stable_steps, fade_steps + stable_steps)
    stage += 1
    if stage >= num_stages:
        return num_stages - 1, 1.0
    return stage, min(1.0, (into + 1) / fade_steps) if fade_steps else 1.0


class ProGANTrainer(GANTrainer):
    """`GANTrainer` that grows G and D on the schedule of `growth_stage`.

    Loss: WGAN-GP with n_critic = 1 and the drift term eps_drift E[D(x)^2] (Appendix A.1),
    which keeps the critic's outputs near zero; any other objective may be given.
    Real batches come at the final resolution and are average-pooled down to the current
    one; during a fade-in they are blended between the two resolutions as G's output is
    (Sec. 3), so D never tells real from fake by sharpness alone.

    Growing adds the new parameters to each optimizer as a new parameter group (with the
    optimizer's defaults). ``reset_optimizer=True`` (the official code's
    ``reset_opt_for_new_lod``) also forgets Adam's moving averages and step counts of the old
    parameters at each growth: their gradients change character when the new layers come in.
    ``reset_optimizer=False`` keeps them. New layers are drawn from a generator seeded by
    (seed, stage), so the layers grown after a resume are the ones the straight run grew.
    """

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer,
                 objective="wgan-gp", fade_steps=1000, stable_steps=1000, drift=0.001,
                 reset_optimizer=True, **options):
        if len(generator.widths) != len(discriminator.widths):
            raise ValueError(f"ProGANTrainer: G and D must grow through the same resolutions, "
                             f"got widths {generator.widths} and {discriminator.widths}")
        if generator.stage or discriminator.stage:
            raise ValueError("ProGANTrainer: give it G and D at stage 0 (4x4); it grows them")
        super().__init__(generator, discriminator, g_optimizer, d_optimizer, objective,
                         **options)
        self.fade_steps, self.stable_steps = fade_steps, stable_steps
        self.drift, self.reset_optimizer = drift, reset_optimizer

    def _stage_generator(self, stage, which):
        # The trainer's seed, which a checkpoint restores with the trainer's generator.
        return backend.np.random.default_rng([self.rng.initial_seed(), stage, which])

    def grow(self):
        """Add a stage to G, D (and G's EMA copy), their new parameters to the optimizers."""
        stage = self.G.stage + 1
        for which, (net, optimizer) in enumerate(((self.G, self.g_optimizer),
                                                  (self.D, self.d_optimizer))):
            new = net.grow(self._stage_generator(stage, which))
            if self.reset_optimizer:
                optimizer.state.clear()
            optimizer.add_param_group({"params": new})
        if self.ema is not None:  # same seed: the copy grows the very layers G grew
            for p in self.ema.module.grow(self._stage_generator(stage, 0)):
                p.requires_grad = False

    def _set_alpha(self, alpha):
        for net in (self.G, self.D) + ((self.ema.module,) if self.ema is not None else ()):
            net.alpha = alpha

    def _as_batch(self, batch):
        x, labels = super()._as_batch(batch)
        size = self.G.resolution
        if x.shape[-1] % size:
            raise ValueError(f"ProGANTrainer: real images of size {tuple(x.shape[-2:])} cannot "
                             f"be pooled down to {size}x{size}")
        if x.shape[-1] > size:
            x = F.avg_pool2d(x, x.shape[-1] // size)
        if self.G.alpha < 1.0:  # the real images fade in as G's do
            low = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
            x = fade_in(low, x, self.G.alpha)
        return x, labels

    def discriminator_loss(self, real_out, fake_out):
        loss = super().discriminator_loss(real_out, fake_out)
        if self.drift:
            loss = loss + self.drift * mean(real_out * real_out)
        return loss

    def train_step(self, next_batch):
        stage, alpha = growth_stage(self.step, len(self.G.widths), self.fade_steps,
                                    self.stable_steps)
        while self.G.stage < stage:
            self.grow()
        self._set_alpha(alpha)
        log = super().train_step(next_batch)
        log.update(resolution=float(self.G.resolution), alpha=alpha)
        return log

    def sample(self, noise=None, labels=None, use_ema=True):
        """Samples at the current resolution, enlarged (nearest) to the final one so that
        every progress grid has the same size, clamped to [-1, 1]."""
        images = super().sample(noise, labels, use_ema)
        factor = self.G.max_resolution // images.shape[-1]
        if factor > 1:
            images = F.interpolate(images, scale_factor=factor, mode="nearest")
        return clamp(images, -1.0, 1.0)

    def state_dict(self):
        return {**super().state_dict(), "stage": self.G.stage, "alpha": self.G.alpha,
                "fade_steps": self.fade_steps, "stable_steps": self.stable_steps}

    def load_state_dict(self, state):
        """Grow these (fresh) models to the saved stage, then load: the parameter lists and
        optimizer groups then match the checkpoint's. The run keeps the schedule it started
        with (a resume that asks for more steps lengthens the last stage)."""
        self.fade_steps, self.stable_steps = int(state["fade_steps"]), int(state["stable_steps"])
        stage = int(state["stage"])
        if self.G.stage > stage:
            raise ValueError(f"ProGANTrainer: the checkpoint is at stage {stage}, these models "
                             f"already at stage {self.G.stage}; load it into a fresh trainer")
        while self.G.stage < stage:
            self.grow()
        self._set_alpha(float(state["alpha"]))
        super().load_state_dict(state)
