"""Making tensors: from data, filled with constants, or random.

`randn` and `rand` draw on the tensor's device, from that device's seeded generator
(`minigan.random`): nothing is copied from the host, which matters in a training step.
Layer initialisation draws once, on the host, from `default_generator` and is copied over,
so a seed gives the same initial weights on every device. `manual_seed` seeds both.
"""
from . import backend, random
from .autograd import Tensor, DEFAULT_DTYPE
from .ops.shape import as_shape

_generator = backend.np.random.default_rng(0)


def manual_seed(seed):
    """Reseed the host generator (layer init) and every device's generator (`randn`,
    `rand`, dropout), as ``torch.manual_seed``."""
    global _generator
    _generator = backend.np.random.default_rng(seed)
    random.manual_seed_all(seed)
    return _generator


def default_generator():
    """The host NumPy generator that layer initialisation draws from."""
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


def _draw(method, shape, dtype, device, generator):
    """``shape`` samples on ``device``, drawn there from ``generator`` (default: the device's)."""
    device = backend.parse_device(device)
    dtype = backend.dtype(dtype or DEFAULT_DTYPE)
    if isinstance(generator, backend.np.random.Generator):  # a host stream: draw, then copy
        return backend.to_device(getattr(generator, method)(shape).astype(dtype), device)
    generator = generator or random.default_generator(device)
    if generator.device != device:
        raise backend.DeviceError(f"a generator on {generator.device!r} cannot draw a tensor "
                                  f"on {device!r}; use a Generator made for {device!r}")
    return getattr(generator, method)(shape, dtype)


def randn(*shape, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal samples, drawn on ``device`` (a host NumPy generator also works)."""
    data = _draw("standard_normal", as_shape(shape), dtype, device, generator)
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform samples in [0, 1), drawn on ``device`` (a host NumPy generator also works)."""
    data = _draw("random", as_shape(shape), dtype, device, generator)
    return Tensor(data, requires_grad=requires_grad)
