"""Making tensors: from data, filled with constants, or random.

Random numbers are drawn on the host from one seeded NumPy generator and then moved to the
device. That costs a small copy on a GPU, and buys runs that are identical on every device
for the same seed (`manual_seed`).
"""
from . import backend
from .autograd import Tensor, DEFAULT_DTYPE
from .ops.shape import as_shape

_generator = backend.np.random.default_rng(0)


def manual_seed(seed):
    """Reseed the global generator used by `randn`, `rand`, layer init and dropout."""
    global _generator
    _generator = backend.np.random.default_rng(seed)
    return _generator


def default_generator():
    return _generator


def tensor(data, dtype=None, device=None, requires_grad=False):
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    device = backend.parse_device(device)
    with backend.device_context(device):  # a GPU allocates on its current device
        data = backend.xp_for(device).full(tuple(shape), fill_value, dtype=dtype or DEFAULT_DTYPE)
    return Tensor(data, requires_grad=requires_grad, device=device)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return full(as_shape(shape), 0, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return full(as_shape(shape), 1, dtype, device, requires_grad)


def zeros_like(x, requires_grad=False):
    return full(x.shape, 0, x.dtype, x.device, requires_grad)


def ones_like(x, requires_grad=False):
    return full(x.shape, 1, x.dtype, x.device, requires_grad)


def arange(*args, dtype=None, device=None):
    device = backend.parse_device(device)
    with backend.device_context(device):
        return Tensor(backend.xp_for(device).arange(*args, dtype=dtype), device=device)


def randn(*shape, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal samples (drawn on the host, then moved to ``device``)."""
    rng = generator or _generator
    data = rng.standard_normal(as_shape(shape)).astype(dtype or DEFAULT_DTYPE)
    return Tensor(data, requires_grad=requires_grad, device=device or backend.get_default_device())


def rand(*shape, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform samples in [0, 1)."""
    rng = generator or _generator
    data = rng.random(as_shape(shape)).astype(dtype or DEFAULT_DTYPE)
    return Tensor(data, requires_grad=requires_grad, device=device or backend.get_default_device())
