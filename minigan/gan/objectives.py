"""GAN objectives: the losses a discriminator (or critic) and a generator minimise.

Every function takes the discriminator's raw outputs, never probabilities:
``real`` = D(x) on data, ``fake`` = D(G(z)) on generated samples, each of shape (N,) or (N, 1).
For the "logit" objectives D(x) = sigmoid(real) is the probability that x is real; the
critic objectives (Wasserstein, hinge) use the raw score. Working on logits keeps every
loss finite: log(sigmoid(l)) = -softplus(-l) never takes the log of 0.

Each loss is one line of math; see ``docs/08_gan_objectives.md`` for when to use which.
`OBJECTIVES` maps a name (``--loss`` in the examples) to an `Objective`.
"""
from typing import Callable, NamedTuple, Optional

from ..ops import softplus, relu, mean
from .fgan import FGAN_LOSSES
from .mmd import mmd_d_loss, mmd_g_loss


# ------------------------------------------------------------------ minimax (Goodfellow 2014)
def minimax_d_loss(real, fake, real_label=1.0):
    """L_D = -E[log D(x)] - E[log(1 - D(G(z)))]  (binary cross entropy, real = 1, fake = 0).

    ``real_label < 1`` is one-sided label smoothing: the real target becomes e.g. 0.9, so
    D is never rewarded for pushing its real logits to infinity. Fake targets stay 0.
    With D = sigmoid(l):  -log D = softplus(-l)  and  -log(1 - D) = softplus(l).
    """
    smoothed = real_label * softplus(-real) + (1.0 - real_label) * softplus(real)
    return mean(smoothed) + mean(softplus(fake))


def minimax_g_loss(fake, real=None):
    """L_G = E[log(1 - D(G(z)))] = -E[softplus(l)]  (the "saturating" loss of the paper).

    When D confidently rejects the fakes (l << 0) its gradient, -sigmoid(l), vanishes:
    G learns nothing exactly when it is worst. Kept for teaching; use `nonsaturating_g_loss`.
    """
    return -mean(softplus(fake))


def nonsaturating_g_loss(fake, real=None):
    """L_G = -E[log D(G(z))] = E[softplus(-l)]: same fixed point, strong gradient
    (-(1 - sigmoid(l)) -> -1) when D rejects the fakes. The default in practice."""
    return mean(softplus(-fake))


# -------------------------------------------------- logistic (StyleGAN2, Karras et al. 2020)
# StyleGAN2's "non-saturating logistic loss" is the `ns` pair under its StyleGAN name:
#   L_D = E[softplus(D(G(z)))] + E[softplus(-D(x))],   L_G = E[softplus(-D(G(z)))],
# used there with an R1 penalty on real data applied lazily, every 16 D steps with its
# weight multiplied by 16 (`lazy_r1_gamma` in penalties.py).
logistic_d_loss = minimax_d_loss
logistic_g_loss = nonsaturating_g_loss


# ------------------------------------------------------------- least squares (Mao et al. 2017)
def lsgan_d_loss(real, fake):
    """L_D = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]  (targets b = 1 for real, a = 0 for fake)."""
    return 0.5 * mean((real - 1.0) ** 2) + 0.5 * mean(fake ** 2)


def lsgan_g_loss(fake, real=None):
    """L_G = 1/2 E[(D(G(z)) - 1)^2]: fakes far on the right side of the boundary still
    get pulled towards it, unlike the sigmoid losses that saturate there."""
    return 0.5 * mean((fake - 1.0) ** 2)


# --------------------------------------------------------------- Wasserstein (Arjovsky 2017)
def wasserstein_d_loss(real, fake):
    """L_C = E[C(G(z))] - E[C(x)]: the critic's estimate of the Wasserstein-1 distance,
    negated. Only meaningful if C is (close to) 1-Lipschitz: clip its weights
    (`clip_weights`) or add a `gradient_penalty` (WGAN-GP)."""
    return mean(fake) - mean(real)


def wasserstein_g_loss(fake, real=None):
    """L_G = -E[C(G(z))]."""
    return -mean(fake)


# ----------------------------------------------------------- hinge (Lim & Ye 2017; SAGAN)
def hinge_d_loss(real, fake):
    """L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]: a margin of 1 on each side;
    samples already beyond it contribute nothing."""
    return mean(relu(1.0 - real)) + mean(relu(1.0 + fake))


hinge_g_loss = wasserstein_g_loss  # L_G = -E[D(G(z))], as in SAGAN and BigGAN


# -------------------------------------------------------- relativistic average (Jolicoeur 2018)
def rasgan_d_loss(real, fake):
    """L_D = -E_x[log sigmoid(C(x) - E C(G(z)))] - E_z[log(1 - sigmoid(C(G(z)) - E C(x)))].

    D estimates whether real data is *more realistic than the average fake*, not whether
    it is real in absolute terms.
    """
    return mean(softplus(-(real - mean(fake)))) + mean(softplus(fake - mean(real)))


def rasgan_g_loss(fake, real):
    """L_G = -E_z[log sigmoid(C(G(z)) - E C(x))] - E_x[log(1 - sigmoid(C(x) - E C(G(z))))]:
    the D loss with real and fake swapped, so G also gets gradient through the real term."""
    _need_real("rasgan_g_loss", real)
    return mean(softplus(-(fake - mean(real)))) + mean(softplus(real - mean(fake)))


def ralsgan_d_loss(real, fake):
    """L_D = E_x[(C(x) - E C(G(z)) - 1)^2] + E_z[(C(G(z)) - E C(x) + 1)^2]."""
    return mean((real - mean(fake) - 1.0) ** 2) + mean((fake - mean(real) + 1.0) ** 2)


def ralsgan_g_loss(fake, real):
    """L_G = E_z[(C(G(z)) - E C(x) - 1)^2] + E_x[(C(x) - E C(G(z)) + 1)^2]."""
    _need_real("ralsgan_g_loss", real)
    return mean((fake - mean(real) - 1.0) ** 2) + mean((real - mean(fake) + 1.0) ** 2)


def _need_real(name, real):
    if real is None:
        raise ValueError(f"{name}: a relativistic generator loss compares fakes with real "
                         f"data, so it needs the discriminator's outputs on a real batch too")


# ----------------------------------------------------------------------------- registry
class Objective(NamedTuple):
    """A pair of losses and how to use them.

    ``g_needs_real``: the generator loss needs D(x) as well (relativistic losses).
    ``critic``: outputs are unbounded scores, not logits (logged raw, not through sigmoid).
    ``gp_weight``: default weight lambda of the gradient penalty (WGAN-GP uses 10).
    ``clip_value``: default weight clipping constant c (the original WGAN uses 0.01).
    """
    d_loss: Callable
    g_loss: Callable
    g_needs_real: bool = False
    critic: bool = False
    gp_weight: float = 0.0
    clip_value: Optional[float] = None


OBJECTIVES = {
    "minimax": Objective(minimax_d_loss, minimax_g_loss),
    "ns": Objective(minimax_d_loss, nonsaturating_g_loss),
    "lsgan": Objective(lsgan_d_loss, lsgan_g_loss),
    "wgan": Objective(wasserstein_d_loss, wasserstein_g_loss, critic=True, clip_value=0.01),
    "wgan-gp": Objective(wasserstein_d_loss, wasserstein_g_loss, critic=True, gp_weight=10.0),
    "hinge": Objective(hinge_d_loss, hinge_g_loss, critic=True),
    "rasgan": Objective(rasgan_d_loss, rasgan_g_loss, g_needs_real=True),
    "ralsgan": Objective(ralsgan_d_loss, ralsgan_g_loss, g_needs_real=True, critic=True),
    # StyleGAN2's name for `ns`; pair it with (lazy) R1: GANTrainer(r1_gamma=...)
    "logistic": Objective(logistic_d_loss, logistic_g_loss),
    # MMD-GAN (mmd.py): D's outputs are critic features; weight clipping as in Li et al. 2017
    "mmd": Objective(mmd_d_loss, mmd_g_loss, g_needs_real=True, critic=True, clip_value=0.01),
}
# f-GAN (fgan.py): "fgan-kl", "fgan-reverse-kl", "fgan-js", "fgan-pearson", "fgan-hellinger";
# D's output v is unbounded, so it is logged raw (critic=True).
OBJECTIVES.update({f"fgan-{name}": Objective(d_loss, g_loss, critic=True)
                   for name, (d_loss, g_loss) in FGAN_LOSSES.items()})


def get_objective(name):
    """``OBJECTIVES[name]`` with an error that lists the choices."""
    if isinstance(name, Objective):
        return name
    if name not in OBJECTIVES:
        raise ValueError(f"unknown GAN objective {name!r}; choose one of {sorted(OBJECTIVES)}")
    return OBJECTIVES[name]
