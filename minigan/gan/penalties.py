"""Keeping the discriminator smooth: weight clipping, the WGAN-GP gradient penalty, R1.

The Wasserstein critic must be 1-Lipschitz. Clipping every weight to [-c, c] (WGAN) is a
crude way to bound it; the gradient penalty (WGAN-GP) asks instead that the gradient norm
of the critic be 1 between real and fake samples. R1 penalises the gradient on real data
only, which stabilises any objective near its equilibrium.

Both penalties differentiate the critic *with respect to its input* and then train on that
gradient, so the optimiser needs a gradient of a gradient: ``minigan.grad(...,
create_graph=True)`` records the first backward pass so the second one can go through it.
See ``docs/08_gan_objectives.md``.
"""
from .. import backend
from ..autograd import Tensor, grad, no_grad
from ..creation import rand
from ..ops import mean, sqrt


def clip_weights(module, c):
    """Clamp every parameter of ``module`` to [-c, c] in place (the original WGAN's
    Lipschitz constraint; call it after each critic update)."""
    if c <= 0:
        raise ValueError(f"clip_weights: c must be positive, got {c}")
    with no_grad():
        for p in module.parameters():
            xp = backend.get_array_module(p.data)
            with backend.device_context(p.device):
                p.data = xp.clip(p.data, p.dtype.type(-c), p.dtype.type(c))


def _input_gradient(critic, x):
    """dC/dx for every sample, differentiable (create_graph) so the penalty can be trained."""
    scores = critic(x)
    g, = grad(scores.sum(), x, create_graph=True)
    return g


def _squared_norm_per_sample(g):
    return (g * g).sum(tuple(range(1, g.ndim)))


def gradient_penalty(critic, real, fake, weight=10.0, epsilon=None, generator=None):
    """WGAN-GP (Gulrajani et al. 2017):  weight * E[(||grad_x^ C(x^)||_2 - 1)^2]
    at x^ = eps x + (1 - eps) x~, with eps ~ U[0, 1] drawn once per sample.

    ``critic`` maps a batch to scores (wrap it, e.g. ``lambda x: D(x, labels)``, if it needs
    more arguments); ``real`` and ``fake`` are batches of the same shape; ``epsilon`` may
    be given (shape (N,)) for tests, else it is drawn from ``generator`` (host RNG).
    """
    if real.shape != fake.shape:
        raise ValueError(f"gradient_penalty: real {real.shape} and fake {fake.shape} batches "
                         f"must have the same shape")
    n = real.shape[0]
    if epsilon is None:
        epsilon = rand(n, dtype=real.dtype, device=real.device, generator=generator)
    eps = epsilon.reshape((n,) + (1,) * (real.ndim - 1))
    # The interpolates are a new leaf: the penalty trains the critic, not G or the data.
    mixed = Tensor((eps * real.detach() + (1.0 - eps) * fake.detach()).data, requires_grad=True)
    g = _input_gradient(critic, mixed)
    # A tiny epsilon keeps sqrt differentiable where the gradient is exactly zero.
    norm = sqrt(_squared_norm_per_sample(g) + 1e-12)
    return weight * mean((norm - 1.0) ** 2)


def r1_penalty(discriminator, real, gamma=10.0):
    """R1 (Mescheder et al. 2018):  gamma/2 * E_x[||grad_x D(x)||^2] on real data only."""
    x = Tensor(real.detach().data, requires_grad=True)
    g = _input_gradient(discriminator, x)
    return (gamma / 2.0) * mean(_squared_norm_per_sample(g))


def lazy_r1_gamma(step, gamma, interval=16):
    """Lazy regularisation (StyleGAN2, Karras et al. 2020, Sec. 3.1): compute
    R1 only on every ``interval``-th D step and multiply its weight by ``interval``, so its
    average strength is unchanged while most D steps skip the double backward. Returns the
    gamma for D step number ``step`` (0 = skip R1 this step). StyleGAN2 uses interval 16."""
    if interval < 1:
        raise ValueError(f"lazy_r1_gamma: interval must be at least 1, got {interval}")
    return gamma * interval if step % interval == 0 else 0.0
