"""Pooling: average, max and adaptive average, built from ops that are already closed under
differentiation, so first and second derivatives come for free.

Shape letters: N batch, C channels, H x W input, KH x KW window, OH x OW output;
S stride, P padding, D dilation (each a (height, width) pair).
See ``docs/03_convolution.md`` ("Pooling and resampling").

- `avg_pool2d`: a depthwise convolution with a constant kernel of ones, divided by the
  window size. Its input gradient is a transposed convolution (``Conv2d``'s backward).
  When the windows tile the image (stride = kernel, no padding), the window sums are a
  `BlockSum`, whose gradient is a block copy (nearest upsampling).
- `max_pool2d`: the forward pass *finds* each window's argmax on raw arrays (no gradient
  flows through a choice), then *gathers* those pixels with `getitem`; the gradient is the
  scatter back (`GetItemGrad`), whose own gradient is the gather again. When the windows
  tile the image, the same idea without big index arrays: `MaxPoolWindows` finds and
  gathers, `ScatterWindows` and `GatherWindows` are each other's gradients.
- `adaptive_avg_pool2d`: y = A_H @ x @ A_W^T with constant averaging matrices (`matmul`).
"""
import math

from ..autograd import Function, Tensor
from .. import backend, kernels
from .conv import conv2d, pair
from .linalg import matmul
from .resample import BlockSum
from .shape import getitem, reshape


def _check_image(op, x):
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or a 3-D one (C, H, W), "
                         f"got shape {x.shape}")
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{op}: expected a floating point input, got {x.dtype}")


def _window_args(op, x, kernel_size, stride, padding, dilation=1):
    """kernel, stride, padding, dilation as pairs (stride None: the kernel size, as PyTorch)
    and the output size (OH, OW) = (H + 2P - D*(K-1) - 1) // S + 1."""
    _check_image(op, x)
    kernel = pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None or stride == [] else pair(stride, "stride", op, 1)
    padding = pair(padding, "padding", op, 0)
    dilation = pair(dilation, "dilation", op, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):  # as PyTorch
        raise ValueError(f"{op}: padding {padding} must be at most half of kernel_size "
                         f"{kernel}")
    size = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(x.shape[-2:], kernel, stride, padding, dilation))
    if min(size) < 1:
        raise ValueError(f"{op}: input {x.shape} with kernel_size {kernel}, stride {stride}, "
                         f"padding {padding}, dilation {dilation} gives an empty output {size}")
    return kernel, stride, padding, dilation, size


def _tiles(x, kernel, stride, padding, dilation=(1, 1)):
    """True when the windows tile the image exactly: stride = kernel, no padding or
    dilation, and the kernel divides H and W (every pixel in exactly one window)."""
    return (stride == kernel and padding == (0, 0) and dilation == (1, 1)
            and x.shape[-2] % kernel[0] == 0 and x.shape[-1] % kernel[1] == 0)


class GatherWindows(Function):
    """Windows that tile the image: y[..., i, j] = window (i, j) of x at its position
    which[..., i, j] (a constant); dx = dy put back there, zeros elsewhere
    (`ScatterWindows`). docs/03_convolution.md"""

    def __init__(self, which, kernel):
        self.which, self.kernel = which, kernel

    def forward(self, x):
        return kernels.current().gather_windows(x, self.which, self.kernel)

    def backward(self, gy):
        return ScatterWindows(self.which, self.kernel)(gy)


class ScatterWindows(GatherWindows):
    """The adjoint of `GatherWindows`: g put at position which[..., i, j] of window (i, j),
    zeros elsewhere; dg = the gather of dy again."""

    def forward(self, g):
        return kernels.current().scatter_windows(g, self.which, self.kernel)

    def backward(self, gy):
        return GatherWindows(self.which, self.kernel)(gy)


class MaxPoolWindows(GatherWindows):
    """`GatherWindows` at each window's argmax, found in the forward pass on raw arrays
    (the choice itself has no gradient)."""

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, x):
        y, self.which = kernels.current().max_pool_windows(x, self.kernel)
        return y


def _no_ceil_mode(op, ceil_mode):
    if ceil_mode:
        raise NotImplementedError(f"{op}: ceil_mode=True is not implemented in minigan; pad the "
                                  f"input (F.pad) so the windows fit, or use ceil_mode=False")


def _no_return_indices(op, return_indices):
    if return_indices:
        raise NotImplementedError(f"{op}: return_indices=True is not implemented in minigan "
                                  f"(there is no max_unpool2d to use the indices)")


@backend.on_input_device  # its constants and index arrays live there too
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean of each KH x KW window: input (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) with
    OH = (H + 2P - KH) // S + 1 (``stride`` defaults to ``kernel_size``).

    The window sums are a convolution of each channel with a KH x KW kernel of ones, so
    this is `conv2d` on the channels as separate images, then a division by KH*KW
    (``count_include_pad=False``: by the number of real, unpadded pixels in the window;
    ``divisor_override``: by that number). The gradient spreads each output gradient evenly
    over its window: a transposed convolution. See docs/03_convolution.md."""
    op, x = "avg_pool2d", input
    kernel, stride, padding, _, _ = _window_args(op, x, kernel_size, stride, padding)
    _no_ceil_mode(op, ceil_mode)
    if divisor_override is not None and (isinstance(divisor_override, bool)
                                         or not isinstance(divisor_override, int)
                                         or divisor_override < 1):
        raise ValueError(f"{op}: divisor_override must be a positive int, got {divisor_override!r}")
    if _tiles(x, kernel, stride, padding):
        return BlockSum(kernel)(x) / (divisor_override or kernel[0] * kernel[1])
    xp = backend.get_array_module(x.data)
    ones = Tensor(xp.ones((1, 1) + kernel, dtype=x.dtype))   # constant: no gradient
    images = reshape(x, (-1, 1) + x.shape[-2:])               # every channel its own image
    sums = conv2d(images, ones, stride=stride, padding=padding)
    if divisor_override is not None:
        divisor = divisor_override
    elif count_include_pad or padding == (0, 0):
        divisor = kernel[0] * kernel[1]
    else:  # how many real pixels each window covers: the same sum over an image of ones
        divisor = conv2d(Tensor(xp.ones((1, 1) + x.shape[-2:], dtype=x.dtype)), ones,
                         stride=stride, padding=padding)
    y = sums / divisor
    return reshape(y, x.shape[:-2] + y.shape[-2:])


@backend.on_input_device  # its constants and index arrays live there too
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Largest value of each KH x KW window (taps D apart): input (N, C, H, W) or (C, H, W)
    -> (N, C, OH, OW) with OH = (H + 2P - D*(KH-1) - 1) // S + 1. Padding counts as -inf,
    so it is never chosen.

    y[n,c,i,j] = x[n, c, r, q] where (r, q) is the window's argmax, found on raw arrays and
    then gathered with `getitem`; the gradient is dy scattered back to the argmax pixels
    (others get 0), and the second derivative is that gather again. Ties: the gradient goes
    to the *first* maximal element in the window, row by row (as PyTorch); a tied point is
    not differentiable, so every choice is a valid subgradient. See docs/03_convolution.md."""
    op, x = "max_pool2d", input
    kernel, stride, padding, dilation, (OH, OW) = _window_args(op, x, kernel_size, stride,
                                                               padding, dilation)
    _no_ceil_mode(op, ceil_mode)
    _no_return_indices(op, return_indices)
    if _tiles(x, kernel, stride, padding, dilation):
        return MaxPoolWindows(kernel)(x)
    (KH, KW), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    xp = backend.get_array_module(x.data)
    lead = x.ndim - 2
    padded = xp.pad(x.data, ((0, 0),) * lead + ((ph, ph), (pw, pw)), constant_values=-math.inf)
    rows = xp.arange(OH)[:, None] * sh + xp.arange(KH)[None, :] * dh   # (OH, KH)
    cols = xp.arange(OW)[:, None] * sw + xp.arange(KW)[None, :] * dw   # (OW, KW)
    windows = padded[..., rows[:, None, :, None], cols[None, :, None, :]]  # (..., OH, OW, KH, KW)
    k = windows.reshape(windows.shape[:-2] + (KH * KW,)).argmax(axis=-1)  # first maximum
    r = rows[:, :1] + (k // KW) * dh - ph      # (..., OH, OW) rows of the unpadded input
    q = cols[:, 0] + (k % KW) * dw - pw        # and columns
    index = tuple(xp.arange(n).reshape((n,) + (1,) * (lead + 1 - axis))
                  for axis, n in enumerate(x.shape[:lead]))
    return getitem(x, index + (r, q))


def _adaptive_matrix(xp, n, m, dtype):
    """The (m, n) matrix that averages window i = [floor(i*n/m), ceil((i+1)*n/m)) of n."""
    i = xp.arange(m)[:, None]
    start, end = (i * n) // m, -((-(i + 1) * n) // m)
    j = xp.arange(n)[None, :]
    return (((j >= start) & (j < end)) / (end - start)).astype(dtype)


@backend.on_input_device  # its constants and index arrays live there too
def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (OH, OW) (an int means a square; None keeps
    that input side): output row i averages input rows floor(i*H/OH) .. ceil((i+1)*H/OH)-1
    (PyTorch's windows, which overlap when OH does not divide H), columns likewise.

    An average over rows and columns is separable, so y = A_H @ x @ A_W^T with constant
    averaging matrices A_H (OH, H) and A_W (OW, W): linear in x, and `matmul` gives the
    gradient dx = A_H^T @ dy @ A_W. See docs/03_convolution.md."""
    op, x = "adaptive_avg_pool2d", input
    _check_image(op, x)
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) != 2:
        raise TypeError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    sizes = tuple(n if s is None else s for s, n in zip(sizes, x.shape[-2:]))
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes):
        raise ValueError(f"{op}: output_size must hold positive ints (or None), "
                         f"got {output_size!r}")
    xp = backend.get_array_module(x.data)
    (H, W), (OH, OW) = x.shape[-2:], sizes
    rows = Tensor(_adaptive_matrix(xp, H, OH, x.dtype))      # (OH, H)
    cols = Tensor(_adaptive_matrix(xp, W, OW, x.dtype).T)    # (W, OW)
    return matmul(matmul(rows, x), cols)
