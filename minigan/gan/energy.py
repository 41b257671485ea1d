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
from ..nn import Module, Sequential, Linear, ELU, Conv2d, ConvTranspose2d, Flatten
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
        return reconstruction_energy(x, self.reconstruct(x), self.p)


def reconstruction_energy(x, reconstruction, p=2):
    """mean_j |x_j - reconstruction_j|^p per sample: (N, ...) -> (N,)."""
    error = reshape(x - reconstruction, (x.shape[0], -1))
    error = abs(error) if p == 1 else error * error
    return mean(error, dim=1)


class ConvAutoencoderDiscriminator(Module):
    """The autoencoder D for images (N, channels, S, S), S a power of two >= 8: energy (N,)
    = mean |x - Dec(Enc(x))|^p, as `AutoencoderDiscriminator`.

    The encoder is the DCGAN discriminator's body (strided 4x4 convolutions down to 4x4,
    doubling the width from ``width``) and a linear layer to a code of ``code_features`` (64
    in BEGAN); the decoder mirrors it with transposed convolutions. ELU everywhere and no
    batch norm, as BEGAN's; no Tanh at the output, so the reconstruction error can grow as
    far as D wants to push a fake. For image_size = 32, width w:

        (N, 3, 32, 32) -> (N, w, 16, 16) -> (N, 2w, 8, 8) -> (N, 4w, 4, 4) -> code (N, 64)
        code -> (N, 4w, 4, 4) -> (N, 2w, 8, 8) -> (N, w, 16, 16) -> (N, 3, 32, 32)
    """

    def __init__(self, image_size=32, channels=3, width=64, code_features=64, p=2):
        super().__init__()
        if p not in (1, 2):
            raise ValueError(f"ConvAutoencoderDiscriminator: p must be 1 or 2, got {p}")
        if image_size < 8 or image_size & (image_size - 1):
            raise ValueError(f"ConvAutoencoderDiscriminator: image_size must be a power of two "
                             f">= 8, got {image_size}")
        self.p = p
        stages = image_size.bit_length() - 3  # halvings from image_size down to 4x4
        widths = [width * 2 ** i for i in range(stages)]  # w, 2w, 4w, ...
        self.bottom = (widths[-1], 4, 4)
        down, width_in = [], channels
        for w in widths:
            down += [Conv2d(width_in, w, 4, 2, 1), ELU()]
            width_in = w
        up = []
        for w_in, w_out in zip(widths[::-1], widths[-2::-1] + [channels]):
            up += [ELU(), ConvTranspose2d(w_in, w_out, 4, 2, 1)]
        self.encoder = Sequential(*down, Flatten(), Linear(widths[-1] * 16, code_features))
        self.decode_linear = Linear(code_features, widths[-1] * 16)
        self.decoder = Sequential(*up)

    def features(self, x):
        return self.encoder(x)

    def reconstruct(self, x):
        h = self.decode_linear(self.features(x))
        return self.decoder(reshape(h, (x.shape[0],) + self.bottom))

    def forward(self, x):
        return reconstruction_energy(x, self.reconstruct(x), self.p)


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
