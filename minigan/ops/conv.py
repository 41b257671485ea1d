"""2-D convolution and transposed convolution, closed under differentiation.

Shape letters: N batch, C input channels, OC output channels, H x W input, KH x KW kernel,
OH x OW output; S stride, P padding, D dilation (each a (height, width) pair).
See ``docs/03_convolution.md`` for the derivations.

Three Functions make a family that is closed under differentiation, so gradients of
gradients (WGAN-GP, R1 penalties) work through every argument:

- `Conv2d`:          input-gradient is a `ConvTranspose2d`, weight-gradient a `Conv2dGradW`;
- `ConvTranspose2d`: input-gradient is a `Conv2d`,          weight-gradient a `Conv2dGradW`;
- `Conv2dGradW`:     bilinear in its two inputs; their gradients are a `ConvTranspose2d`
                     and a `Conv2d`.

The arithmetic (im2col, one matrix product, col2im) is done by the kernels:
``minigan/kernels/reference.py`` shows it plainly, ``minigan/kernels/conv.py`` fast.
"""
import numbers

from ..autograd import Function
from .. import backend, kernels
from ..kernels.reference import conv_output_size
from .shape import getitem, pad, reshape, unsqueeze


def conv_transpose_output_size(size, kernel_size, stride, padding, output_padding, dilation):
    """(OH, OW) of a transposed convolution: (H-1)*S - 2P + D*(K-1) + output_padding + 1."""
    return tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1
                 for n, k, s, p, op, d in zip(size, kernel_size, stride, padding,
                                             output_padding, dilation))


# ----------------------------------------------------------------------- Functions
class Conv2d(Function):
    """y[n,o,i,j] = b[o] + sum_{c,kh,kw} W[o,c,kh,kw] x_pad[n, c, i*S + kh*D, j*S + kw*D]
    As matrices: y = im2col(x) @ W^T. Then
    dx = col2im(dy @ W) = conv_transpose2d(dy, W),  dW = Conv2dGradW(x, dy),
    db = dy summed over N, OH, OW.  See docs/03_convolution.md."""

    def __init__(self, stride, padding, dilation, groups=1):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.keep = {}  # what the forward kernel leaves for the backward kernel

    def forward(self, x, weight, bias=None):
        y = kernels.current().conv2d(x, weight, self.stride, self.padding, self.dilation,
                                     self.groups, self.keep)
        if bias is not None:
            y += bias.reshape(-1, 1, 1)  # y is a fresh array: adding in place is safe
        return y

    def backward(self, gy):
        x, weight = self.inputs[:2]
        gx = gw = gb = None
        if x.requires_grad:
            gx = _conv_transpose2d_to_size(gy, weight, x.shape[2:], self.stride, self.padding,
                                           self.dilation, self.groups)
        if weight.requires_grad:
            gw = Conv2dGradW(weight.shape[2:], self.stride, self.padding, self.dilation,
                             self.groups)(x, gy)
        if len(self.inputs) == 3:
            gb = gy.sum((0, 2, 3))
        return gx, gw, gb

    def backward_arrays(self, gy):
        x, weight = self.inputs[:2]
        gx, gw = kernels.current().conv2d_backward(
            x.data, weight.data, gy, self.stride, self.padding, self.dilation, self.groups,
            x.requires_grad, weight.requires_grad, self.keep)
        return gx, gw, gy.sum(axis=(0, 2, 3)) if len(self.inputs) == 3 else None


class ConvTranspose2d(Function):
    """The adjoint of Conv2d: each input pixel scatters a weighted copy of the kernel,
    y[n, o, i*S + kh*D - P, j*S + kw*D - P] += W[c,o,kh,kw] x[n,c,i,j]  (then + b[o]).
    As matrices: y = col2im(x @ W). Then
    dx = im2col(dy) @ W^T = conv2d(dy, W),  dW = Conv2dGradW(dy, x),  db = sum of dy.
    ``output_padding`` is not limited here (see `conv_transpose2d`).  See docs/03_convolution.md."""

    def __init__(self, stride, padding, output_padding, dilation, groups=1):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.output_padding = output_padding

    def forward(self, x, weight, bias=None):
        size = conv_transpose_output_size(x.shape[2:], weight.shape[2:], self.stride,
                                          self.padding, self.output_padding, self.dilation)
        y = kernels.current().conv_transpose2d(x, weight, self.stride, self.padding,
                                               self.dilation, size, self.groups)
        if bias is not None:
            y += bias.reshape(-1, 1, 1)  # y is a fresh array: adding in place is safe
        return y

    def backward(self, gy):
        x, weight = self.inputs[:2]
        gx = gw = gb = None
        if x.requires_grad:
            gx = _conv2d_to_size(gy, weight, x.shape[2:], self.stride, self.padding,
                                 self.dilation, self.groups)
        if weight.requires_grad:  # the roles swap: dy plays the input, x the output gradient
            gw = Conv2dGradW(weight.shape[2:], self.stride, self.padding, self.dilation,
                             self.groups)(gy, x)
        if len(self.inputs) == 3:
            gb = gy.sum((0, 2, 3))
        return gx, gw, gb

    def backward_arrays(self, gy):
        x, weight = self.inputs[:2]
        gx, gw = kernels.current().conv_transpose2d_backward(
            x.data, weight.data, gy, self.stride, self.padding, self.dilation, self.groups,
            x.requires_grad, weight.requires_grad)
        return gx, gw, gy.sum(axis=(0, 2, 3)) if len(self.inputs) == 3 else None


class Conv2dGradW(Function):
    """The weight gradient of a convolution, as an op of its own so it can be differentiated:
    gW[o,c,kh,kw] = sum_{n,i,j} g[n,o,i,j] x_pad[n, c, i*S + kh*D, j*S + kw*D],
    i.e. gW = g^T @ im2col(x), with the output size (OH, OW) read from g. It is bilinear, so
    for an upstream ggW:  dx = conv_transpose2d(g, ggW),  dg = conv2d(x, ggW).
    See docs/03_convolution.md."""

    def __init__(self, kernel_size, stride, padding, dilation, groups=1):
        self.kernel_size = tuple(kernel_size)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x, g):
        return kernels.current().conv2d_grad_weight(x, g, self.kernel_size, self.stride,
                                                    self.padding, self.dilation, self.groups)

    def backward(self, ggw):
        x, g = self.inputs
        gx = gg = None
        if x.requires_grad:
            gx = _conv_transpose2d_to_size(g, ggw, x.shape[2:], self.stride, self.padding,
                                           self.dilation, self.groups)
        if g.requires_grad:
            gg = _conv2d_to_size(x, ggw, g.shape[2:], self.stride, self.padding, self.dilation,
                                 self.groups)
        return gx, gg


def _conv_transpose2d_to_size(x, weight, size, stride, padding, dilation, groups):
    """conv_transpose2d with the output_padding that gives exactly ``size``: a convolution
    ignores the last rows/columns its windows never reach, and they must come back (as 0)."""
    natural = conv_transpose_output_size(x.shape[2:], weight.shape[2:], stride, padding,
                                         (0, 0), dilation)
    output_padding = tuple(n - m for n, m in zip(size, natural))
    return ConvTranspose2d(stride, padding, output_padding, dilation, groups)(x, weight)


def _conv2d_to_size(x, weight, size, stride, padding, dilation, groups):
    """conv2d cropped to ``size``. With output_padding >= stride (allowed when the dilation is
    larger) a transposed convolution's output has extra rows that no input pixel reaches;
    a convolution over them would produce extra outputs, which do not exist upstream."""
    y = Conv2d(stride, padding, dilation, groups)(x, weight)
    if y.shape[2:] != tuple(size):
        y = getitem(y, (slice(None), slice(None), slice(0, size[0]), slice(0, size[1])))
    return y


# ------------------------------------------------------------------- functional API
def pair(value, name, op, minimum=0):
    """An int or a pair of ints as a pair, each at least ``minimum``."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, numbers.Integral) for v in pair):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    pair = tuple(int(v) for v in pair)
    if any(v < minimum for v in pair):
        kind = "positive" if minimum > 0 else "non-negative"
        raise ValueError(f"{op}: {name} must be {kind}, got {value!r}")
    return pair


def _check_inputs(op, x, weight, bias, groups, transposed):
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or a 3-D one (C, H, W), "
                         f"got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D weight, got shape {weight.shape}")
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{op}: expected a floating point input, got {x.dtype}")
    if not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    # conv2d's weight is (OC, C / groups, KH, KW); conv_transpose2d's is (C, OC / groups, KH, KW)
    expected = weight.shape[0] if transposed else weight.shape[1] * groups
    channels = x.shape[-3]
    if channels != expected:
        raise ValueError(f"{op}: input of shape {x.shape} has {channels} channels, but the "
                         f"weight of shape {weight.shape} expects {expected}"
                         + (f" with groups={groups}" if groups > 1 else ""))
    if weight.shape[0] % groups:
        raise ValueError(f"{op}: groups={groups} must divide the weight's first dimension "
                         f"{weight.shape[0]} (weight of shape {weight.shape})")
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ValueError(f"{op}: bias must have shape ({out_channels},) to match the weight "
                         f"{weight.shape}, got {bias.shape}")


def _batched(op_fn, x, *args):
    """A 3-D input (C, H, W) is one image: run it as a batch of one, as PyTorch does."""
    if x.ndim == 4:
        return op_fn(x, *args)
    y = op_fn(unsqueeze(x, 0), *args)
    return reshape(y, y.shape[1:])


def same_padding(kernel_size, dilation):
    """(top, bottom, left, right) that keep a stride-1 convolution's output at the input's
    size: D*(K-1) in all, the odd one out at the bottom/right, as PyTorch."""
    widths = []
    for k, d in zip(kernel_size, dilation):
        total = d * (k - 1)
        widths += [total // 2, total - total // 2]
    return tuple(widths)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as PyTorch): input (N, C, H, W) or (C, H, W),
    weight (OC, C / groups, KH, KW), bias (OC,) -> (N, OC, OH, OW) with
    OH = (H + 2P - D*(KH-1) - 1) // S + 1. ``padding`` may be "valid" (0) or "same" (output
    as large as the input; stride 1 only). With ``groups`` = G the channels form G groups,
    each convolved with its own OC / G filters (G = C: depthwise)."""
    x = input
    _check_inputs("conv2d", x, weight, bias, groups, transposed=False)
    stride = pair(stride, "stride", "conv2d", 1)
    dilation = pair(dilation, "dilation", "conv2d", 1)
    kernel_size = weight.shape[2:]
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"conv2d: padding must be 'same', 'valid' or numbers, got {padding!r}")
        if padding == "same" and stride != (1, 1):
            raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {stride}")
        top, bottom, left, right = same_padding(kernel_size, dilation) if padding == "same" \
            else (0, 0, 0, 0)
        if (top, left) != (bottom, right):  # uneven: pad explicitly, one more at the end
            x = pad(x, (left, right, top, bottom))
            top = left = 0
        padding = (top, left)
    padding = pair(padding, "padding", "conv2d", 0)
    for n, k, p, d in zip(x.shape[-2:], kernel_size, padding, dilation):
        if d * (k - 1) + 1 > n + 2 * p:
            raise ValueError(f"conv2d: the kernel {tuple(kernel_size)} with dilation {dilation} "
                             f"spans more than the padded input ({x.shape[-2] + 2 * padding[0]}, "
                             f"{x.shape[-1] + 2 * padding[1]}) of input {x.shape}")
    inputs = (weight,) if bias is None else (weight, bias)
    return _batched(Conv2d(stride, padding, dilation, groups), x, *inputs)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (the adjoint of conv2d): input (N, C, H, W) or (C, H, W),
    weight (C, OC / groups, KH, KW), bias (OC,) -> (N, OC, OH, OW) with
    OH = (H - 1)*S - 2P + D*(KH-1) + output_padding + 1."""
    op, x = "conv_transpose2d", input
    _check_inputs(op, x, weight, bias, groups, transposed=True)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be numbers, got {padding!r} (as in PyTorch, "
                         f"'same' and 'valid' are for conv2d)")
    stride = pair(stride, "stride", op, 1)
    padding = pair(padding, "padding", op, 0)
    output_padding = pair(output_padding, "output_padding", op, 0)
    dilation = pair(dilation, "dilation", op, 1)
    for extra, s, d in zip(output_padding, stride, dilation):
        if extra >= s and extra >= d:  # as PyTorch
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than "
                             f"either the stride {stride} or the dilation {dilation}")
    size = conv_transpose_output_size(x.shape[-2:], weight.shape[2:], stride, padding,
                                      output_padding, dilation)
    if min(size) < 1:
        raise ValueError(f"{op}: input {x.shape} with kernel {tuple(weight.shape[2:])}, "
                         f"stride {stride}, padding {padding} gives an empty output {size}")
    inputs = (weight,) if bias is None else (weight, bias)
    return _batched(ConvTranspose2d(stride, padding, output_padding, dilation, groups), x,
                    *inputs)
