"""Conditional GAN (Mirza & Osindero 2014): both networks also see a class label y.

G(z, y) must produce a sample of class y, and D(x, y) judges whether x is a real sample
*of class y*. The simplest way to feed a label in is to turn it into a vector (a learned
`Embedding`, which for one-hot inputs is the same as a Linear layer) and concatenate it
to the input. After training, fixing y and varying z samples one chosen class.
See ``docs/08_gan_tricks.md``.
"""
from ..nn import Module, Embedding
from ..ops import concat
from .models import MLPGenerator, MLPDiscriminator


class ConditionalMLPGenerator(Module):
    """(z (N, nz), labels (N,) ints) -> points (N, out_features)."""

    def __init__(self, num_classes, nz=2, hidden=128, num_layers=3, out_features=2, embed_dim=8):
        super().__init__()
        self.nz, self.num_classes = nz, num_classes
        self.embed = Embedding(num_classes, embed_dim)
        self.net = MLPGenerator(nz + embed_dim, hidden, num_layers, out_features)

    def forward(self, z, labels):
        return self.net(concat([z, self.embed(labels)], dim=1))


class ConditionalMLPDiscriminator(Module):
    """(x (N, in_features), labels (N,) ints) -> logits (N,)."""

    def __init__(self, num_classes, in_features=2, hidden=128, num_layers=3, embed_dim=8,
                 spectral_norm=False):
        super().__init__()
        self.num_classes = num_classes
        self.embed = Embedding(num_classes, embed_dim)
        self.net = MLPDiscriminator(in_features + embed_dim, hidden, num_layers, spectral_norm)

    def features(self, x, labels):
        return self.net.features(concat([x, self.embed(labels)], dim=1))

    def forward(self, x, labels):
        return self.net(concat([x, self.embed(labels)], dim=1))
