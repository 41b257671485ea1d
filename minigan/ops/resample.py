"""Resampling images: nearest and bilinear interpolation, pixel shuffle and unshuffle.

Each is linear in x, so each gradient is the adjoint map, differentiable again:
- nearest upsampling by whole factors copies every pixel into an SH x SW block
  (`UpsampleNearest`); its adjoint adds each block up (`BlockSum`), and the two are each
  other's gradients. Other sizes are a gather (`getitem`), whose gradient is a scatter;
- bilinear is y = A_H @ x @ A_W^T with constant interpolation matrices (`SeparableMap`),
  whose gradient is the same map with the transposed matrices;
- pixel shuffle moves values without arithmetic (a permutation); its adjoint is the
  inverse permutation, pixel unshuffle.
The array work is in ``minigan/kernels/`` (`block_sum`, `upsample_nearest`,
`separable_map`, `pixel_shuffle`). See ``docs/03_convolution.md`` ("Pooling and resampling").
"""
import math
import numbers

from ..autograd import Function
from .. import backend, kernels
from .shape import getitem

MODES = ("nearest", "bilinear")
NOT_IMPLEMENTED = ("linear", "bicubic", "trilinear", "area", "nearest-exact")


def _output_size(op, x, size, scale_factor):
    """(OH, OW) and the scales PyTorch uses to map output to input pixels (None: in/out)."""
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size or scale_factor, got size={size!r} "
                         f"and scale_factor={scale_factor!r}")
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        if len(sizes) != 2 or not all(isinstance(s, numbers.Integral) and s >= 1 for s in sizes):
            raise ValueError(f"{op}: size must be a positive int or a pair of them, got {size!r}")
        return tuple(int(s) for s in sizes), (None, None)
    scales = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) \
        else (scale_factor, scale_factor)
    if len(scales) != 2 or not all(isinstance(s, numbers.Real) and s > 0 for s in scales):
        raise ValueError(f"{op}: scale_factor must be a positive number or a pair of them, "
                         f"got {scale_factor!r}")
    sizes = tuple(math.floor(n * s) for n, s in zip(x.shape[-2:], scales))
    if min(sizes) < 1:
        raise ValueError(f"{op}: scale_factor {scale_factor} shrinks input {x.shape} to nothing")
    return sizes, tuple(float(s) for s in scales)


class UpsampleNearest(Function):
    """y[..., i, j] = x[..., i // SH, j // SW]: every pixel copied into an SH x SW block;
    dx = the sum of each block of dy (`BlockSum`). docs/03_convolution.md"""

    def __init__(self, scale):
        self.scale = scale

    def forward(self, x):
        return kernels.current().upsample_nearest(x, self.scale)

    def backward(self, gy):
        return BlockSum(self.scale)(gy)


class BlockSum(Function):
    """y[..., i, j] = sum of the KH x KW block of x at (i*KH, j*KW) (blocks do not overlap);
    dx = dy copied back over each block (`UpsampleNearest`). docs/03_convolution.md"""

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, x):
        return kernels.current().block_sum(x, self.kernel)

    def backward(self, gy):
        return UpsampleNearest(self.kernel)(gy)


class SeparableMap(Function):
    """y = A @ x @ B^T on the last two axes, for constant matrices A (OH, H) and B (OW, W);
    dx = A^T @ dy @ B: the same map with the transposed matrices. docs/03_convolution.md"""

    def __init__(self, rows, cols):
        self.rows, self.cols = rows, cols

    def forward(self, x):
        return kernels.current().separable_map(x, self.rows, self.cols)

    def backward(self, gy):
        return SeparableMap(self.rows.T, self.cols.T)(gy)


def _nearest_index(xp, n, m, scale):
    """Input pixel of each of m output pixels: floor(i * n / m), or floor(i / scale_factor)."""
    i = xp.arange(m)
    if scale is None:
        return (i * n) // m
    return xp.minimum(xp.floor(i * (1.0 / scale)).astype(i.dtype), n - 1)


def _linear_taps(xp, n, m, scale, align_corners, dtype):
    """The two input pixels i0, i1 around each output pixel's source position and the
    weight of i1, with PyTorch's source positions:
    align_corners=True:  src = i * (n-1)/(m-1)  (first and last pixels' centres line up);
    align_corners=False: src = (i + 1/2) * n/m - 1/2, at least 0 (the pixels' edges line up).
    """
    i = xp.arange(m, dtype="float64")
    if align_corners:
        src = i * ((n - 1) / (m - 1) if m > 1 else 0.0)
    else:
        step = n / m if scale is None else 1.0 / scale
        src = xp.maximum((i + 0.5) * step - 0.5, 0.0)
    i0 = xp.minimum(xp.floor(src).astype("int64"), n - 1)
    i1 = xp.minimum(i0 + 1, n - 1)
    return i0, i1, (src - i0).astype(dtype)


def _linear_matrix(xp, n, m, scale, align_corners, dtype):
    """The (m, n) matrix of linear interpolation: row i holds 1 - w at i0 and w at i1."""
    i0, i1, w = _linear_taps(xp, n, m, scale, align_corners, dtype)
    columns = xp.arange(n)[None, :]
    return ((columns == i0[:, None]) * (1 - w[:, None])
            + (columns == i1[:, None]) * w[:, None]).astype(dtype)


def _check_mode(op, mode):
    if mode not in MODES:
        error = NotImplementedError if mode in NOT_IMPLEMENTED else ValueError
        raise error(f"{op}: mode {mode!r} is not supported; minigan has {MODES}")


@backend.on_input_device  # its constants and index arrays live there too
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize a batch of images (N, C, H, W) to ``size`` (OH, OW), or by ``scale_factor``
    (OH = floor(H * scale_factor)), as PyTorch's ``F.interpolate``:

    - "nearest": output pixel i copies input pixel floor(i * H / OH) (with ``scale_factor``:
      floor(i / scale_factor)). A gather, so the gradient adds up the gradients of all the
      copies of a pixel (a scatter); by whole factors, a block copy (`UpsampleNearest`)
      whose gradient is a block sum.
    - "bilinear": each output pixel mixes the two nearest input rows, then the two nearest
      columns, weighted by distance (see `_linear_taps` for ``align_corners``):
      t = (1 - a) x[i0, :] + a x[i1, :],  y = (1 - b) t[:, j0] + b t[:, j1],
      that is y = A_H @ x @ A_W^T with those weights in the matrices A_H (OH, H) and
      A_W (OW, W); linear in x, so dx = A_H^T @ dy @ A_W (`SeparableMap`).

    See docs/03_convolution.md."""
    op, x = "interpolate", input
    _check_mode(op, mode)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape} (as in "
                         f"PyTorch, a 3-D input would mean 1-D signals (N, C, L); resize one "
                         f"image with x.unsqueeze(0))")
    if mode == "nearest" and align_corners is not None:
        raise ValueError(f"{op}: align_corners applies to mode 'bilinear' only, not 'nearest'")
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not implemented in minigan")
    (OH, OW), scales = _output_size(op, x, size, scale_factor)
    if recompute_scale_factor:  # as PyTorch: forget the scale, map pixels by in/out sizes
        scales = (None, None)
    xp = backend.get_array_module(x.data)
    (H, W) = x.shape[-2:]
    if mode == "nearest":
        # Decided on the host: the indices depend on the sizes only, and reading a device
        # answer back would make the host wait for the GPU (a sync) on every call.
        np = backend.np
        if OH % H == 0 and OW % W == 0 \
                and _is_block_copy(np, _nearest_index(np, H, OH, scales[0]), OH // H) \
                and _is_block_copy(np, _nearest_index(np, W, OW, scales[1]), OW // W):
            return UpsampleNearest((OH // H, OW // W))(x)
        rows, cols = _nearest_index(xp, H, OH, scales[0]), _nearest_index(xp, W, OW, scales[1])
        return getitem(x, (Ellipsis, rows[:, None], cols[None, :]))
    rows = _linear_matrix(xp, H, OH, scales[0], align_corners, x.dtype)
    cols = _linear_matrix(xp, W, OW, scales[1], align_corners, x.dtype)
    return SeparableMap(rows, cols)(x)


def _is_block_copy(xp, index, factor):
    """True when the nearest pixels are i // factor (each input pixel ``factor`` times)."""
    return bool((index == xp.arange(index.shape[0]) // factor).all())


def _factor(op, name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    return int(value)


class PixelShuffle(Function):
    """y[..., c, h*r + i, w*r + j] = x[..., c*r*r + i*r + j, h, w]: each group of r*r
    channels becomes an r x r block of pixels. Only a permutation of the values, so
    dx = dy moved back (`PixelUnshuffle`), and the two are each other's gradients.
    docs/03_convolution.md"""

    def __init__(self, r):
        self.r = r

    def forward(self, x):
        return kernels.current().pixel_shuffle(x, self.r)

    def backward(self, gy):
        return PixelUnshuffle(self.r)(gy)


class PixelUnshuffle(Function):
    """The inverse permutation of `PixelShuffle`: each r x r block of pixels becomes r*r
    channels; dx = `PixelShuffle` of dy. docs/03_convolution.md"""

    def __init__(self, r):
        self.r = r

    def forward(self, x):
        return kernels.current().pixel_unshuffle(x, self.r)

    def backward(self, gy):
        return PixelShuffle(self.r)(gy)


def pixel_shuffle(input, upscale_factor):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r) (`PixelShuffle`)."""
    op, x = "pixel_shuffle", input
    r = _factor(op, "upscale_factor", upscale_factor)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ValueError(f"{op}: expected an input (*, C*r*r, H, W) whose channels divide by "
                         f"upscale_factor**2 = {r * r}, got shape {x.shape}")
    return PixelShuffle(r)(x)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W), the inverse of `pixel_shuffle`
    (`PixelUnshuffle`)."""
    op, x = "pixel_unshuffle", input
    r = _factor(op, "downscale_factor", downscale_factor)
    if x.ndim < 3 or x.shape[-2] % r or x.shape[-1] % r:
        raise ValueError(f"{op}: expected an input (*, C, H*r, W*r) whose height and width "
                         f"divide by downscale_factor = {r}, got shape {x.shape}")
    return PixelUnshuffle(r)(x)
