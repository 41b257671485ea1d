"""The GAN training loop: each step trains only the player whose turn it is, runs are
reproducible and resumable, divergence stops with a clear error, and a short run on toy data
moves the generated points towards the data (docs/08_gan_basics.md)."""
import pathlib

import numpy as np
import pytest

import minigan
from minigan import nn, optim
from minigan.data.toy import sample_toy, toy_modes
from minigan.gan import (GANTrainer, NonFiniteLossError, MLPGenerator, MLPDiscriminator,
                         ConditionalMLPGenerator, ConditionalMLPDiscriminator)


def make_trainer(seed=0, objective="ns", hidden=16, batch_norm=False, device="cpu", **options):
    minigan.manual_seed(seed)
    G = MLPGenerator(nz=2, hidden=hidden, num_layers=2, norm="batch" if batch_norm else None)
    D = MLPDiscriminator(hidden=hidden, num_layers=2)
    if batch_norm:  # a D with batch norm, to watch its running statistics
        D.body = nn.Sequential(nn.Linear(2, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2))
    G.to(device), D.to(device)
    return GANTrainer(G, D, optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999)),
                      optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999)),
                      objective=objective, seed=seed, num_samples=16, **options)


def ring_batches(seed=0, n=32):
    rng = np.random.default_rng(seed)
    while True:
        yield sample_toy("ring", n, rng)


def snapshot(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_d_step_does_not_backpropagate_into_g(device):
    trainer = make_trainer(device=device)
    G_before, D_before = snapshot(trainer.G), snapshot(trainer.D)
    real = minigan.tensor(sample_toy("ring", 8, 0), device=device)
    fake = trainer.G(trainer.noise(8))  # still attached to G's graph
    trainer.d_step(real, fake)
    assert all(p.grad is None for p in trainer.G.parameters())
    assert same(snapshot(trainer.G), G_before)
    assert not same(snapshot(trainer.D), D_before)


def test_g_step_does_not_update_d_and_d_stays_in_training_mode():
    trainer = make_trainer(batch_norm=True)
    D_params = {k: v.numpy().copy() for k, v in trainer.D.named_parameters()}
    running_mean = trainer.D.body[1].running_mean.numpy().copy()
    fake = trainer.G(trainer.noise(8))
    trainer.g_step(fake)
    assert all(p.grad is None for p in trainer.D.parameters())   # D was frozen
    assert all(p.requires_grad for p in trainer.D.parameters())  # ... and unfrozen after
    assert all(np.array_equal(v.numpy(), D_params[k]) for k, v in trainer.D.named_parameters())
    assert all(p.grad is not None for p in trainer.G.parameters())
    # Standard DCGAN code runs D in training mode here: batch statistics, running stats move.
    assert trainer.D.training
    assert not np.array_equal(trainer.D.body[1].running_mean.numpy(), running_mean)


def test_n_critic_d_updates_per_g_update():
    trainer = make_trainer(objective="wgan-gp", n_critic=3)
    trainer.fit(ring_batches(), 2)
    d_steps = {s["step"] for s in trainer.d_optimizer.state.values()}
    g_steps = {s["step"] for s in trainer.g_optimizer.state.values()}
    assert d_steps == {6} and g_steps == {2}
    assert trainer.step == 2 and "gradient_penalty" in trainer.history[-1]


def test_log_has_losses_and_d_outputs():
    trainer = make_trainer()
    log = trainer.fit(ring_batches(), 1)[-1]
    assert {"loss_D", "loss_G", "D(x)", "D(G(z))", "step"} <= set(log)
    assert 0 < log["D(x)"] < 1 and 0 < log["D(G(z))"] < 1  # probabilities for logit losses


def test_seeded_runs_are_identical():
    a, b = make_trainer(seed=3), make_trainer(seed=3)
    a.fit(ring_batches(1), 5)
    b.fit(ring_batches(1), 5)
    assert a.history == b.history
    assert same(snapshot(a.G), snapshot(b.G)) and same(snapshot(a.D), snapshot(b.D))
    assert np.array_equal(a.sample().numpy(), b.sample().numpy())


def test_resume_from_a_checkpoint_continues_exactly(tmp_path):
    options = dict(ema_decay=0.9, instance_noise=0.1, noise_anneal_steps=10, objective="wgan-gp")
    straight = make_trainer(**options)
    straight.fit(ring_batches(2), 6)

    first = make_trainer(**options)
    batches = ring_batches(2)
    first.fit(batches, 3)
    minigan.save(first.state_dict(), tmp_path / "ckpt.npz")
    resumed = make_trainer(seed=99, **options)  # different init and RNG: all must be restored
    resumed.load_state_dict(minigan.load(tmp_path / "ckpt.npz"))
    resumed.fit(batches, 3)

    assert resumed.step == 6 and resumed.history == straight.history
    assert same(snapshot(resumed.G), snapshot(straight.G))
    assert same(snapshot(resumed.ema.module), snapshot(straight.ema.module))
    assert same(snapshot(resumed.D), snapshot(straight.D))


def test_lr_schedulers_step_after_every_step_and_resume(tmp_path):
    """GANTrainer(lr_schedulers=...) steps each scheduler after every training step and keeps
    it in state_dict: a resumed run continues the schedule, and a mismatch is refused."""
    def make(seed):
        minigan.manual_seed(seed)
        G, D = MLPGenerator(nz=2, hidden=8, num_layers=2), MLPDiscriminator(hidden=8, num_layers=2)
        g_opt, d_opt = optim.Adam(G.parameters(), lr=2e-3), optim.Adam(D.parameters(), lr=1e-3)
        schedulers = [optim.lr_scheduler.StepLR(g_opt, 2, gamma=0.5),
                      optim.lr_scheduler.LinearLR(d_opt, total_iters=4)]
        return GANTrainer(G, D, g_opt, d_opt, seed=seed, num_samples=4, lr_schedulers=schedulers)

    straight = make(0)
    straight.fit(ring_batches(2, n=8), 5)
    assert straight.g_optimizer.param_groups[0]["lr"] == 2e-3 * 0.5 ** 2  # epoch 5
    assert straight.d_optimizer.param_groups[0]["lr"] == 1e-3 * (1 / 3 + (1 - 1 / 3) * 4 / 4)

    first, batches = make(0), ring_batches(2, n=8)
    first.fit(batches, 3)
    minigan.save(first.state_dict(), tmp_path / "ckpt.npz")
    resumed = make(7)
    resumed.load_state_dict(minigan.load(tmp_path / "ckpt.npz"))
    resumed.fit(batches, 2)
    assert resumed.history == straight.history
    assert [s.state_dict() for s in resumed.lr_schedulers] == \
        [s.state_dict() for s in straight.lr_schedulers]
    assert same(snapshot(resumed.G), snapshot(straight.G))

    unscheduled = make_trainer(hidden=8)
    with pytest.raises(ValueError, match="holds 2 lr schedulers, this trainer has 0"):
        unscheduled.load_state_dict(minigan.load(tmp_path / "ckpt.npz"))


def test_a_nan_loss_stops_training_with_a_clear_error():
    trainer = make_trainer()
    trainer.fit(ring_batches(), 2)
    trainer.D.head.weight.data[...] = np.nan
    with pytest.raises(NonFiniteLossError, match="loss_D is nan at step 2"):
        trainer.fit(ring_batches(), 1)


def test_weight_clipping_and_label_smoothing_options():
    trainer = make_trainer(objective="wgan")  # clip_value 0.01 by default
    trainer.fit(ring_batches(), 1)
    assert all(np.abs(p.numpy()).max() <= 0.01 for p in trainer.D.parameters())
    with pytest.raises(ValueError, match="label smoothing"):
        make_trainer(objective="hinge", real_label=0.9)


@pytest.mark.parametrize("options", [dict(objective="rasgan"), dict(feature_matching=True),
                                     dict(r1_gamma=1.0, historical_weight=0.1),
                                     dict(objective="ns", real_label=0.9, instance_noise=0.1,
                                          noise_anneal_steps=5)])
def test_every_option_trains(options):
    trainer = make_trainer(**options)
    trainer.fit(ring_batches(), 2)
    assert all(np.isfinite(v) for v in trainer.history[-1].values())


def mean_distance_to_nearest_mode(points, name="ring"):
    modes, _ = toy_modes(name)
    return np.linalg.norm(points[:, None] - modes[None], axis=2).min(axis=1).mean()


def test_a_short_run_moves_samples_towards_the_data():
    trainer = make_trainer(hidden=32)
    before = mean_distance_to_nearest_mode(trainer.sample().numpy())
    trainer.fit(ring_batches(n=64), 150)
    after = mean_distance_to_nearest_mode(trainer.sample().numpy())
    assert after < 0.5 * before, (before, after)


def test_conditional_gan_samples_the_chosen_mode():
    minigan.manual_seed(0)
    modes, _ = toy_modes("ring")
    G = ConditionalMLPGenerator(8, nz=2, hidden=32, num_layers=2)
    D = ConditionalMLPDiscriminator(8, hidden=32, num_layers=2)
    trainer = GANTrainer(G, D, optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999)),
                         optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999)),
                         num_classes=8, seed=0, num_samples=16)

    def batches(rng=np.random.default_rng(0)):
        while True:
            x = sample_toy("ring", 64, rng)
            yield x, np.linalg.norm(x[:, None] - modes[None], axis=2).argmin(axis=1)
    trainer.fit(batches(), 200)
    hits = 0
    for k in range(8):
        points = trainer.sample(trainer.noise(20), minigan.tensor(np.full(20, k))).numpy()
        nearest = np.linalg.norm(points[:, None] - modes[None], axis=2).argmin(axis=1)
        hits += (nearest == k).sum()
    assert hits / 160 > 0.8, hits


def test_toy_example_writes_samples_plots_and_metrics(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parent.parent))
    from examples import toy_2d
    metrics = toy_2d.main(["--dataset", "grid", "--steps", "3", "--hidden", "8", "--mbstd",
                           "--ema", "0.9", "--samples-out", str(tmp_path / "points.npy"),
                           "--out", str(tmp_path / "run")])
    points = np.load(tmp_path / "points.npy")
    assert points.shape == (2500, 2) and points.dtype == np.float32
    assert set(metrics) == {"modes_covered", "high_quality_fraction", "reverse_kl"}
    assert (tmp_path / "run" / "scatter.png").exists() and (tmp_path / "run" / "losses.png").exists()


@pytest.mark.parametrize("flag, value, message", [
    ("--steps", "-5", "must be a positive integer, got -5"),
    ("--batch-size", "0", "must be a positive integer"),
    ("--lr-g", "0", "must be a positive number"),
    ("--decay-start", "1", "must be in [0, 1)"),
    ("--label-smoothing", "1.5", "must be in (0, 1]"),
    ("--gp", "-10", "must be a non-negative number"),
    ("--seed", "-1", "must be a non-negative integer"),
])
def test_toy_example_refuses_impossible_flags(tmp_path, monkeypatch, capsys, flag, value, message):
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parent.parent))
    from examples import toy_2d
    with pytest.raises(SystemExit) as stop:  # argparse's error: nothing trains, nothing is saved
        toy_2d.main(["--samples-out", str(tmp_path / "points.npy"), flag, value])
    assert stop.value.code == 2
    assert f"error: argument {flag}: {message}" in capsys.readouterr().err
    assert not (tmp_path / "points.npy").exists()


@pytest.mark.parametrize("objective", ["ns", "wgan-gp"])
def test_float32_training_never_computes_in_float64(objective, monkeypatch):
    # A silent upcast (a float64 constant, a Python-float array) would double memory traffic
    # and hide itself: every op output of a DCGAN step, double backward included, is float32.
    from minigan.autograd import Function
    from minigan.gan import DCGANDiscriminator, DCGANGenerator
    seen = set()
    call = Function.__call__

    def spy(self, *inputs):
        outputs = call(self, *inputs)
        for y in outputs if isinstance(outputs, tuple) else (outputs,):
            seen.add((type(self).__name__, str(y.dtype)))
        return outputs

    monkeypatch.setattr(Function, "__call__", spy)
    minigan.manual_seed(0)
    G, D = DCGANGenerator(nz=8, ngf=4, image_size=32), DCGANDiscriminator(ndf=4, image_size=32)
    trainer = GANTrainer(G, D, optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                         optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                         objective=objective, num_samples=4)
    real = minigan.rand(4, 3, 32, 32) * 2 - 1
    trainer.fit(iter([real] * 2), steps=1)
    assert seen and {dtype for _, dtype in seen} == {"float32"}, sorted(seen)
    assert all(p.dtype == np.float32 for p in list(G.parameters()) + list(D.parameters()))
