"""Unrolled GAN (Metz, Poole, Pfau & Sohl-Dickstein 2017): G looks k steps of D ahead.

A generator that trains against the current D can chase it from mode to mode. Unrolled GAN
instead trains G against the D that *will* respond to it (Metz et al. 2017, Sec. 2.2):

    theta_D^0 = theta_D,
    theta_D^{i+1} = theta_D^i - eta dL_D(theta_G, theta_D^i)/dtheta_D^i     (k SGD steps)
    L_G^K(theta_G) = L_G(theta_G, theta_D^K(theta_G))

and G steps on the *total* derivative

    dL_G^K/dtheta_G = dL_G/dtheta_G + dL_G/dtheta_D^K . dtheta_D^K/dtheta_G.

The second term is the point: it says how D would react to G's move (collapsing onto one
mode is answered by D at once, so it stops paying). It needs gradients through the k D
steps, i.e. each step's gradient recorded with ``grad(..., create_graph=True)``, the double
backward that WGAN-GP also uses. Only G is updated with it; D's real update is the usual
single step. The unrolled steps here are plain SGD (the paper's form; its experiments
differentiate through Adam). `UnrolledGANTrainer` trains with it. See ``docs/08_gan_objectives.md``.
"""
import contextlib

from ..autograd import Tensor, grad
from .trainer import GANTrainer


@contextlib.contextmanager
def parameters_replaced(module, values):
    """Inside the block ``module`` computes with ``values`` (a dict name -> Tensor, names as
    in ``named_parameters()``) in place of its parameters; they are put back afterwards.
    (PyTorch's ``torch.func.functional_call`` does the same.)"""
    saved = []
    for name, value in values.items():
        *path, leaf = name.split(".")
        owner = module
        for part in path:
            owner = owner._modules[part]
        saved.append((owner, leaf, owner._parameters[leaf]))
        owner._parameters[leaf] = value  # bypasses __setattr__: a Tensor, not a Parameter
    try:
        yield
    finally:
        for owner, leaf, original in reversed(saved):
            owner._parameters[leaf] = original


def unroll_discriminator(discriminator, d_loss, real, fake, steps=5, lr=1e-3):
    """theta_D^k after ``steps`` SGD steps of ``d_loss(D(real), D(fake))``, as a dict name ->
    Tensor that depends differentiably on ``fake`` (and so on G's parameters).

    The start theta_D^0 is a copy of D's parameters: D itself is neither changed nor given a
    gradient. ``fake`` must not be detached, or G learns nothing from the unrolling.
    """
    if steps < 0:
        raise ValueError(f"unroll_discriminator: steps must be >= 0, got {steps}")
    names = [name for name, _ in discriminator.named_parameters()]
    current = [Tensor(p.data, requires_grad=True) for _, p in discriminator.named_parameters()]
    for _ in range(steps):
        with parameters_replaced(discriminator, dict(zip(names, current))):
            loss = d_loss(discriminator(real), discriminator(fake))
        grads = grad(loss, current, create_graph=True, allow_unused=True)
        current = [p if g is None else p - lr * g for p, g in zip(current, grads)]
    return dict(zip(names, current))


def unrolled_g_loss(discriminator, objective, real, fake, steps=5, lr=1e-3):
    """L_G^K: the generator loss of ``objective`` (an `Objective`) against D unrolled by
    ``steps`` SGD steps of learning rate ``lr``; backward gives G the total derivative.
    ``steps = 0`` is the ordinary generator loss."""
    real = real.detach()
    params = unroll_discriminator(discriminator, objective.d_loss, real, fake, steps, lr)
    with parameters_replaced(discriminator, params):
        real_out = discriminator(real) if objective.g_needs_real else None
        return objective.g_loss(discriminator(fake), real_out)


class UnrolledGANTrainer(GANTrainer):
    """`GANTrainer` whose G step trains against D unrolled by ``unrolled_steps`` SGD steps of
    learning rate ``unrolled_lr`` (None: D's optimizer's learning rate). The paper uses 5 to
    10 steps. Penalties and clipping are not part of the unrolled steps, only the objective's
    D loss; unconditional GANs only."""

    def __init__(self, *args, unrolled_steps=5, unrolled_lr=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.num_classes:
            raise ValueError("UnrolledGANTrainer: conditional GANs are not supported")
        self.unrolled_steps = unrolled_steps
        self.unrolled_lr = unrolled_lr or self.d_optimizer.param_groups[0]["lr"]

    def generator_loss(self, fake_in, real, labels=None):
        return unrolled_g_loss(self.D, self.objective, self._with_noise(real), fake_in,
                               self.unrolled_steps, self.unrolled_lr)
