"""f-GAN (Nowozin, Cseke & Tomioka 2016): train a GAN on any f-divergence.

An f-divergence between the data P (density p) and the generator Q (density q) is

    D_f(P || Q) = E_Q[ f(p(x) / q(x)) ]          for a convex f with f(1) = 0.

Fenchel duality, f(u) = sup_t (t u - f*(t)), gives a lower bound that only needs samples:

    D_f(P || Q) >= sup_T  E_P[T(x)] - E_Q[f*(T(x))]                     (Nowozin Sec. 2.2)

with equality at T*(x) = f'(p(x) / q(x)). The discriminator outputs an unbounded v = V(x);
an output activation g_f maps it into the domain of f*, T = g_f(v) (Table 2). D maximises the
bound, G minimises it (the saddle point objective of Sec. 2.3):

    L_D = -( E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))] )
    L_G =  -E_Q[g_f(V(G(z)))]       (the non-saturating form of Sec. 3.2, used in practice)

For each divergence f*(g_f(v)) is written out in closed form (``conjugate_activation``),
e.g. softplus(v) - log 2 for Jensen-Shannon, which stays finite where composing the two
functions would take log(0). See ``docs/08_gan_objectives.md``.
"""
import math
from typing import Callable, NamedTuple

from ..ops import exp, log, sqrt, softplus, mean


class FDivergence(NamedTuple):
    """One row of Nowozin et al. 2016, Table 2: the generator f(u) of the divergence, the
    output activation g_f(v), the Fenchel conjugate f*(t), and f*(g_f(v)) simplified."""
    name: str
    f: Callable
    activation: Callable
    conjugate: Callable
    conjugate_activation: Callable


LOG2 = math.log(2.0)

F_DIVERGENCES = {
    # KL(P || Q):  f(u) = u log u,  g_f(v) = v,  f*(t) = exp(t - 1)
    "kl": FDivergence("kl", lambda u: u * log(u), lambda v: v, lambda t: exp(t - 1.0),
                      lambda v: exp(v - 1.0)),
    # KL(Q || P):  f(u) = -log u,  g_f(v) = -exp(-v),  f*(t) = -1 - log(-t)
    "reverse-kl": FDivergence("reverse-kl", lambda u: -log(u), lambda v: -exp(-v),
                              lambda t: -1.0 - log(-t), lambda v: v - 1.0),
    # 2 JSD(P, Q):  f(u) = -(u + 1) log((1 + u) / 2) + u log u,
    #               g_f(v) = log 2 - log(1 + exp(-v)),  f*(t) = -log(2 - exp(t))
    "js": FDivergence("js", lambda u: -(u + 1.0) * log((1.0 + u) / 2.0) + u * log(u),
                      lambda v: LOG2 - softplus(-v), lambda t: -log(2.0 - exp(t)),
                      lambda v: softplus(v) - LOG2),
    # Pearson chi^2:  f(u) = (u - 1)^2,  g_f(v) = v,  f*(t) = t^2 / 4 + t
    "pearson": FDivergence("pearson", lambda u: (u - 1.0) ** 2, lambda v: v,
                           lambda t: t * t / 4.0 + t, lambda v: v * v / 4.0 + v),
    # squared Hellinger:  f(u) = (sqrt(u) - 1)^2,  g_f(v) = 1 - exp(-v),  f*(t) = t / (1 - t)
    "hellinger": FDivergence("hellinger", lambda u: (sqrt(u) - 1.0) ** 2,
                             lambda v: 1.0 - exp(-v), lambda t: t / (1.0 - t),
                             lambda v: exp(v) - 1.0),
}


def get_f_divergence(name):
    """``F_DIVERGENCES[name]`` with an error that lists the choices."""
    if isinstance(name, FDivergence):
        return name
    if name not in F_DIVERGENCES:
        raise ValueError(f"unknown f-divergence {name!r}; choose one of {sorted(F_DIVERGENCES)}")
    return F_DIVERGENCES[name]


def fgan_d_loss(real, fake, divergence="js"):
    """L_D = -(E_P[g_f(v_real)] - E_Q[f*(g_f(v_fake))]): minus the variational lower bound
    of D_f(P || Q) (Nowozin et al. 2016, Sec. 2.3), so minimising it tightens the bound."""
    div = get_f_divergence(divergence)
    return -(mean(div.activation(real)) - mean(div.conjugate_activation(fake)))


def fgan_g_loss(fake, real=None, divergence="js", saturating=False):
    """L_G = -E_Q[g_f(v_fake)] (non-saturating, Nowozin Sec. 3.2), or with
    ``saturating=True`` the bound itself, L_G = -E_Q[f*(g_f(v_fake))] (its E_P term does
    not depend on G)."""
    div = get_f_divergence(divergence)
    if saturating:
        return -mean(div.conjugate_activation(fake))
    return -mean(div.activation(fake))


def _pair(name):
    """The (d_loss, g_loss) of one divergence, as plain two-argument functions."""
    def d_loss(real, fake):
        return fgan_d_loss(real, fake, name)

    def g_loss(fake, real=None):
        return fgan_g_loss(fake, real, name)
    d_loss.__name__, g_loss.__name__ = f"fgan_{name}_d_loss", f"fgan_{name}_g_loss"
    d_loss.__doc__ = f"`fgan_d_loss` with the {name} divergence."
    g_loss.__doc__ = f"`fgan_g_loss` with the {name} divergence."
    return d_loss, g_loss


FGAN_LOSSES = {name: _pair(name) for name in F_DIVERGENCES}
