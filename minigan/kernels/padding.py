"""Fast padding modes: the borders copied by slices, not gathered by an index array.

`reference.pad` indexes x with an integer array per padded axis and `reference.pad_backward`
scatter-adds the gradient back (NumPy's ``add.at``, slow). But every border is a slice of x
(reflected, repeated or wrapped), so the padded array is x copied into the middle of a new
one, and each border filled by one slice assignment from the part already filled, axis after
axis (so the corners come out right). The gradient does the same moves backwards: the middle
of dy, plus each border added back onto the slice it was copied from. The result keeps the
memory layout of its input (channels-last stays channels-last, `im2col.py`).
Each function equals its reference twin (tests/test_kernels.py).
"""
from .. import backend


def _reversed(start, stop):
    """The slice start, start-1, ..., stop+1 (stop may be -1: down to 0)."""
    return slice(start, stop if stop >= 0 else None, -1)


def _border_copies(n, before, after, mode):
    """The slice assignments along one axis that fill its borders: pairs (target, source),
    target a slice of the padded axis, source the slice of x's n values it copies."""
    end = before + n
    if mode == "reflect":
        return [(slice(0, before), _reversed(before, 0)),
                (slice(end, end + after), _reversed(n - 2, n - 2 - after))]
    if mode == "replicate":  # a source of one value, repeated over the border
        return [(slice(0, before), slice(0, 1)), (slice(end, end + after), slice(n - 1, n))]
    return [(slice(0, before), slice(n - before, n)), (slice(end, end + after), slice(0, after))]


def _along(axis, index):
    return (slice(None),) * axis + (index,)


def pad(x, widths, mode):
    xp = backend.get_array_module(x)
    shape = tuple(n + before + after for n, (before, after) in zip(x.shape, widths))
    y = xp.empty_like(x, shape=shape)  # the memory layout of x
    y[tuple(slice(before, before + n) for n, (before, _) in zip(x.shape, widths))] = x
    for axis, (before, after) in enumerate(widths):  # the borders of one axis after another
        n = x.shape[axis]
        middle = y[_along(axis, slice(before, before + n))]
        for target, source in _border_copies(n, before, after, mode):
            y[_along(axis, target)] = middle[_along(axis, source)]
    return y


def pad_backward(g, widths, mode):
    xp = backend.get_array_module(g)
    for axis, (before, after) in enumerate(widths):
        if not before and not after:
            continue
        n = g.shape[axis] - before - after
        gx = xp.empty_like(g, shape=g.shape[:axis] + (n,) + g.shape[axis + 1:])
        gx[...] = g[_along(axis, slice(before, before + n))]
        for target, source in _border_copies(n, before, after, mode):
            border = g[_along(axis, target)]
            if mode == "replicate":  # one value was repeated: its gradients add up
                border = border.sum(axis=axis, keepdims=True)
            gx[_along(axis, source)] += border
        g = gx
    return g
