"""Fast grouped convolutions: one im2col for all groups, then one matrix product per group.

The reference (`reference.per_group`) slices the channels and convolves group after group,
im2col included: fine for 2 groups, ruinous for a depthwise convolution (one group per
channel). Here im2col runs once, with its columns ordered group by group (`im2col(...,
groups=G)`), so group g's columns are one block of the matrix: a strided view that BLAS
multiplies in place, no copy. The groups' products are shared between the threads. The
transposed convolution and the weight gradient use the same blocks.

With one input channel per group (depthwise) the products are too thin for BLAS, and im2col
would copy every pixel KH*KW times for a few multiplications each. There the convolution is
computed directly: one multiply-add pass per kernel tap over a shifted view of the padded
image (`_depthwise`), the batch shared between the threads; the input gradient adds the
shifted products back, the weight gradient sums them (about 1.4x faster than an einsum over
im2col's matrix on one thread, measured on the forward).
Each function equals its reference twin (tests/test_kernels.py).
See ``docs/11_making_it_fast.md``.
"""
from .. import backend
from .im2col import im2col, col2im, channels_last, weight_matrix
from .parallel import over_batch
from .reference import conv_output_size


def _taps(kernel_size, out_size, stride, dilation):
    """For every kernel tap (kh, kw): the rows and columns of the padded image it reads for
    the output pixels, as slices (the window positions i*S + kh*D)."""
    (KH, KW), (OH, OW), (sh, sw), (dh, dw) = kernel_size, out_size, stride, dilation
    return [((kh, kw), slice(kh * dh, kh * dh + sh * (OH - 1) + 1, sh),
             slice(kw * dw, kw * dw + sw * (OW - 1) + 1, sw))
            for kh in range(KH) for kw in range(KW)]


def _padded(x, padding):
    xp = backend.get_array_module(x)
    (ph, pw), (N, C, H, W) = padding, x.shape
    image = xp.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
    image[:, :, ph:ph + H, pw:pw + W] = x
    return image


def _depthwise_conv2d(x, weight, stride, padding, dilation, out_size):
    """y[n, g*M + o] = sum over taps of W[g*M + o, 0, kh, kw] x_pad[n, g, shifted window],
    M = OC / C output channels per input channel."""
    xp = backend.get_array_module(x, weight)
    (N, C), OC = x.shape[:2], weight.shape[0]
    M = OC // C
    image = _padded(x, padding)
    y = xp.zeros((N, C, M) + tuple(out_size), dtype=x.dtype)
    taps = weight.reshape(C, M, -1, 1, 1)

    def work(start, stop):
        part = y[start:stop]
        for k, ((kh, kw), rows, cols) in enumerate(_taps(weight.shape[2:], out_size, stride,
                                                         dilation)):
            part += image[start:stop, :, None, rows, cols] * taps[:, :, k]
    over_batch(work, N, 2 * taps.shape[2] * y.size, y)
    return y.reshape((N, OC) + tuple(out_size))


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
    the taps shared between the threads (each writes its own column of gW)."""
    xp = backend.get_array_module(x, g)
    (N, C), (OC, OH, OW) = x.shape[:2], g.shape[1:]
    M = OC // C
    image, grads = _padded(x, padding), g.reshape(N, C, M, OH, OW)
    taps = _taps(kernel_size, (OH, OW), stride, dilation)
    gw = xp.empty((C, M, len(taps)), dtype=x.dtype)
    # einsum sums the products without building them on the CPU; CuPy turns this binary
    # einsum into C tiny matrix products, so there the plain product-and-sum is faster.
    on_cpu = backend.device_of(x) == "cpu"

    def work(start, stop):
        for k in range(start, stop):
            _, rows, cols = taps[k]
            if on_cpu:
                gw[:, :, k] = xp.einsum("ncij,ncoij->co", image[:, :, rows, cols], grads)
            else:
                gw[:, :, k] = (image[:, :, None, rows, cols] * grads).sum(axis=(0, 3, 4))
    over_batch(work, len(taps), 2 * len(taps) * g.size, gw)
    return gw.reshape(OC, 1, *kernel_size)


def _each_group(work, groups, multiply_adds, array):
    """``work(g)`` for every group, the groups shared between the threads."""
    def run(start, stop):
        for g in range(start, stop):
            work(g)
    over_batch(run, groups, multiply_adds, array)


def conv2d(x, weight, stride, padding, dilation, groups):
    xp = backend.get_array_module(x, weight)
    N, OC, (KH, KW) = x.shape[0], weight.shape[0], weight.shape[2:]
    OH, OW = conv_output_size(x.shape[2:], (KH, KW), stride, padding, dilation)
    Cg, OCg = weight.shape[1], OC // groups
    if Cg == 1:
        return _depthwise_conv2d(x, weight, stride, padding, dilation, (OH, OW))
    cols = im2col(x, (KH, KW), (OH, OW), stride, padding, dilation, groups)
    blocks = cols.reshape(-1, groups, KH * KW * Cg)
    y = xp.empty((blocks.shape[0], OC), dtype=cols.dtype)

    def product(g):
        w = weight_matrix(weight[g * OCg:(g + 1) * OCg]).T  # (KH*KW*Cg, OCg)
        xp.matmul(blocks[:, g], w, out=y[:, g * OCg:(g + 1) * OCg])
    _each_group(product, groups, cols.size * OCg, y)
    return y.reshape(N, OH, OW, OC).transpose(0, 3, 1, 2)


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
    xp = backend.get_array_module(x, g)
    (KH, KW), (OC, OH, OW) = tuple(kernel_size), g.shape[1:]
    Cg, OCg = x.shape[1] // groups, OC // groups
    if Cg == 1:
        return _depthwise_grad_weight(x, g, (KH, KW), stride, padding, dilation)
    cols = im2col(x, (KH, KW), (OH, OW), stride, padding, dilation, groups)
    rows = channels_last(g)  # (P, OC)
    blocks = cols.reshape(-1, groups, KH * KW * Cg)
    gw = xp.empty((OC, Cg, KH, KW), dtype=cols.dtype)

    def product(group):
        part = blocks[:, group].T @ rows[:, group * OCg:(group + 1) * OCg]  # (KH*KW*Cg, OCg)
        gw[group * OCg:(group + 1) * OCg] = part.reshape(KH, KW, Cg, OCg).transpose(3, 2, 0, 1)
    _each_group(product, groups, cols.size * OCg, gw)
    return gw
