"""How close is an image to a reference? PSNR and SSIM, the super-resolution scores.

Both take two batches of the same shape, channels first: (N, C, H, W), or one image (C, H, W)
or (H, W); Tensors or arrays (NumPy or CuPy: the work runs where the data is). They return a
Python float: the mean over images (and, for SSIM, over channels) of the per-image score.

``data_range`` L is the distance from the darkest to the brightest possible value: 255 for
uint8 images (the default for them), 1 for floats in [0, 1]. Float images must say it: a wrong
L shifts PSNR by 20 log10 of the error and changes SSIM's constants. SSIM also needs
intensities >= 0 (its luminance term compares means as brightnesses: on [-1, 1] images a
window of mean ~0 would score ~0 for any small shift), so map minigan's [-1, 1] images to
[0, 1] first, (x + 1) / 2; PSNR depends on differences only and takes either.

    PSNR = 10 log10(L^2 / MSE)                     (dB; identical images: inf)

    SSIM(x, y) = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))

SSIM (Wang, Bovik, Sheikh and Simoncelli 2004) compares local means (luminance), deviations
(contrast) and correlation (structure) in a Gaussian window (11 x 11, sigma 1.5) at every
position where the window fits inside the image ("valid", as the paper's MATLAB code), with
C1 = (K1 L)^2, C2 = (K2 L)^2, K1 = 0.01, K2 = 0.03, the moments weighted by the window
(not the sample covariance), and averages the map. See docs/15_super_resolution.md.
"""
import math

from .. import backend


def _as_batch(x):
    """(H, W) -> (1, 1, H, W); (C, H, W) -> (1, C, H, W)."""
    while x.ndim < 4:
        x = x[None]
    return x


def psnr(a, b, data_range=None):
    """Peak signal-to-noise ratio in dB, averaged over images (inf where two are identical)."""
    a, b, data_range = _prepare(a, b, data_range, "psnr")
    with backend.device_context(backend.device_of(a)):
        mse = backend.to_numpy(((a - b) ** 2).mean(axis=(1, 2, 3)))
    with_errors = [10 * math.log10(data_range ** 2 / m) if m > 0 else math.inf for m in mse]
    return sum(with_errors) / len(with_errors)


def _gaussian_weights(size, sigma):
    """The normalised 1-D Gaussian; the 2-D window is its outer product (separable)."""
    weights = [math.exp(-((i - (size - 1) / 2) ** 2) / (2 * sigma ** 2)) for i in range(size)]
    return [w / sum(weights) for w in weights]


def _window_mean(x, weights):
    """The Gaussian-weighted mean of every size x size window that fits inside (H, W):
    (N, C, H, W) -> (N, C, H - size + 1, W - size + 1), one 1-D pass along each axis."""
    k = len(weights)
    height, width = x.shape[-2:]
    rows = sum(w * x[..., i:height - k + 1 + i, :] for i, w in enumerate(weights))
    return sum(w * rows[..., j:width - k + 1 + j] for j, w in enumerate(weights))


def ssim(a, b, data_range=None, win_size=11, sigma=1.5, k1=0.01, k2=0.03):
    """Structural similarity (Wang et al. 2004): per channel, then averaged over channels and
    images. 1 for identical images; near 0 for unrelated ones (it can go negative)."""
    a, b, data_range = _prepare(a, b, data_range, "ssim")
    if min(a.shape[-2:]) < win_size:
        raise ValueError(f"ssim: images of {a.shape[-2]}x{a.shape[-1]} are smaller than the "
                         f"{win_size}x{win_size} window; lower win_size")
    with backend.device_context(backend.device_of(a)):
        lowest = float(min(a.min(), b.min()))
    if lowest < 0:  # the luminance term compares means as if both were >= 0 brightnesses
        raise ValueError(f"ssim: intensities must be >= 0 (got {lowest:.3g}); map images in "
                         f"[-1, 1] to [0, 1] first, (x + 1) / 2, with data_range=1.0")
    weights = _gaussian_weights(win_size, sigma)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    with backend.device_context(backend.device_of(a)):
        mu_a, mu_b = _window_mean(a, weights), _window_mean(b, weights)
        var_a = _window_mean(a * a, weights) - mu_a * mu_a
        var_b = _window_mean(b * b, weights) - mu_b * mu_b
        cov = _window_mean(a * b, weights) - mu_a * mu_b
        index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / \
                ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2))
        return float(index.mean())


def _prepare(a, b, data_range, name):
    a, b = (x.data if hasattr(x, "_is_tensor") else x for x in (a, b))
    if a.shape != b.shape:
        raise ValueError(f"{name}: the images differ in shape: {a.shape} and {b.shape}")
    if a.ndim not in (2, 3, 4):
        raise ValueError(f"{name}: expected images (H, W), (C, H, W) or (N, C, H, W), got shape "
                         f"{a.shape}")
    if data_range is None:
        if a.dtype != "uint8" or b.dtype != "uint8":
            raise ValueError(f"{name}: give data_range for float images (1.0 for images in "
                             f"[0, 1]; 2.0 for [-1, 1], PSNR only); only uint8 implies 255")
        data_range = 255.0
    if not data_range > 0:
        raise ValueError(f"{name}: data_range must be positive, got {data_range}")
    xp = backend.get_array_module(a, b)
    with backend.device_context(backend.device_of(a)):
        a, b = (_as_batch(xp.asarray(x, dtype="float64")) for x in (a, b))
    return a, b, float(data_range)
