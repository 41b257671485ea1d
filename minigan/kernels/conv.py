"""Fast convolution kernels: the same functions as `reference.py`'s, made fast.

- One matrix product per convolution on channels-last im2col/col2im matrices (`im2col.py`),
  its rows shared between the threads (`parallel.matmul_on_threads`); where im2col's matrix
  would be many times the image (3x3 stride 1), and for groups, a few images at a time
  (`chunked.py`). A stride-1 transposed convolution is a convolution with the flipped kernel.
- Transposed convolutions by sub-pixel phases where that is cheaper (`subpixel.py`).
- Backward: the input and weight gradients side by side on two threads, and im2col
  matrices built once and used twice (forward and weight gradient of a convolution; both
  gradients of a transposed convolution).
Each function must equal its reference twin (``tests/test_kernels.py``).
"""
from .im2col import im2col, col2im, weight_matrix, channels_last
from .parallel import matmul_on_threads, side_by_side
from .reference import conv_output_size
from . import chunked, grouped, subpixel


class options:
    """How `conv_transpose2d` computes: "auto" (by `subpixel.worth_it`), "col2im" or
    "subpixel" (where it applies); `minigan.kernels.use` may change it."""
    conv_transpose = "auto"


def _transposed_as_convolution(size, kernel_size, stride, padding, dilation, out_size):
    """The padding D*(K-1) - P of the convolution that computes a stride-1 transposed
    convolution (`chunked.transposed_as_convolution`), or None where that does not apply
    (stride, output_padding, P > D*(K-1)) or wastes too much (an output much larger than the
    input: most of its windows would be zeros)."""
    natural = [n + d * (k - 1) - 2 * p for n, k, p, d in zip(size, kernel_size, padding, dilation)]
    gathering = tuple(d * (k - 1) - p for k, p, d in zip(kernel_size, padding, dilation))
    if (tuple(stride) != (1, 1) or list(out_size) != natural or min(gathering) < 0
            or out_size[0] * out_size[1] > 2 * size[0] * size[1]):
        return None
    return gathering


def _in_slices(size, out_size, kernel_size):
    """True where im2col's matrix would be many times the size of the image (a 3x3 stride-1
    convolution copies every pixel 9 times): a few images at a time then (`chunked.py`). Where
    it is about as large or a few times (4x4 stride 2: 4 times), one matrix for the whole
    batch, kept from the forward for the weight gradient, measured faster on DCGAN layers."""
    return out_size[0] * out_size[1] * kernel_size[0] * kernel_size[1] > 4 * size[0] * size[1]


def conv2d(x, weight, stride, padding, dilation, groups=1, keep=None):
    """y = im2col(x) @ W^T, as (N, OC, OH, OW) view of channels-last memory. im2col's
    matrix is left in ``keep["cols"]``: the weight gradient needs the same one (computed a
    few images at a time, `chunked.py`: x's channels-last copy in ``keep["x"]``)."""
    N, OC, kernel_size = x.shape[0], weight.shape[0], weight.shape[2:]
    OH, OW = conv_output_size(x.shape[2:], kernel_size, stride, padding, dilation)
    if groups > 1 or _in_slices(x.shape[2:], (OH, OW), kernel_size):
        x = chunked.channels_last(x)  # read here and by the weight gradient: copied once
        if keep is not None:
            keep["x"] = x
        if groups > 1 and weight.shape[1] == 1:
            return grouped.conv2d(x, weight, stride, padding, dilation, groups)  # depthwise
        return chunked.conv2d(x, weight, stride, padding, dilation, groups)
    cols = im2col(x, kernel_size, (OH, OW), stride, padding, dilation)
    if keep is not None:
        keep["cols"] = cols
    y = matmul_on_threads(cols, weight_matrix(weight).T)  # (N*OH*OW, OC): the one GEMM
    return y.reshape(N, OH, OW, OC).transpose(0, 3, 1, 2)


def conv_transpose2d(x, weight, stride, padding, dilation, out_size, groups=1):
    """col2im(x @ W), or by sub-pixel phases when they apply and are worth it."""
    gathering = _transposed_as_convolution(x.shape[2:], weight.shape[2:], stride, padding,
                                           dilation, out_size)
    if gathering:
        return conv2d(x, chunked.transposed_as_convolution(weight, groups), (1, 1), gathering,
                      dilation, groups)
    N, C, H, W = x.shape
    OC, kernel_size = weight.shape[1], weight.shape[2:]  # OC per group
    natural = [(n - 1) * s - 2 * p + d * (k - 1) + 1
               for n, k, s, p, d in zip((H, W), kernel_size, stride, padding, dilation)]
    output_padding = [o - n for o, n in zip(out_size, natural)]
    method = options.conv_transpose
    if (groups == 1 or C > groups) and subpixel.applies(kernel_size, stride, padding, output_padding, dilation) and (
            method == "subpixel" or method == "auto" and subpixel.worth_it(
                C // groups, OC, (H, W), kernel_size, stride)):
        return subpixel.conv_transpose2d_phases(x, weight, stride, padding, out_size, groups)
    if groups > 1:
        return grouped.conv_transpose2d(x, weight, stride, padding, dilation, out_size, groups)
    cols = matmul_on_threads(channels_last(x), weight_matrix(weight))  # (N*H*W, KH*KW*OC)
    return col2im(cols, (N, OC) + tuple(out_size), kernel_size, (H, W), stride, padding,
                  dilation)


def conv2d_grad_weight(x, g, kernel_size, stride, padding, dilation, groups=1, keep=None):
    """gW = g^T @ im2col(x), with im2col taken from ``keep["cols"]`` when a forward
    convolution left it there (used once)."""
    C, (OC, OH, OW), (KH, KW) = x.shape[1], g.shape[1:], tuple(kernel_size)
    cols = keep.pop("cols", None) if keep is not None else None
    if groups > 1 and C == groups:
        return grouped.conv2d_grad_weight(x, g, kernel_size, stride, padding, dilation, groups)
    if cols is None and (groups > 1 or _in_slices(x.shape[2:], (OH, OW), (KH, KW))):
        return chunked.conv2d_grad_weight(x, g, kernel_size, stride, padding, dilation, groups)
    if cols is None:
        cols = im2col(x, (KH, KW), (OH, OW), stride, padding, dilation)
    # Computing gW^T (KH*KW*C, OC) = cols^T @ g: with OpenBLAS it ran up to several times
    # faster than g^T @ cols at DCGAN shapes (benchmarks/conv_layers.py).
    gw_t = matmul_on_threads(cols.T, channels_last(g))
    return gw_t.reshape(KH, KW, C, OC).transpose(3, 2, 0, 1)


def conv2d_backward(x, weight, gy, stride, padding, dilation, groups, need_x, need_weight,
                    keep=None):
    """(dx, dW) of y = conv2d(x, W), side by side on two threads when both are needed."""
    if keep is not None:
        x = keep.pop("x", x)  # the forward's channels-last copy of x
    def input_gradient():
        if need_x:
            return conv_transpose2d(gy, weight, stride, padding, dilation, x.shape[2:], groups)

    def weight_gradient():
        if need_weight:
            return conv2d_grad_weight(x, gy, weight.shape[2:], stride, padding, dilation,
                                      groups, keep)
    if need_x and need_weight:
        gy = chunked.channels_last(gy)  # both gradients read dy channels-last: one copy
        return side_by_side(input_gradient, weight_gradient, gy)
    return input_gradient(), weight_gradient()


def conv_transpose2d_backward(x, weight, gy, stride, padding, dilation, groups, need_x,
                              need_weight):
    """(dx, dW) of y = conv_transpose2d(x, W). Both need im2col(dy) with windows for x's
    pixels: it is built once, unless it would be many times the image (a stride-1 3x3
    transposed convolution, such as the input gradient of a 3x3 convolution differentiated
    again by a gradient penalty): then both walk dy a few images at a time (`chunked.py`)."""
    size = tuple(x.shape[2:])
    if groups > 1 or _in_slices(gy.shape[2:], size, weight.shape[2:]):
        gx = gw = None
        if need_x and need_weight:
            gy = chunked.channels_last(gy)  # both read dy channels-last: one copy
        if need_x:
            gx = conv2d(gy, weight, stride, padding, dilation, groups)[:, :, :x.shape[2], :x.shape[3]]
        if need_weight:
            gw = conv2d_grad_weight(gy, x, weight.shape[2:], stride, padding, dilation, groups)
        return gx, gw
    keep = {}
    if need_x and need_weight and conv_output_size(gy.shape[2:], weight.shape[2:], stride,
                                                   padding, dilation) == size:
        keep["cols"] = im2col(gy, weight.shape[2:], size, stride, padding, dilation)

    def input_gradient():
        if need_x:
            cols = keep.get("cols")
            if cols is None:
                return conv2d(gy, weight, stride, padding, dilation)[:, :, :size[0], :size[1]]
            y = matmul_on_threads(cols, weight_matrix(weight).T)
            return y.reshape((x.shape[0],) + size + (x.shape[1],)).transpose(0, 3, 1, 2)

    def weight_gradient():  # the roles swap: dy plays the input, x the output gradient
        if need_weight:
            return conv2d_grad_weight(gy, x, weight.shape[2:], stride, padding, dilation,
                                      keep=dict(keep))
    if need_x and need_weight:
        return side_by_side(input_gradient, weight_gradient, gy)
    return input_gradient(), weight_gradient()
