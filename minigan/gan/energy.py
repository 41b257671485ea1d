"""Energy-based GANs: the discriminator is an autoencoder, its reconstruction error an energy.

Data should get low energy, fakes high energy. Two objectives share that discriminator:

EBGAN (Zhao, Mathieu & LeCun 2017; its "repelling regularizer" f_PT), margin m > 0:

    L_D = E[D(x)] + E[max(0, m - D(G(z)))]          fakes need only reach energy m
    L_G = E[D(G(z))] + lambda_PT * f_PT(S)

    f_PT(S) = 1/(N(N-1)) sum_i sum_{j != i} (S_i . S_j / (|S_i| |S_j|))^2

the "pulling-away term" on the encoder's codes S of a fake batch: squared cosine
similarities between different samples, small when the codes point different ways, so it
pushes G away from producing one sample many times (mode collapse).

BEGAN (Berthelot, Schumm & Metz 2017, Sec. 3.3-3.4.1), with L(v) = E|v - Dec(Enc(v))|:

    L_D = L(x) - k_t L(G(z))          L_G = L(G(z))
    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)
    M_global = L(x) + |gamma L(x) - L(G(z))|

k_t is a proportional controller that keeps E L(G(z)) = gamma E L(x): gamma (the
"diversity ratio", 0.3 to 0.7) trades diversity for quality, lambda_k = 0.001 is its gain.
M_global falls as training converges, a loss curve that can be trusted. `EBGANTrainer` and
`BEGANTrainer` train with them. See
``docs/08_gan_objectives.md``.
"""
import math

from ..autograd import Tensor
from ..nn import Module, Sequential, Linear, ELU
from ..ops import abs, relu, mean, reshape, sqrt
from .objectives import Objective
from .trainer import GANTrainer


class AutoencoderDiscriminator(Module):
    """An MLP autoencoder D: x (N, ...) -> energy (N,) = mean_j |x_j - Dec(Enc(x))_j|^p.

    p = 2 (mean squared error) for EBGAN, p = 1 for BEGAN (its eta = 1). ``features(x)``
    gives the codes Enc(x) (N, code_features) for the pulling-away term. Inputs of any shape
    are flattened, so it also takes small images; ELU as in BEGAN.
    """

    def __init__(self, in_features=2, hidden=128, code_features=16, num_layers=2, p=2):
        super().__init__()
        if p not in (1, 2):
            raise ValueError(f"AutoencoderDiscriminator: p must be 1 or 2, got {p}")
        self.p = p

        def mlp(width_in, width_out):
            layers, width = [], width_in
            for _ in range(num_layers):
                layers += [Linear(width, hidden), ELU()]
                width = hidden
            return Sequential(*layers, Linear(width, width_out))
        self.encoder = mlp(in_features, code_features)
        self.decoder = mlp(code_features, in_features)

    def features(self, x):
        return self.encoder(reshape(x, (x.shape[0], -1)))

    def reconstruct(self, x):
        return reshape(self.decoder(self.features(x)), x.shape)

    def forward(self, x):
        error = reshape(x - self.reconstruct(x), (x.shape[0], -1))
        error = abs(error) if self.p == 1 else error * error
        return mean(error, dim=1)


# --------------------------------------------------------------------------------- EBGAN
def ebgan_d_loss(real, fake, margin=1.0):
    """L_D = E[D(x)] + E[max(0, m - D(G(z)))] on energies (N,) (EBGAN, Zhao et al. 2017)."""
    return mean(real) + mean(relu(margin - fake))


def ebgan_g_loss(fake, real=None):
    """L_G = E[D(G(z))]: G lowers the energy of its samples. Add
    ``pt_weight * pulling_away_term(D.features(fake_images))`` for EBGAN-PT."""
    return mean(fake)


def pulling_away_term(codes):
    """f_PT = mean over pairs i != j of cos^2(S_i, S_j), codes S of shape (N, F), N >= 2."""
    n = codes.shape[0]
    if n < 2:
        raise ValueError(f"pulling_away_term: needs at least 2 samples, got {n}")
    s = reshape(codes, (n, -1))
    unit = s / sqrt((s * s).sum(1, keepdim=True))
    cos2 = (unit @ unit.T) ** 2
    # The diagonal is cos^2(S_i, S_i) = 1 exactly: subtract it instead of masking.
    return (cos2.sum() - float(n)) / float(n * (n - 1))


# --------------------------------------------------------------------------------- BEGAN
class BEGANEquilibrium:
    """BEGAN's losses and its equilibrium controller k_t (Berthelot et al. 2017).

    ``real`` and ``fake`` are autoencoder energies L(x), L(G(z)) of shape (N,). Call
    `update` once per step, after the D and G updates, with that step's energies: it moves
    k_t and returns the convergence measure M_global.
    """

    def __init__(self, gamma=0.5, lambda_k=0.001, k=0.0):
        if not 0 < gamma <= 1:
            raise ValueError(f"BEGANEquilibrium: gamma must be in (0, 1], got {gamma}")
        self.gamma, self.lambda_k, self.k = gamma, lambda_k, float(k)

    def d_loss(self, real, fake):
        """L_D = L(x) - k_t L(G(z))."""
        return mean(real) - self.k * mean(fake)

    def g_loss(self, fake, real=None):
        """L_G = L(G(z))."""
        return mean(fake)

    def update(self, real, fake):
        """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1); returns
        {"k": k_{t+1}, "M_global": L(x) + |gamma L(x) - L(G(z))|} as Python floats.
        ``real`` and ``fake``: the energies (Tensors) or their means L(x), L(G(z)) (floats)."""
        real_loss, fake_loss = _mean_value(real), _mean_value(fake)
        balance = self.gamma * real_loss - fake_loss
        self.k = min(1.0, max(0.0, self.k + self.lambda_k * balance))
        return {"k": self.k, "M_global": real_loss + math.fabs(balance)}

    def state_dict(self):
        return {"k": self.k}

    def load_state_dict(self, state):
        self.k = float(state["k"])


def _mean_value(energies):
    if isinstance(energies, Tensor):
        return float(mean(energies.detach()).item())
    return float(energies)


# ------------------------------------------------------------------------------ trainers
class EBGANTrainer(GANTrainer):
    """`GANTrainer` with EBGAN's losses (margin ``margin``) and, on G's side, the
    pulling-away term on D's codes of the fakes, weight ``pt_weight`` (0.1 in the paper).
    ``discriminator`` is an `AutoencoderDiscriminator` (its outputs are energies)."""

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, margin=1.0,
                 pt_weight=0.1, **kwargs):
        def d_loss(real, fake):
            return ebgan_d_loss(real, fake, margin)
        super().__init__(generator, discriminator, g_optimizer, d_optimizer,
                         objective=Objective(d_loss, ebgan_g_loss, critic=True), **kwargs)
        self.pt_weight = pt_weight

    def generator_loss(self, fake_in, real, labels=None):
        loss = super().generator_loss(fake_in, real, labels)
        if self.pt_weight:
            loss = loss + self.pt_weight * pulling_away_term(self._features(fake_in, labels))
        return loss


class BEGANTrainer(GANTrainer):
    """`GANTrainer` with BEGAN's losses; after each D step k_t moves by the step's mean
    energies (logged as D(x), D(G(z))), and "k" and "M_global" are logged. ``discriminator``
    is an `AutoencoderDiscriminator` with p = 1."""

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, gamma=0.5,
                 lambda_k=0.001, **kwargs):
        self.equilibrium = BEGANEquilibrium(gamma, lambda_k)
        objective = Objective(self.equilibrium.d_loss, self.equilibrium.g_loss, critic=True)
        super().__init__(generator, discriminator, g_optimizer, d_optimizer, objective=objective,
                         **kwargs)

    def d_step(self, real, fake, labels=None):
        log = super().d_step(real, fake, labels)
        log.update(self.equilibrium.update(log["D(x)"], log["D(G(z))"]))
        return log

    def state_dict(self):
        return {**super().state_dict(), "began": self.equilibrium.state_dict()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.equilibrium.load_state_dict(state["began"])
