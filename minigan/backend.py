"""The array backend: the one module that imports NumPy and CuPy.

Every other module asks this one for the *array module* of its data
(``xp = get_array_module(x)``) and then writes ``xp.exp(x)``, so the same line runs
on NumPy (CPU) and CuPy (GPU). This is the DeZero design; see ``docs/07_backend.md``.

Devices are named by strings, as in PyTorch:

- ``"cpu"``: NumPy arrays in host memory.
- ``"cuda"`` / ``"cuda:1"``: CuPy arrays on a GPU.
- ``"strict"`` / ``"strict:1"``: NumPy arrays wrapped so they behave towards NumPy the way
  CuPy arrays do (no implicit conversion to host arrays, no mixing with host arrays, two
  emulated devices with a current device). Tests run on it so that code which would break
  on a GPU breaks in CI, where there is no GPU.

Names are canonical once parsed: "cpu", "cuda:N" and "strict:N" ("cuda" is "cuda:0").
A GPU computes on its *current device*, so every op runs inside `device_context` of its
inputs (see ``docs/07_backend.md``).
"""
import contextlib
import functools
import os

import numpy

try:  # CuPy is optional: the `gpu-cuda12` / `gpu-cuda13` extras install it.
    import cupy
    _cupy_import_error = None
except Exception as error:  # ImportError, or a CUDA library that fails to load
    cupy = None
    _cupy_import_error = error

np = numpy  # exported for the host-side modules (data loading, image files, testing)

GPU_INSTALL_HINT = (
    "on a machine with an NVIDIA GPU and its driver, install CuPy for the driver's CUDA version "
    "(`nvidia-smi` shows it as \"CUDA Version: 12.x\" or \"13.x\") with "
    "`pip install -e \".[gpu-cuda12]\"` or `pip install -e \".[gpu-cuda13]\"`, which also bring "
    "the CUDA libraries CuPy needs (NVRTC, cuBLAS); or use device='cpu'"
)

_default_device = None  # resolved lazily from MINIGAN_DEVICE


class DeviceError(RuntimeError):
    """Raised when a device is unknown, unavailable, or devices are mixed."""


# ---------------------------------------------------------------------------- devices
def parse_device(device):
    """Normalise ``device`` to ``"cpu"``, ``"cuda:N"`` or ``"strict:N"``."""
    if device is None:
        return get_default_device()
    if not isinstance(device, str):
        raise DeviceError(f"a device is a string such as 'cpu' or 'cuda:0', got {device!r}")
    name = device.strip().lower()
    if name == "cpu":
        return name
    if name in ("cuda", "strict"):
        name += ":0"
    kind, _, index = name.partition(":")
    if kind in ("cuda", "strict") and index.isdigit():
        name = f"{kind}:{int(index)}"
        if kind == "cuda":
            _require_cuda(int(index))
        elif int(index) >= _strict().DEVICE_COUNT:
            raise DeviceError(f"device {device!r} asked for, but the strict backend emulates "
                              f"{_strict().DEVICE_COUNT} devices (strict:0 to "
                              f"strict:{_strict().DEVICE_COUNT - 1})")
        return name
    raise DeviceError(f"unknown device {device!r}: expected 'cpu', 'cuda', 'cuda:N', 'strict' "
                      f"or 'strict:N'")


def device_context(device):
    """A context manager that makes ``device`` the current device inside its block.

    On a GPU, CuPy allocates new arrays and launches kernels on the *current* device, not on
    the device of the arrays involved: an op on ``cuda:1`` run while device 0 is current
    fails, or lands its result on the wrong GPU. So minigan runs each op inside the context
    of its inputs' device: ``cupy.cuda.Device(N)`` on ``cuda:N``, its emulation on
    ``strict:N``, nothing on the CPU. ``device`` is a name as `Tensor.device` gives it.
    """
    if device == "cpu":  # first: this runs for every op
        return _NO_CONTEXT
    if device is None or ":" not in device:
        device = parse_device(device)
        if device == "cpu":
            return _NO_CONTEXT
    kind, index = device.split(":")
    if kind == "strict":
        return _strict().Device(int(index))
    return cupy.cuda.Device(int(index))


_NO_CONTEXT = contextlib.nullcontext()


def on_input_device(function):
    """Decorator for an op that makes raw arrays (constants, index arrays) around its
    Functions: run it under the `device_context` of its first argument (a Tensor)."""
    @functools.wraps(function)
    def on_device(input, *args, **kwargs):
        data = getattr(input, "data", input) if hasattr(input, "_is_tensor") else input
        with device_context(device_of(data)):
            return function(input, *args, **kwargs)
    return on_device


def cuda_available():
    """True when CuPy runs a tiny elementwise kernel and a tiny matrix product on a GPU.

    Checked once per process. Counting GPUs is not enough: on a machine with the driver but
    without the CUDA toolkit's NVRTC (which compiles CuPy's kernels) or cuBLAS, CuPy sees the
    GPU and the run dies at its first kernel.
    """
    return _cuda_check()[0] is None


def _cuda_check():
    """``(problem, number of GPUs)``: problem is None when CUDA works, else what is missing."""
    global _cuda_state
    if _cuda_state is None:
        _cuda_state = _try_cuda()
    return _cuda_state


_cuda_state = None


def _try_cuda():
    if cupy is None:
        if isinstance(_cupy_import_error, ModuleNotFoundError):
            return "CuPy is not installed", 0
        return f"CuPy failed to import ({_failure(_cupy_import_error)})", 0
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:
        return f"no NVIDIA driver or no GPU: CUDA says {_failure(error)}", 0
    if count == 0:
        return "no NVIDIA driver or no GPU: CUDA sees no GPU", 0
    host = numpy.arange(6, dtype="float32")
    try:
        with cupy.cuda.Device(0):
            x = cupy.asarray(host)
    except Exception as error:
        return f"the GPU cannot be used: CUDA says {_failure(error)}", count
    checks = [  # (what the step needs, the step, its expected result)
        ("NVRTC, the CUDA runtime compiler (libnvrtc) that builds CuPy's kernels",
         lambda: x * 2 + 1, host * 2 + 1),
        ("cuBLAS (libcublas), for matrix products",
         lambda: x.reshape(2, 3) @ x.reshape(3, 2), host.reshape(2, 3) @ host.reshape(3, 2)),
    ]
    for needed, step, expected in checks:
        try:
            with cupy.cuda.Device(0):
                result = cupy.asnumpy(step())  # waits for the GPU: launch errors show here
        except Exception as error:
            return f"CuPy cannot run without {needed}: {_failure(error)}", count
        if not numpy.allclose(result, expected):
            return f"a test computation that needs {needed} gave a wrong result", count
    return None, count


def _failure(error):
    return f"{type(error).__name__}: {error}".strip()


def _require_cuda(index):
    problem, count = _cuda_check()
    if problem is not None:
        raise DeviceError(f"device 'cuda:{index}': no usable GPU: {problem}. To fix: "
                          f"{GPU_INSTALL_HINT}")
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
        return f"strict:{array.device.id}"
    return "cpu"


def xp_for(device):
    """The array module for a device string."""
    device = parse_device(device)
    if device == "cpu":
        return numpy
    if device.startswith("strict"):
        return _strict().xp
    return cupy


def to_numpy(array):
    """A host NumPy array with the same contents (an explicit, deliberate copy from a device).
    A Tensor gives its data (NumPy would otherwise iterate it into an array of 0-d Tensors)."""
    if getattr(array, "_is_tensor", False):
        array = array.data
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
        if dtype is None:
            return array
        with device_context(device):
            return array.astype(dtype, copy=False)
    host = to_numpy(array)
    if dtype is not None:
        host = host.astype(dtype, copy=False)
    if device == "cpu":
        return host
    with device_context(device):
        return xp_for(device).asarray(host)


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
