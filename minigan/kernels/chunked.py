"""Convolutions a few images at a time: im2col's matrix for a slice of the batch, multiplied
while it is still in the CPU's cache.

im2col copies every pixel KH*KW times. For a 3x3 convolution of 64 channels at 32x32, batch
64, its matrix is 150 MB: written to memory, read back by the product, and the product runs
slower on operands that do not fit the cache. Here each thread walks through its share of
the batch a few images at a time (about `ROWS` output pixels): it copies their windows into
a small matrix of its own, multiplies it at once and reuses it for the next images. A
grouped convolution is one batched product of the groups' column blocks (im2col's columns
are ordered group by group). The weight gradient walks the same way and sums the products
``cols^T @ dy`` of its slices.

Shape letters as in ``im2col.py``; G groups, Cg = C / G and OCg = OC / G channels per group.
Each function equals its reference twin (tests/test_kernels.py). See ``docs/11_making_it_fast.md``.
"""
from .. import backend
from .parallel import over_batch
from .reference import conv_output_size

ROWS = 512  # output pixels per slice: the slice's matrix (ROWS, KH*KW*C) stays in the cache


def channels_last_into(out, x):
    """out (n, H, W, C) = x (n, C, H, W). The plain copy reads x along C, H*W*itemsize bytes
    apart; when that is a multiple of 4 KiB (32x32 float32 images) all reads of a pixel fall
    into the same cache set and the copy runs about half as fast as through (H, C, W), one
    image at a time, which this does then."""
    if x.strides[1] % 4096 or x.strides[3] != x.itemsize or backend.device_of(x) != "cpu":
        out[...] = x.transpose(0, 2, 3, 1)
        return
    for n in range(x.shape[0]):
        out[n] = x[n].transpose(1, 0, 2).copy().transpose(0, 2, 1)


def channels_last(x):
    """x (N, C, H, W) as an NCHW view of channels-last memory: x itself when its memory is
    already laid out so, else a copy (the batch shared between the threads)."""
    xp = backend.get_array_module(x)
    if x.transpose(0, 2, 3, 1).flags.c_contiguous:
        return x
    N, C, H, W = x.shape
    out = xp.empty((N, H, W, C), dtype=x.dtype)
    over_batch(lambda start, stop: channels_last_into(out[start:stop], x[start:stop]), N,
               2 * x.size, out)
    return out.transpose(0, 3, 1, 2)


def slices_of_images(x, kernel_size, out_size, stride, padding, dilation, groups, start, stop):
    """The images start:stop, a few at a time: yields ``(a, b, windows)``, windows a strided
    view ``(b-a, OH, OW, G, KH, KW, Cg)`` of a zero-bordered channels-last copy of images a:b
    (im2col's windows, `im2col.im2col`), in a buffer that the next slice overwrites."""
    xp = backend.get_array_module(x)
    N, C, H, W = x.shape
    (KH, KW), (OH, OW) = kernel_size, out_size
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    step = max(1, ROWS // (OH * OW))
    padded = xp.zeros((min(step, stop - start), H + 2 * ph, W + 2 * pw, C), dtype=x.dtype)
    bN, bH, bW, bC = padded.strides  # in bytes
    windows = xp.lib.stride_tricks.as_strided(
        padded, shape=(padded.shape[0], OH, OW, groups, KH, KW, C // groups),
        strides=(bN, sh * bH, sw * bW, C // groups * bC, dh * bH, dw * bW, bC))
    for a in range(start, stop, step):
        n = min(step, stop - a)
        channels_last_into(padded[:n, ph:ph + H, pw:pw + W], x[a:a + n])
        yield a, a + n, windows[:n]  # the borders of `padded` stay zero


def slices_of_windows(x, kernel_size, out_size, stride, padding, dilation, groups, start, stop):
    """im2col of the images start:stop, a few at a time: yields ``(a, b, cols)``, cols the
    windows of images a:b copied into a ``((b-a)*OH*OW, G, KH*KW*Cg)`` matrix (a buffer
    that the next slice overwrites)."""
    cols = None
    for a, b, windows in slices_of_images(x, kernel_size, out_size, stride, padding, dilation,
                                          groups, start, stop):
        if cols is None:
            cols = backend.get_array_module(x).empty(windows.shape, dtype=x.dtype)
        cols[:b - a] = windows
        yield a, b, cols[:b - a].reshape(windows.shape[0] * out_size[0] * out_size[1], groups, -1)


def conv2d(x, weight, stride, padding, dilation, groups):
    """y = im2col(x) @ W^T group by group, a few images at a time; an (N, OC, OH, OW) view
    of channels-last memory."""
    xp = backend.get_array_module(x, weight)
    N, (OC, Cg, KH, KW) = x.shape[0], weight.shape
    OH, OW = conv_output_size(x.shape[2:], (KH, KW), stride, padding, dilation)
    OCg = OC // groups
    # (G, KH*KW*Cg, OCg): rows in the order of im2col's columns
    w = weight.reshape(groups, OCg, Cg, KH, KW).transpose(0, 3, 4, 2, 1).reshape(groups, -1, OCg)
    y = xp.empty((N, OH, OW, OC), dtype=xp.result_type(x, weight))

    def work(start, stop):
        for a, b, cols in slices_of_windows(x, (KH, KW), (OH, OW), stride, padding, dilation,
                                             groups, start, stop):
            out = y[a:b].reshape(-1, groups, OCg)
            xp.matmul(cols.transpose(1, 0, 2), w, out=out.transpose(1, 0, 2))
    over_batch(work, N, N * OH * OW * KH * KW * Cg * OC, y)
    return y.transpose(0, 3, 1, 2)


def conv2d_grad_weight(x, g, kernel_size, stride, padding, dilation, groups):
    """gW = dy^T @ im2col(x) group by group, summed over slices of a few images (each
    thread sums its own, then the threads' sums are added in a fixed order)."""
    xp = backend.get_array_module(x, g)
    (N, C), (OC, OH, OW), (KH, KW) = x.shape[:2], g.shape[1:], tuple(kernel_size)
    Cg, OCg = C // groups, OC // groups
    sums = {}

    def work(start, stop):
        total = xp.zeros((groups, KH * KW * Cg, OCg), dtype=xp.result_type(x, g))
        for a, b, cols in slices_of_windows(x, (KH, KW), (OH, OW), stride, padding, dilation,
                                             groups, start, stop):
            rows = xp.empty((b - a, OH, OW, OC), dtype=g.dtype)
            channels_last_into(rows, g[a:b])
            rows = rows.reshape(-1, groups, OCg)
            total += xp.matmul(cols.transpose(1, 2, 0), rows.transpose(1, 0, 2))
        sums[start] = total
    over_batch(work, N, N * OH * OW * KH * KW * Cg * OC, g)
    gw = sum(sums[start] for start in sorted(sums))  # (G, KH*KW*Cg, OCg)
    return gw.reshape(groups, KH, KW, Cg, OCg).transpose(0, 4, 3, 1, 2).reshape(OC, Cg, KH, KW)


def transposed_as_convolution(weight, groups):
    """The kernel of the convolution equal to a stride-1 transposed convolution with
    ``weight`` (C, OCg, KH, KW): in each group the input and output channels swap places and
    the taps are flipped (each output pixel gathers what the transposed convolution would
    scatter onto it). Its padding is D*(K-1) - P."""
    C, OCg, KH, KW = weight.shape
    w = weight.reshape(groups, C // groups, OCg, KH, KW).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    return w.reshape(groups * OCg, C // groups, KH, KW)
