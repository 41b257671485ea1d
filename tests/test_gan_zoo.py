"""The other GAN objectives, each held to the property that defines it: f-GAN's bound is tight
at the optimal T, MMD's estimator is the sum over pairs of its definition, EBGAN's margin and
pulling-away term and BEGAN's controller follow their formulas, Diffusion-GAN's noise and
adaptive T behave as the paper says; and each trains (a few steps lower its losses).
See docs/08_gan_objectives.md."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan
from minigan import optim
from minigan.gan import fgan, mmd, energy, diffusion
from minigan.gan import MLPDiscriminator, MLPGenerator, OBJECTIVES
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor
from test_gan_objectives import mmd2_double_loop


# ----------------------------------------------------------------------------------- f-GAN
# Data P and model Q on three points, with probabilities in quarters so that batches of four
# samples hold them exactly: P = (1/2, 1/4, 1/4), Q = (1/4, 1/4, 1/2).
P_POINTS, Q_POINTS = [0, 0, 1, 2], [0, 1, 2, 2]
P, Q = np.array([0.5, 0.25, 0.25]), np.array([0.25, 0.25, 0.5])

# f'(u), the optimal T* = f'(p/q), and g_f^{-1}(T), the output v that D must give for it.
F_PRIME = {"kl": lambda u: 1 + np.log(u), "reverse-kl": lambda u: -1 / u,
           "js": lambda u: np.log(2 * u / (1 + u)), "pearson": lambda u: 2 * (u - 1),
           "hellinger": lambda u: 1 - 1 / np.sqrt(u)}
INVERSE_ACTIVATION = {"kl": lambda t: t, "reverse-kl": lambda t: -np.log(-t),
                      "js": lambda t: -np.log(2 * np.exp(-t) - 1), "pearson": lambda t: t,
                      "hellinger": lambda t: -np.log(1 - t)}


@pytest.mark.parametrize("name", sorted(fgan.F_DIVERGENCES))
def test_fgan_bound_equals_the_divergence_at_the_optimal_t(name, device):
    div = fgan.F_DIVERGENCES[name]
    # D_f(P || Q) = sum_x q(x) f(p(x) / q(x)), computed with the divergence's own f.
    direct = float((Q * div.f(minigan.tensor(P / Q, dtype="float64")).numpy()).sum())
    v = make_tensor(INVERSE_ACTIVATION[name](F_PRIME[name](P / Q)), device)
    # The D loss is minus the bound, estimated on the two batches.
    bound = -fgan.fgan_d_loss(v[P_POINTS], v[Q_POINTS], name).item()
    assert bound == pytest.approx(direct, rel=1e-10, abs=1e-12)
    assert direct > 0.05  # P != Q: a real divergence, not 0 = 0
    # Any other T gives a smaller bound: the optimum is a maximum.
    worse = -fgan.fgan_d_loss(v[P_POINTS] * 0.8, v[Q_POINTS] * 0.8, name).item()
    assert worse < bound


def test_fgan_js_is_twice_the_jensen_shannon_divergence():
    m = (P + Q) / 2
    jsd = 0.5 * (P * np.log(P / m)).sum() + 0.5 * (Q * np.log(Q / m)).sum()
    f = fgan.F_DIVERGENCES["js"].f
    assert float((Q * f(minigan.tensor(P / Q)).numpy()).sum()) == pytest.approx(2 * jsd, rel=1e-6)


@pytest.mark.parametrize("name", sorted(fgan.F_DIVERGENCES))
def test_fgan_conjugate_of_activation_is_the_composition(name, device):
    # The closed forms f*(g_f(v)) used in the losses agree with composing the two functions.
    div = fgan.F_DIVERGENCES[name]
    v = make_tensor(np.linspace(-3, 3, 13), device)
    composed = div.conjugate(div.activation(v)).numpy()
    assert np.allclose(div.conjugate_activation(v).numpy(), composed, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(fgan.F_DIVERGENCES))
def test_fgan_conjugate_is_the_fenchel_conjugate(name):
    # f*(t) = sup_u (t u - f(u)): at least t u - f(u) for every u, equal at u = f'^{-1}(t).
    div = fgan.F_DIVERGENCES[name]
    u = np.linspace(0.05, 6, 400)
    f_u = div.f(minigan.tensor(u, dtype="float64")).numpy()
    t = F_PRIME[name](np.array([0.3, 1.0, 2.5]))  # slopes of f at u0 = 0.3, 1, 2.5
    f_star = div.conjugate(minigan.tensor(t, dtype="float64")).numpy()
    assert np.all(f_star[:, None] >= t[:, None] * u[None] - f_u[None] - 1e-12)
    f_u0 = div.f(minigan.tensor([0.3, 1.0, 2.5], dtype="float64")).numpy()
    assert np.allclose(f_star, t * np.array([0.3, 1.0, 2.5]) - f_u0, rtol=1e-10, atol=1e-12)


def test_fgan_saturating_generator_loss_gradients(device):
    v = make_tensor(np.array([-0.7, 0.2, 1.1]), device)
    for name in fgan.F_DIVERGENCES:
        gradcheck(lambda v: fgan.fgan_g_loss(v, divergence=name, saturating=True), [v])
        gradgradcheck(lambda v: fgan.fgan_g_loss(v, divergence=name, saturating=True), [v])


def test_unknown_f_divergence_names_the_choices():
    with pytest.raises(ValueError, match="hellinger"):
        fgan.get_f_divergence("tv")


# ------------------------------------------------------------------------------------- MMD
@settings(max_examples=3)
@given(data=st.data())
def test_mmd_unbiased_estimator_matches_a_double_loop(device, data):
    m, n = data.draw(st.integers(2, 5)), data.draw(st.integers(2, 5))
    f = data.draw(st.integers(1, 3))
    x = data.draw(arrays((m, f), -3, 3))
    y = data.draw(arrays((n, f), -3, 3))
    value = mmd.mmd2_unbiased(make_tensor(x, device), make_tensor(y, device)).item()
    assert value == pytest.approx(mmd2_double_loop(x, y), rel=1e-9, abs=1e-12)


def test_mmd_is_unbiased_zero_for_equal_distributions_and_large_for_different_ones():
    rng = np.random.default_rng(0)
    same = [mmd.mmd2_unbiased(minigan.tensor(rng.normal(size=(20, 2))),
                              minigan.tensor(rng.normal(size=(20, 2)))).item() for _ in range(200)]
    # unbiased: its mean over many draws of P = Q is ~0 (and single values can be negative)
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(200) + 1e-3 and min(same) < 0
    far = mmd.mmd2_unbiased(minigan.tensor(rng.normal(size=(20, 2))),
                            minigan.tensor(rng.normal(size=(20, 2)) + 3.0)).item()
    assert far > 20 * np.std(same)


@settings(max_examples=2)
@given(data=st.data())
def test_mmd_gradients(device, data):
    x = make_tensor(data.draw(arrays((3, 2))), device)
    y = make_tensor(data.draw(arrays((4, 2))), device)
    gradcheck(lambda x, y: mmd.mmd2_unbiased(x, y, sigmas=(0.5, 1.0, 2.0)), [x, y])
    gradgradcheck(lambda x, y: mmd.mmd2_unbiased(x, y, sigmas=(0.5, 1.0, 2.0)), [x, y])


def test_mmd_needs_pairs_and_matching_features():
    with pytest.raises(ValueError, match="2 samples"):
        mmd.mmd2_unbiased(minigan.randn(1, 2), minigan.randn(3, 2))
    with pytest.raises(ValueError, match="features"):
        mmd.mmd2_unbiased(minigan.randn(3, 2), minigan.randn(3, 4))
    with pytest.raises(ValueError, match="real"):
        mmd.mmd_g_loss(minigan.randn(3), None)


# ----------------------------------------------------------------------------------- EBGAN
def test_ebgan_margin_loss_on_hand_computed_energies(device):
    real = make_tensor(np.array([0.5, 1.5]), device)
    fake = make_tensor(np.array([0.25, 3.0, 1.0]), device)
    # E D(x) = 1; max(0, 2 - D(G(z))) = 1.75, 0, 1 -> mean 11/12. Fakes above m cost nothing.
    assert energy.ebgan_d_loss(real, fake, margin=2.0).item() == pytest.approx(1 + 11 / 12)
    assert energy.ebgan_g_loss(fake).item() == pytest.approx(4.25 / 3)


def test_pulling_away_term_on_hand_computed_codes(device):
    # Pairs: (1,0).(1,1) -> cos^2 1/2; (1,0).(0,2) -> 0; (1,1).(0,2) -> 1/2. Mean over the
    # 6 ordered pairs i != j: (2 * (1/2 + 0 + 1/2)) / 6 = 1/3.
    codes = make_tensor(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]), device)
    assert energy.pulling_away_term(codes).item() == pytest.approx(1 / 3)
    orthogonal = make_tensor(np.eye(3), device)
    assert energy.pulling_away_term(orthogonal).item() == pytest.approx(0.0, abs=1e-15)
    collapsed = make_tensor(np.array([[1.0, 2.0], [2.0, 4.0], [-3.0, -6.0]]), device)
    assert energy.pulling_away_term(collapsed).item() == pytest.approx(1.0)  # one direction


@settings(max_examples=2)
@given(data=st.data())
def test_energy_losses_gradients(device, data):
    codes = make_tensor(data.draw(arrays((3, 2), avoid=(0.0,), gap=0.2)), device)
    gradcheck(energy.pulling_away_term, [codes])
    gradgradcheck(energy.pulling_away_term, [codes])
    real = make_tensor(data.draw(arrays((3,), 0.1, 2)), device)
    fake = make_tensor(data.draw(arrays((3,), 0.1, 2, avoid=(1.0,), gap=0.1)), device)
    gradcheck(lambda r, f: energy.ebgan_d_loss(r, f, margin=1.0), [real, fake])
    gradgradcheck(lambda r, f: energy.ebgan_d_loss(r, f, margin=1.0), [real, fake])


def test_autoencoder_discriminator_energy_is_the_reconstruction_error():
    minigan.manual_seed(0)
    x = minigan.randn(5, 3, dtype="float64")
    for p in (1, 2):
        D = energy.AutoencoderDiscriminator(3, hidden=8, code_features=4, p=p).double()
        error = x.numpy() - D.reconstruct(x).numpy()
        expected = (np.abs(error) if p == 1 else error ** 2).mean(1)
        assert np.allclose(D(x).numpy(), expected) and D.features(x).shape == (5, 4)


# ----------------------------------------------------------------------------------- BEGAN
def test_began_k_update_clipping_and_convergence_measure():
    began = energy.BEGANEquilibrium(gamma=0.5, lambda_k=0.1)
    real, fake = minigan.tensor([1.0, 3.0]), minigan.tensor([0.5, 0.5])  # L(x) = 2, L(G(z)) = 0.5
    # L_D = L(x) - k L(G(z)) with k = 0
    assert began.d_loss(real, fake).item() == pytest.approx(2.0)
    # gamma L(x) - L(G(z)) = 1 - 0.5 = 0.5 -> k = 0 + 0.1 * 0.5; M = 2 + |0.5|
    out = began.update(real, fake)
    assert out["k"] == pytest.approx(0.05) and out["M_global"] == pytest.approx(2.5)
    assert began.d_loss(real, fake).item() == pytest.approx(2.0 - 0.05 * 0.5)
    # G too good (fakes reconstructed better than gamma * real): k falls, but not below 0.
    low = minigan.tensor([4.0, 4.0])
    out = began.update(real, low)  # 1 - 4 = -3 -> 0.05 - 0.3 < 0 -> 0; M = 2 + 3
    assert out["k"] == 0.0 and out["M_global"] == pytest.approx(5.0)
    # ... nor above 1
    began.k = 0.99
    assert began.update(minigan.tensor([30.0]), minigan.tensor([0.0]))["k"] == 1.0
    began.load_state_dict({"k": 0.25})
    assert began.state_dict() == {"k": 0.25}


def test_began_rejects_a_gamma_outside_0_1():
    with pytest.raises(ValueError, match="gamma"):
        energy.BEGANEquilibrium(gamma=1.5)


# ---------------------------------------------------------------------------- Diffusion-GAN
def test_alpha_bar_is_the_cumulative_product_of_a_linear_schedule():
    a = diffusion.alpha_bar(4, beta_start=0.1, beta_end=0.4)
    assert np.allclose(a, np.cumprod([0.9, 0.8, 0.7, 0.6]))
    a = diffusion.alpha_bar(500)
    assert np.all(np.diff(a) < 0) and a[0] == pytest.approx(1 - 1e-4) and a[-1] < 0.01


def test_diffuse_is_the_forward_chain_formula(device):
    x = make_tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), device)
    noise = make_tensor(np.array([[0.3, 0.1], [-1.0, 2.0]]), device, requires_grad=False)
    t, T = np.array([1, 3]), 3
    y = diffusion.diffuse(x, t, T, sigma=0.5, beta_start=0.1, beta_end=0.3, noise=noise)
    a = np.cumprod([0.9, 0.8, 0.7])[t - 1][:, None]
    expected = np.sqrt(a) * x.numpy() + np.sqrt(1 - a) * 0.5 * noise.numpy()
    assert np.allclose(y.numpy(), expected)
    # differentiable in x, first and second order: dy/dx = sqrt(abar_t)
    gradcheck(lambda x: diffusion.diffuse(x, t, T, 0.5, 0.1, 0.3, noise=noise), [x])
    gradgradcheck(lambda x: diffusion.diffuse(x, t, T, 0.5, 0.1, 0.3, noise=noise), [x])


def test_timestep_schedules():
    rng = np.random.default_rng(0)
    t = diffusion.sample_timesteps(40000, 4, "priority", rng)
    assert np.allclose(np.bincount(t, minlength=5)[1:] / 40000, [0.1, 0.2, 0.3, 0.4], atol=0.01)
    t = diffusion.sample_timesteps(40000, 4, "uniform", rng)
    assert np.allclose(np.bincount(t, minlength=5)[1:] / 40000, 0.25, atol=0.01)
    with pytest.raises(ValueError, match="priority"):
        diffusion.sample_timesteps(3, 4, "cosine")


def test_diffusion_t_grows_when_d_overfits_and_shrinks_when_it_does_not():
    noise = diffusion.DiffusionNoise(t_min=5, t_max=7, t_init=6, step=1.0, interval=2)
    confident = minigan.tensor([2.0, 1.0, 3.0, 0.5])  # r_d = 1 > 0.6
    assert noise.update(confident) == 6  # not yet: T moves every `interval` updates
    assert noise.update(confident) == 7 and noise.r_d == 1.0
    noise.update(confident), noise.update(confident)
    assert noise.current_T == 7  # clipped at t_max
    unsure = minigan.tensor([1.0, -1.0, -2.0, 3.0])  # r_d = 0 < 0.6
    for _ in range(6):
        noise.update(unsure)
    assert noise.current_T == 5 and noise.r_d == 0.0  # down by 1 per interval, clipped at 5
    restored = diffusion.DiffusionNoise()
    restored.load_state_dict(noise.state_dict())
    assert restored.current_T == 5


def test_diffusion_noise_returns_timesteps_within_the_current_t():
    noise = diffusion.DiffusionNoise(t_min=5, t_max=50, t_init=20)
    y, t = noise(minigan.randn(64, 2), np.random.default_rng(0))
    assert y.shape == (64, 2) and t.min() >= 1 and t.max() <= 20


# ------------------------------------------------------------------ a few steps lower the loss
def _lowers(loss_fn, params, steps=30, lr=1e-2):
    """Adam on ``params`` for a few steps: the loss at the end is below the first."""
    opt = optim.Adam(params, lr=lr)
    first = None
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn()
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
    last = loss_fn().item()
    assert last < first, (first, last)


def _toy_batch(n=32, seed=0):
    rng = np.random.default_rng(seed)
    angles = rng.integers(0, 8, n) * (2 * np.pi / 8)
    points = np.stack([np.cos(angles), np.sin(angles)], 1) + 0.05 * rng.normal(size=(n, 2))
    return minigan.tensor(points.astype(np.float32))


NEW_OBJECTIVES = ["logistic", "mmd"] + [f"fgan-{name}" for name in fgan.F_DIVERGENCES]


@pytest.mark.parametrize("name", NEW_OBJECTIVES)
def test_a_few_steps_lower_both_losses(name):
    minigan.manual_seed(1)
    objective = OBJECTIVES[name]
    G, D = MLPGenerator(nz=2, hidden=16, num_layers=2), MLPDiscriminator(hidden=16, num_layers=2)
    real, z = _toy_batch(), minigan.randn(32, 2)
    fake = G(z).detach()
    _lowers(lambda: objective.d_loss(D(real), D(fake)), D.parameters(), lr=3e-3)
    D.requires_grad_(False)  # G against the now fixed D
    _lowers(lambda: objective.g_loss(D(G(z)), D(real)), G.parameters(), lr=3e-3)


def test_ebgan_and_began_steps_lower_their_losses():
    minigan.manual_seed(2)
    real = _toy_batch()
    G = MLPGenerator(nz=2, hidden=16, num_layers=2)
    z = minigan.randn(32, 2)
    D = energy.AutoencoderDiscriminator(2, hidden=16, code_features=4)
    fake = G(z).detach()
    _lowers(lambda: energy.ebgan_d_loss(D(real), D(fake), margin=1.0), D.parameters())
    D.requires_grad_(False)
    _lowers(lambda: energy.ebgan_g_loss(D(G(z)))
            + 0.1 * energy.pulling_away_term(D.features(G(z))), G.parameters())
    began = energy.BEGANEquilibrium(gamma=0.5)
    D = energy.AutoencoderDiscriminator(2, hidden=16, code_features=4, p=1)
    _lowers(lambda: began.d_loss(D(real), D(fake)), D.parameters())
    D.requires_grad_(False)
    _lowers(lambda: began.g_loss(D(G(z))), G.parameters())


def test_diffusion_gan_steps_lower_the_d_loss():
    minigan.manual_seed(3)
    real, fake = _toy_batch(), minigan.randn(32, 2) * 0.3
    D = MLPDiscriminator(hidden=16, num_layers=2)
    noise = diffusion.DiffusionNoise(t_min=5, t_max=50, t_init=10)
    t_real, t_fake = np.full(32, 3), np.full(32, 7)
    eps_r, eps_f = minigan.randn(32, 2), minigan.randn(32, 2)  # fixed noise: a fixed batch
    y_real = diffusion.diffuse(real, t_real, noise.current_T, noise=eps_r)
    y_fake = diffusion.diffuse(fake, t_fake, noise.current_T, noise=eps_f)
    ns = OBJECTIVES["ns"]
    _lowers(lambda: ns.d_loss(D(y_real), D(y_fake)), D.parameters())
    assert noise.update(D(y_real)) == 10  # one update of four: T unchanged so far
