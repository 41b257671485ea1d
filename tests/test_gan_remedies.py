"""Remedies for mode collapse and a too-strong D, each held to its defining property: the
unrolled generator gradient is the derivative of the loss after k D steps, InfoGAN's bound is
tight for a perfect Q, the mode-seeking loss rewards spread, packing groups samples, lazy R1
and D skipping happen on the right steps. See docs/08_gan_objectives.md."""
import copy
import pathlib
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan
from minigan import nn, optim
from minigan.gan import (OBJECTIVES, GANTrainer, MLPGenerator, MLPDiscriminator, lazy_r1_gamma,
                         skip_d_update, UnrolledGANTrainer, ModeSeekingTrainer, InfoGANTrainer,
                         EBGANTrainer, BEGANTrainer, DiffusionGANTrainer, DiffusionNoise,
                         AutoencoderDiscriminator, QHead)
from minigan.gan import unrolled, infogan, mode_seeking, pacgan
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor
from test_gan_trainer import make_trainer, ring_batches, snapshot, same


# ----------------------------------------------------------------------------- Unrolled GAN
def _tiny_d():
    minigan.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1), nn.Flatten(0)).double()


def _loss_after_real_sgd_steps(D, objective, real, fake, steps, lr):
    """What the unrolling claims to be: train a copy of D for ``steps`` SGD steps with
    minigan.optim.SGD, then evaluate the generator loss against it."""
    D = copy.deepcopy(D)
    opt = optim.SGD(D.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        objective.d_loss(D(real), D(fake.detach())).backward()
        opt.step()
    return objective.g_loss(D(fake), None).item()


@pytest.mark.parametrize("name", ["ns", "lsgan"])
def test_unrolled_generator_gradient_is_the_derivative_of_the_loss_after_k_d_steps(name):
    objective, D = OBJECTIVES[name], _tiny_d()
    rng = np.random.default_rng(0)
    real = minigan.tensor(rng.normal(size=(4, 2)))
    z = minigan.tensor(rng.normal(size=(4, 2)))
    W = minigan.tensor(rng.normal(size=(2, 2)), requires_grad=True)  # G(z) = z W + b
    b = minigan.tensor(rng.normal(size=(2,)), requires_grad=True)
    steps, lr = 3, 0.5

    def loss(W, b):
        return unrolled.unrolled_g_loss(D, objective, real, z @ W + b, steps, lr)
    # Its value is the G loss after k real SGD steps of D ...
    assert loss(W, b).item() == pytest.approx(
        _loss_after_real_sgd_steps(D, objective, real, z @ W + b, steps, lr), rel=1e-12)
    # ... and backprop through the unrolling matches finite differences of that value.
    gradcheck(loss, [W, b])
    # The look-ahead matters: the gradient differs from the one against the current D.
    unrolled_grad = minigan.grad(loss(W, b), W)[0].numpy()
    plain_grad = minigan.grad(unrolled.unrolled_g_loss(D, objective, real, z @ W + b, 0), W)[0]
    assert not np.allclose(unrolled_grad, plain_grad.numpy(), rtol=1e-3)
    # D itself is untouched: same weights, no gradient.
    assert all(p.grad is None for p in D.parameters())


def test_unrolled_loss_second_order_gradients():
    objective, D = OBJECTIVES["ns"], _tiny_d()
    rng = np.random.default_rng(1)
    real, z = minigan.tensor(rng.normal(size=(3, 2))), minigan.tensor(rng.normal(size=(3, 2)))
    W = minigan.tensor(rng.normal(size=(2, 2)), requires_grad=True)
    gradgradcheck(lambda W: unrolled.unrolled_g_loss(D, objective, real, z @ W, 1, 0.5), [W])


def test_a_few_generator_steps_lower_the_unrolled_loss():
    objective, D = OBJECTIVES["ns"], _tiny_d()
    rng = np.random.default_rng(2)
    real, z = minigan.tensor(rng.normal(size=(8, 2))), minigan.tensor(rng.normal(size=(8, 2)))
    W = minigan.tensor(rng.normal(size=(2, 2)), requires_grad=True)
    opt = optim.Adam([W], lr=0.05)

    def loss():
        return unrolled.unrolled_g_loss(D, objective, real, z @ W, steps=3, lr=0.5)
    first = loss().item()
    for _ in range(10):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss().item() < first


def test_parameters_replaced_restores_the_module():
    D = _tiny_d()
    before = {k: v.numpy().copy() for k, v in D.state_dict().items()}
    zeros = {name: minigan.zeros(*p.shape, dtype="float64") for name, p in D.named_parameters()}
    with unrolled.parameters_replaced(D, zeros):
        assert np.allclose(D(minigan.randn(2, 2, dtype="float64")).numpy(), 0.0)
    assert all(np.array_equal(before[k], v.numpy()) for k, v in D.state_dict().items())
    assert all(isinstance(p, nn.Parameter) for p in D.parameters())


# ---------------------------------------------------------------------------------- InfoGAN
def test_mutual_information_bound_is_tight_for_a_perfect_q_and_zero_for_a_blind_one(device):
    k = 4
    labels = make_tensor(np.array([0, 1, 2, 3, 1, 2]), device, requires_grad=False)
    # Perfect Q: all its mass on the true category -> E log Q = 0 -> L_I = H(c) = log K,
    # which is I(c; x) when x determines c: the bound is tight.
    perfect = make_tensor(np.eye(k)[labels.numpy()] * 60.0, device)
    assert infogan.mutual_information_bound(perfect, labels).item() == pytest.approx(math.log(k))
    # A Q that ignores x and returns the prior learns nothing: L_I = log K - log K = 0.
    blind = make_tensor(np.zeros((6, k)), device)
    assert infogan.mutual_information_bound(blind, labels).item() == pytest.approx(0.0, abs=1e-12)
    # Anything in between is between.
    unsure = make_tensor(np.eye(k)[labels.numpy()] * 1.0, device)
    assert 0 < infogan.mutual_information_bound(unsure, labels).item() < math.log(k)


def test_info_loss_is_cross_entropy_plus_gaussian_nll(device):
    logits = make_tensor(np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]]), device)
    labels = make_tensor(np.array([0, 2]), device, requires_grad=False)
    mu = make_tensor(np.array([[0.1], [-0.4]]), device)
    log_std = make_tensor(np.array([[0.0], [-0.5]]), device)
    c = make_tensor(np.array([[0.3], [0.2]]), device, requires_grad=False)
    lp = logits.numpy() - np.log(np.exp(logits.numpy()).sum(1, keepdims=True))
    ce = -(lp[0, 0] + lp[1, 2]) / 2
    s = np.exp(log_std.numpy())
    nll = (0.5 * np.log(2 * np.pi) + np.log(s) + (c.numpy() - mu.numpy()) ** 2 / (2 * s * s)).mean()
    value = infogan.info_loss(logits, labels, mu, log_std, c, continuous_weight=0.5).item()
    assert value == pytest.approx(ce + 0.5 * nll, rel=1e-12)
    gradcheck(lambda a, m, s: infogan.info_loss(a, labels, m, s, c), [logits, mu, log_std])
    gradgradcheck(lambda a, m, s: infogan.info_loss(a, labels, m, s, c), [logits, mu, log_std])


def test_sample_codes_and_q_head_shapes(device):
    rng = np.random.default_rng(0)
    labels, codes = infogan.sample_codes(500, 3, 2, device=device, generator=rng)
    assert labels.device == codes.device == device
    assert codes.shape == (500, 5) and labels.shape == (500,)
    assert np.array_equal(codes.numpy()[:, :3].argmax(1), labels.numpy())
    assert np.all(np.abs(codes.numpy()[:, 3:]) <= 1) and set(labels.numpy()) == {0, 1, 2}
    q = infogan.QHead(8, num_categories=3, num_continuous=2, hidden=4)
    cat, mu, log_std = q(minigan.randn(5, 8))
    assert cat.shape == (5, 3) and mu.shape == (5, 2) and log_std.shape == (5, 2)


def test_infogan_steps_raise_the_mutual_information_bound():
    # G and Q trained together on the categorical part of L_info alone: Q learns to read the
    # code back from G(z, c).
    minigan.manual_seed(0)
    rng = np.random.default_rng(0)
    G = MLPGenerator(nz=2 + 4 + 1, hidden=16, num_layers=2)
    D = MLPDiscriminator(hidden=16, num_layers=2)
    q = infogan.QHead(16, num_categories=4, num_continuous=1, hidden=16)
    labels, codes = infogan.sample_codes(64, 4, 1, generator=rng)
    z = minigan.concat([minigan.randn(64, 2), codes], dim=1)
    opt = optim.Adam(list(G.parameters()) + list(D.parameters()) + list(q.parameters()), lr=3e-3)

    def bound():
        cat, mu, log_std = q(D.features(G(z)))
        return cat, mu, log_std, infogan.mutual_information_bound(cat, labels).item()
    first = bound()[-1]
    for _ in range(60):
        opt.zero_grad()
        cat, mu, log_std, _ = bound()
        infogan.info_loss(cat, labels).backward()
        opt.step()
    assert bound()[-1] > first + 0.4  # out of log 4 = 1.39 nats


# ------------------------------------------------------------------------- mode seeking
def test_mode_seeking_loss_on_hand_computed_batches(device):
    z1 = make_tensor(np.array([[0.0, 0.0], [1.0, 1.0]]), device, requires_grad=False)
    # |z1 - z2| has mean 1/2
    z2 = make_tensor(np.array([[1.0, 0.0], [1.0, 0.0]]), device, requires_grad=False)
    f1 = make_tensor(np.array([[1.0], [2.0]]), device)
    f2 = make_tensor(np.array([[3.0], [2.0]]), device)  # |df| mean 1
    assert mode_seeking.mode_seeking_loss(f1, f2, z1, z2, eps=0.0).item() == pytest.approx(0.5)
    # A collapsed G (same output for both codes) pays 1 / eps: the most.
    assert mode_seeking.mode_seeking_loss(f1, f1, z1, z2, eps=1e-3).item() == pytest.approx(1e3)
    with pytest.raises(ValueError, match="match"):
        mode_seeking.mode_seeking_loss(f1, f2[:1], z1, z2)


@settings(max_examples=3)
@given(data=st.data())
def test_mode_seeking_gradients(device, data):
    f1 = make_tensor(data.draw(arrays((3, 2))), device)
    f2 = make_tensor(data.draw(arrays((3, 2))) + 5.0, device)  # away from |f1 - f2| = 0
    z1 = make_tensor(data.draw(arrays((3, 2))), device, requires_grad=False)
    z2 = make_tensor(data.draw(arrays((3, 2))) + 5.0, device, requires_grad=False)
    gradcheck(lambda a, b: mode_seeking.mode_seeking_loss(a, b, z1, z2), [f1, f2])
    gradgradcheck(lambda a, b: mode_seeking.mode_seeking_loss(a, b, z1, z2), [f1, f2])


def test_mode_seeking_steps_spread_a_collapsed_generator():
    minigan.manual_seed(0)
    G = MLPGenerator(nz=2, hidden=16, num_layers=2)
    z1, z2 = minigan.randn(32, 2), minigan.randn(32, 2)
    opt = optim.Adam(G.parameters(), lr=1e-2)
    first = mode_seeking.mode_seeking_loss(G(z1), G(z2), z1, z2).item()
    for _ in range(20):
        opt.zero_grad()
        mode_seeking.mode_seeking_loss(G(z1), G(z2), z1, z2).backward()
        opt.step()
    assert mode_seeking.mode_seeking_loss(G(z1), G(z2), z1, z2).item() < first


# ---------------------------------------------------------------------------------- PacGAN
def test_pack_puts_m_consecutive_samples_side_by_side(device):
    x = make_tensor(np.arange(6 * 2 * 1 * 1, dtype=float).reshape(6, 2, 1, 1), device)
    packed = pacgan.pack(x, 3)
    assert packed.shape == (2, 6, 1, 1)
    # pack 0 holds samples 0, 1, 2 (channels c0 c1 of each, in turn)
    assert np.array_equal(packed.numpy()[0, :, 0, 0], np.concatenate([x.numpy()[i, :, 0, 0]
                                                                     for i in range(3)]))
    points = make_tensor(np.arange(8.0).reshape(4, 2), device)
    assert np.array_equal(pacgan.pack(points, 2).numpy(), [[0, 1, 2, 3], [4, 5, 6, 7]])
    gradcheck(lambda x: pacgan.pack(x, 2), [points])
    gradgradcheck(lambda x: pacgan.pack(x, 2), [points])
    with pytest.raises(ValueError, match="groups"):
        pacgan.pack(points, 3)


def test_packed_discriminator_scores_each_pack_and_trains():
    minigan.manual_seed(0)
    D = pacgan.PackedDiscriminator(MLPDiscriminator(in_features=2 * 4, hidden=16, num_layers=2), 4)
    G = MLPGenerator(nz=2, hidden=16, num_layers=2)
    trainer = GANTrainer(G, D, optim.Adam(G.parameters(), lr=2e-3),
                         optim.Adam(D.parameters(), lr=2e-3), num_samples=8)
    rng = np.random.default_rng(0)
    assert D(minigan.randn(32, 2)).shape == (8,)
    assert D.features(minigan.randn(8, 2)).shape == (2, 16)
    history = trainer.fit((rng.normal(size=(32, 2)).astype(np.float32) for _ in range(10)), 10)
    assert all(np.isfinite(row["loss_D"]) for row in history)
    # D alone, on a fixed batch: it learns to tell packs of fakes from packs of data.
    real = minigan.tensor(rng.normal(size=(32, 2)).astype(np.float32))
    fake = G(minigan.randn(32, 2)).detach()
    ns, opt = OBJECTIVES["ns"], optim.Adam(D.parameters(), lr=3e-3)
    first = ns.d_loss(D(real), D(fake)).item()
    for _ in range(20):
        opt.zero_grad()
        ns.d_loss(D(real), D(fake)).backward()
        opt.step()
    assert ns.d_loss(D(real), D(fake)).item() < first


# ------------------------------------------------------------------ lazy R1 and D skipping
def test_lazy_r1_applies_every_interval_steps_scaled_by_the_interval():
    gammas = [lazy_r1_gamma(step, 10.0, 4) for step in range(8)]
    assert gammas == [40.0, 0, 0, 0, 40.0, 0, 0, 0]
    assert sum(gammas) / len(gammas) == 10.0  # the same average strength
    assert [lazy_r1_gamma(s, 10.0, 1) for s in range(3)] == [10.0] * 3
    with pytest.raises(ValueError, match="interval"):
        lazy_r1_gamma(0, 1.0, 0)


def test_trainer_lazy_r1_logs_the_penalty_on_scheduled_steps_only():
    trainer = make_trainer(objective="logistic", r1_gamma=1.0, r1_interval=3)
    history = trainer.fit(ring_batches(), 6)
    assert [("r1_penalty" in row) for row in history] == [True, False, False] * 2


def test_skip_d_update_and_the_trainer_option():
    assert skip_d_update(0.2, 0.3) and not skip_d_update(0.4, 0.3) and not skip_d_update(0.0)
    trainer = make_trainer(d_skip_below=100.0)  # every ns loss is below 100: D never moves
    before = snapshot(trainer.D)
    history = trainer.fit(ring_batches(), 3)
    assert same(before, snapshot(trainer.D)) and all(row["d_skipped"] == 1.0 for row in history)
    trainer = make_trainer(d_skip_below=0.0)  # a loss >= 0 is never below 0: D trains
    before = snapshot(trainer.D)
    history = trainer.fit(ring_batches(), 2)
    assert not same(before, snapshot(trainer.D)) and history[0]["d_skipped"] == 0.0


# ------------------------------------------------------- the remedies as trainers, end to end


def _players(nz=2, d=None, seed=0):
    minigan.manual_seed(seed)
    G = MLPGenerator(nz=nz, hidden=16, num_layers=2)
    D = d() if d else MLPDiscriminator(hidden=16, num_layers=2)
    return G, D, optim.Adam(G.parameters(), lr=2e-3), optim.Adam(D.parameters(), lr=2e-3)


@pytest.mark.parametrize("cls, option", [(UnrolledGANTrainer, {"unrolled_steps": 0}),
                                         (ModeSeekingTrainer, {"ms_weight": 0.0})])
def test_remedy_trainers_switched_off_are_the_plain_trainer(cls, option):
    plain = GANTrainer(*_players(), seed=0, num_samples=8)
    remedy = cls(*_players(), seed=0, num_samples=8, **option)
    plain.fit(ring_batches(), 3), remedy.fit(ring_batches(), 3)
    assert same(snapshot(plain.G), snapshot(remedy.G))
    assert same(snapshot(plain.D), snapshot(remedy.D))


@pytest.mark.parametrize("cls, option", [(UnrolledGANTrainer, {"unrolled_steps": 3,
                                                               "unrolled_lr": 0.1}),
                                         (ModeSeekingTrainer, {"ms_weight": 1.0})])
def test_remedy_trainers_switched_on_change_the_generator_update(cls, option):
    plain = GANTrainer(*_players(), seed=0, num_samples=8)
    remedy = cls(*_players(), seed=0, num_samples=8, **option)
    plain.fit(ring_batches(), 3)
    history = remedy.fit(ring_batches(), 3)
    assert not same(snapshot(plain.G), snapshot(remedy.G))
    assert all(np.isfinite(row["loss_G"]) for row in history)


def test_infogan_trainer_feeds_codes_to_g_and_trains_q():
    G, D, _, d_opt = _players(nz=2 + 3 + 1)
    q = QHead(16, num_categories=3, num_continuous=1, hidden=8)
    g_opt = optim.Adam(list(G.parameters()) + list(q.parameters()), lr=2e-3)
    trainer = InfoGANTrainer(G, D, g_opt, d_opt, q, seed=0, num_samples=8)
    before = snapshot(q)
    history = trainer.fit(ring_batches(), 3)
    assert not same(before, snapshot(q)) and all(np.isfinite(r["loss_G"]) for r in history)
    z = trainer.noise(5)
    labels, continuous = trainer.last_codes
    assert z.shape == (5, 6) and np.array_equal(z.numpy()[:, 2:5].argmax(1), labels.numpy())
    assert np.array_equal(z.numpy()[:, 5:], continuous.numpy())


def test_ebgan_trainer_runs_on_energies():
    G, D, g_opt, d_opt = _players(d=lambda: AutoencoderDiscriminator(2, 16, 4))
    history = EBGANTrainer(G, D, g_opt, d_opt, margin=1.0, pt_weight=0.1, num_samples=8).fit(
        ring_batches(), 3)
    assert all(np.isfinite(r["loss_D"]) and r["D(x)"] >= 0 for r in history)


def test_began_trainer_moves_k_with_the_logged_energies_and_resumes():
    G, D, g_opt, d_opt = _players(d=lambda: AutoencoderDiscriminator(2, 16, 4, p=1))
    trainer = BEGANTrainer(G, D, g_opt, d_opt, gamma=0.5, lambda_k=0.1, num_samples=8)
    k = 0.0
    for row in trainer.fit(ring_batches(), 4):
        balance = 0.5 * row["D(x)"] - row["D(G(z))"]
        k = min(1.0, max(0.0, k + 0.1 * balance))
        assert row["k"] == pytest.approx(k) and row["M_global"] == pytest.approx(
            row["D(x)"] + abs(balance))
    state = trainer.state_dict()
    fresh = BEGANTrainer(*_players(d=lambda: AutoencoderDiscriminator(2, 16, 4, p=1)),
                         num_samples=8)
    fresh.load_state_dict(state)
    assert fresh.equilibrium.k == trainer.equilibrium.k


def test_diffusion_trainer_diffuses_d_inputs_and_adapts_t():
    noise = DiffusionNoise(t_min=5, t_max=100, t_init=10, step=5.0, interval=1, d_target=-2.0)
    trainer = DiffusionGANTrainer(*_players(), diffusion=noise, num_samples=8)
    history = trainer.fit(ring_batches(), 3)
    # d_target = -2 < any r_d: T grows by 5 at each D loss, one per step (n_critic = 1)
    assert [row["T"] for row in history] == [15.0, 20.0, 25.0]
    fresh = DiffusionGANTrainer(*_players(), num_samples=8)
    fresh.load_state_dict(trainer.state_dict())
    assert fresh.diffusion.current_T == 25


@pytest.mark.parametrize("flags", [
    ["--loss", "logistic", "--r1", "0.1", "--r1-interval", "4"], ["--loss", "fgan-js"],
    ["--loss", "mmd"], ["--loss", "mmd", "--d-features", "4", "--clip", "0", "--spectral-norm"],
    ["--pack", "4"], ["--d-skip", "0.3"], ["--unrolled", "2"],
    ["--mode-seeking", "1"], ["--infogan", "8"], ["--ebgan", "1"], ["--began", "0.5"],
    ["--diffusion", "50"]])
def test_toy_example_runs_every_new_configuration(tmp_path, monkeypatch, flags):
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parent.parent))
    from examples import toy_2d
    metrics = toy_2d.main(["--steps", "2", "--hidden", "8", "--batch-size", "32",
                           "--samples-out", str(tmp_path / "points.npy"), *flags])
    assert np.load(tmp_path / "points.npy").shape == (2500, 2) and "modes_covered" in metrics


def test_toy_example_gives_critic_features_only_to_mmd(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parent.parent))
    from examples import toy_2d
    with pytest.raises(SystemExit, match="only --loss mmd compares"):
        toy_2d.main(["--samples-out", str(tmp_path / "p.npy"), "--d-features", "4"])


def test_toy_example_takes_one_remedy_at_a_time(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parent.parent))
    from examples import toy_2d
    with pytest.raises(SystemExit, match="at most one"):
        toy_2d.main(["--samples-out", str(tmp_path / "p.npy"), "--unrolled", "2", "--began", "0.5"])
