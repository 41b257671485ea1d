"""MMD-GAN (Li, Chang, Cheng, Yang & Poczos 2017): compare distributions by their kernel means.

The maximum mean discrepancy of a kernel k between samples x_1..x_m ~ P and y_1..y_n ~ Q has
the unbiased estimator (Gretton et al. 2012, Lemma 6)

    MMD^2_u = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j)
              - 2/(mn) sum_{i, j} k(x_i, y_j)

which is 0 in expectation iff P = Q for a characteristic kernel such as the Gaussian. MMD-GAN
applies it to critic features f(x) with a mixture of Gaussian kernels

    k(a, b) = sum_sigma exp(-||a - b||^2 / (2 sigma^2)),   sigma in {1, 2, 4, 8, 16}

(Li et al. 2017): the critic maximises MMD^2_u(f(x), f(G(z))), the
generator minimises it, and the critic's weights are clipped to [-c, c], c = 0.01 (the
paper's Algorithm 1), which keeps f Lipschitz. The paper's critic is also an autoencoder, a
regulariser left out here. See ``docs/08_gan_objectives.md``.
"""
from .. import backend
from ..autograd import Tensor
from ..ops import exp, reshape

SIGMAS = (1.0, 2.0, 4.0, 8.0, 16.0)


def _flat(x):
    return reshape(x, (x.shape[0], -1)) if x.ndim != 2 else x


def squared_distances(a, b):
    """||a_i - b_j||^2 for every pair: (m, F), (n, F) -> (m, n), as |a|^2 + |b|^2 - 2 a.b."""
    a2 = (a * a).sum(1).reshape((a.shape[0], 1))
    b2 = (b * b).sum(1).reshape((1, b.shape[0]))
    return a2 + b2 - 2.0 * (a @ b.T)


def mixture_rbf_kernel(a, b, sigmas=SIGMAS):
    """k(a_i, b_j) = sum_sigma exp(-||a_i - b_j||^2 / (2 sigma^2)), shape (m, n)."""
    d2 = squared_distances(a, b)
    total = 0.0
    for sigma in sigmas:
        total = total + exp(d2 * (-1.0 / (2.0 * sigma * sigma)))
    return total


@backend.on_input_device  # the mask is made on k's device
def _off_diagonal_mean(k):
    """Mean of k_ij over i != j (the diagonal k(x_i, x_i) would bias the estimate)."""
    n = k.shape[0]
    xp = backend.get_array_module(k.data)
    mask = Tensor((1.0 - xp.eye(n)).astype(k.dtype))
    return (k * mask).sum() / float(n * (n - 1))


def mmd2_unbiased(x, y, sigmas=SIGMAS):
    """MMD^2_u between samples x (m, ...) and y (n, ...), both m, n >= 2; a scalar Tensor
    (it can be slightly negative: the estimator is unbiased, not non-negative)."""
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"mmd2_unbiased: needs at least 2 samples on each side, got "
                         f"{x.shape[0]} and {y.shape[0]}")
    x, y = _flat(x), _flat(y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"mmd2_unbiased: x and y have {x.shape[1]} and {y.shape[1]} features")
    cross = mixture_rbf_kernel(x, y, sigmas).sum() / float(x.shape[0] * y.shape[0])
    return (_off_diagonal_mean(mixture_rbf_kernel(x, x, sigmas))
            + _off_diagonal_mean(mixture_rbf_kernel(y, y, sigmas)) - 2.0 * cross)


def mmd_d_loss(real, fake):
    """L_D = -MMD^2_u(f(x), f(G(z))): the critic's features should tell the batches apart.
    ``real`` and ``fake`` are critic outputs, (N,) scores or (N, F) features."""
    return -mmd2_unbiased(real, fake)


def mmd_g_loss(fake, real):
    """L_G = MMD^2_u(f(x), f(G(z))): it needs the critic's features of a real batch too."""
    if real is None:
        raise ValueError("mmd_g_loss: MMD compares the fake batch with a real one, so it "
                         "needs the critic's outputs on real data too")
    return mmd2_unbiased(real, fake)
