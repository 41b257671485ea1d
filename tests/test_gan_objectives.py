"""GAN objectives and penalties: each loss is its formula, its gradients are right to second
order, and the penalties do what their papers promise (docs/08_gan_objectives.md)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan
from minigan.gan import objectives as O
from minigan.gan.penalties import gradient_penalty, r1_penalty, clip_weights
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor

REAL = np.array([0.5, -1.0, 2.0, 0.0])
FAKE = np.array([-0.3, 1.0, 0.1, -2.5])


def softplus(x):
    return np.logaddexp(0.0, x)


# Each objective against its formula written in NumPy on probabilities/scores.
def reference(name, r, f):
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    if name.startswith("fgan-"):
        return fgan_reference(name[5:], r, f)
    if name == "mmd":
        mmd2 = mmd2_double_loop(r[:, None], f[:, None])
        return -mmd2, mmd2
    if name in ("minimax", "ns", "logistic"):
        d = -np.mean(np.log(sig(r))) - np.mean(np.log(1 - sig(f)))
        g = np.mean(np.log(1 - sig(f))) if name == "minimax" else -np.mean(np.log(sig(f)))
    elif name == "lsgan":
        d = 0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f ** 2)
        g = 0.5 * np.mean((f - 1) ** 2)
    elif name in ("wgan", "wgan-gp"):
        d, g = f.mean() - r.mean(), -f.mean()
    elif name == "hinge":
        d = np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f))
        g = -f.mean()
    elif name == "rasgan":
        d = -np.mean(np.log(sig(r - f.mean()))) - np.mean(np.log(1 - sig(f - r.mean())))
        g = -np.mean(np.log(sig(f - r.mean()))) - np.mean(np.log(1 - sig(r - f.mean())))
    elif name == "ralsgan":
        d = np.mean((r - f.mean() - 1) ** 2) + np.mean((f - r.mean() + 1) ** 2)
        g = np.mean((f - r.mean() - 1) ** 2) + np.mean((r - f.mean() + 1) ** 2)
    return d, g


def fgan_reference(divergence, r, f):
    """Nowozin et al. 2016, Table 2: (activation g_f, conjugate f*) in NumPy."""
    g_f, conjugate = {
        "kl": (lambda v: v, lambda t: np.exp(t - 1)),
        "reverse-kl": (lambda v: -np.exp(-v), lambda t: -1 - np.log(-t)),
        "js": (lambda v: np.log(2) - np.log(1 + np.exp(-v)), lambda t: -np.log(2 - np.exp(t))),
        "pearson": (lambda v: v, lambda t: t ** 2 / 4 + t),
        "hellinger": (lambda v: 1 - np.exp(-v), lambda t: t / (1 - t)),
    }[divergence]
    return -(g_f(r).mean() - conjugate(g_f(f)).mean()), -g_f(f).mean()


def mmd2_double_loop(x, y, sigmas=(1, 2, 4, 8, 16)):
    """The unbiased MMD^2 estimator written as the sums over pairs of its definition."""
    def k(a, b):
        return sum(np.exp(-np.sum((a - b) ** 2) / (2 * s * s)) for s in sigmas)
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


@pytest.mark.parametrize("name", sorted(O.OBJECTIVES))
def test_objective_values_match_their_formulas(name, device):
    objective = O.get_objective(name)
    r, f = make_tensor(REAL, device), make_tensor(FAKE, device)
    d, g = reference(name, REAL, FAKE)
    assert objective.d_loss(r, f).item() == pytest.approx(d, rel=1e-12)
    assert objective.g_loss(f, r).item() == pytest.approx(g, rel=1e-12)


def test_hinge_on_known_logits():
    # Real scores beyond +1 and fake scores below -1 are "done": they cost nothing.
    r, f = minigan.tensor([2.0, 1.0, 0.0]), minigan.tensor([-3.0, 0.5])
    # real: max(0, 1-2), max(0, 1-1), max(0, 1-0) -> mean 1/3; fake: 0, 1.5 -> mean 0.75
    assert O.hinge_d_loss(r, f).item() == pytest.approx(1 / 3 + 0.75, rel=1e-6)
    assert O.hinge_g_loss(f).item() == pytest.approx(1.25, rel=1e-6)


def test_unknown_objective_names_the_choices():
    with pytest.raises(ValueError, match="hinge"):
        O.get_objective("nope")


def test_relativistic_generator_loss_needs_real_scores():
    with pytest.raises(ValueError, match="real"):
        O.rasgan_g_loss(minigan.tensor([0.0]), None)


def test_nonsaturating_loss_keeps_its_gradient_when_d_rejects_fakes():
    # D(G(z)) = sigmoid(-10) ~ 4.5e-5: D confidently says "fake".
    n = 4
    fake = minigan.tensor(np.full(n, -10.0), requires_grad=True)
    minimax, = minigan.grad(O.minimax_g_loss(fake), fake)
    nonsat, = minigan.grad(O.nonsaturating_g_loss(fake), fake)
    # d/dl log(1 - sigmoid(l)) / n = -sigmoid(l) / n: almost nothing to learn from.
    assert np.allclose(minimax.numpy(), -1 / (1 + np.exp(10)) / n)
    # d/dl -log sigmoid(l) / n = -(1 - sigmoid(l)) / n: close to the full -1/n.
    assert np.allclose(nonsat.numpy(), -(1 - 1 / (1 + np.exp(10))) / n)
    assert np.all(np.abs(nonsat.numpy()) > 1e4 * np.abs(minimax.numpy()))


def test_one_sided_label_smoothing_targets_point_nine():
    r = minigan.tensor(REAL, requires_grad=True)
    f = minigan.tensor(FAKE)
    smoothed = O.minimax_d_loss(r, f, real_label=0.9)
    expected = (minigan.binary_cross_entropy_with_logits(r, 0.9)
                + minigan.binary_cross_entropy_with_logits(f, 0.0))
    assert smoothed.item() == pytest.approx(expected.item(), rel=1e-12)
    # The real logits stop moving when sigmoid(l) = 0.9, i.e. l = log 9, not at +infinity.
    at_target = minigan.tensor(np.full(3, np.log(9.0)), requires_grad=True)
    g, = minigan.grad(O.minimax_d_loss(at_target, f, real_label=0.9), at_target)
    assert np.allclose(g.numpy(), 0.0, atol=1e-12)


def test_optimal_discriminator_is_p_data_over_p_data_plus_p_g():
    # Two points a and b: data puts 3/4 of its mass on a, the generator 1/4. Minimising the
    # D loss over one free logit per point must reach D*(x) = p_data / (p_data + p_g).
    logits = minigan.tensor([0.0, 0.0], dtype="float64", requires_grad=True)
    real_points, fake_points = [0, 0, 0, 1], [0, 1, 1, 1]
    for _ in range(300):  # gradient descent on a convex loss
        loss = O.minimax_d_loss(logits[real_points], logits[fake_points])
        g, = minigan.grad(loss, logits)
        logits = minigan.tensor(logits.numpy() - 6.0 * g.numpy(), requires_grad=True)
    d_star = 1 / (1 + np.exp(-logits.numpy()))
    assert np.allclose(d_star, [0.75 / (0.75 + 0.25), 0.25 / (0.25 + 0.75)], atol=1e-4)


# ---------------------------------------------------------------- gradients, to second order
@pytest.mark.parametrize("name", sorted(set(O.OBJECTIVES) - {"wgan-gp"}))
@settings(max_examples=3)
@given(data=st.data())
def test_objective_gradients(name, device, data):
    objective = O.OBJECTIVES[name]
    n = data.draw(st.integers(2 if name == "mmd" else 1, 4))  # MMD^2_u needs pairs
    # Hinge has kinks at real = 1 and fake = -1: keep the logits away from them.
    r = make_tensor(data.draw(arrays((n,), avoid=(1.0,), gap=0.1)), device)
    f = make_tensor(data.draw(arrays((n,), avoid=(-1.0,), gap=0.1)), device)

    def both(r, f):
        return objective.d_loss(r, f), objective.g_loss(f, r)
    gradcheck(both, [r, f])
    gradgradcheck(both, [r, f])


# ----------------------------------------------------------------------------- penalties
def test_gradient_penalty_is_zero_for_a_unit_norm_linear_critic(device):
    w = make_tensor(np.array([0.6, 0.8]), device)  # ||w|| = 1: exactly 1-Lipschitz
    real = make_tensor(np.random.default_rng(0).normal(size=(5, 2)), device, requires_grad=False)
    fake = make_tensor(np.random.default_rng(1).normal(size=(5, 2)), device, requires_grad=False)
    gp = gradient_penalty(lambda x: x @ w, real, fake, weight=10.0)
    assert abs(gp.item()) < 1e-10
    # With ||w|| = 2 every interpolate has gradient norm 2: penalty = weight * (2 - 1)^2.
    w2 = make_tensor(np.array([1.2, 1.6]), device)
    assert gradient_penalty(lambda x: x @ w2, real, fake, weight=10.0).item() == pytest.approx(10.0)


def test_gradient_penalty_interpolates_per_sample():
    # A critic whose input gradient is x itself: C(x) = ||x||^2 / 2. With eps = 1 the
    # interpolate is the real sample, with eps = 0 the fake one.
    real = minigan.tensor([[3.0, 4.0], [0.0, 0.0]], dtype="float64")
    fake = minigan.tensor([[0.0, 0.0], [0.0, 2.0]], dtype="float64")
    critic = lambda x: (x * x).sum(dim=1) / 2.0  # noqa: E731
    eps = minigan.tensor([1.0, 0.0], dtype="float64")
    gp = gradient_penalty(critic, real, fake, weight=1.0, epsilon=eps)
    assert gp.item() == pytest.approx(((5 - 1) ** 2 + (2 - 1) ** 2) / 2)


def _tiny_critic(params):
    w1, b1, w2 = params
    return lambda x: (x @ w1 + b1).tanh() @ w2


@settings(max_examples=2)
@given(data=st.data())
def test_gradient_penalty_gradient_matches_finite_differences(device, data):
    # Training on the penalty differentiates the critic's input gradient w.r.t. its weights:
    # a double backward through tanh and matmul.
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    params = [make_tensor(rng.normal(size=s), device) for s in [(3, 4), (4,), (4,)]]
    real = make_tensor(rng.normal(size=(5, 3)), device, requires_grad=False)
    fake = make_tensor(rng.normal(size=(5, 3)), device, requires_grad=False)
    eps = make_tensor(rng.uniform(size=5), device, requires_grad=False)

    def penalty(w1, b1, w2):
        return gradient_penalty(_tiny_critic((w1, b1, w2)), real, fake, weight=10.0, epsilon=eps)
    gradcheck(penalty, params)


def test_gradient_penalty_does_not_reach_the_generator():
    fake = minigan.tensor([[1.0, 2.0]], dtype="float64", requires_grad=True)
    real = minigan.tensor([[0.0, 1.0]], dtype="float64")
    w = minigan.tensor([2.0, 0.0], dtype="float64", requires_grad=True)
    gradient_penalty(lambda x: x @ w, real, fake).backward()
    assert fake.grad is None and w.grad is not None


def test_r1_on_a_linear_critic_is_half_gamma_squared_weight_norm(device):
    w = make_tensor(np.array([1.0, -2.0, 0.5]), device)
    real = make_tensor(np.random.default_rng(0).normal(size=(6, 3)), device, requires_grad=False)
    r1 = r1_penalty(lambda x: x @ w, real, gamma=4.0)
    assert r1.item() == pytest.approx(4.0 / 2 * (1 + 4 + 0.25))
    g, = minigan.grad(r1, w)  # d/dw gamma/2 ||w||^2 = gamma w
    assert np.allclose(g.numpy(), 4.0 * np.array([1.0, -2.0, 0.5]))


def test_r1_gradient_matches_finite_differences(device):
    rng = np.random.default_rng(3)
    params = [make_tensor(rng.normal(size=s), device) for s in [(2, 3), (3,), (3,)]]
    real = make_tensor(rng.normal(size=(4, 2)), device, requires_grad=False)
    gradcheck(lambda *p: r1_penalty(_tiny_critic(p), real, gamma=2.0), params)


class _Params:
    """Anything with .parameters() can be clipped (nn.Module in practice)."""

    def __init__(self, *tensors):
        self.tensors = tensors

    def parameters(self):
        return iter(self.tensors)


def test_clip_weights_clamps_every_parameter_and_keeps_dtype(device):
    a = make_tensor(np.array([-0.5, 0.001, 0.3]), device, dtype="float32")
    b = make_tensor(np.array([[0.02, -0.02]]), device, dtype="float32")
    clip_weights(_Params(a, b), 0.01)
    assert np.allclose(a.numpy(), [-0.01, 0.001, 0.01]) and a.dtype == np.float32
    assert np.allclose(b.numpy(), [[0.01, -0.01]])
    with pytest.raises(ValueError):
        clip_weights(_Params(a), 0.0)
