"""2-D toy datasets for seeing mode collapse, and the metric that measures it.

Two mixtures of Gaussians, with the setup of PacGAN (Lin et al., 2018), who took them from
VEEGAN (Srivastava et al., 2017):

- "ring": 8 modes evenly spaced on a circle of radius 1, standard deviation 0.01;
- "grid": 25 modes at {-4, -2, 0, 2, 4}^2, standard deviation 0.05.

A generator that has collapsed puts all its points on a few modes; one that has not covers
all of them evenly. `mode_coverage` counts this in numbers, see its docstring.
"""
import math

from .. import backend
from ..backend import np
from ..metrics.agreement import code_agreement

TOY_DATASETS = ("ring", "grid")


def toy_modes(name):
    """(modes, std): the mode centres as a float64 (K, 2) array and the Gaussians' std."""
    if name == "ring":
        angles = 2 * math.pi * np.arange(8) / 8
        return np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01
    if name == "grid":
        ticks = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
        xs, ys = np.meshgrid(ticks, ticks, indexing="ij")
        return np.stack([xs.ravel(), ys.ravel()], axis=1), 0.05
    raise ValueError(f"unknown toy dataset {name!r}; choose one of {', '.join(TOY_DATASETS)}")


def sample_toy(name, n, rng=None):
    """``n`` points from toy dataset ``name`` as a float32 (n, 2) host array.

    ``rng`` is a NumPy Generator or a seed (None: minigan's global generator).
    """
    if rng is None:
        from ..creation import default_generator
        rng = default_generator()
    elif not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    modes, std = toy_modes(name)
    which = rng.integers(len(modes), size=n)      # every mode equally likely
    points = modes[which] + std * rng.standard_normal((n, 2))
    return points.astype(np.float32)


def mode_coverage(samples, name, threshold=3.0):
    """How well ``samples`` (N x 2, host array or Tensor) cover the modes of toy dataset ``name``.

    Each sample is assigned to its nearest mode. It is *high quality* if it lies within
    ``threshold`` standard deviations of that mode (3, as in VEEGAN and PacGAN). Returns:

    - ``modes_covered``: how many modes have at least one high-quality sample;
    - ``high_quality_fraction``: the fraction of samples that are high quality;
    - ``reverse_kl``: KL(q || p) = sum_k q_k log(q_k / p_k), where q_k is the fraction of
      the high-quality samples at mode k and p_k = 1/K is the true (uniform) weight. It is 0
      for perfectly even coverage and log(K) when everything sits on one mode. Terms with
      q_k = 0 are 0 (the limit of q log q), and p_k > 0 always, so no smoothing epsilon is
      needed. With no high-quality samples at all q is undefined: ``inf`` is returned.
    """
    if hasattr(samples, "_is_tensor"):
        samples = samples.data
    samples = backend.to_numpy(samples).astype(np.float64)
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"mode_coverage: expected samples of shape (N, 2), got {samples.shape}")
    modes, std = toy_modes(name)
    distances = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=2)   # N x K
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] < threshold * std
    counts = np.bincount(nearest[good], minlength=len(modes))
    if counts.sum() == 0:
        reverse_kl = math.inf
    else:
        q = counts[counts > 0] / counts.sum()
        reverse_kl = float(np.sum(q * np.log(q * len(modes))))
    return {
        "modes_covered": int((counts > 0).sum()),
        "high_quality_fraction": float(good.mean()) if len(samples) else 0.0,
        "reverse_kl": reverse_kl,
    }


def code_mode_agreement(samples, codes, name, threshold=3.0):
    """How well a categorical latent code picks a mode (InfoGAN): each high-quality sample
    (as in `mode_coverage`) goes to its nearest mode; every code value's *majority mode* is the
    mode most of its samples land on; the score is the share of high-quality samples that
    land on their code's majority mode. 1.0: every code value draws one mode only; about
    1/K when the code is ignored. (Two code values may share a majority mode: the score
    measures how *consistent* a code is, `modes_covered` how many modes the codes reach.)
    The same measure as `minigan.metrics.code_agreement`, with the nearest mode as the class."""
    if hasattr(samples, "_is_tensor"):
        samples = samples.data
    samples = backend.to_numpy(samples).astype(np.float64)
    codes = np.asarray(backend.to_numpy(codes)).astype(np.int64).reshape(-1)
    if samples.ndim != 2 or samples.shape[1] != 2 or len(codes) != len(samples):
        raise ValueError(f"code_mode_agreement: expected samples (N, 2) and codes (N,), got "
                         f"{samples.shape} and {codes.shape}")
    modes, std = toy_modes(name)
    distances = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] < threshold * std
    return code_agreement(codes[good], nearest[good]) if good.any() else 0.0
