"""The array backend: the one module that imports NumPy and CuPy.

Every other module asks this one for the *array module* of its data
(``xp = get_array_module(x)``) and then writes ``xp.exp(x)``, so the same line runs
on NumPy (CPU) and CuPy (GPU). This is the DeZero design; see ``docs/07_backend.md``.

Devices are named by strings, as in PyTorch:

- ``"cpu"``: NumPy arrays in host memory.
- ``"cuda"`` / ``"cuda:1"``: CuPy arrays on a GPU.
- ``"strict"``: NumPy arrays wrapped so they behave towards NumPy the way CuPy arrays do
  (no implicit conversion to host arrays, no mixing with host arrays). Tests run on it so
  that code which would break on a GPU breaks in CI, where there is no GPU.
"""
import os

import numpy

try:  # CuPy is optional: the `gpu` extra installs it.
    import cupy
except Exception:  # ImportError, or a CUDA library that fails to load
    cupy = None

np = numpy  # exported for the host-side modules (data loading, image files, testing)

GPU_INSTALL_HINT = (
    "install the GPU extra with `pip install -e \".[gpu]\"` (CuPy for CUDA 12) on a machine "
    "with an NVIDIA GPU, or use device='cpu'"
)

_default_device = None  # resolved lazily from MINIGAN_DEVICE


class DeviceError(RuntimeError):
    """Raised when a device is unknown, unavailable, or devices are mixed."""


# ---------------------------------------------------------------------------- devices
def parse_device(device):
    """Normalise ``device`` to ``"cpu"``, ``"strict"`` or ``"cuda:N"``."""
    if device is None:
        return get_default_device()
    if not isinstance(device, str):
        raise DeviceError(f"a device is a string such as 'cpu' or 'cuda:0', got {device!r}")
    name = device.strip().lower()
    if name in ("cpu", "strict"):
        return name
    if name == "cuda":
        name = "cuda:0"
    if name.startswith("cuda:") and name[5:].isdigit():
        _require_cuda(int(name[5:]))
        return name
    raise DeviceError(f"unknown device {device!r}: expected 'cpu', 'cuda', 'cuda:N' or 'strict'")


def cuda_available():
    """True when CuPy imports and sees at least one GPU."""
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def _require_cuda(index):
    if cupy is None:
        raise DeviceError(f"device 'cuda:{index}' needs CuPy, which is not installed: {GPU_INSTALL_HINT}")
    if not cuda_available():
        raise DeviceError(f"device 'cuda:{index}' asked for, but CuPy sees no GPU: {GPU_INSTALL_HINT}")
    count = cupy.cuda.runtime.getDeviceCount()
    if index >= count:
        raise DeviceError(f"device 'cuda:{index}' asked for, but only {count} GPU(s) are visible")


def get_default_device():
    """The device new tensors go to: set by `set_default_device` or $MINIGAN_DEVICE, else 'cpu'."""
    global _default_device
    if _default_device is None:
        _default_device = parse_device(os.environ.get("MINIGAN_DEVICE", "cpu"))
    return _default_device


def set_default_device(device):
    """Make ``device`` the default for new tensors; returns the previous default."""
    global _default_device
    previous = get_default_device()
    _default_device = parse_device(device)
    return previous


# ----------------------------------------------------------------------- array modules
def _strict():
    # Imported late: the strict backend is test machinery and builds on this module.
    from .testing import strict
    return strict


def get_array_module(*arrays):
    """The module (numpy, cupy or the strict emulator) that owns ``arrays``.

    Tensors are unwrapped; Python scalars and None are ignored. ``numpy`` if nothing decides.
    """
    for a in arrays:
        a = getattr(a, "data", a) if hasattr(a, "_is_tensor") else a
        if cupy is not None and isinstance(a, cupy.ndarray):
            return cupy
        if type(a).__name__ == "StrictArray":
            return _strict().xp
    return numpy


def device_of(array):
    """The device string of a raw array."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        return f"cuda:{array.device.id}"
    if type(array).__name__ == "StrictArray":
        return "strict"
    return "cpu"


def xp_for(device):
    """The array module for a device string."""
    device = parse_device(device)
    if device == "cpu":
        return numpy
    if device == "strict":
        return _strict().xp
    return cupy


def to_numpy(array):
    """A host NumPy array with the same contents (an explicit, deliberate copy from a device)."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        return cupy.asnumpy(array)
    if type(array).__name__ == "StrictArray":
        return array.get()
    return numpy.asarray(array)


def to_device(array, device, dtype=None):
    """``array`` (host or device, or a Python number/list) as an array on ``device``."""
    device = parse_device(device)
    if not is_array(array):  # Python numbers and lists start out on the host
        array = numpy.asarray(array)
    if device_of(array) == device:
        return array if dtype is None else array.astype(dtype, copy=False)
    host = to_numpy(array)
    if dtype is not None:
        host = host.astype(dtype, copy=False)
    if device == "cpu":
        return host
    if device == "strict":
        return _strict().xp.asarray(host)
    with cupy.cuda.Device(int(device[5:])):
        return cupy.asarray(host)


def is_array(obj):
    """True for NumPy, CuPy and strict arrays."""
    return isinstance(obj, numpy.ndarray) or (cupy is not None and isinstance(obj, cupy.ndarray)) \
        or type(obj).__name__ == "StrictArray"


def is_floating(dtype):
    return numpy.dtype(dtype).kind == "f"  # (numpy.issubdtype says the same, 10x slower)


def dtype(name):
    """``numpy.dtype(name)``: dtypes are shared by all backends."""
    return numpy.dtype(name)


def scatter_add(target, index, values):
    """``target[index] += values`` where repeated indices add up (NumPy's ``add.at``).

    CuPy spells it ``cupyx.scatter_add``. Only indexing with repeats needs it: it is slow on
    NumPy, so the convolution code never uses it on its hot path.
    """
    if cupy is not None and isinstance(target, cupy.ndarray):
        import cupyx
        cupyx.scatter_add(target, index, values)
    else:
        get_array_module(target).add.at(target, index, values)
