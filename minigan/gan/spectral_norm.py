"""Spectral normalisation (Miyato et al. 2018): divide a layer's weight by its largest
singular value, so the layer is 1-Lipschitz and a discriminator built from such layers
cannot become arbitrarily steep.

    W_SN = W / sigma(W),   sigma(W) = max_{||v||=1} ||W v||_2 ~ u^T W v

sigma is estimated by power iteration: v <- W^T u / ||W^T u||, u <- W v / ||W v||. Running one
iteration per training step is enough because W changes slowly: the vector ``u`` is kept
between steps as a buffer (``weight_u``; ``weight_v`` too, so eval mode needs no iteration).

The gradient flows through sigma with u and v held constant, as in the paper and in PyTorch:
d sigma / dW = u v^T. See ``docs/08_gan_tricks.md``.

Usage, as ``torch.nn.utils.spectral_norm``: ``layer = spectral_norm(nn.Linear(4, 8))``. The
learned parameter becomes ``weight_orig``; ``layer.weight`` is recomputed on every call.
"""
import types

from .. import backend
from ..autograd import Tensor, no_grad
from ..creation import randn
from ..ops import matmul, permute, reshape


def _normalize(v, eps):
    xp = backend.get_array_module(v)
    return v / xp.maximum(xp.sqrt((v * v).sum()), v.dtype.type(eps))


def _as_matrix(weight, dim):
    """The weight as a (rows, columns) matrix with axis ``dim`` as rows (a Tensor op)."""
    if dim != 0:
        axes = (dim,) + tuple(i for i in range(weight.ndim) if i != dim)
        weight = permute(weight, axes)
    return reshape(weight, (weight.shape[0], -1) if weight.ndim > 1 else (weight.shape[0], 1))


def compute_spectral_weight(weight, u, v, n_power_iterations, eps=1e-12, dim=0):
    """W / sigma(W) after ``n_power_iterations`` refinements of ``u`` and ``v`` (Tensors,
    updated in place). Differentiable with respect to ``weight``."""
    w = _as_matrix(weight, dim)
    with no_grad(), backend.device_context(weight.device):
        wd = w.data  # power iteration only *estimates* the singular vectors
        for _ in range(n_power_iterations):
            v.data[...] = _normalize(wd.T @ u.data, eps)
            u.data[...] = _normalize(wd @ v.data, eps)
        # Copies, so a later in-place update of the buffers cannot change this step's graph.
        u_, v_ = Tensor(u.data.copy()), Tensor(v.data.copy())
    sigma = (u_ * reshape(matmul(w, v_), (-1,))).sum()
    return weight / sigma


def _forward_with_spectral_norm(self, *args, **kwargs):
    """Replaces the layer's ``forward``: recompute the normalised weight, then run as usual."""
    name, n_power_iterations, eps, dim = self._spectral_norm
    iterations = n_power_iterations if self.training else 0  # eval: reuse u and v as they are
    weight = compute_spectral_weight(getattr(self, name + "_orig"), getattr(self, name + "_u"),
                                     getattr(self, name + "_v"), iterations, eps, dim)
    object.__setattr__(self, name, weight)  # a plain attribute, not a Parameter
    return type(self).forward(self, *args, **kwargs)


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrise ``module.<name>`` as W / sigma(W); returns ``module``.

    ``dim`` is the output axis of the weight: 0, except 1 for transposed convolutions,
    whose weight is (in, out, KH, KW) (PyTorch's convention).
    """
    if n_power_iterations <= 0:
        raise ValueError(f"spectral_norm: n_power_iterations must be positive, "
                         f"got {n_power_iterations}")
    if hasattr(module, "_spectral_norm"):
        raise RuntimeError(f"spectral_norm: {type(module).__name__}.{name} is already normalised")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    rows, columns = _as_matrix(weight, dim).shape
    u = randn(rows, dtype=weight.dtype, device=weight.device)
    v = randn(columns, dtype=weight.dtype, device=weight.device)
    with backend.device_context(weight.device):
        u.data, v.data = _normalize(u.data, eps), _normalize(v.data, eps)

    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    object.__setattr__(module, "_spectral_norm", (name, n_power_iterations, eps, dim))
    # A bound method on this one instance (copy.deepcopy rebinds it to the copy, so an EMA
    # copy of a spectrally normalised model works too).
    object.__setattr__(module, "forward", types.MethodType(_forward_with_spectral_norm, module))
    with no_grad():
        object.__setattr__(module, name, compute_spectral_weight(weight, u, v, 0, eps, dim))
    return module
