"""Conditional DCGANs for images: G(z, y) draws a cat of class y, and D judges (x, y) pairs
(CGAN, Mirza & Osindero 2014), or (x) with an extra class head (ACGAN, Odena et al. 2017).

How the label gets in, for labels y (N,) in {0..K-1}:

    G:                 [z, embed(y)] (N, nz + E) -> the DCGAN generator -> (N, C, S, S)
    D, concatenation:  [x, embed(y) at every pixel] (N, C + E, S, S) -> the DCGAN discriminator
    D, projection:     phi(x) = sum over positions of D's last features (N, F), and
                       D(x, y) = psi(phi) + <embed(y), phi(x)>   (Miyato & Koyama 2018)
    ACGAN D:           the plain DCGAN discriminator, plus a head giving class logits (N, K)

Concatenation lets D compare image and label from the first layer on; the projection adds
the label only at the end, as an inner product, which is what the optimal D of a conditional
GAN looks like when p(y | x) is log-linear in phi(x), and trains more stably with many
classes. The learned `Embedding` of a label is the same as a Linear layer on its one-hot
vector. See ``docs/13_conditional.md``.
"""
from ...nn import Module, Embedding, Conv2d, init
from ...nn.embedding import embedding
from ...ops import broadcast_to, concat, reshape
from ..spectral_norm import spectral_norm as _spectral_norm
from .dcgan import DCGANGenerator, DCGANDiscriminator, _stages


def label_channels(x, labels, weight):
    """[x, weight[labels] spread over every pixel]: (N, C, H, W) -> (N, C + E, H, W), for
    an embedding table ``weight`` (K, E)."""
    n, _, h, w = x.shape
    e = weight.shape[1]
    maps = broadcast_to(reshape(embedding(labels, weight), (n, e, 1, 1)), (n, e, h, w))
    return concat([x, maps], dim=1)


def projection(features, labels, weight):
    """<weight[labels], features>: the projection discriminator's class term, (N, F) -> (N,),
    for an embedding table ``weight`` (K, F)."""
    return (embedding(labels, weight) * features).sum(1)


class ConditionalDCGANGenerator(Module):
    """(z (N, nz), labels (N,)) -> images (N, channels, S, S) in [-1, 1]."""

    def __init__(self, num_classes, nz=100, ngf=64, image_size=64, channels=3, embed_dim=16):
        super().__init__()
        self.nz, self.num_classes, self.image_size = nz, num_classes, image_size
        self.embed = Embedding(num_classes, embed_dim)
        self.net = DCGANGenerator(nz + embed_dim, ngf, image_size, channels)

    def forward(self, z, labels):
        z = reshape(z, (z.shape[0], self.nz))
        return self.net(concat([z, self.embed(labels)], dim=1))


class ConditionalDCGANDiscriminator(Module):
    """(x (N, channels, S, S), labels (N,)) -> logits (N,). ``projection=False``: the label
    enters as ``embed_dim`` extra input channels; ``projection=True``: as the inner product
    with the pooled last features. ``spectral_norm``: as `DCGANDiscriminator`'s."""

    def __init__(self, num_classes, ndf=64, image_size=64, channels=3, projection=False,
                 embed_dim=8, spectral_norm=False):
        super().__init__()
        self.num_classes, self.projection = num_classes, projection
        if projection:
            self.net = DCGANDiscriminator(ndf, image_size, channels, spectral_norm)
            self.embed = Embedding(num_classes, ndf * 2 ** _stages(image_size))  # one per feature
            # Small, as D's other weights (dcgan_init): N(0, 1) rows would swamp psi at first.
            init.normal_(self.embed.weight, 0.0, 0.02)
        else:
            self.net = DCGANDiscriminator(ndf, image_size, channels + embed_dim, spectral_norm)
            self.embed = Embedding(num_classes, embed_dim)

    def features(self, x, labels):
        """D's last features (N, F, 4, 4) (what feature matching compares)."""
        if self.projection:
            return self.net.features(x)
        return self.net.features(label_channels(x, labels, self.embed.weight))

    def forward(self, x, labels):
        if not self.projection:
            return self.net(label_channels(x, labels, self.embed.weight))
        h = self.net.features(x)
        psi = reshape(self.net.head(h), (x.shape[0],))
        return psi + projection(h.sum((2, 3)), labels, self.embed.weight)


class ACGANDiscriminator(DCGANDiscriminator):
    """The DCGAN discriminator with an auxiliary classifier: ``forward(x)`` the real/fake
    logits (N,) (labels, if given, are ignored: D does not see them), ``classify(x)`` class
    logits (N, K), ``both(x)`` the two from one pass through the body."""

    def __init__(self, num_classes, ndf=64, image_size=64, channels=3, spectral_norm=False):
        super().__init__(ndf, image_size, channels, spectral_norm)
        self.num_classes = num_classes
        sn = _spectral_norm if spectral_norm else (lambda layer: layer)
        self.class_head = sn(Conv2d(ndf * 2 ** _stages(image_size), num_classes, 4, 1, 0))

    def features(self, x, labels=None):
        return self.body(x)

    def forward(self, x, labels=None):
        return super().forward(x)

    def classify(self, x):
        return self.both(x)[1]

    def both(self, x):
        h = self.body(x)
        n = x.shape[0]
        return reshape(self.head(h), (n,)), reshape(self.class_head(h), (n, self.num_classes))
