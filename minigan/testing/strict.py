"""A strict, CuPy-like backend that runs on the CPU: the GPU's rules without a GPU.

CuPy arrays live in device memory, so CuPy refuses two things NumPy code does casually:

1. turning a device array into a host array implicitly (``np.asarray(x)``,
   ``np.lib.stride_tricks.as_strided(x, ...)``, ``float(np_array_of_them)``...), and
2. mixing a device array with a host ``numpy.ndarray`` in one operation (``x + np.ones(3)``).

Both raise ``TypeError`` on CuPy. ``StrictArray`` wraps a NumPy array and raises the same
errors, and ``xp`` is a stand-in for the ``cupy`` module that accepts and returns
``StrictArray``. Running the test suite on device ``"strict"`` therefore catches code that
would only break on a GPU. Reductions return 0-d arrays, not Python scalars, as in CuPy.

There are ``DEVICE_COUNT`` emulated devices ("strict:0", "strict:1") and a *current device*,
as in CuPy: new arrays land on the current device (``with Device(1): ...`` changes it), and
an operation on an array that lives on another device raises CuPy's ``ValueError`` (CuPy
without peer access between the GPUs). So code that forgets to run under its inputs' device
fails in CI, not on the first machine with two GPUs.
"""
import threading
import types

import numpy

_HINT = ("(the strict test backend emulates CuPy; move data explicitly with "
         "minigan.backend.to_device / to_numpy, and use the array module from get_array_module)")

DEVICE_COUNT = 2
_current = threading.local()  # the current device is per thread, as CUDA's


class Device:
    """``cupy.cuda.Device(i)`` for the emulated devices: ``.id``, and as a context manager it
    makes device ``i`` current inside the block."""

    def __init__(self, device_id=None):
        self.id = current_device() if device_id is None else int(device_id)
        if not 0 <= self.id < DEVICE_COUNT:
            raise ValueError(f"strict emulates {DEVICE_COUNT} devices, got device {self.id}")

    def __enter__(self):
        self._previous = current_device()
        _current.id = self.id
        return self

    def __exit__(self, *exc):
        _current.id = self._previous

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __repr__(self):
        return f"<strict Device {self.id}>"


def current_device():
    return getattr(_current, "id", 0)


def _check_device(array):
    # CuPy's message (cupy/_core/_kernel.pyx, _check_peer_access) when the GPUs have no peer
    # access; with peer access CuPy only warns, but its result lands on the current device.
    if array._device != current_device():
        raise ValueError(f"The device where the array resides ({array._device}) is different "
                         f"from the current device ({current_device()}). Peer access is "
                         f"unavailable between these devices.")


class StrictArray:
    """A NumPy array that behaves towards NumPy like a CuPy array does."""

    __slots__ = ("_a", "_device")
    __array_priority__ = 1000

    def __init__(self, array):
        self._a = array
        self._device = current_device()  # arrays are made on the current device

    # -- the deliberate way back to the host, as cupy.ndarray.get()
    def get(self):
        return self._a.copy()

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed " + _HINT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _call(getattr(ufunc, method), inputs, kwargs, f"numpy.{ufunc.__name__}")

    def __array_function__(self, func, types_, args, kwargs):
        return _call(func, args, kwargs, f"numpy.{func.__name__}")

    # -- attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: self._view(self._a.T))
    device = property(lambda self: Device(self._device))

    def __getattr__(self, name):
        # Array methods (reshape, sum, astype, ...): unwrap arguments, wrap results.
        # Dunder protocols (__array_interface__, buffers) are not forwarded: they would
        # let NumPy read the data behind our back, which CuPy never allows.
        if name.startswith("__"):
            raise AttributeError(name)
        method = getattr(self._a, name)
        if not callable(method):
            return _wrap(method)

        def call(*args, **kwargs):
            _check_device(self)  # (stricter than CuPy for views such as reshape: no kernel)
            return _call(method, args, kwargs, f"ndarray.{name}")
        return call

    def _view(self, array):
        # A view shares the memory, so it lives where that memory lives.
        view = StrictArray(array)
        view._device = self._device
        return view

    def __getitem__(self, index):
        if _is_basic(index):  # a view: no kernel runs, so any current device will do
            return self._view(numpy.asarray(self._a[index]))
        _check_device(self)  # advanced indexing runs a kernel on the current device
        return _wrap(self._a[_unwrap(index, "indexing", allow_host=True)])

    def __setitem__(self, index, value):
        _check_device(self)
        self._a[_unwrap(index, "indexing", allow_host=True)] = _unwrap(value, "assignment")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        return "strict_" + repr(self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def copy(self, order="C"):
        # CuPy's one cross-device copy: the result lands on the current device.
        return StrictArray(self._a.copy(order))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self._view(self._a.copy())  # CuPy copies under the array's own device

    def __reduce__(self):
        raise TypeError("a strict (device) array cannot be pickled directly " + _HINT)


def _is_basic(index):
    index = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, numpy.integer, slice))
               for i in index)


def _binary(ufunc, reflected=False):
    if reflected:
        return lambda self, other: _call(ufunc, (other, self), {}, f"numpy.{ufunc.__name__}")
    return lambda self, other: _call(ufunc, (self, other), {}, f"numpy.{ufunc.__name__}")


for _name, _ufunc in [("add", numpy.add), ("sub", numpy.subtract), ("mul", numpy.multiply),
                      ("truediv", numpy.true_divide), ("floordiv", numpy.floor_divide),
                      ("pow", numpy.power), ("mod", numpy.remainder), ("matmul", numpy.matmul),
                      ("and", numpy.bitwise_and), ("or", numpy.bitwise_or),
                      ("xor", numpy.bitwise_xor)]:
    setattr(StrictArray, f"__{_name}__", _binary(_ufunc))
    setattr(StrictArray, f"__r{_name}__", _binary(_ufunc, reflected=True))

for _name, _ufunc in [("lt", numpy.less), ("le", numpy.less_equal), ("gt", numpy.greater),
                      ("ge", numpy.greater_equal), ("eq", numpy.equal), ("ne", numpy.not_equal)]:
    setattr(StrictArray, f"__{_name}__", _binary(_ufunc))

StrictArray.__neg__ = lambda self: _call(numpy.negative, (self,), {}, "numpy.negative")
StrictArray.__pos__ = lambda self: self
StrictArray.__abs__ = lambda self: _call(numpy.absolute, (self,), {}, "numpy.absolute")
StrictArray.__invert__ = lambda self: _call(numpy.invert, (self,), {}, "numpy.invert")
StrictArray.__hash__ = None


def _inplace(ufunc):
    def op(self, other):
        _check_device(self)
        ufunc(self._a, _unwrap(other, f"numpy.{ufunc.__name__}"), out=self._a)
        return self
    return op


for _name, _ufunc in [("add", numpy.add), ("sub", numpy.subtract), ("mul", numpy.multiply),
                      ("truediv", numpy.true_divide)]:
    setattr(StrictArray, f"__i{_name}__", _inplace(_ufunc))


def _unwrap(obj, where, allow_host=False):
    """StrictArray -> ndarray, recursively; a host ndarray is an error, as on CuPy, and so is
    an array on a device other than the current one."""
    if isinstance(obj, StrictArray):
        _check_device(obj)
        return obj._a
    if isinstance(obj, numpy.ndarray):
        if allow_host:
            return obj
        raise TypeError(f"{where}: a host numpy.ndarray {obj.shape} {obj.dtype} was mixed with "
                        f"device arrays " + _HINT)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o, where, allow_host) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v, where, allow_host) for k, v in obj.items()}
    return obj


def _wrap(obj):
    if isinstance(obj, numpy.ndarray):
        return StrictArray(obj)
    if isinstance(obj, numpy.generic):
        return StrictArray(numpy.asarray(obj))  # CuPy reductions give 0-d arrays
    if isinstance(obj, tuple):
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    return obj


def _call(func, args, kwargs, where, allow_host=False):
    result = func(*_unwrap(args, where, allow_host), **_unwrap(kwargs, where, allow_host))
    return _wrap(result)


class _Namespace:
    """Stands in for the ``cupy`` module (and its submodules) over strict arrays."""

    # Functions that copy host data to the device, as cupy.asarray(numpy_array) does.
    _HOST_TO_DEVICE = {"asarray", "array", "ascontiguousarray", "asanyarray"}

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        if name == "ndarray":
            return StrictArray
        attr = getattr(self._module, name)
        if isinstance(attr, types.ModuleType):
            return _Namespace(attr)
        if isinstance(attr, numpy.ufunc):
            return _Ufunc(attr)
        if isinstance(attr, type) or not callable(attr):
            return attr  # dtypes, classes and constants are shared with NumPy
        allow_host = name in self._HOST_TO_DEVICE
        where = f"{self._module.__name__}.{name}"

        def function(*args, **kwargs):
            return _call(attr, args, kwargs, where, allow_host)
        function.__name__ = name
        return function

    def __repr__(self):
        return f"<strict stand-in for {self._module.__name__}>"


class _Ufunc:
    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _call(self._ufunc, args, kwargs, f"numpy.{self.__name__}")

    def __getattr__(self, method):  # reduce, accumulate, at, outer
        func = getattr(self._ufunc, method)
        return lambda *args, **kwargs: _call(func, args, kwargs, f"numpy.{self.__name__}.{method}")


xp = _Namespace(numpy)
