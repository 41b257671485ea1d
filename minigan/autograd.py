"""The autograd engine: `Tensor`, `Function`, and reverse-mode differentiation.

Read this file first. Everything else in minigan is a `Function` subclass (an op with a
hand-written `backward`) or code that calls those ops. See ``docs/01_autograd.md``.

- A `Tensor` holds an array (``.data``), its gradient (``.grad``) and, when it was computed by
  an op, a reference to that op (``.creator``). Following ``creator -> inputs`` from a result
  walks the computation graph backwards.
- A `Function` computes its outputs from raw arrays in ``forward`` and maps output gradients to
  input gradients in ``backward``. ``backward`` is written with minigan ops on Tensors, not raw
  arrays, so when ``create_graph=True`` the backward pass itself builds a graph that can be
  differentiated again (gradients of gradients, needed by WGAN-GP and R1 penalties).
- A few ops (convolutions, batch norm, LeakyReLU, linear) also define ``backward_arrays``: the
  same gradients on raw arrays, for speed. `backprop` uses it only when no graph of the
  backward pass is being built; that one switch is the only place where speed enters here.
- ``x * w``, ``x + y``, ``x @ w``, ``x.sum()``: the operators and methods of `Tensor` are the
  ops of ``minigan/ops/`` (``x * w`` is ``ops.arithmetic.mul``, which calls the `Mul`
  Function), attached to `Tensor` by ``_install_tensor_methods`` in ``minigan/ops/__init__.py``.
"""
import contextlib
import weakref

from . import backend


class _Config:
    grad_enabled = True


@contextlib.contextmanager
def _grad_mode(enabled):
    previous = _Config.grad_enabled
    _Config.grad_enabled = enabled
    try:
        yield
    finally:
        _Config.grad_enabled = previous


def no_grad():
    """Context manager: ops inside record no graph (inference, optimizer updates)."""
    return _grad_mode(False)


def enable_grad():
    """Context manager: turn graph recording back on inside a `no_grad` block."""
    return _grad_mode(True)


def is_grad_enabled():
    return _Config.grad_enabled


DEFAULT_DTYPE = backend.dtype("float32")


def _to_array(data, dtype, device):
    """Turn Python numbers, lists and arrays into an array of ``dtype`` on ``device``."""
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_array(data):
        if device is None and dtype is None:  # the common case, every op's output: as it is
            return data
        if device is None:
            device = backend.device_of(data)
        return backend.to_device(data, device, dtype)
    host = backend.np.asarray(data)
    if dtype is None and host.dtype.kind == "f" and not isinstance(data, backend.np.generic):
        dtype = DEFAULT_DTYPE  # Python floats become float32, as in PyTorch
    if host.dtype == object:
        raise TypeError(f"cannot make a Tensor from {type(data).__name__} {data!r}")
    if host.ndim == 0:  # a number (``x * 0.5``): filled in on the device, not copied over
        with backend.device_context(device):
            return backend.xp_for(device).full((), data, dtype=dtype or host.dtype)
    return backend.to_device(host, device, dtype)


class Tensor:
    """An array that remembers how it was computed, so gradients can flow back through it."""

    _is_tensor = True
    __array_ufunc__ = None  # makes `numpy_array * tensor` call Tensor.__rmul__

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        self.data = _to_array(data, dtype, device)
        if requires_grad and not backend.is_floating(self.data.dtype):
            raise TypeError(f"only floating point tensors can require gradients, got {self.dtype}")
        self.requires_grad = requires_grad
        self.grad = None
        self.creator = None       # the Function that produced this tensor, if any
        self.output_index = 0     # which of the creator's outputs this tensor is
        self.name = None

    # -------------------------------------------------------------- array-like properties
    shape = property(lambda self: tuple(self.data.shape))
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)
    device = property(lambda self: backend.device_of(self.data))
    is_leaf = property(lambda self: self.creator is None)

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = backend.np.array2string(self.numpy(), separator=", ", precision=4, prefix="tensor(")
        extras = [] if self.dtype == DEFAULT_DTYPE else [f"dtype={self.dtype}"]
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.creator is not None:
            extras.append(f"grad_fn={type(self.creator).__name__}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ------------------------------------------------------------------- conversions
    def item(self):
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def numpy(self):
        """The data as a host NumPy array, detached from the graph. On the CPU it shares
        memory with the tensor (as in PyTorch): ``.numpy().copy()`` for a snapshot."""
        return backend.to_numpy(self.data)

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and not backend.is_floating(self.dtype):
            raise TypeError(f"only floating point tensors can require gradients, got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def to(self, device=None, dtype=None):
        """A copy on another device and/or dtype; ``self`` if nothing changes (as PyTorch)."""
        if isinstance(device, str) or device is None:
            target = backend.parse_device(device) if device is not None else self.device
        else:  # .to(dtype) as in PyTorch
            target, dtype = self.device, device
        if target == self.device and (dtype is None or backend.dtype(dtype) == self.dtype):
            return self
        return ToDevice(target, backend.dtype(dtype) if dtype else self.dtype)(self)

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    # --------------------------------------------------------------------- gradients
    def backward(self, grad=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is the upstream gradient; it may be left out only for one-element tensors.
        ``create_graph=True`` records the backward pass, so the gradients can be
        differentiated again. The graph is freed afterwards unless ``retain_graph``.
        """
        backprop([self], [grad], retain_graph, create_graph)

    def zero_grad(self):
        self.grad = None


class Function:
    """An op: ``forward`` on raw arrays, ``backward`` on Tensors with differentiable ops.

    Subclasses set any constants (stride, axis, ...) in ``__init__`` and call the instance
    on tensors: ``Mul()(a, b)``. Python numbers are accepted and become constants of the
    tensors' dtype and device.
    """

    def __call__(self, *inputs):
        inputs = _as_tensors(type(self).__name__, inputs)
        # On a GPU, work happens on the current device: make it the inputs' device.
        with backend.device_context(inputs[0].device):
            outputs = self.forward(*[x.data for x in inputs])
            if not isinstance(outputs, tuple):
                outputs = (outputs,)
            xp = backend.get_array_module(inputs[0].data)
            # NumPy reductions return scalars, not 0-d arrays; keep them arrays of their dtype.
            outputs = [Tensor(y if backend.is_array(y) else xp.asarray(y)) for y in outputs]
        if _Config.grad_enabled and any(x.requires_grad for x in inputs):
            self.inputs = inputs
            self.output_meta = [(y.shape, y.dtype) for y in outputs]
            # Outputs are held weakly: a tensor owns its creator, not the other way round,
            # so the graph has no reference cycles and is freed with its last tensor.
            self.outputs = [weakref.ref(y) for y in outputs]
            for i, y in enumerate(outputs):
                y.requires_grad, y.creator, y.output_index = True, self, i
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, *grad_outputs):
        raise NotImplementedError

    # Optional: ``backward_arrays(*grad_arrays)`` returns the same gradients as ``backward``,
    # as raw arrays (None for an input that needs none). `backprop` calls it instead of
    # ``backward`` when the backward pass itself is not recorded (``create_graph=False``),
    # so an op may compute its plain backward with fast kernels (minigan/kernels/).
    backward_arrays = None

    def output(self, index=0):
        """An output Tensor, for backward passes that reuse it (``y = exp(x)``: dy = y dx)."""
        return self.outputs[index]()


class ToDevice(Function):
    """y = x on another device and/or dtype;  dx = dy moved back."""

    def __init__(self, device, dtype):
        self.device, self.dtype = device, dtype

    def forward(self, x):
        self.source = (backend.device_of(x), x.dtype)
        return backend.to_device(x, self.device, self.dtype)

    def backward(self, gy):
        return ToDevice(*self.source)(gy)


def _as_tensors(op, inputs):
    """Wrap numbers and arrays as Tensors; refuse mixed devices or mixed float dtypes."""
    tensors = [x for x in inputs if isinstance(x, Tensor)]
    if not tensors:
        raise TypeError(f"{op}: expected at least one Tensor argument")
    devices = {x.device for x in tensors}
    if len(devices) > 1:
        described = ", ".join(f"{x.shape} on {x.device}" for x in tensors)
        raise backend.DeviceError(f"{op}: tensors on different devices ({described}); "
                                  f"move them with .to(device) first")
    floats = {x.dtype for x in tensors if backend.is_floating(x.dtype)}
    if len(floats) > 1:
        described = ", ".join(f"{x.shape} {x.dtype}" for x in tensors)
        raise TypeError(f"{op}: mixed floating dtypes ({described}); convert with "
                        f".float() or .double() first")
    like = tensors[0]
    dtype = floats.pop() if floats else None
    result = []
    for x in inputs:
        if not isinstance(x, Tensor):
            if backend.is_array(x) and backend.device_of(x) != like.device:
                raise backend.DeviceError(f"{op}: an array on {backend.device_of(x)} was mixed "
                                          f"with tensors on {like.device}")
            x = Tensor(x, dtype=dtype if not backend.is_array(x) else None, device=like.device)
            if dtype is not None and backend.is_floating(x.dtype) and x.dtype != dtype:
                raise TypeError(f"{op}: an array of {x.dtype} was mixed with {dtype} tensors")
        result.append(x)
    return result


# ------------------------------------------------------------------------ backpropagation
def _graph_order(roots):
    """The functions behind ``roots``, each listed before the functions that made its inputs."""
    order, visited = [], set()
    stack = [(root.creator, False) for root in roots if root.creator is not None]
    while stack:  # iterative depth-first search: deep graphs must not hit the recursion limit
        f, inputs_done = stack.pop()
        if inputs_done:
            order.append(f)
            continue
        if id(f) in visited:
            continue
        visited.add(id(f))
        stack.append((f, True))
        for x in getattr(f, "inputs", None) or ():
            if x.creator is not None and id(x.creator) not in visited:
                stack.append((x.creator, False))
    order.reverse()  # post-order reversed: consumers before producers
    return order


def _accumulate(total, new):
    return new if total is None else total + new


def backprop(roots, root_grads, retain_graph=None, create_graph=False, inputs=None):
    """Reverse-mode sweep from ``roots``. Returns ``{id(x): grad}`` for ``inputs`` if given,
    else accumulates into ``.grad`` of every leaf that requires grad."""
    if retain_graph is None:
        retain_graph = create_graph
    grads = {}  # (id(function), output index) or ("leaf", id(tensor)) -> gradient Tensor
    for root, g in zip(roots, root_grads):
        if not root.requires_grad:
            raise RuntimeError(f"backward: a tensor of shape {root.shape} does not require grad "
                               f"and has no graph (was it computed under no_grad()?)")
        if g is None:
            if root.size != 1:
                raise RuntimeError(f"backward: grad can be implicit only for one-element tensors; "
                                   f"this one has shape {root.shape}, pass grad=... of that shape")
            with backend.device_context(root.device):
                g = Tensor(backend.get_array_module(root.data).ones_like(root.data))
        elif not isinstance(g, Tensor):
            g = Tensor(g, dtype=root.dtype, device=root.device)
        if g.shape != root.shape:
            raise ValueError(f"backward: grad has shape {g.shape}, the tensor has {root.shape}")
        key = _key(root)
        grads[key] = _accumulate(grads.get(key), g)
    wanted = {_key(x): x for x in inputs} if inputs is not None else {}

    order = _graph_order(roots)
    needed = _on_path_to(order, wanted) if inputs is not None else None
    # Freeing a function's inputs may drop the last reference to a tensor whose own creator
    # still needs it in backward (y = exp(x) reuses y); hold every output until we finish.
    outputs_alive = [y() for f in order for y in getattr(f, "outputs", ())]  # noqa: F841
    with _grad_mode(create_graph):
        for f in order:
            if needed is not None and id(f) not in needed:
                continue
            if getattr(f, "inputs", None) is None:
                raise RuntimeError(f"backward through {type(f).__name__} a second time: its graph "
                                   f"was freed after the first backward; pass retain_graph=True")
            with backend.device_context(f.inputs[0].device):  # as in Function.__call__
                gys = []
                for i, (shape, dtype) in enumerate(f.output_meta):
                    key = (id(f), i)
                    g = grads.get(key) if key in wanted else grads.pop(key, None)
                    if g is None:  # an output nobody used: its gradient is zero
                        xp = backend.get_array_module(f.inputs[0].data)
                        g = Tensor(xp.zeros(shape, dtype=dtype))
                    gys.append(g)
                if create_graph or f.backward_arrays is None:
                    gxs = f.backward(*gys)
                else:  # nobody differentiates this backward: raw arrays are enough
                    gxs = f.backward_arrays(*[g.data for g in gys])
                    gxs = tuple(None if gx is None else Tensor(gx) for gx in _as_tuple(gxs))
            gxs = _as_tuple(gxs)
            for x, gx in zip(f.inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                if gx.shape != x.shape:
                    raise RuntimeError(f"{type(f).__name__}.backward returned a gradient of shape "
                                       f"{gx.shape} for an input of shape {x.shape}")
                key = _key(x)
                if x.creator is None and inputs is None:
                    x.grad = _accumulate(x.grad, gx if create_graph else gx.detach())
                else:
                    grads[key] = _accumulate(grads.get(key), gx)
            if not retain_graph:
                f.inputs = None  # frees the saved inputs; a second backward is an error
    return {id(x): grads.get(k) for k, x in wanted.items()}


def _on_path_to(order, wanted):
    """ids of the functions in ``order`` that lie on a path from the roots to a ``wanted``
    tensor. grad() runs only their backward, as torch.autograd.grad does: the rest of the graph
    cannot reach the inputs asked for. Unrolled GAN needs this: its k-th look-ahead step asks
    for the gradient with respect to D's parameters after k - 1 steps, whose graph holds every
    earlier step and G; sweeping all of it made k steps cost O(k^2). A freed function (inputs
    None) is kept, so that it still raises its error."""
    needed = set()
    for f in reversed(order):  # producers before their consumers
        inputs = getattr(f, "inputs", None)
        if inputs is None or any(_key(x) in wanted or id(x.creator) in needed for x in inputs):
            needed.add(id(f))
    return needed


def _as_tuple(values):
    return values if isinstance(values, tuple) else (values,)


def _key(x):
    return (id(x.creator), x.output_index) if x.creator is not None else ("leaf", id(x))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not stored in ``.grad``).

    Mirrors ``torch.autograd.grad``. With ``create_graph=True`` the returned gradients are
    themselves differentiable: ``grad(grad(f(x), x, create_graph=True)[0].sum(), x)`` is a
    second derivative.
    """
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    single_in = isinstance(inputs, Tensor)
    inputs = [inputs] if single_in else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or backend.is_array(grad_outputs):
        grad_outputs = [grad_outputs]
    for x in inputs:
        if not x.requires_grad:
            raise RuntimeError(f"grad: an input of shape {x.shape} does not require grad")
    found = backprop(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs)
    result = []
    for x in inputs:
        g = found[id(x)]
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: an input of shape {x.shape} was not used to compute the "
                               f"outputs; pass allow_unused=True to get None for it")
        result.append(g if create_graph or g is None else g.detach())
    return tuple(result)
