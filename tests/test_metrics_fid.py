"""FID and KID from feature arrays, held to formulas computed another way: closed forms for
Gaussians, the eigenvalues of the non-symmetric S_a S_b, and a double loop over pairs for KID's
unbiased MMD^2 (docs/13_evaluating_gans.md)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minigan import backend
from minigan.metrics import fid_from_features, kid_from_features
from strategies import arrays


def on(device, x):
    return backend.to_device(np.asarray(x), device)


def fid_by_eigenvalues(a, b):
    """FID with Tr((S_a S_b)^1/2) as the sum of the square roots of the eigenvalues of S_a S_b
    (real and >= 0 for PSD S_a, S_b, up to rounding), not via any matrix square root."""
    mean = ((a.mean(0) - b.mean(0)) ** 2).sum()
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    roots = np.sqrt(np.clip(np.linalg.eigvals(cov_a @ cov_b).real, 0, None))
    return mean + np.trace(cov_a) + np.trace(cov_b) - 2 * roots.sum()


def kid_double_loop(x, y):
    """Unbiased MMD^2 of k(u, v) = (u.v / d + 1)^3, pair by pair."""
    m, d = len(x), x.shape[1]
    k = lambda u, v: (u @ v / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_fid_of_1d_gaussians_is_the_closed_form(device):
    # For 1-D Gaussians the Fréchet distance is (mu_a - mu_b)^2 + (s_a - s_b)^2.
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 2.0, (50, 1)), rng.normal(-0.5, 0.7, (40, 1))
    expected = (a.mean() - b.mean()) ** 2 + (a.std(ddof=1) - b.std(ddof=1)) ** 2
    assert fid_from_features(on(device, a), on(device, b)) == pytest.approx(expected, rel=1e-12)


def test_fid_of_scaled_features_is_the_closed_form(device):
    # b = 2a: mu_b = 2 mu_a and S_b = 4 S_a, so FID = |mu_a|^2 + Tr(S_a) (1 + 4 - 2 * 2).
    rng = np.random.default_rng(1)
    a = rng.normal(size=(30, 5)) @ rng.normal(size=(5, 5)) + rng.normal(size=5)
    expected = (a.mean(0) ** 2).sum() + np.trace(np.cov(a, rowvar=False))
    assert fid_from_features(on(device, a), on(device, 2 * a)) == pytest.approx(expected, rel=1e-9)


@settings(max_examples=4)
@given(data=st.data())
def test_fid_matches_the_eigenvalues_of_the_covariance_product(device, data):
    d = data.draw(st.integers(1, 4))
    a = data.draw(arrays((data.draw(st.integers(d + 2, 12)), d), -3, 3))
    b = data.draw(arrays((data.draw(st.integers(d + 2, 12)), d), -1, 2))
    value = fid_from_features(on(device, a), on(device, b))
    assert value == pytest.approx(fid_by_eigenvalues(a, b), rel=1e-7, abs=1e-9)
    assert value == pytest.approx(fid_from_features(on(device, b), on(device, a)), rel=1e-9)


def test_fid_is_zero_for_the_same_set_even_with_singular_covariances(device):
    # 5 samples of 8 features: S is singular, its eigenvalues round to tiny negatives, whose
    # square roots would be NaN without the clipping. (A square root turns rounding errors of
    # 1e-16 into 1e-8: that is the accuracy FID has near singular covariances.)
    x = on(device, np.random.default_rng(2).normal(size=(5, 8)))
    assert abs(fid_from_features(x, x)) < 1e-6
    far = on(device, np.random.default_rng(3).normal(size=(5, 8)) + 3)
    assert fid_from_features(x, far) > 50


def test_kid_matches_a_double_loop(device):
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(7, 3)), rng.normal(0.5, 1.2, size=(9, 3))
    # Subsets of 7 (the smaller set): all of x each time, 7 of y's 9 rows, chosen by the seed.
    picks = np.random.default_rng(0)
    expected = []
    for _ in range(3):
        pick_x, pick_y = picks.choice(7, 7, replace=False), picks.choice(9, 7, replace=False)
        expected.append(kid_double_loop(x[pick_x], y[pick_y]))
    mean, std = kid_from_features(on(device, x), on(device, y), num_subsets=3, subset_size=50)
    assert mean == pytest.approx(np.mean(expected), rel=1e-10)
    assert std == pytest.approx(np.std(expected), rel=1e-8)
    assert std > 0  # the subsets differ, so the check above compares three different values


def test_kid_is_unbiased_near_zero_for_one_distribution_and_large_for_two():
    rng = np.random.default_rng(5)
    same = [kid_from_features(rng.normal(size=(20, 4)), rng.normal(size=(20, 4)),
                              num_subsets=1)[0] for _ in range(200)]
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(200) and min(same) < 0
    far = kid_from_features(rng.normal(size=(20, 4)), rng.normal(size=(20, 4)) + 2,
                            num_subsets=1)[0]
    assert far > 20 * np.std(same)


def test_bad_features_are_named():
    x = np.zeros((5, 3))
    for metric in (fid_from_features, kid_from_features):
        with pytest.raises(ValueError, match="3 and 4 features"):
            metric(x, np.zeros((5, 4)))
        with pytest.raises(ValueError, match="at least 2 samples"):
            metric(x, np.zeros((1, 3)))
        with pytest.raises(ValueError, match="2-D"):
            metric(np.zeros(5), np.zeros(5))
        with pytest.raises(TypeError, match="arrays"):
            metric([[0.0]], x)
    with pytest.raises(ValueError, match="subset_size"):
        kid_from_features(x, x, subset_size=1)
    with pytest.raises(ValueError, match="strict:0"):
        fid_from_features(x, backend.to_device(x, "strict"))
