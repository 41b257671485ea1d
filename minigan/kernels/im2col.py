"""Fast im2col and col2im, on channels-last memory and the CPU's threads.

The plain versions, and what these must equal, are `reference.im2col` and
`reference.col2im`; `conv.py` builds the fast convolutions on these.
Shape letters: N batch, C channels, H x W image, KH x KW kernel, OH x OW output positions.
See ``docs/03_convolution.md`` and ``docs/11_making_it_fast.md``.

- `im2col` copies every KH x KW window of the zero-padded image into one row of a matrix
  ``(N*OH*OW, KH*KW*C)``; a convolution is then ``cols @ weight_matrix(W).T``
  (the reference keeps the natural order ``(N, C, KH, KW, OH, OW)`` instead).
- `col2im` is its adjoint: it adds each row back onto the window it came from.

Memory layout: the padded image is stored channels-last, ``(N, H, W, C)``, and handed out as
an ``(N, C, H, W)`` view. Then the C values of a window column sit side by side in memory,
so im2col copies contiguous runs instead of gathering single floats, and col2im adds whole
runs at once. Results are returned the same way, as NCHW views of channels-last memory
(col2im makes an exception for images with few channels); NumPy and CuPy ops work on any
strides, so no one downstream needs to know.
"""
from .. import backend
from .parallel import over_batch


def weight_matrix(weight):
    """A kernel ``(A, B, KH, KW)`` as the matrix ``(A, KH*KW*B)`` whose columns match im2col's
    (a copy of the kernel, small next to the images)."""
    A, B, KH, KW = weight.shape
    return weight.transpose(0, 2, 3, 1).reshape(A, KH * KW * B)


def channels_last(x):
    """``(N, C, H, W)`` as a matrix ``(N*H*W, C)``: one row per pixel (a copy unless x
    already has channels-last memory, which conv outputs have)."""
    N, C, H, W = x.shape
    return x.transpose(0, 2, 3, 1).reshape(N * H * W, C)


def im2col(x, kernel_size, out_size, stride, padding, dilation, groups=1):
    """The windows of x ``(N, C, H, W)`` as rows of a ``(N*OH*OW, KH*KW*C)`` matrix.

    Row ``(n, i, j)`` holds the pixels that output position ``(i, j)`` sees:
    ``x_pad[n, c, i*SH + kh*DH, j*SW + kw*DW]`` for all ``(kh, kw, c)``. x is first copied
    into a zero-bordered channels-last image; the windows are a strided *view* of it, and
    one copy of that view makes the matrix. With ``groups`` = G the columns are ordered
    ``(g, kh, kw, j)``, c = g*Cg + j, so each group's columns are one contiguous block
    (a grouped convolution multiplies each block by its own weights, `grouped.py`).
    """
    xp = backend.get_array_module(x)
    N, C, H, W = x.shape
    (KH, KW), (OH, OW) = kernel_size, out_size
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    padded = xp.empty((N, H + 2 * ph, W + 2 * pw, C), dtype=x.dtype)
    bN, bH, bW, bC = padded.strides  # in bytes
    Cg = C // groups
    windows = xp.lib.stride_tricks.as_strided(
        padded, shape=(N, OH, OW, groups, KH, KW, Cg),
        strides=(bN, sh * bH, sw * bW, Cg * bC, dh * bH, dw * bW, bC))
    cols = xp.empty((N, OH, OW, groups, KH, KW, Cg), dtype=x.dtype)

    def copy(start, stop):  # the images start:stop (see parallel.py)
        image = padded[start:stop]
        image[:, :ph], image[:, ph + H:], image[:, :, :pw], image[:, :, pw + W:] = 0, 0, 0, 0
        image[:, ph:ph + H, pw:pw + W] = x[start:stop].transpose(0, 2, 3, 1)
        cols[start:stop] = windows[start:stop]
    over_batch(copy, N, 2 * cols.size, cols)
    return cols.reshape(N * OH * OW, KH * KW * C)


def col2im(cols, image_shape, kernel_size, out_size, stride, padding, dilation):
    """The adjoint of `im2col`: add each row of ``cols`` back onto its window of an image of
    ``image_shape = (N, C, H, W)``, where windows overlap their contributions add up."""
    xp = backend.get_array_module(cols)
    N, C, H, W = image_shape
    (KH, KW), (OH, OW) = kernel_size, out_size
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    cols = cols.reshape(N, OH, OW, KH, KW, C).transpose(0, 5, 3, 4, 1, 2)  # (N, C, KH, KW, OH, OW)
    padded_size = (H + 2 * ph, W + 2 * pw)
    if C >= 8:  # channels-last memory: each += below moves runs of C contiguous floats
        padded = xp.zeros((N,) + padded_size + (C,), dtype=cols.dtype).transpose(0, 3, 1, 2)
    else:  # with few channels (RGB) those runs are too short: run along image rows instead
        padded = xp.zeros((N, C) + padded_size, dtype=cols.dtype)
    # One strided slice per kernel offset: all windows at once, no loop over pixels.
    # (Within one offset the target pixels are distinct, so plain += is safe; no add.at.)
    def add_windows(start, stop):  # the images start:stop (see parallel.py)
        for kh in range(KH):
            for kw in range(KW):
                rows = slice(kh * dh, kh * dh + sh * (OH - 1) + 1, sh)
                columns = slice(kw * dw, kw * dw + sw * (OW - 1) + 1, sw)
                target = padded[start:stop, :, rows, columns]  # a view into `padded`
                target += cols[start:stop, :, kh, kw]
    over_batch(add_windows, N, 2 * cols.size, cols)
    return padded[:, :, ph:ph + H, pw:pw + W]
