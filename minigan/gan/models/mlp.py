"""A small MLP pair for the 2-D toy data: the networks of examples/toy_2d.py."""
from ...nn import Module, Sequential, Linear, BatchNorm1d, ReLU, LeakyReLU
from ..spectral_norm import spectral_norm as _spectral_norm
from ..tricks import MinibatchStdDev
from ..virtual_batchnorm import VirtualBatchNorm
from .dcgan import _Discriminator


class MLPGenerator(Module):
    """z (N, nz) -> points (N, out_features): ``num_layers`` hidden ReLU layers of ``hidden``
    units. ``norm``: None, "batch" (BatchNorm1d) or "virtual" (`VirtualBatchNorm` with a
    reference batch of ``reference_size``; wrap the model in `ReferenceBatch`)."""

    def __init__(self, nz=2, hidden=128, num_layers=3, out_features=2, norm=None,
                 reference_size=None):
        super().__init__()
        self.nz = nz
        layers, width = [], nz
        for _ in range(num_layers):
            layers.append(Linear(width, hidden))
            if norm == "batch":
                layers.append(BatchNorm1d(hidden))
            elif norm == "virtual":
                layers.append(VirtualBatchNorm(hidden, reference_size))
            elif norm is not None:
                raise ValueError(f"MLPGenerator: norm must be None, 'batch' or 'virtual', "
                                 f"got {norm!r}")
            layers.append(ReLU())
            width = hidden
        layers.append(Linear(width, out_features))
        self.main = Sequential(*layers)

    def forward(self, z):
        return self.main(z)


class MLPDiscriminator(_Discriminator):
    """points (N, in_features) -> logits (N,) (or (N, out_features) critic features):
    LeakyReLU(0.2) hidden layers, optionally spectrally normalised, with an optional
    minibatch-stddev feature before the output."""

    def __init__(self, in_features=2, hidden=128, num_layers=3, spectral_norm=False,
                 minibatch_std=False, out_features=1):
        super().__init__()
        sn = _spectral_norm if spectral_norm else (lambda layer: layer)
        layers, width = [], in_features
        for _ in range(num_layers):
            layers += [sn(Linear(width, hidden)), LeakyReLU(0.2)]
            width = hidden
        self.body = Sequential(*layers)
        self.mbstd = MinibatchStdDev() if minibatch_std else None
        self.head = sn(Linear(width + int(minibatch_std), out_features))

