"""A strict, CuPy-like backend that runs on the CPU: the GPU's rules without a GPU.

CuPy arrays live in device memory, so CuPy refuses two things NumPy code does casually:

1. turning a device array into a host array implicitly (``np.asarray(x)``,
   ``np.lib.stride_tricks.as_strided(x, ...)``, ``float(np_array_of_them)``...), and
2. mixing a device array with a host ``numpy.ndarray`` in one operation (``x + np.ones(3)``).

Both raise ``TypeError`` on CuPy. ``StrictArray`` wraps a NumPy array and raises the same
errors, and ``xp`` is a stand-in for the ``cupy`` module that accepts and returns
``StrictArray``. Running the test suite on device ``"strict"`` therefore catches code that
would only break on a GPU. Reductions return 0-d arrays, not Python scalars, as in CuPy.

It also keeps to CuPy's real API, recorded from CuPy itself in ``cupy_api.json`` (see
``cupy_api.py``): functions, keywords, array methods and random-generator methods CuPy lacks
are refused, ``numpy.f(device_array)`` works only where CuPy's ``__array_function__`` finds a
``cupy.f``, host buffers (``.data``, the buffer protocol) and string/object dtypes are refused,
and ufuncs, ``where``, ``clip`` and reductions return C-contiguous arrays, as CuPy's kernels do.

There are ``DEVICE_COUNT`` emulated devices ("strict:0", "strict:1") and a *current device*,
as in CuPy: new arrays land on the current device (``with Device(1): ...`` changes it), and
an operation on an array that lives on another device raises CuPy's ``ValueError`` (CuPy
without peer access between the GPUs). So code that forgets to run under its inputs' device
fails in CI, not on the first machine with two GPUs.
"""
import os
import threading
import traceback
import types

import numpy

from . import cupy_api

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


# Transfers between host and device that CuPy would make, counted while anyone listens
# (`minigan.testing.count_syncs`). A device-to-host copy makes the host wait for the GPU
# to finish everything queued (a "sync"); a host-to-device copy is a small upload.
_counters = []
# The caller reported is the first frame outside this file and the backend's moves.
_OWN_FILES = (__file__, os.path.join(os.path.dirname(os.path.dirname(__file__)), "backend.py"))


def _transfer(kind, what):
    if _counters:
        stack = traceback.extract_stack()[:-2]
        where = next((f for f in reversed(stack) if f.filename not in _OWN_FILES), stack[-1])
        for counter in _counters:
            counter.record(kind, what, f"{where.filename}:{where.lineno} ({where.name})")


class StrictArray:
    """A NumPy array that behaves towards NumPy like a CuPy array does."""

    __slots__ = ("_a", "_device")
    __array_priority__ = 1000

    def __init__(self, array):
        self._a = array
        self._device = current_device()  # arrays are made on the current device

    # -- the deliberate way back to the host, as cupy.ndarray.get()
    def get(self):
        _transfer("device_to_host", "get")
        return self._a.copy()

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed " + _HINT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # CuPy hands numpy.<ufunc> to cupy.<ufunc> of the same name, with CuPy's keywords.
        keywords = cupy_api.ufunc_method_keywords(ufunc.__name__, method)
        cupy_api.check_keywords(f"cupy.{ufunc.__name__}", keywords, kwargs)
        if method == "__call__":
            return _call_ufunc(ufunc, inputs, kwargs)
        return _call(getattr(ufunc, method), inputs, kwargs, f"numpy.{ufunc.__name__}", c_order=True)

    def __array_function__(self, func, types_, args, kwargs):
        # CuPy runs numpy.f(cupy_array) as cupy.f(...) when cupy.f exists, else TypeError.
        path, name = cupy_api.array_function_target(func)
        namespace = xp
        for part in path.split(".")[1:]:
            namespace = getattr(namespace, part)
        return getattr(namespace, name)(*args, **kwargs)

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
        if name == "data":  # TypeError, not AttributeError: getattr(x, "data", x) must not pass
            raise TypeError("ndarray.data is the raw memory; on CuPy it is a device pointer "
                            "(cupy.cuda.MemoryPointer), not a host buffer or the values "
                            "(for a Tensor's array, check it is a Tensor first) " + _HINT)
        kind, keywords = cupy_api.ndarray_member(name)
        method = getattr(self._a, name)
        if kind == "attribute":
            return _wrap(method)
        where = f"cupy.ndarray.{name}"

        def call(*args, **kwargs):
            cupy_api.check_keywords(where, keywords, kwargs)
            _check_device(self)  # (stricter than CuPy for views such as reshape: no kernel)
            return _call(method, args, kwargs, where, c_order=name in _C_ORDER_RESULTS)
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
        return _wrap(self._a[_index(index)])

    def __setitem__(self, index, value):
        _check_device(self)
        self._a[_index(index)] = _unwrap(value, "assignment")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        _transfer("device_to_host", "repr()")  # printing reads the data, as on CuPy
        return "strict_" + repr(self._a)

    def __bool__(self):
        _transfer("device_to_host", "bool()")
        return bool(self._a)

    def __float__(self):
        _transfer("device_to_host", "float()")
        return float(self._a)

    def __int__(self):
        _transfer("device_to_host", "int()")
        return int(self._a)

    def item(self):
        _transfer("device_to_host", ".item()")
        return self._a.item()

    def tolist(self):
        _transfer("device_to_host", ".tolist()")
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
        return lambda self, other: _call_ufunc(ufunc, (other, self), {})
    return lambda self, other: _call_ufunc(ufunc, (self, other), {})


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


def _index(index):
    """An index for the wrapped array; host index arrays are uploaded, as CuPy does."""
    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, (numpy.ndarray, list)) for i in parts):
        _transfer("host_to_device", "indexing with a host array")
    return _unwrap(index, "indexing", allow_host=True)


def _wrap(obj):
    if isinstance(obj, numpy.ndarray):
        if obj.dtype.kind in _NO_CUPY_DTYPE_KINDS:
            raise TypeError(f"a device array of dtype {obj.dtype}: CuPy has only boolean and "
                            f"numeric dtypes (no strings, objects, records or datetimes)")
        return StrictArray(obj)
    if isinstance(obj, numpy.generic):
        return StrictArray(numpy.asarray(obj))  # CuPy reductions give 0-d arrays
    if isinstance(obj, tuple):
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    return obj


_NO_CUPY_DTYPE_KINDS = frozenset("OSUVMm")
# Results that CuPy's kernels write into a fresh C-contiguous array, whatever the inputs' layout
# (NumPy keeps the inputs' layout): code that relies on NumPy's choice would break on a GPU.
_C_ORDER_RESULTS = frozenset({"where", "clip", "sum", "prod", "mean", "var", "std", "max", "min",
                              "amax", "amin", "argmax", "argmin", "all", "any"})


def _call(func, args, kwargs, where, allow_host=False, c_order=False):
    result = func(*_unwrap(args, where, allow_host), **_unwrap(kwargs, where, allow_host))
    if c_order and isinstance(result, numpy.ndarray) and not result.flags.c_contiguous:
        result = numpy.ascontiguousarray(result)
    return _wrap(result)


def _call_ufunc(ufunc, args, kwargs):
    if "out" not in kwargs:
        kwargs = {**kwargs, "order": "C"}  # CuPy's ufuncs allocate C-contiguous outputs
    return _call(ufunc, args, kwargs, f"numpy.{ufunc.__name__}")


class _Namespace:
    """Stands in for the ``cupy`` module (and its submodules) over strict arrays."""

    # Functions that copy host data to the device, as cupy.asarray(numpy_array) does.
    _HOST_TO_DEVICE = {"asarray", "array", "ascontiguousarray", "asanyarray"}

    def __init__(self, module, path="cupy"):
        self._module = module
        self._path = path  # the CuPy module this one stands for

    def __getattr__(self, name):
        if name == "ndarray":
            return StrictArray
        kind = cupy_api.module_member(self._path, name)  # AttributeError if CuPy lacks it
        attr = getattr(self._module, name)
        if isinstance(attr, types.ModuleType):
            return _Namespace(attr, f"{self._path}.{name}")
        if self._path == "cupy.random" and name in _Random.CLASSES:
            return lambda *args, **kwargs: _Random(attr(*args, **kwargs), name)
        if isinstance(attr, type) or not callable(attr) or kind == "other":
            return attr  # dtypes, classes and constants are shared with NumPy
        keywords = cupy_api.function_keywords(self._path, name)
        where = f"{self._path}.{name}"
        if isinstance(attr, numpy.ufunc):
            return _Ufunc(attr, keywords)
        allow_host = name in self._HOST_TO_DEVICE
        c_order = name in _C_ORDER_RESULTS

        def function(*args, **kwargs):
            cupy_api.check_keywords(where, keywords, kwargs)
            if allow_host and args and not isinstance(args[0], StrictArray):
                _transfer("host_to_device", where)
            result = _call(attr, args, kwargs, where, allow_host, c_order)
            if isinstance(result, (numpy.random.Generator, numpy.random.RandomState)):
                result = _Random(result, type(result).__name__)  # default_rng, get_random_state
            return result
        function.__name__ = name
        return function

    def __repr__(self):
        return f"<strict stand-in for {self._module.__name__}>"


class _Ufunc:
    def __init__(self, ufunc, keywords):
        self._ufunc = ufunc
        self._keywords = keywords
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        cupy_api.check_keywords(f"cupy.{self.__name__}", self._keywords, kwargs)
        return _call_ufunc(self._ufunc, args, kwargs)

    def __getattr__(self, method):  # reduce, accumulate, at, outer
        keywords = cupy_api.ufunc_method_keywords(self.__name__, method)
        func = getattr(self._ufunc, method)
        where = f"cupy.{self.__name__}.{method}"

        def call(*args, **kwargs):
            cupy_api.check_keywords(where, keywords, kwargs)
            return _call(func, args, kwargs, where, c_order=True)
        return call


class _Random:
    """A NumPy random generator that offers only what CuPy's Generator or RandomState offers
    (CuPy's Generator has no normal, permutation or choice), and draws strict arrays."""

    CLASSES = ("Generator", "RandomState")

    def __init__(self, generator, cls):
        self._generator = generator
        self._cls = cls

    def __getattr__(self, name):
        keywords = cupy_api.random_method_keywords(self._cls, name)  # AttributeError if absent
        method = getattr(self._generator, name)
        where = f"cupy.random.{self._cls}.{name}"

        def call(*args, **kwargs):
            cupy_api.check_keywords(where, keywords, kwargs)
            return _call(method, args, kwargs, where)
        return call

    def __repr__(self):
        return f"<strict stand-in for cupy.random.{self._cls}>"


xp = _Namespace(numpy)
