"""Hypothesis strategies for minigan tests: shapes, values, and tensors on a device.

Values are bounded floats in float64; ``avoid`` keeps them a distance away from the kinks of
piecewise functions (0 for relu/abs), so a gradient check never lands on a
non-differentiable point by luck. Arrays may come back non-contiguous (drawn through a
permutation of their axes), so backward passes meet real strides.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigan
from minigan import backend


def shapes(min_dims=1, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


@st.composite
def broadcastable_shapes(draw, min_dims=1, max_dims=3, max_side=4):
    """Two shapes that broadcast together, e.g. (3, 1, 4) and (2, 4)."""
    shape = draw(shapes(min_dims, max_dims, 1, max_side))
    other = draw(hnp.broadcastable_shapes(shape, min_dims=0, max_dims=len(shape), max_side=max_side))
    return (shape, other) if draw(st.booleans()) else (other, shape)


@st.composite
def arrays(draw, shape, low=-2.0, high=2.0, avoid=(), gap=0.05, contiguous=None):
    """A float64 array of ``shape`` with values in [low, high], at least ``gap`` from every
    point in ``avoid``, possibly non-contiguous."""
    shape = tuple(shape)
    n = int(np.prod(shape)) if shape else 1
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    values = rng.uniform(low, high, size=n)
    for point in avoid:  # push values out of the band around each kink
        near = np.abs(values - point) < gap
        values[near] = point + np.where(values[near] >= point, gap, -gap) * 2
    if contiguous is None:
        contiguous = draw(st.booleans())
    if contiguous or len(shape) < 2:
        return values.reshape(shape)
    order = draw(st.permutations(range(len(shape))))
    permuted = values.reshape(tuple(shape[i] for i in order))
    inverse = np.argsort(order)
    return permuted.transpose(inverse)  # right shape, permuted strides


def make_tensor(array, device, requires_grad=True, dtype=None):
    """A Tensor on ``device`` from a host array (non-contiguity survives on cpu)."""
    data = backend.to_device(np.asarray(array) if not isinstance(array, np.ndarray) else array,
                             device, dtype)
    return minigan.Tensor(data, requires_grad=requires_grad)
