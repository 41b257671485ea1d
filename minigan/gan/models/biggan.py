"""BigGAN-lite (Brock et al. 2019): the tricks that let BigGAN scale, on a ResNet pair small
enough for a CPU. Each is a few lines on top of sngan.py:

- `ConditionalBatchNorm2d` (de Vries et al. 2017; BigGAN Sec. 3 and Appendix B, Fig. 15):
  batch norm whose scale and shift depend on a condition c instead of being fixed:

      y = BN(x) * (1 + gain(c)) + bias(c),   per channel

  With class labels, gain and bias are lookup tables; BigGAN instead computes them by
  Linear layers from c = [shared class embedding, a chunk of z] (one embedding shared by
  all blocks, which is cheaper than one table per block and generalises across classes).
- the *hierarchical latent* (Sec. 3): z is split into one chunk per G block plus one for the
  first Linear, so noise enters at every resolution, not only at the top.
- `ProjectionHead` (Miyato & Koyama 2018, Sec. 3; BigGAN's D): the label enters D through an
  inner product with D's features phi(x), instead of being concatenated to the input:

      logit(x, y) = psi(phi(x)) + <embed(y), phi(x)>

- `orthogonal_regularization` (Sec. 3.1, Eq. 3): keep G's filters near-orthogonal to each
  other, without constraining their norms, so that truncated z still gives good images:

      R_beta(W) = beta * || W W^T * (1 - I) ||_F^2     (W: one filter per row)

  The paper writes W^T W with one filter per *column*; minigan's weights keep filters in rows.
  It is a loss made of differentiable ops (`BigGANTrainer` adds it to G's loss).
- `truncated_noise` (Sec. 3.1): sample z from a truncated normal (values beyond the threshold
  are drawn again); smaller thresholds trade variety for quality.

With one class (``num_classes=1``, no labels) the pair is an unconditional BigGAN-lite: the
class embedding is a learned constant and the projection a learned vector. See
``docs/12_architectures.md``.
"""
from ... import backend
from ...autograd import Tensor
from ...creation import randn
from ...nn import (Module, ModuleList, Sequential, Conv2d, Linear, BatchNorm2d, Embedding, ReLU,
                   Tanh, Upsample, init)
from ...ops import reshape, relu, sum, concat, matmul, transpose, getitem
from ..trainer import GANTrainer
from .sngan import _levels, _sn_or_not, discriminator_blocks


def _per_channel(v):
    """(N, C) -> (N, C, 1, 1), to scale or shift each channel of a (N, C, H, W) map."""
    return reshape(v, v.shape + (1, 1))


class ConditionalBatchNorm2d(Module):
    """Batch norm with a per-example scale and shift: y = BN(x) * (1 + gain(c)) + bias(c).

    Give exactly one of ``num_classes`` (c is a label (N,) of ints; gain and bias are
    `Embedding` tables starting at 0, so the layer starts as a plain batch norm) or
    ``cond_dim`` (c is a vector (N, cond_dim); gain and bias are bias-free Linear layers, as in
    BigGAN, spectrally normalised with ``spectral_norm=True``)."""

    def __init__(self, num_features, num_classes=None, cond_dim=None, eps=1e-5, momentum=0.1,
                 spectral_norm=False):
        super().__init__()
        if (num_classes is None) == (cond_dim is None):
            raise ValueError("ConditionalBatchNorm2d: give num_classes (labels) or cond_dim "
                             "(condition vectors), not both or neither")
        self.num_features = num_features
        self.bn = BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        if num_classes is not None:
            self.gain, self.bias = (Embedding(num_classes, num_features) for _ in range(2))
            init.zeros_(self.gain.weight)
            init.zeros_(self.bias.weight)
        else:
            sn = _sn_or_not(spectral_norm)
            self.gain = sn(Linear(cond_dim, num_features, bias=False))
            self.bias = sn(Linear(cond_dim, num_features, bias=False))

    def forward(self, x, condition):
        return self.bn(x) * _per_channel(1.0 + self.gain(condition)) + \
            _per_channel(self.bias(condition))


class GeneratorBlock(Module):
    """sngan.GeneratorBlock with conditional batch norms: each reads the block's condition
    vector c = [shared embedding, z chunk] (BigGAN Fig. 15 (b))."""

    def __init__(self, in_channels, out_channels, cond_dim, spectral_norm=True):
        super().__init__()
        sn = _sn_or_not(spectral_norm)
        self.bn1 = ConditionalBatchNorm2d(in_channels, cond_dim=cond_dim,
                                          spectral_norm=spectral_norm)
        self.conv1 = sn(Conv2d(in_channels, out_channels, 3, 1, 1))
        self.bn2 = ConditionalBatchNorm2d(out_channels, cond_dim=cond_dim,
                                          spectral_norm=spectral_norm)
        self.conv2 = sn(Conv2d(out_channels, out_channels, 3, 1, 1))
        self.up = Upsample(scale_factor=2)
        self.shortcut = sn(Conv2d(in_channels, out_channels, 1, 1, 0))

    def forward(self, x, c):
        h = self.conv1(self.up(relu(self.bn1(x, c))))
        h = self.conv2(relu(self.bn2(h, c)))
        return h + self.shortcut(self.up(x))


def _labels_or_zeros(labels, like):
    """The labels, or class 0 for every example (the one class of an unconditional run)."""
    if labels is not None:
        return labels
    with backend.device_context(like.device):
        return Tensor(backend.xp_for(like.device).zeros(like.shape[0], dtype="int64"))


class BigGANGenerator(Module):
    """(z (N, nz), labels (N,) or None) -> images (N, channels, image_size, image_size).

    z is split into ``blocks + 1`` equal chunks (``nz`` must divide evenly): the first feeds
    the Linear to 4x4, each other one a block's batch norms with the shared class embedding
    of ``embed_dim``. Spectral norm in G too (BigGAN Sec. 4)."""

    def __init__(self, nz=120, ngf=64, image_size=32, channels=3, num_classes=1, embed_dim=32,
                 spectral_norm=True):
        super().__init__()
        sn = _sn_or_not(spectral_norm)
        num_blocks = _levels(image_size) - 2
        slots = num_blocks + 1
        if nz % slots:
            raise ValueError(f"BigGANGenerator: nz={nz} must split into {slots} equal chunks "
                             f"(one per block and one for the input) at {image_size}x"
                             f"{image_size}; try nz={slots * (nz // slots + 1)}")
        self.nz, self.ngf, self.num_classes = nz, ngf, num_classes
        self.chunk = nz // (num_blocks + 1)
        self.shared = Embedding(num_classes, embed_dim)  # one class embedding for all blocks
        self.linear = sn(Linear(self.chunk, ngf * 4 * 4))
        self.blocks = ModuleList([GeneratorBlock(ngf, ngf, embed_dim + self.chunk, spectral_norm)
                                  for _ in range(num_blocks)])
        self.output = Sequential(BatchNorm2d(ngf), ReLU(), sn(Conv2d(ngf, channels, 3, 1, 1)),
                                 Tanh())

    def forward(self, z, labels=None):
        z = reshape(z, (z.shape[0], self.nz))
        chunks = [getitem(z, (slice(None), slice(i, i + self.chunk)))
                  for i in range(0, self.nz, self.chunk)]
        embedding = self.shared(_labels_or_zeros(labels, z))
        h = reshape(self.linear(chunks[0]), (z.shape[0], self.ngf, 4, 4))
        for block, chunk in zip(self.blocks, chunks[1:]):
            h = block(h, concat([embedding, chunk], dim=1))
        return self.output(h)


class ProjectionHead(Module):
    """(features phi (N, F), labels (N,)) -> logits (N,) = psi(phi) + <embed(y), phi>
    (Miyato & Koyama 2018, Sec. 3)."""

    def __init__(self, in_features, num_classes, spectral_norm=True):
        super().__init__()
        sn = _sn_or_not(spectral_norm)
        self.psi = sn(Linear(in_features, 1))
        self.embed = sn(Embedding(num_classes, in_features))

    def forward(self, features, labels):
        projection = sum(self.embed(labels) * features, dim=1)
        return reshape(self.psi(features), (features.shape[0],)) + projection


class BigGANDiscriminator(Module):
    """(images, labels (N,) or None) -> logits (N,): the ResNet D body (sngan.py), ReLU, a
    sum over positions, and a `ProjectionHead`."""

    def __init__(self, ndf=64, image_size=32, channels=3, num_classes=1, spectral_norm=True):
        super().__init__()
        self.num_classes = num_classes
        self.blocks = Sequential(*discriminator_blocks(ndf, image_size, channels,
                                                       _sn_or_not(spectral_norm)))
        self.head = ProjectionHead(ndf, num_classes, spectral_norm)

    def features(self, x, labels=None):
        return sum(relu(self.blocks(x)), dim=(2, 3))

    def forward(self, x, labels=None):
        return self.head(self.features(x), _labels_or_zeros(labels, x))


def orthogonal_regularization(module, beta=1e-4):
    """beta * sum over the Conv2d and Linear weights W of ``module`` of
    ||W W^T * (1 - I)||_F^2, with W reshaped to (out_channels, -1) (BigGAN Eq. 3): only the
    inner products *between* different filters are pushed to 0; their norms are free.
    Spectrally normalised layers contribute their raw weight (``weight_orig``)."""
    total = None
    for layer in module.modules():
        if not isinstance(layer, (Conv2d, Linear)):
            continue
        w = layer._parameters.get("weight_orig", layer._parameters.get("weight"))
        w = reshape(w, (w.shape[0], -1))
        with backend.device_context(w.device):
            off_diagonal = Tensor(1.0 - backend.xp_for(w.device).eye(w.shape[0], dtype=w.dtype))
        gram = matmul(w, transpose(w, 0, 1)) * off_diagonal
        term = sum(gram * gram)
        total = term if total is None else total + term
    if total is None:
        raise ValueError(f"orthogonal_regularization: {type(module).__name__} has no Conv2d or "
                         f"Linear layer")
    return beta * total


def truncated_noise(n, nz, truncation=1.0, generator=None, device=None, dtype=None):
    """z (n, nz) from N(0, I) with every value in [-truncation, truncation]: values outside
    are drawn again until none is left (BigGAN's truncation trick, Sec. 3.1)."""
    if truncation <= 0:
        raise ValueError(f"truncated_noise: truncation must be positive, got {truncation}")
    if device is None and generator is not None and not isinstance(generator,
                                                                   backend.np.random.Generator):
        device = generator.device
    z = randn(n, nz, dtype=dtype, device=device, generator=generator)
    xp = backend.get_array_module(z.data)
    with backend.device_context(z.device):
        while True:
            outside = xp.abs(z.data) > truncation
            if not bool(outside.any()):  # a few rounds: P(|z| > 1) is 0.32, > 0.5 is 0.62
                return z
            fresh = randn(n, nz, dtype=z.dtype, device=z.device, generator=generator)
            z.data = xp.where(outside, fresh.data, z.data)


class BigGANTrainer(GANTrainer):
    """`GANTrainer` whose G loss also carries `orthogonal_regularization` of G, weight
    ``ortho_beta`` (BigGAN: 1e-4)."""

    def __init__(self, *args, ortho_beta=1e-4, **kwargs):
        super().__init__(*args, **kwargs)
        self.ortho_beta = ortho_beta

    def generator_loss(self, fake_in, real, labels=None):
        loss = super().generator_loss(fake_in, real, labels)
        if self.ortho_beta:
            loss = loss + orthogonal_regularization(self.G, self.ortho_beta)
        return loss
