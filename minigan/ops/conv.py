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
from .shape import getitem


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

    def __init__(self, stride, padding, dilation):
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.keep = {}  # what the forward kernel leaves for the backward kernel

    def forward(self, x, weight, bias=None):
        y = kernels.current().conv2d(x, weight, self.stride, self.padding, self.dilation,
                                     self.keep)
        if bias is not None:
            y += bias.reshape(-1, 1, 1)  # y is a fresh array: adding in place is safe
        return y

    def backward(self, gy):
        x, weight = self.inputs[:2]
        gx = gw = gb = None
        if x.requires_grad:
            gx = _conv_transpose2d_to_size(gy, weight, x.shape[2:], self.stride, self.padding,
                                           self.dilation)
        if weight.requires_grad:
            gw = Conv2dGradW(weight.shape[2:], self.stride, self.padding, self.dilation)(x, gy)
        if len(self.inputs) == 3:
            gb = gy.sum((0, 2, 3))
        return gx, gw, gb

    def backward_arrays(self, gy):
        x, weight = self.inputs[:2]
        gx, gw = kernels.current().conv2d_backward(
            x.data, weight.data, gy, self.stride, self.padding, self.dilation,
            x.requires_grad, weight.requires_grad, self.keep)
        return gx, gw, gy.sum(axis=(0, 2, 3)) if len(self.inputs) == 3 else None


class ConvTranspose2d(Function):
    """The adjoint of Conv2d: each input pixel scatters a weighted copy of the kernel,
    y[n, o, i*S + kh*D - P, j*S + kw*D - P] += W[c,o,kh,kw] x[n,c,i,j]  (then + b[o]).
    As matrices: y = col2im(x @ W). Then
    dx = im2col(dy) @ W^T = conv2d(dy, W),  dW = Conv2dGradW(dy, x),  db = sum of dy.
    ``output_padding`` is not limited here (see `conv_transpose2d`).  See docs/03_convolution.md."""

    def __init__(self, stride, padding, output_padding, dilation):
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.output_padding = output_padding

    def forward(self, x, weight, bias=None):
        size = conv_transpose_output_size(x.shape[2:], weight.shape[2:], self.stride,
                                          self.padding, self.output_padding, self.dilation)
        y = kernels.current().conv_transpose2d(x, weight, self.stride, self.padding,
                                               self.dilation, size)
        if bias is not None:
            y += bias.reshape(-1, 1, 1)  # y is a fresh array: adding in place is safe
        return y

    def backward(self, gy):
        x, weight = self.inputs[:2]
        gx = gw = gb = None
        if x.requires_grad:
            gx = _conv2d_to_size(gy, weight, x.shape[2:], self.stride, self.padding,
                                 self.dilation)
        if weight.requires_grad:  # the roles swap: dy plays the input, x the output gradient
            gw = Conv2dGradW(weight.shape[2:], self.stride, self.padding, self.dilation)(gy, x)
        if len(self.inputs) == 3:
            gb = gy.sum((0, 2, 3))
        return gx, gw, gb

    def backward_arrays(self, gy):
        x, weight = self.inputs[:2]
        gx, gw = kernels.current().conv_transpose2d_backward(
            x.data, weight.data, gy, self.stride, self.padding, self.dilation,
            x.requires_grad, weight.requires_grad)
        return gx, gw, gy.sum(axis=(0, 2, 3)) if len(self.inputs) == 3 else None


class Conv2dGradW(Function):
    """The weight gradient of a convolution, as an op of its own so it can be differentiated:
    gW[o,c,kh,kw] = sum_{n,i,j} g[n,o,i,j] x_pad[n, c, i*S + kh*D, j*S + kw*D],
    i.e. gW = g^T @ im2col(x), with the output size (OH, OW) read from g. It is bilinear, so
    for an upstream ggW:  dx = conv_transpose2d(g, ggW),  dg = conv2d(x, ggW).
    See docs/03_convolution.md."""

    def __init__(self, kernel_size, stride, padding, dilation):
        self.kernel_size = tuple(kernel_size)
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, x, g):
        return kernels.current().conv2d_grad_weight(x, g, self.kernel_size, self.stride,
                                                    self.padding, self.dilation)

    def backward(self, ggw):
        x, g = self.inputs
        gx = gg = None
        if x.requires_grad:
            gx = _conv_transpose2d_to_size(g, ggw, x.shape[2:], self.stride, self.padding,
                                           self.dilation)
        if g.requires_grad:
            gg = _conv2d_to_size(x, ggw, g.shape[2:], self.stride, self.padding, self.dilation)
        return gx, gg


def _conv_transpose2d_to_size(x, weight, size, stride, padding, dilation):
    """conv_transpose2d with the output_padding that gives exactly ``size``: a convolution
    ignores the last rows/columns its windows never reach, and they must come back (as 0)."""
    natural = conv_transpose_output_size(x.shape[2:], weight.shape[2:], stride, padding,
                                         (0, 0), dilation)
    output_padding = tuple(n - m for n, m in zip(size, natural))
    return ConvTranspose2d(stride, padding, output_padding, dilation)(x, weight)


def _conv2d_to_size(x, weight, size, stride, padding, dilation):
    """conv2d cropped to ``size``. With output_padding >= stride (allowed when the dilation is
    larger) a transposed convolution's output has extra rows that no input pixel reaches;
    a convolution over them would produce extra outputs, which do not exist upstream."""
    y = Conv2d(stride, padding, dilation)(x, weight)
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


def _check_inputs(op, x, weight, bias, in_channels_axis, out_channels_axis):
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}"
                         + (" (add a batch dimension with x.unsqueeze(0))" if x.ndim == 3 else ""))
    if weight.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D weight, got shape {weight.shape}")
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{op}: expected a floating point input, got {x.dtype}")
    if x.shape[1] != weight.shape[in_channels_axis]:
        raise ValueError(f"{op}: input of shape {x.shape} has {x.shape[1]} channels, but the "
                         f"weight of shape {weight.shape} expects {weight.shape[in_channels_axis]}")
    out_channels = weight.shape[out_channels_axis]
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ValueError(f"{op}: bias must have shape ({out_channels},) to match the weight "
                         f"{weight.shape}, got {bias.shape}")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D convolution (cross-correlation, as PyTorch): x (N, C, H, W), weight (OC, C, KH, KW),
    bias (OC,) -> (N, OC, OH, OW) with OH = (H + 2P - D*(KH-1) - 1) // S + 1."""
    _check_inputs("conv2d", x, weight, bias, 1, 0)
    stride = pair(stride, "stride", "conv2d", 1)
    padding = pair(padding, "padding", "conv2d", 0)
    dilation = pair(dilation, "dilation", "conv2d", 1)
    kernel_size = weight.shape[2:]
    for n, k, p, d in zip(x.shape[2:], kernel_size, padding, dilation):
        if d * (k - 1) + 1 > n + 2 * p:
            raise ValueError(f"conv2d: the kernel {tuple(kernel_size)} with dilation {dilation} "
                             f"spans more than the padded input ({x.shape[2] + 2 * padding[0]}, "
                             f"{x.shape[3] + 2 * padding[1]}) of input {x.shape}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d(stride, padding, dilation)(*inputs)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    """2-D transposed convolution (the adjoint of conv2d): x (N, C, H, W),
    weight (C, OC, KH, KW), bias (OC,) -> (N, OC, OH, OW) with
    OH = (H - 1)*S - 2P + D*(KH-1) + output_padding + 1."""
    op = "conv_transpose2d"
    _check_inputs(op, x, weight, bias, 0, 1)
    stride = pair(stride, "stride", op, 1)
    padding = pair(padding, "padding", op, 0)
    output_padding = pair(output_padding, "output_padding", op, 0)
    dilation = pair(dilation, "dilation", op, 1)
    for extra, s, d in zip(output_padding, stride, dilation):
        if extra >= s and extra >= d:  # as PyTorch
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than "
                             f"either the stride {stride} or the dilation {dilation}")
    size = conv_transpose_output_size(x.shape[2:], weight.shape[2:], stride, padding,
                                      output_padding, dilation)
    if min(size) < 1:
        raise ValueError(f"{op}: input {x.shape} with kernel {tuple(weight.shape[2:])}, "
                         f"stride {stride}, padding {padding} gives an empty output {size}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2d(stride, padding, output_padding, dilation)(*inputs)
