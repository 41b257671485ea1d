"""Discriminator rejection sampling (minigan/gan/rejection.py): the acceptance probability
is the one of the paper, and with a perfect discriminator it turns G's distribution into the
data's (docs/08_toy_benchmark.md)."""
import numpy as np
import pytest

import minigan
from minigan import nn
from minigan.backend import to_device
from minigan.gan import drs_logit, drs_acceptance, rejection_sample


def test_drs_acceptance_is_the_density_ratio_over_its_bound(device):
    # With gamma = 0, sigmoid(F) = exp(D~ - D~_M): p_d / (M p_g), rejection sampling's rule.
    logits = np.array([-6.0, -1.0, 0.0, 1.5, 2.0])
    x = to_device(logits, device)
    accept = minigan.backend.to_numpy(drs_acceptance(x, 2.0, eps=1e-12))
    assert np.allclose(accept, np.exp(logits - 2.0), rtol=1e-6)
    f = minigan.backend.to_numpy(drs_logit(x, 2.0, eps=1e-12))
    p = np.exp(logits[:-1] - 2.0)
    assert np.allclose(f[:-1], np.log(p / (1 - p)))   # F is the logit of that probability
    # gamma shifts that logit: larger gamma, fewer samples kept.
    shifted = minigan.backend.to_numpy(drs_logit(x, 2.0, gamma=1.0, eps=1e-12))
    assert np.allclose(shifted, f - 1.0)
    assert np.isfinite(f[-1])                          # eps keeps the largest logit finite


def test_drs_keeps_float32(device):
    x = to_device(np.array([0.0, 1.0], dtype=np.float32), device)
    assert drs_acceptance(x, 1.0).dtype == np.float32


class _Identity(nn.Module):
    """G(z) = z: proposals from N(0, I)."""
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(minigan.ones(1))
        self.nz = 2

    def forward(self, z):
        return z * self.weight


class _PerfectD(nn.Module):
    """The logit of the optimal D for data N(0, s^2 I) against G = N(0, I):
    log p_d(x) - log p_g(x) = (1 - 1/s^2) |x|^2 / 2 - 2 log s."""
    def __init__(self, s):
        super().__init__()
        self.s = s

    def forward(self, x):
        return (x * x).sum(dim=1) * (0.5 * (1 - 1 / self.s ** 2)) - 2 * float(np.log(self.s))


def test_rejection_sampling_with_a_perfect_d_recovers_the_data(device):
    G, D = _Identity().to(device), _PerfectD(0.5)
    samples, rate = rejection_sample(G, D, 2000, nz=2, percentile=None,
                                     rng=np.random.default_rng(0))
    samples = samples.numpy()
    assert samples.shape == (2000, 2)
    assert samples.std(axis=0) == pytest.approx([0.5, 0.5], rel=0.06)
    assert rate == pytest.approx(0.25, abs=0.03)       # 1/M = s^2 for these two Gaussians
    assert G.training                                  # modes are restored


def test_drs_with_a_percentile_shift_keeps_only_the_likelier_samples():
    G, D = _Identity(), _PerfectD(0.5)
    samples, rate = rejection_sample(G, D, 500, nz=2, rng=np.random.default_rng(1))
    assert samples.numpy().std() < 0.5 and rate < 0.25


def test_toy_example_with_drs_and_a_late_decay(tmp_path, monkeypatch, capsys):
    import pathlib
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parent.parent))
    from examples import toy_2d
    metrics = toy_2d.main(["--dataset", "ring", "--steps", "4", "--hidden", "8", "--d-layers", "2",
                           "--lr-decay", "--decay-start", "0.5", "--eval-every", "2", "--drs",
                           "--mbstd", "--ema", "0.9", "--samples-out", str(tmp_path / "p.npy"),
                           "--out", str(tmp_path / "run")])
    assert np.load(tmp_path / "p.npy").shape == (2500, 2)          # G's own points ...
    assert np.load(tmp_path / "p_drs.npy").shape == (2500, 2)      # ... and the filtered ones
    assert (tmp_path / "run" / "scatter_drs.png").exists()
    out = capsys.readouterr().out
    assert "eval step      2" in out and "rejection sampling" in out
    assert set(metrics) == {"modes_covered", "high_quality_fraction", "reverse_kl", "drs"}
    assert set(metrics["drs"]) == {"modes_covered", "high_quality_fraction", "reverse_kl"}
    with pytest.raises(SystemExit, match="drs"):
        toy_2d.main(["--loss", "wgan-gp", "--drs", "--samples-out", str(tmp_path / "q.npy")])
