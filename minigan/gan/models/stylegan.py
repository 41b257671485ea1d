"""StyleGAN-lite: a style-based generator (StyleGAN, Karras et al. 2019; StyleGAN2, Karras et
al. 2020), its trainer, and a residual discriminator to train it against.

The generator has two halves:

    mapping    z (N, nz) -> pixel norm -> MLP -> w (N, w_dim)                 (StyleGAN Sec. 2)
    synthesis  a learned constant 4x4 -> styled 3x3 convs, each reading its own copy ws[:, l]
               of w, with noise -> a toRGB at every resolution, summed upward -> image

Each styled conv turns its w into a style s = A(w) (a learned affine map per layer). s scales
the conv's input channels *through the weights* (modulation, StyleGAN2 Eq. 1), and each
output channel's weights are then rescaled to unit norm (demodulation, Eq. 2-3): the
normalisation that AdaIN applied to the activations, applied to the weights from the
statistics the activations would have, which removes AdaIN's "droplet" artefacts. The
weights differ per sample, yet both scalings can move off them onto the activations, so the
conv over a batch is one ordinary convolution (`modulated_conv2d`).

Around it: per-pixel noise with learned per-channel strengths (B in StyleGAN Fig. 1) for
stochastic detail; style mixing (two w's switched at a random layer, `mix_styles`) so that
neighbouring layers' styles stay independent; the truncation trick (`truncate`) trading
variety for quality by pulling w towards the average w; equalised learning rates (ProGAN
Sec. 4.1) in every layer, 100x lower in the mapping net (StyleGAN App. C).

"Lite": a 4-layer mapping net; bilinear 2x upsampling before a conv instead of a transposed
conv with a blur; average pooling for the discriminator's blur + downsample; path-length
regularisation off by default (it costs a double backward through G).
Shapes for image_size = 32 (num_ws = 8 copies of w):

    const (1, C4, 4, 4) -> conv[0] (w0), toRGB (w1)
    -> 8x8: conv[1] (w1, upsamples), conv[2] (w2), toRGB (w3) -> 16x16: w3, w4, w5
    -> 32x32: w5, w6, w7 -> image (N, 3, 32, 32)    (each toRGB shares the next conv's w)

See docs/12_stylegan.md.
"""
import math

from ... import backend
from ...autograd import Tensor, grad, no_grad
from ...creation import full, randn, zeros, rand
from ...nn import Module, ModuleList, Sequential, Parameter, Flatten, init
from ...nn import functional as F
from ...ops import broadcast_to, matmul, mean, reshape, sqrt, sum, transpose
from ..trainer import GANTrainer
from ..tricks import MinibatchStdDev
from .dcgan import _Discriminator

GAIN = math.sqrt(2)  # leaky ReLU's gain: keeps unit-variance activations unit-variance (He)


def pixel_norm(x, eps=1e-8):
    """x / sqrt(mean_c x_c^2 + eps) over the features (dim 1): each z (or pixel) gets unit
    average square (ProGAN Sec. 4.2), so the mapping net sees z on a sphere."""
    return x / sqrt(mean(x * x, dim=1, keepdim=True) + eps)


def scaled_leaky_relu(x):
    return F.leaky_relu(x, 0.2) * GAIN


class ScaledLeakyReLU(Module):
    def forward(self, x):
        return scaled_leaky_relu(x)


# --------------------------------------------------------------- equalised learning rate
# ProGAN Sec. 4.1: weights are stored as N(0, 1) and multiplied by He's constant
# 1/sqrt(fan_in) at every call, so Adam (whose steps are ~lr whatever a weight's scale)
# moves every layer at the same relative speed. lr_mul < 1 stores w / lr_mul and multiplies
# it back: the layer then learns lr_mul times slower (StyleGAN's mapping net: 0.01).
class EqualLinear(Module):
    def __init__(self, in_features, out_features, bias_init=0.0, lr_mul=1.0):
        super().__init__()
        self.weight = Parameter(zeros(out_features, in_features))
        init.normal_(self.weight, 0.0, 1.0 / lr_mul)
        self.bias = Parameter(full((out_features,), bias_init / lr_mul))
        self.scale, self.lr_mul = lr_mul / math.sqrt(in_features), lr_mul

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class EqualConv2d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, padding=0, bias=True):
        super().__init__()
        self.weight = Parameter(zeros(out_channels, in_channels, kernel_size, kernel_size))
        init.normal_(self.weight)
        self.bias = Parameter(zeros(out_channels)) if bias else None
        self.scale, self.padding = 1.0 / math.sqrt(in_channels * kernel_size ** 2), padding

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


# ------------------------------------------------------------------- mapping and truncation
class MappingNetwork(Module):
    """z (N, nz) -> w (N, w_dim). In training mode each call also moves ``w_avg``, the running
    mean of the w's it produced (StyleGAN's beta = 0.995), which truncation pulls towards."""

    def __init__(self, nz, w_dim, num_layers=4, lr_mul=0.01, w_avg_beta=0.995):
        super().__init__()
        self.layers = ModuleList([EqualLinear(nz if i == 0 else w_dim, w_dim, lr_mul=lr_mul)
                                  for i in range(num_layers)])
        self.w_avg_beta = w_avg_beta
        self.register_buffer("w_avg", zeros(w_dim))

    def forward(self, z):
        w = pixel_norm(z)
        for layer in self.layers:
            w = scaled_leaky_relu(layer(w))
        if self.training:
            with no_grad(), backend.device_context(w.device):
                batch_mean = mean(w.detach(), dim=0).data
                self.w_avg.data = self.w_avg.data * self.w_avg_beta + \
                    batch_mean * (1.0 - self.w_avg_beta)
        return w


def truncate(w, w_avg, psi):
    """The truncation trick (StyleGAN Sec. 5.1, Eq. 3): w' = w_avg + psi (w - w_avg).
    psi = 1 leaves w alone; psi = 0 gives every sample the average face."""
    return w_avg + psi * (w - w_avg)


# ---------------------------------------------------------------------------- modulation
def modulated_conv2d(x, weight, styles, demodulate=True, padding=0, eps=1e-8):
    """x (N, C, H, W), weight (OC, C, K, K), styles s (N, C) -> (N, OC, OH, OW).

    Per sample n (StyleGAN2 Sec. 2.2):
        w'_{n,o,c,k} = s_{n,c} w_{o,c,k}                                 (Eq. 1, modulation)
        sigma_{n,o}  = sqrt(sum_{c,k} w'_{n,o,c,k}^2 + eps)              (Eq. 2)
        w''          = w' / sigma_{n,o}                                  (Eq. 3, demodulation)
    then y_n = conv2d(x_n, w''_n). Computed as StyleGAN2's code trains (fused_modconv off),
    with the one weight shared by the batch: scaling the weights' input channels by s_n is
    scaling x_n's channels, and dividing output o's weights by sigma_{n,o} is dividing output
    channel o, so
        y_n = conv2d(x_n * s_n, w) / sigma_n,   sigma_{n,o}^2 = sum_c s_{n,c}^2 sum_k w_{o,c,k}^2 + eps
    one ordinary convolution of the whole batch instead of N per-sample ones."""
    N, C = styles.shape
    y = F.conv2d(x * reshape(styles, (N, C, 1, 1)), weight, padding=padding)
    if demodulate:
        # (N, C) @ (C, OC): each sample's squared styles against each filter's squared taps
        sigma = sqrt(matmul(styles * styles, transpose(sum(weight * weight, dim=(2, 3)))) + eps)
        y = y / reshape(sigma, (N, -1, 1, 1))
    return y


class ModulatedConv2d(Module):
    """A KxK conv whose weights are modulated by the style s = A(w) of each sample (A: the
    affine layer, biased to 1 so styles start as identity scales)."""

    def __init__(self, in_channels, out_channels, kernel_size, w_dim, demodulate=True):
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = Parameter(zeros(out_channels, in_channels, kernel_size, kernel_size))
        init.normal_(self.weight)
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size ** 2)
        self.demodulate, self.padding = demodulate, kernel_size // 2

    def forward(self, x, w):
        return modulated_conv2d(x, self.weight * self.scale, self.affine(w), self.demodulate,
                                self.padding)


class NoiseInjection(Module):
    """x + B * noise: one N(0, 1) image per sample, scaled per channel by the learned B
    (starting at 0). Training draws fresh noise each call; eval mode uses a fixed noise image
    (a buffer), so a given w always gives the same picture (progress grids, latent tools)."""

    def __init__(self, channels, resolution):
        super().__init__()
        self.weight = Parameter(zeros(channels))
        self.register_buffer("noise_const", randn(1, 1, resolution, resolution))

    def forward(self, x, noise=None):
        N, C, H, W = x.shape
        if noise is None:
            noise = randn(N, 1, H, W, dtype=x.dtype, device=x.device) if self.training \
                else self.noise_const
        return x + reshape(self.weight, (1, C, 1, 1)) * noise


class StyledConv(Module):
    """(upsample 2x) -> modulated 3x3 conv -> noise -> bias -> leaky ReLU (StyleGAN2 Fig. 2d)."""

    def __init__(self, in_channels, out_channels, w_dim, resolution, upsample=False):
        super().__init__()
        self.upsample = upsample
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim)
        self.noise = NoiseInjection(out_channels, resolution)
        self.bias = Parameter(zeros(out_channels))

    def forward(self, x, w):
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.noise(self.conv(x, w))
        return scaled_leaky_relu(x + reshape(self.bias, (1, -1, 1, 1)))


class ToRGB(Module):
    """A modulated 1x1 conv to RGB, not demodulated: it sets the output's colour scale."""

    def __init__(self, in_channels, w_dim, channels=3):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, channels, 1, w_dim, demodulate=False)
        self.bias = Parameter(zeros(channels))

    def forward(self, x, w):
        return self.conv(x, w) + reshape(self.bias, (1, -1, 1, 1))


# ------------------------------------------------------------------------------ style mixing
def mix_styles(w1, w2, crossover, num_ws):
    """ws (N, num_ws, w_dim): layers l < crossover[n] read w1[n], the others w2[n] (StyleGAN
    Sec. 3.1). ``crossover`` (N,) holds layer indices; num_ws means no mixing."""
    crossover = crossover.data if isinstance(crossover, Tensor) else crossover
    crossover = backend.to_device(crossover, w1.device)  # a no-op for the trainer's draws
    with backend.device_context(w1.device):
        layers = backend.xp_for(w1.device).arange(num_ws)
        m = (layers[None, :] >= crossover[:, None]).astype(w1.dtype)
    m = Tensor(m[:, :, None])
    return broadcast_ws(w1, num_ws) * (1.0 - m) + broadcast_ws(w2, num_ws) * m


def random_crossover(n, num_ws, prob, generator=None, device="cpu"):
    """For each of n samples: with probability ``prob`` a crossover layer uniform in
    1 .. num_ws - 1 (both w's are used), else num_ws (no mixing). Drawn on ``device``, so a
    training step never waits for the host."""
    mixes = rand(n, device=device, generator=generator).data
    layer = rand(n, device=device, generator=generator).data
    with backend.device_context(device):
        xp = backend.xp_for(device)
        return xp.where(mixes < prob, 1 + xp.floor(layer * (num_ws - 1)).astype(xp.int64),
                        num_ws)


def broadcast_ws(w, num_ws):
    """w (N, w_dim) -> (N, num_ws, w_dim): the same w for every layer."""
    return broadcast_to(reshape(w, (w.shape[0], 1, w.shape[1])), (w.shape[0], num_ws, w.shape[1]))


# --------------------------------------------------------------------------------- generator
class StyleGANGenerator(Module):
    """z (N, nz) -> images (N, channels, image_size, image_size), roughly in [-1, 1] (no tanh:
    StyleGAN2's output is linear). Channels: min(ngf * image_size / r, max_channels) at
    resolution r, so ngf is the width at full resolution and widths double as r halves."""

    def __init__(self, nz=128, w_dim=128, image_size=32, ngf=32, max_channels=256,
                 mapping_layers=4, mapping_lr_mul=0.01, channels=3):
        super().__init__()
        if image_size < 4 or image_size & (image_size - 1):
            raise ValueError(f"StyleGANGenerator: image_size must be a power of two >= 4, "
                             f"got {image_size}")
        self.nz, self.w_dim, self.image_size, self.channels = nz, w_dim, image_size, channels
        resolutions = [2 ** k for k in range(2, image_size.bit_length())]
        width = {r: min(ngf * image_size // r, max_channels) for r in resolutions}
        self.mapping = MappingNetwork(nz, w_dim, mapping_layers, mapping_lr_mul)
        self.const = Parameter(zeros(1, width[4], 4, 4))
        init.normal_(self.const)
        convs = [StyledConv(width[4], width[4], w_dim, 4)]
        for r in resolutions[1:]:
            convs += [StyledConv(width[r // 2], width[r], w_dim, r, upsample=True),
                      StyledConv(width[r], width[r], w_dim, r)]
        self.convs = ModuleList(convs)
        self.to_rgbs = ModuleList([ToRGB(width[r], w_dim, channels) for r in resolutions])
        self.num_ws = len(convs) + 1
        # the resolution each copy of w styles (the last one only the final toRGB)
        self.layer_resolutions = [4] + [r for r in resolutions[1:] for _ in (0, 1)] + \
            [image_size]

    def synthesis(self, ws):
        """ws (N, num_ws, w_dim) -> images; layer l reads ws[:, l]."""
        N = ws.shape[0]
        x = broadcast_to(self.const, (N,) + self.const.shape[1:])
        x = self.convs[0](x, ws[:, 0])
        image = self.to_rgbs[0](x, ws[:, 1])
        for k, to_rgb in enumerate(list(self.to_rgbs)[1:]):
            i = 2 * k + 1  # this resolution's convs: i (upsampling) and i + 1; toRGB: w_{i+2}
            x = self.convs[i + 1](self.convs[i](x, ws[:, i]), ws[:, i + 1])
            # the skip generator (StyleGAN2 Fig. 7b): each resolution adds its RGB detail
            image = F.interpolate(image, scale_factor=2, mode="bilinear", align_corners=False) \
                + to_rgb(x, ws[:, i + 2])
        return image

    def forward(self, z, truncation_psi=1.0):
        w = self.mapping(z)
        if truncation_psi != 1.0:
            w = truncate(w, self.mapping.w_avg, truncation_psi)
        return self.synthesis(broadcast_ws(w, self.num_ws))


# ----------------------------------------------------------------------------- discriminator
class DiscriminatorBlock(Module):
    """StyleGAN2's residual D block (Fig. 7c): two 3x3 convs and a 2x downsample, plus a 1x1
    skip path; the sum is divided by sqrt(2) to keep the variance."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = EqualConv2d(in_channels, in_channels, 3, padding=1)
        self.conv2 = EqualConv2d(in_channels, out_channels, 3, padding=1)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x):
        y = scaled_leaky_relu(self.conv1(x))
        y = scaled_leaky_relu(self.conv2(F.avg_pool2d(y, 2)))
        return (y + self.skip(F.avg_pool2d(x, 2))) / GAIN


class StyleGANDiscriminator(_Discriminator):
    """images (N, channels, size, size) -> logits (N,): fromRGB, residual blocks down to 4x4,
    minibatch stddev, a 3x3 conv and two linear layers (StyleGAN2's D, narrower)."""

    def __init__(self, ndf=32, image_size=32, channels=3, max_channels=256, minibatch_std=True):
        super().__init__()
        if image_size < 4 or image_size & (image_size - 1):
            raise ValueError(f"StyleGANDiscriminator: image_size must be a power of two >= 4, "
                             f"got {image_size}")
        resolutions = [2 ** k for k in range(image_size.bit_length() - 1, 1, -1)]
        width = {r: min(ndf * image_size // r, max_channels) for r in resolutions}
        layers = [EqualConv2d(channels, width[image_size], 1), ScaledLeakyReLU()]
        layers += [DiscriminatorBlock(width[r], width[r // 2]) for r in resolutions[:-1]]
        self.body = Sequential(*layers)
        self.mbstd = MinibatchStdDev() if minibatch_std else None
        c = width[4]
        self.head = Sequential(EqualConv2d(c + int(minibatch_std), c, 3, padding=1),
                               ScaledLeakyReLU(), Flatten(), EqualLinear(c * 16, c),
                               ScaledLeakyReLU(), EqualLinear(c, 1))


# ---------------------------------------------------------------------------------- trainer
class StyleGANTrainer(GANTrainer):
    """`GANTrainer` with style mixing regularisation, and StyleGAN2's defaults: the logistic
    (non-saturating) loss with lazy R1 on every ``r1_interval``-th step.

    Each training batch of G is made from two w's per sample, switched at a random layer
    with probability ``mixing_prob`` (0.9 in StyleGAN). Progress samples are not mixed.
    ``pl_weight`` > 0 adds path-length regularisation (StyleGAN2: 2), lazily: an extra G
    update every ``pl_interval`` steps on batches ``pl_batch_shrink`` times smaller."""

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, mixing_prob=0.9,
                 objective="logistic", r1_gamma=1.0, r1_interval=16, pl_weight=0.0,
                 pl_interval=4, pl_decay=0.01, pl_batch_shrink=2, **kwargs):
        super().__init__(generator, discriminator, g_optimizer, d_optimizer, objective=objective,
                         r1_gamma=r1_gamma, r1_interval=r1_interval, **kwargs)
        self.mixing_prob = mixing_prob
        self.pl_weight, self.pl_interval, self.pl_decay = pl_weight, pl_interval, pl_decay
        self.pl_batch_shrink = pl_batch_shrink
        self.pl_mean = zeros(1, dtype=self.dtype, device=self.device)  # a in Eq. 4

    def generate(self, z):
        """G(z) for training, with style mixing: w2 from fresh noise, mixed in from a random
        crossover layer onward."""
        G = self.G
        w = G.mapping(z)
        if not self.mixing_prob:
            return G.synthesis(broadcast_ws(w, G.num_ws))
        w2 = G.mapping(self.noise(z.shape[0]))
        crossover = random_crossover(z.shape[0], G.num_ws, self.mixing_prob, self.rng,
                                     self.device)
        return G.synthesis(mix_styles(w, w2, crossover, G.num_ws))

    def _call(self, net, x, labels):
        # GANTrainer makes every training batch through _call(self.G, z); sample() puts the
        # net in eval mode first, so progress grids stay unmixed.
        if net is self.G and net.training and labels is None:
            return self.generate(x)
        return super()._call(net, x, labels)

    def path_lengths(self, ws, y):
        """||J_w^T y||_2 per sample, J the Jacobian of the images G.synthesis(ws) with respect
        to w (summed over the layers' copies of w, as StyleGAN2's code does), kept
        differentiable: J^T y is the gradient of sum(G(w) * y) with respect to w."""
        (g,) = grad(sum(self.G.synthesis(ws) * y), ws, create_graph=True)
        return sqrt(mean(sum(g * g, dim=2), dim=1))

    def path_length_penalty(self, n):
        """StyleGAN2 Sec. 3.2, Eq. 4: E_{w,y} (||J_w^T y||_2 - a)^2 with y ~ N(0, I / (H W))
        random images and a the running mean of the lengths. A fixed-size step in w then
        changes the image by a fixed amount, whatever the direction: a smoother G."""
        ws = broadcast_ws(self.G.mapping(self.noise(n)), self.G.num_ws)
        size = self.G.image_size
        y = randn(n, self.G.channels, size, size, dtype=self.dtype,
                  device=self.device, generator=self.rng) / float(size)
        lengths = self.path_lengths(ws, y)
        with no_grad():
            self.pl_mean = self.pl_mean + self.pl_decay * (mean(lengths.detach()) - self.pl_mean)
        return mean((lengths - self.pl_mean) ** 2)

    def g_step(self, fake, real=None, labels=None):
        log = super().g_step(fake, real, labels)
        if self.pl_weight and self.step % self.pl_interval == 0:
            self.g_optimizer.zero_grad()
            n = max(1, fake.shape[0] // self.pl_batch_shrink)
            penalty = self.path_length_penalty(n) * (self.pl_weight * self.pl_interval)
            log.update(self._fetch({"pl_penalty": penalty}, "pl_penalty"))
            penalty.backward()
            self.g_optimizer.step()
        return log

    def state_dict(self):
        return {**super().state_dict(), "pl_mean": self.pl_mean}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        pl_mean = state["pl_mean"]
        pl_mean = pl_mean.data if isinstance(pl_mean, Tensor) else pl_mean
        self.pl_mean = Tensor(backend.to_device(pl_mean, self.device, self.dtype))
