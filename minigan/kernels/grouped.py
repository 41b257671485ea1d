"""Fast grouped convolutions: depthwise ones computed directly, and transposed ones by col2im.

The reference (`reference.per_group`) slices the channels and convolves group after group,
im2col included: fine for 2 groups, ruinous for a depthwise convolution (one group per
channel). Grouped convolutions with several channels per group run a few images at a time
as one batched product of the groups' column blocks (`chunked.py`), transposed ones with
sub-pixel phases where they apply (`subpixel.py`), else here: one product per group into
col2im's matrix, the groups shared between the threads.

With one input channel per group (depthwise) the products are too thin for BLAS, and im2col
would copy every pixel KH*KW times for a few multiplications each. There the convolution is
computed directly on a few channels-last images at a time: one einsum over the windows (a
strided view of the zero-bordered images, `chunked.slices_of_images`, no copy), and one for
the weight gradient. (Earlier versions made one multiply-add pass per kernel tap over NCHW
images, about 3x slower on a 128-channel 16x16 layer.) The transposed depthwise convolution
adds the shifted products back, tap by tap; with stride 1 it is a depthwise convolution
with the flipped kernel instead (`conv.py`).
Off the CPU (CuPy) the depthwise kernels go tap by tap (`*_by_taps`): a binary einsum there
is transposed copies and many tiny matrix products.
Each function equals its reference twin (tests/test_kernels.py).
See ``docs/11_making_it_fast.md``.
"""
from .. import backend
from .im2col import col2im, channels_last, weight_matrix
from .chunked import slices_of_images, channels_last_into
from .parallel import over_batch
from .reference import conv_output_size


def _taps(kernel_size, out_size, stride, dilation):
    """For every kernel tap (kh, kw): the rows and columns of the padded image it reads for
    the output pixels, as slices (the window positions i*S + kh*D)."""
    (KH, KW), (OH, OW), (sh, sw), (dh, dw) = kernel_size, out_size, stride, dilation
    return [((kh, kw), slice(kh * dh, kh * dh + sh * (OH - 1) + 1, sh),
             slice(kw * dw, kw * dw + sw * (OW - 1) + 1, sw))
            for kh in range(KH) for kw in range(KW)]


def _depthwise_conv2d(x, weight, stride, padding, dilation, out_size):
    """y[n, c*M + o] = sum over taps of W[c*M + o, 0, kh, kw] x_pad[n, c, shifted window],
    M = OC / C output channels per input channel: one einsum over the windows (a strided
    view, no copy) of a few channels-last images at a time."""
    xp = backend.get_array_module(x, weight)
    (N, C), (OC, _, KH, KW) = x.shape[:2], weight.shape
    M = OC // C
    taps = weight.reshape(C, M, KH, KW).transpose(1, 2, 3, 0).copy()  # (M, KH, KW, C)
    y = xp.empty((N,) + tuple(out_size) + (C, M), dtype=x.dtype)
    OH, OW = out_size
    runs = M == 1 and stride[1] == 1
    if runs:
        # Stride 1 along rows: a tap's window columns j and channels c are one contiguous
        # run of OW*C numbers (the taps repeated OW times to match), and einsum's inner loop
        # runs along all of it, not C numbers at a time: twice as fast.
        taps = xp.ascontiguousarray(xp.broadcast_to(taps[0, :, :, None], (KH, KW, OW, C)))
        taps = taps.reshape(KH, KW, OW * C)

    def work(start, stop):
        for a, b, windows in slices_of_images(x, (KH, KW), out_size, stride, padding, dilation,
                                              1, start, stop):
            if runs:  # windows (n, i, j, 1, kh, kw, c) as (n, i, kh, kw, (j, c))
                bN, bI, _, _, bH, bW, bC = windows.strides
                view = xp.lib.stride_tricks.as_strided(
                    windows, shape=(b - a, OH, KH, KW, OW * C), strides=(bN, bI, bH, bW, bC))
                y[a:b] = xp.einsum("nihwx,hwx->nix", view, taps).reshape(b - a, OH, OW, C, 1)
                continue
            for o in range(M):  # (einsum is 10x slower unless c is the innermost axis)
                y[a:b, ..., o] = xp.einsum("nijhwc,hwc->nijc", windows[:, :, :, 0], taps[o])
    over_batch(work, N, 2 * KH * KW * y.size, y)
    return y.reshape((N,) + tuple(out_size) + (OC,)).transpose(0, 3, 1, 2)


def _depthwise_conv_transpose2d(x, weight, stride, padding, dilation, out_size):
    """The adjoint: every input pixel x[n, c] adds x W[c, o, kh, kw] onto output channel
    c*M + o at its shifted window, tap by tap, into a padded image that is then cropped."""
    xp = backend.get_array_module(x, weight)
    (N, C, H, W), M = x.shape, weight.shape[1]
    (ph, pw), (OH, OW) = padding, out_size
    image = xp.zeros((N, C, M, OH + 2 * ph, OW + 2 * pw), dtype=x.dtype)
    taps = weight.reshape(C, M, -1, 1, 1)

    def work(start, stop):
        part = image[start:stop]
        for k, ((kh, kw), rows, cols) in enumerate(_taps(weight.shape[2:], (H, W), stride,
                                                         dilation)):
            part[:, :, :, rows, cols] += x[start:stop, :, None] * taps[:, :, k]
    over_batch(work, N, 2 * taps.shape[2] * x.size * M, image)
    return image[:, :, :, ph:ph + OH, pw:pw + OW].reshape(N, C * M, OH, OW)


def _depthwise_grad_weight(x, g, kernel_size, stride, padding, dilation):
    """gW[c*M + o, 0, kh, kw] = sum over n, i, j of x_pad[n, c, window of the tap] g[n, c*M + o],
    one einsum per slice of a few images (each thread sums its own slices, then the threads'
    sums are added in a fixed order)."""
    xp = backend.get_array_module(x, g)
    (N, C), (OC, OH, OW), (KH, KW) = x.shape[:2], g.shape[1:], tuple(kernel_size)
    M = OC // C
    sums = {}

    def work(start, stop):
        total = xp.zeros((KH, KW, C, M), dtype=x.dtype)
        for a, b, windows in slices_of_images(x, (KH, KW), (OH, OW), stride, padding, dilation,
                                              1, start, stop):
            grads = g[a:b].transpose(0, 2, 3, 1)  # no copy where g is channels-last already
            if not grads.flags.c_contiguous:
                grads = xp.empty((b - a, OH, OW, OC), dtype=g.dtype)
                channels_last_into(grads, g[a:b])
            total += xp.einsum("nijhwc,nijcm->hwcm", windows[:, :, :, 0],
                               grads.reshape(b - a, OH, OW, C, M))
        sums[start] = total
    over_batch(work, N, 2 * KH * KW * g.size, g)
    gw = sum(sums[start] for start in sorted(sums))
    return gw.transpose(2, 3, 0, 1).reshape(OC, 1, KH, KW)


def _depthwise_conv2d_by_taps(x, weight, stride, padding, dilation, out_size):
    """The form for a GPU: one multiply-add over the whole batch per kernel tap, each one
    elementwise kernel on CuPy (where the einsums above would become transposed copies and
    many tiny matrix products)."""
    xp = backend.get_array_module(x, weight)
    (N, C), OC, (ph, pw) = x.shape[:2], weight.shape[0], padding
    image = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = xp.zeros((N, C, OC // C) + tuple(out_size), dtype=x.dtype)
    taps = weight.reshape(C, OC // C, -1, 1, 1)
    for k, (_, rows, cols) in enumerate(_taps(weight.shape[2:], out_size, stride, dilation)):
        y += image[:, :, None, rows, cols] * taps[:, :, k]
    return y.reshape((N, OC) + tuple(out_size))


def _depthwise_grad_weight_by_taps(x, g, kernel_size, stride, padding, dilation):
    """gW tap by tap as a product and a plain sum: the GPU form of `_depthwise_grad_weight`."""
    xp = backend.get_array_module(x, g)
    (N, C), (OC, OH, OW), (ph, pw) = x.shape[:2], g.shape[1:], padding
    image = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    grads = g.reshape(N, C, OC // C, OH, OW)
    gw = xp.stack([(image[:, :, None, rows, cols] * grads).sum(axis=(0, 3, 4))
                   for _, rows, cols in _taps(kernel_size, (OH, OW), stride, dilation)], axis=-1)
    return gw.reshape(OC, 1, *kernel_size)


def _each_group(work, groups, multiply_adds, array):
    """``work(g)`` for every group, the groups shared between the threads."""
    def run(start, stop):
        for g in range(start, stop):
            work(g)
    over_batch(run, groups, multiply_adds, array)


def conv2d(x, weight, stride, padding, dilation, groups):
    """A depthwise convolution (one input channel per group; other groups: `chunked.py`)."""
    out_size = conv_output_size(x.shape[2:], weight.shape[2:], stride, padding, dilation)
    if backend.device_of(x) != "cpu":
        return _depthwise_conv2d_by_taps(x, weight, stride, padding, dilation, out_size)
    return _depthwise_conv2d(x, weight, stride, padding, dilation, out_size)


def conv_transpose2d(x, weight, stride, padding, dilation, out_size, groups):
    xp = backend.get_array_module(x, weight)
    N, C, H, W = x.shape
    Cg, OCg, KH, KW = weight.shape[0] // groups, weight.shape[1], *weight.shape[2:]
    if Cg == 1:
        return _depthwise_conv_transpose2d(x, weight, stride, padding, dilation, out_size)
    rows = channels_last(x)  # (P, C)
    cols = xp.empty((rows.shape[0], KH * KW, groups, OCg), dtype=rows.dtype)

    def product(g):  # group g's output channels of every window: col2im's (kh, kw, o)
        part = rows[:, g * Cg:(g + 1) * Cg] @ weight_matrix(weight[g * Cg:(g + 1) * Cg])
        cols[:, :, g] = part.reshape(-1, KH * KW, OCg)
    _each_group(product, groups, rows.size * KH * KW * OCg, cols)
    cols = cols.reshape(rows.shape[0], KH * KW * groups * OCg)
    return col2im(cols, (N, groups * OCg) + tuple(out_size), (KH, KW), (H, W), stride,
                  padding, dilation)


def conv2d_grad_weight(x, g, kernel_size, stride, padding, dilation, groups):
    """The weight gradient of a depthwise convolution (other groups: `chunked.py`)."""
    if backend.device_of(x) != "cpu":
        return _depthwise_grad_weight_by_taps(x, g, tuple(kernel_size), stride, padding,
                                              dilation)
    return _depthwise_grad_weight(x, g, tuple(kernel_size), stride, padding, dilation)
