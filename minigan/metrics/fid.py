"""FID and KID: how far apart two sets of image features are, from features of your choice.

Both compare the features of real images ``a`` (N_a, D) with those of generated ones ``b``
(N_b, D), as the rows of two arrays (NumPy or CuPy; the maths runs where they live, in
float64). Heusel et al. 2017 use Inception-v3's pool features; any fixed feature extractor
works (for cats, `CatAttributeClassifier.features`), but numbers are only comparable with
the same extractor and sample sizes.

Fréchet Inception Distance: fit a Gaussian to each set and take the Fréchet (2-Wasserstein)
distance between the Gaussians,

    FID = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2).

Kernel Inception Distance (Binkowski, Sutherland, Arbel & Gretton 2018): the unbiased MMD^2
with the cubic polynomial kernel k(x, y) = (x.y / D + 1)^3, averaged over random subsets.
Unlike FID it has an unbiased estimator, so small samples do not inflate it.
See ``docs/13_evaluating_gans.md``.
"""
from .. import backend
from ..backend import np


def _features(name, a, b, min_samples=2):
    """Both feature sets as float64 arrays (N, D) on their device, checked."""
    a, b = (getattr(x, "data", x) if hasattr(x, "_is_tensor") else x for x in (a, b))
    if not (backend.is_array(a) and backend.is_array(b)):
        raise TypeError(f"{name}: features must be arrays (N, D), got {type(a).__name__} and "
                        f"{type(b).__name__}")
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"{name}: features must be 2-D (N, D), got shapes {a.shape} and "
                         f"{b.shape}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{name}: the two sets have {a.shape[1]} and {b.shape[1]} features "
                         f"per sample; use the same feature extractor for both")
    if min(a.shape[0], b.shape[0]) < min_samples:
        raise ValueError(f"{name}: needs at least {min_samples} samples in each set, got "
                         f"{a.shape[0]} and {b.shape[0]}")
    if backend.device_of(a) != backend.device_of(b):
        raise ValueError(f"{name}: the sets live on {backend.device_of(a)} and "
                         f"{backend.device_of(b)}; move one with minigan.to_device")
    with backend.device_context(backend.device_of(a)):
        return a.astype("float64"), b.astype("float64")


def _sqrt_psd(matrix, xp):
    """The square root of a symmetric positive semi-definite matrix, by eigendecomposition:
    S = V diag(l) V^T  ->  S^1/2 = V diag(sqrt(l)) V^T.

    Rounding leaves a PSD matrix with eigenvalues like -1e-13 (and exactly singular ones when
    N <= D); their square roots would be NaN, so they are clipped to 0, which is their true
    value up to rounding. `eigh` (for symmetric matrices) is used rather than a general
    square root (scipy's sqrtm, which FID code often uses): it is stable, exists in CuPy, and
    its eigenvalues are real."""
    values, vectors = xp.linalg.eigh((matrix + matrix.T) / 2)  # exactly symmetric first
    return (vectors * xp.sqrt(xp.clip(values, 0, None))) @ vectors.T


def _covariance(x, xp):
    centred = x - x.mean(axis=0)
    return centred.T @ centred / (x.shape[0] - 1)


def fid_from_features(features_a, features_b):
    """The Fréchet distance between Gaussians fitted to two feature sets (N_a, D), (N_b, D);
    a Python float >= 0 (up to rounding). Each set needs at least 2 samples; with fewer than
    D the covariances are singular, which the formula allows but which biases FID upwards."""
    a, b = _features("fid_from_features", features_a, features_b)
    xp = backend.get_array_module(a)
    with backend.device_context(backend.device_of(a)):
        mean_term = ((a.mean(axis=0) - b.mean(axis=0)) ** 2).sum()
        cov_a, cov_b = _covariance(a, xp), _covariance(b, xp)
        # Tr((S_a S_b)^1/2): S_a S_b is not symmetric, but S_a^1/2 S_b S_a^1/2 is, and it is
        # similar to S_a S_b (same eigenvalues), so its square root has the same trace.
        root_a = _sqrt_psd(cov_a, xp)
        middle = root_a @ cov_b @ root_a
        eigenvalues = xp.linalg.eigvalsh((middle + middle.T) / 2)
        trace_root = xp.sqrt(xp.clip(eigenvalues, 0, None)).sum()
        fid = mean_term + xp.trace(cov_a) + xp.trace(cov_b) - 2 * trace_root
        return float(backend.to_numpy(fid))


def polynomial_kernel(x, y):
    """k(x_i, y_j) = (x_i . y_j / D + 1)^3 for every pair: (m, D), (n, D) -> (m, n)."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def _mmd2_unbiased(x, y, xp):
    """Unbiased MMD^2 between equal-sized sets: the diagonals k(x_i, x_i) are left out."""
    m = x.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (k_xx.sum() - xp.trace(k_xx) + k_yy.sum() - xp.trace(k_yy)) / (m * (m - 1))
    return within - 2 * k_xy.sum() / (m * m)


def kid_from_features(features_a, features_b, num_subsets=100, subset_size=1000, seed=0):
    """KID: the unbiased MMD^2 of the cubic polynomial kernel, averaged over ``num_subsets``
    random subsets of ``subset_size`` samples from each set (drawn without replacement; at
    most the smaller set's size). Returns (mean, standard deviation over the subsets), as
    Python floats; the mean can be slightly negative when the sets match (it is unbiased).
    ``seed`` fixes the subsets."""
    a, b = _features("kid_from_features", features_a, features_b)
    if num_subsets < 1 or subset_size < 2:
        raise ValueError(f"kid_from_features: needs num_subsets >= 1 and subset_size >= 2, got "
                         f"{num_subsets} and {subset_size}")
    m = min(subset_size, a.shape[0], b.shape[0])
    rng = np.random.default_rng(seed)  # the subsets are chosen on the host: a few ints each
    device = backend.device_of(a)
    xp = backend.get_array_module(a)
    with backend.device_context(device):
        values = []
        for _ in range(num_subsets):
            pick_a = backend.to_device(rng.choice(a.shape[0], m, replace=False), device)
            pick_b = backend.to_device(rng.choice(b.shape[0], m, replace=False), device)
            values.append(_mmd2_unbiased(a[pick_a], b[pick_b], xp))
        values = backend.to_numpy(xp.stack(values))  # one transfer for all subsets
    return float(values.mean()), float(values.std())
