"""Virtual batch normalisation (Salimans et al. 2016): batch norm whose statistics come from a
*fixed reference batch* plus the example itself, not from the rest of the batch.

Plain batch norm makes one sample's output depend on the other samples in its batch, which in
a generator shows up as batches whose samples look alike. Here every example x_i is
normalised with the statistics of {reference batch} + {x_i}, computed per example:

    mu_i  = (M mean_ref(x) + x_i) / (M + 1)
    var_i = (M mean_ref(x^2) + x_i^2) / (M + 1) - mu_i^2
    y_i   = (x_i - mu_i) / sqrt(var_i + eps) * gamma + beta

Deep in a network the reference batch's features change as the weights change, so the
reference batch must go through the network with every batch: `ReferenceBatch` prepends it
(the first M rows) and drops its outputs at the end. Gradients flow through the reference
statistics, as in the paper. See ``docs/08_gan_tricks.md``.
"""
from ..creation import ones, zeros
from ..nn import Module, Parameter
from ..ops import mean, sqrt, concat, reshape


class VirtualBatchNorm(Module):
    """(N, C) or (N, C, H, W) input whose first ``reference_size`` rows are the reference batch."""

    def __init__(self, num_features, reference_size, eps=1e-5):
        super().__init__()
        self.num_features, self.reference_size, self.eps = num_features, reference_size, eps
        self.weight = Parameter(ones(num_features))
        self.bias = Parameter(zeros(num_features))

    def forward(self, x):
        m = self.reference_size
        if x.shape[0] <= m or x.shape[1] != self.num_features:
            raise ValueError(f"VirtualBatchNorm: expected (reference {m} + batch, "
                             f"{self.num_features}, ...) input, got shape {x.shape}")
        spatial = tuple(range(2, x.ndim))
        # Per-example first and second moments (over H, W for images).
        x_mean = mean(x, dim=spatial, keepdim=True) if spatial else x
        x_sq = mean(x * x, dim=spatial, keepdim=True) if spatial else x * x
        ref_mean = mean(x_mean[:m], dim=0, keepdim=True)
        ref_sq = mean(x_sq[:m], dim=0, keepdim=True)
        new = 1.0 / (m + 1)  # the example's weight in its own statistics
        mu = (1.0 - new) * ref_mean + new * x_mean
        var = (1.0 - new) * ref_sq + new * x_sq - mu * mu
        shape = (1, self.num_features) + (1,) * len(spatial)
        xhat = (x - mu) / sqrt(var + self.eps)
        return xhat * reshape(self.weight, shape) + reshape(self.bias, shape)

    def extra_repr(self):
        return f"{self.num_features}, reference_size={self.reference_size}, eps={self.eps}"


class ReferenceBatch(Module):
    """Runs ``net`` on [reference; x] and returns the outputs for x only.

    ``reference`` (a fixed batch of inputs, e.g. noise vectors for a generator) is chosen
    once before training and kept as a buffer, so it is saved with the model.
    """

    def __init__(self, net, reference):
        super().__init__()
        self.net = net
        self.nz = getattr(net, "nz", None)  # the latent size, for code that samples noise
        self.register_buffer("reference", reference.detach())

    def forward(self, x):
        m = self.reference.shape[0]
        return self.net(concat([self.reference, x], dim=0))[m:]
