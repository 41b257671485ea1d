"""InfoGAN (Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel 2016): interpretable codes.

G gets, besides the noise z, a latent code c: here one categorical code (K values, one-hot)
and some continuous codes U(-1, 1). To stop G from ignoring c, InfoGAN maximises the mutual
information I(c; G(z, c)) through its variational lower bound (Chen et al. 2016, Sec. 5):

    I(c; G(z, c)) >= L_I = E_{c ~ P(c), x ~ G(z, c)}[log Q(c | x)] + H(c)

which holds for any distribution Q(c | x) and is tight when Q is the true posterior. Q is a
small head on D's body features (`QHead`), so it costs little; both G and Q minimise

    L_info = -E[log Q(c | x)] = CE(Q_cat(x), c_cat) + NLL of a factored Gaussian for c_cont,

added with weight lambda (1 for categorical codes, as in the paper) to G's loss and to
D's/Q's loss. H(c) = log K is a constant, so L_I = H(c) - (the categorical part of L_info).
`InfoGANTrainer` trains G and Q on it in the G step, where D's body is frozen: a simpler
variant of the paper, whose D body also learns from L_info. See ``docs/08_gan_objectives.md``.
"""
import math

from .. import backend
from ..autograd import DEFAULT_DTYPE, Tensor
from ..creation import rand, randn
from ..nn import Module, Sequential, Linear, LeakyReLU
from ..ops import cross_entropy, concat, exp, mean, reshape
from .trainer import GANTrainer


def sample_codes(n, num_categories=10, num_continuous=2, dtype=None, device=None,
                 generator=None):
    """(labels, codes): labels (N,) uniform in {0..K-1} and the G input part (N, K + C):
    one-hot labels followed by continuous codes ~ U(-1, 1). ``generator``: any generator
    `minigan.rand` takes; everything is drawn on ``device``."""
    dtype = dtype or DEFAULT_DTYPE
    u = rand(n, dtype="float64", device=device, generator=generator).data
    xp = backend.get_array_module(u)
    with backend.device_context(backend.device_of(u)):
        labels = xp.minimum(xp.floor(u * num_categories), num_categories - 1).astype("int64")
        parts = [Tensor(xp.eye(num_categories, dtype=dtype)[labels])]
    if num_continuous:
        parts.append(2.0 * rand(n, num_continuous, dtype=dtype, device=device,
                                generator=generator) - 1.0)
    codes = concat(parts, dim=1) if len(parts) > 1 else parts[0]
    return Tensor(labels), codes


class QHead(Module):
    """Q(c | x) from D's body features (N, F), or (N, ...) flattened to F (a conv D's
    feature maps): categorical logits (N, K), and the mean and log standard deviation (N, C)
    of a Gaussian for each continuous code."""

    def __init__(self, in_features, num_categories=10, num_continuous=2, hidden=128):
        super().__init__()
        self.num_categories, self.num_continuous = num_categories, num_continuous
        self.body = Sequential(Linear(in_features, hidden), LeakyReLU(0.2))
        self.out = Linear(hidden, num_categories + 2 * num_continuous)

    def forward(self, features):
        h = self.out(self.body(reshape(features, (features.shape[0], -1))))
        k, c = self.num_categories, self.num_continuous
        return h[:, :k], h[:, k:k + c], h[:, k + c:]


def info_loss(cat_logits, labels, mean_c=None, log_std=None, continuous=None,
              continuous_weight=1.0):
    """L_info = -E[log Q(c | x)]: cross entropy of the categorical code plus
    ``continuous_weight`` times the Gaussian negative log-likelihood of the continuous ones,
    0.5 log(2 pi) + log s + (c - mu)^2 / (2 s^2), summed over codes, averaged over samples."""
    loss = cross_entropy(cat_logits, labels)
    if continuous is not None:
        z = (continuous - mean_c) * exp(-log_std)
        nll = 0.5 * math.log(2 * math.pi) + log_std + 0.5 * z * z
        loss = loss + continuous_weight * mean(nll.sum(1))
    return loss


def mutual_information_bound(cat_logits, labels, num_categories=None):
    """L_I = H(c) + E[log Q(c_cat | x)] for a uniform categorical code, in nats; at most
    H(c) = log K, reached when Q recovers c from x exactly."""
    k = num_categories or cat_logits.shape[1]
    return math.log(k) - cross_entropy(cat_logits, labels)


class InfoGANTrainer(GANTrainer):
    """`GANTrainer` whose G input is (z, one-hot c_cat, c_cont) and whose G loss adds
    ``info_weight * info_loss`` of ``q_head`` on D's features of the fakes.

    ``generator.nz`` counts the codes too (nz = noise + K + C); ``q_head``'s parameters must
    be in ``g_optimizer`` (Q learns with G); ``continuous_weight`` scales the continuous
    codes' part (the paper advises a smaller weight for them). `noise` also stores the codes
    it drew in ``last_codes`` = (labels, continuous codes), to read which code made a sample.
    Q is one of the trained networks: it is in the checkpoint (`state_dict`).
    """

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, q_head,
                 info_weight=1.0, continuous_weight=0.1, **kwargs):
        self.Q, self.info_weight, self.continuous_weight = q_head, info_weight, continuous_weight
        super().__init__(generator, discriminator, g_optimizer, d_optimizer, **kwargs)

    def noise(self, n):
        k, c = self.Q.num_categories, self.Q.num_continuous
        z = randn(n, self.nz - k - c, dtype=self.dtype, device=self.device, generator=self.rng)
        labels, codes = sample_codes(n, k, c, self.dtype, self.device, generator=self.rng)
        self.last_codes = (labels, codes[:, k:] if c else None)
        return concat([z, codes], dim=1)

    def generator_loss(self, fake_in, real, labels=None):
        loss = super().generator_loss(fake_in, real, labels)
        cat, mu, log_std = self.Q(self._features(fake_in, labels))
        code_labels, continuous = self.last_codes
        return loss + self.info_weight * info_loss(cat, code_labels, mu, log_std, continuous,
                                                   self.continuous_weight)

    def networks(self):
        return {**super().networks(), "q_head": self.Q}

    def state_dict(self):
        return {**super().state_dict(), "q_head": self.Q.state_dict()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.Q.load_state_dict(state["q_head"])
