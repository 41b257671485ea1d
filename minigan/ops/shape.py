"""Ops that move data around without arithmetic: reshape, permute, broadcast_to, sum_to,
indexing, concat, stack, pad, and device/dtype moves (`ToDevice`, kept in autograd.py
because `Tensor.to` needs it).

Their backward passes are each other: the gradient of `broadcast_to` is `sum_to`, of
`sum_to` is `broadcast_to`, of indexing is scattering into zeros, of `pad` is slicing.
See ``docs/02_broadcasting.md``.
"""
from ..autograd import Function, Tensor, ToDevice
from .. import backend, kernels


def normalize_axes(axis, ndim):
    """``axis`` (None, int or tuple, possibly negative) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise IndexError(f"dimension {a} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(a % ndim for a in axes))


class Reshape(Function):
    """y = x viewed with another shape;  dx = dy reshaped back."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: cannot view a tensor of shape {x.shape} "
                             f"as shape {self.shape}") from None

    def backward(self, gy):
        return reshape(gy, self.inputs[0].shape)


class Permute(Function):
    """y = x with its axes reordered;  dx = dy with the inverse order."""

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        inverse = tuple(sorted(range(len(self.axes)), key=lambda i: self.axes[i]))
        return permute(gy, inverse)


class BroadcastTo(Function):
    """y = x repeated along broadcast axes;  dx = sum_to(dy, x.shape)."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        try:
            return backend.get_array_module(x).broadcast_to(x, self.shape)
        except ValueError:
            raise ValueError(f"broadcast_to: shape {x.shape} cannot broadcast to {self.shape}") from None

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)


class SumTo(Function):
    """y = dy summed down to ``shape`` (undoing a broadcast);  dx = broadcast_to(dy, x.shape)."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(self.shape)
                                          if n == 1 and x.shape[lead + i] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape) if lead else y

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


def _is_basic(index):
    """True when ``index`` has only ints, slices, None and Ellipsis (so no element repeats)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice)) or i is None or i is Ellipsis for i in items)


class GetItem(Function):
    """y = x[index];  dx = zeros with dy scattered back to the indexed places."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        x = self.inputs[0]
        return GetItemGrad(self.index, x.shape)(gy)


class GetItemGrad(Function):
    """y = zeros(shape) with y[index] += g;  dg = dy[index] (so indexing is twice differentiable)."""

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, g):
        xp = backend.get_array_module(g)
        y = xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.index):
            y[self.index] = g
        else:  # advanced indices may repeat an element: its gradients must add up
            backend.scatter_add(y, self.index, g)
        return y

    def backward(self, gy):
        return getitem(gy, self.index)


class Concat(Function):
    """y = [x1, x2, ...] joined along ``axis``;  dxi = the matching slice of dy."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return backend.get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        grads, start = [], 0
        for x in self.inputs:
            index = [slice(None)] * gy.ndim
            index[self.axis] = slice(start, start + x.shape[self.axis])
            grads.append(getitem(gy, tuple(index)))
            start += x.shape[self.axis]
        return tuple(grads)


class Pad(Function):
    """y = x with constant borders (numpy ``pad_width``);  dx = the interior of dy."""

    def __init__(self, pad_width, value):
        self.pad_width, self.value = pad_width, value

    def forward(self, x):
        xp = backend.get_array_module(x)
        return xp.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def backward(self, gy):
        index = tuple(slice(before, gy.shape[i] - after)
                      for i, (before, after) in enumerate(self.pad_width))
        return getitem(gy, index)


class PadEdges(Function):
    """y = x with borders copied from x ("reflect", "replicate" or "circular", see `pad`):
    along each padded axis y[i] = x[j(i)], an indexing;  dx = `PadEdgesGrad`(dy), each
    border's gradient added back onto the values it copies (as `getitem`'s backward)."""

    def __init__(self, widths, mode):
        self.widths, self.mode = widths, mode

    def forward(self, x):
        return kernels.current().pad(x, self.widths, self.mode)

    def backward(self, gy):
        return PadEdgesGrad(self.widths, self.mode)(gy)


class PadEdgesGrad(Function):
    """y = the adjoint of `PadEdges`: g's middle, with each border of g added onto the
    values it copies. It is linear, and its adjoint is the padding:  dg = PadEdges(dy)."""

    def __init__(self, widths, mode):
        self.widths, self.mode = widths, mode

    def forward(self, g):
        return kernels.current().pad_backward(g, self.widths, self.mode)

    def backward(self, gy):
        return PadEdges(self.widths, self.mode)(gy)


# ----------------------------------------------------------------------- functional API
def as_shape(args):
    """``f(2, 3)`` and ``f((2, 3))`` both mean the shape (2, 3), as in PyTorch."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def reshape(x, *shape):
    shape = as_shape(shape)
    if isinstance(x, Tensor) and tuple(shape) == x.shape:
        return x
    return Reshape(shape)(x)


def permute(x, *dims):
    dims = as_shape(dims)
    if sorted(d % x.ndim for d in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} dims of {x.shape}")
    return Permute(tuple(d % x.ndim for d in dims))(x)


def transpose(x, dim0=-2, dim1=-1):
    """Swap two dimensions (PyTorch's ``transpose``)."""
    axes = list(range(x.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return Permute(tuple(axes))(x)


def broadcast_to(x, shape):
    return x if tuple(shape) == x.shape else BroadcastTo(shape)(x)


def sum_to(x, shape):
    return x if tuple(shape) == x.shape else SumTo(shape)(x)


def getitem(x, index):
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem(index)(x)


def concat(tensors, dim=0):
    tensors = list(tensors)
    ndim = tensors[0].ndim
    axis = normalize_axes(dim, ndim)[0]
    for t in tensors[1:]:
        if t.ndim != ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, tensors[0].shape))
                                 if i != axis):
            raise ValueError(f"concat along dim {dim}: shapes {[t.shape for t in tensors]} "
                             f"differ outside that dim")
    return Concat(axis)(*tensors)


cat = concat


def stack(tensors, dim=0):
    tensors = list(tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need the same shape, got {[t.shape for t in tensors]}")
    axis = dim % (tensors[0].ndim + 1)
    return concat([unsqueeze(t, axis) for t in tensors], dim=axis)


def unsqueeze(x, dim):
    dim = dim % (x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    axes = [i for i, n in enumerate(x.shape) if n == 1] if dim is None else normalize_axes(dim, x.ndim)
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes or n != 1))


def flatten(x, start_dim=0, end_dim=-1):
    start, end = start_dim % x.ndim, end_dim % x.ndim
    size = 1
    for n in x.shape[start:end + 1]:
        size *= n
    return reshape(x, x.shape[:start] + (size,) + x.shape[end + 1:])


@backend.on_input_device  # its constants and index arrays live there too
def pad(input, pad, mode="constant", value=None):
    """PyTorch's ``F.pad``: ``pad`` lists (before, after) pairs starting from the *last*
    dimension, e.g. ``(left, right, top, bottom)`` for images. ``mode``: "constant" (borders
    of ``value``, default 0), "reflect" (mirrored at the edge, the edge not repeated),
    "replicate" (the edge repeated) or "circular" (wrapped around). The non-constant modes
    are indexing (`PadEdges`), so their gradient adds each border's gradient onto the pixel
    it copies."""
    x = input
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: {pad} must hold (before, after) pairs for at most {x.ndim} dims")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {pad} is not supported")
    widths = {x.ndim - 1 - i: (int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(len(pad) // 2)}
    if mode == "constant":
        width = tuple(widths.get(axis, (0, 0)) for axis in range(x.ndim))
        return Pad(width, 0.0 if value is None else value)(x)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', "
                         f"got {mode!r}")
    if value is not None:
        raise ValueError(f"pad: value applies to mode 'constant' only, not {mode!r}")
    for axis, (before, after) in widths.items():
        n = x.shape[axis]
        if mode == "reflect" and max(before, after) >= n or mode == "circular" and max(before, after) > n:
            limit = "smaller than" if mode == "reflect" else "at most"
            raise ValueError(f"pad: {mode} padding {(before, after)} of dimension {axis} must be "
                             f"{limit} its size {n} (input shape {x.shape})")
        if mode == "replicate" and n == 0 and before + after:
            raise ValueError(f"pad: cannot replicate the edge of the empty dimension {axis} "
                             f"(input shape {x.shape})")
    return PadEdges(tuple(widths.get(axis, (0, 0)) for axis in range(x.ndim)), mode)(x)


def to_device_dtype(x, device, dtype=None):
    """x on ``device`` as ``dtype`` (default: its own), differentiably (`ToDevice`)."""
    return ToDevice(backend.parse_device(device), backend.dtype(dtype) if dtype else x.dtype)(x)
