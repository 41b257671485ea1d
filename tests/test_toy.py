"""2-D toy datasets and the mode-coverage metric used to measure mode collapse."""
import math

import numpy as np
import pytest

import minigan
from minigan.data.toy import code_mode_agreement, mode_coverage, sample_toy, toy_modes


def test_modes():
    ring, ring_std = toy_modes("ring")
    assert ring.shape == (8, 2) and ring_std == 0.01
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 1.0)
    grid, grid_std = toy_modes("grid")
    assert grid.shape == (25, 2) and grid_std == 0.05
    assert sorted(set(grid[:, 0])) == [-4, -2, 0, 2, 4] and len({tuple(m) for m in grid}) == 25


def test_unknown_name():
    with pytest.raises(ValueError, match="ring, grid"):
        toy_modes("spiral")


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_real_samples_cover_all_modes_evenly(name):
    samples = sample_toy(name, 5000, np.random.default_rng(0))
    assert samples.shape == (5000, 2) and samples.dtype == np.float32
    result = mode_coverage(samples, name)
    assert result["modes_covered"] == len(toy_modes(name)[0])
    assert result["high_quality_fraction"] > 0.98     # 3 std holds ~99% of a 2-D Gaussian
    assert result["reverse_kl"] < 0.02


def test_sampling_is_seeded():
    np.testing.assert_array_equal(sample_toy("ring", 10, 3), sample_toy("ring", 10, 3))
    assert not np.array_equal(sample_toy("ring", 10, 3), sample_toy("ring", 10, 4))
    minigan.manual_seed(1)
    first = sample_toy("grid", 5)
    minigan.manual_seed(1)
    np.testing.assert_array_equal(first, sample_toy("grid", 5))


def test_perfect_samples():
    modes, _ = toy_modes("ring")
    result = mode_coverage(np.repeat(modes, 3, axis=0), "ring")
    assert result == {"modes_covered": 8, "high_quality_fraction": 1.0, "reverse_kl": 0.0}


def test_collapse_onto_one_mode():
    modes, std = toy_modes("ring")
    samples = modes[2] + std * np.random.default_rng(0).uniform(-1, 1, (100, 2))
    result = mode_coverage(samples, "ring")
    assert result["modes_covered"] == 1 and result["high_quality_fraction"] == 1.0
    assert result["reverse_kl"] == pytest.approx(math.log(8))


def test_two_modes_and_low_quality_points():
    modes, std = toy_modes("grid")
    good = np.concatenate([np.repeat(modes[:1], 30, 0), np.repeat(modes[7:8], 10, 0)])
    between = np.full((40, 2), 1.0)                    # halfway between modes: low quality
    near_miss = modes[:10] + 3.5 * std                  # 4.9 std away: low quality too
    result = mode_coverage(np.concatenate([good, between, near_miss]), "grid")
    assert result["modes_covered"] == 2
    assert result["high_quality_fraction"] == pytest.approx(40 / 90)
    q = np.array([0.75, 0.25])                          # only high-quality samples count
    assert result["reverse_kl"] == pytest.approx(float(np.sum(q * np.log(q * 25))))


def test_no_high_quality_samples():
    result = mode_coverage(np.full((5, 2), 0.5), "ring")
    assert result["modes_covered"] == 0 and result["high_quality_fraction"] == 0.0
    assert result["reverse_kl"] == math.inf


def test_metric_accepts_device_tensors(device):
    modes, _ = toy_modes("ring")
    result = mode_coverage(minigan.Tensor(modes.astype(np.float32), device=device), "ring")
    assert result["modes_covered"] == 8


def test_metric_checks_shape():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        mode_coverage(np.zeros((4, 3)), "ring")


def test_code_mode_agreement():
    modes, std = toy_modes("ring")
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(8), 50)
    # each code value draws one mode (code k -> mode (3k) mod 8): perfect agreement
    aligned = modes[(3 * codes) % 8] + 0.5 * std * rng.uniform(-1, 1, (400, 2))
    assert code_mode_agreement(aligned, codes, "ring") == 1.0
    # codes ignored: modes drawn independently of the code, so a code's majority mode holds
    # only about 1/8 of its samples (more with 50 samples per code: the max of 8 counts)
    ignored = modes[rng.integers(0, 8, 400)] + 0.5 * std * rng.uniform(-1, 1, (400, 2))
    assert code_mode_agreement(ignored, codes, "ring") < 0.35
    # half of code 0's samples on another mode, and low-quality points far away do not count
    mixed = aligned.copy()
    mixed[:25] = modes[5]
    mixed[-10:] = 100.0
    assert code_mode_agreement(mixed, codes, "ring") == pytest.approx((390 - 25) / 390)
    with pytest.raises(ValueError, match="codes"):
        code_mode_agreement(aligned, codes[:-1], "ring")
