"""The reference kernels: plain, short, obviously correct array code. Read these first.

Every kernel takes and returns raw NumPy/CuPy arrays (never Tensors) and computes what its
op's docstring states, in the most direct way: im2col and col2im in the DeZero style (one
strided slice per kernel offset), batch norm with ``mean`` and ``var``, LeakyReLU with
``where``. `fast.py` offers the same functions with the same arguments, made fast; a test
(``tests/test_kernels.py``) proves the two equal. Choose with ``MINIGAN_KERNELS=reference``
or ``with minigan.kernels.use("reference"):``.

Shape letters: N batch, C input channels, OC output channels, H x W image, KH x KW kernel,
OH x OW output; stride S, padding P, dilation D are (height, width) pairs.
Derivations: ``docs/03_convolution.md`` (convolution), ``docs/04_batchnorm.md``,
``docs/05_activations_and_losses.md``.
"""
import math

from .. import backend


# ----------------------------------------------------------------------- convolution
def im2col(x, kernel_size, out_size, stride, padding, dilation):
    """Every window of x (N, C, H, W) that output pixel (i, j) sees, as
    cols[n, c, kh, kw, i, j] = x_pad[n, c, i*SH + kh*DH, j*SW + kw*DW]:
    one strided slice of the padded image per kernel offset (kh, kw)."""
    xp = backend.get_array_module(x)
    (KH, KW), (OH, OW) = kernel_size, out_size
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    x_pad = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = xp.empty(x.shape[:2] + (KH, KW, OH, OW), dtype=x.dtype)
    for kh in range(KH):
        for kw in range(KW):
            cols[:, :, kh, kw] = x_pad[:, :, kh * dh:kh * dh + sh * (OH - 1) + 1:sh,
                                       kw * dw:kw * dw + sw * (OW - 1) + 1:sw]
    return cols


def col2im(cols, image_shape, stride, padding, dilation):
    """The adjoint of `im2col`: add every window of cols (N, C, KH, KW, OH, OW) back onto an
    image of ``image_shape`` (N, C, H, W); where windows overlap, their values add up."""
    xp = backend.get_array_module(cols)
    N, C, H, W = image_shape
    KH, KW, OH, OW = cols.shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    x_pad = xp.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for kh in range(KH):
        for kw in range(KW):
            x_pad[:, :, kh * dh:kh * dh + sh * (OH - 1) + 1:sh,
                  kw * dw:kw * dw + sw * (OW - 1) + 1:sw] += cols[:, :, kh, kw]
    return x_pad[:, :, ph:ph + H, pw:pw + W]


def conv_output_size(size, kernel_size, stride, padding, dilation):
    """(OH, OW) of a convolution: a window spans D*(K-1)+1 pixels and steps by S."""
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(size, kernel_size, stride, padding, dilation))


def per_group(kernel, groups, arrays, axes, out_axis):
    """A grouped convolution is ``groups`` independent ones side by side: split each array
    into ``groups`` equal slices along its axis in ``axes``, apply ``kernel`` to each
    group's slices, and join the results along ``out_axis``."""
    if groups == 1:
        return kernel(*arrays)
    slices = []
    for array, axis in zip(arrays, axes):
        size = array.shape[axis] // groups
        slices.append([array[(slice(None),) * axis + (slice(g * size, (g + 1) * size),)]
                       for g in range(groups)])
    results = [kernel(*group) for group in zip(*slices)]
    return backend.get_array_module(*arrays).concatenate(results, axis=out_axis)


def conv2d(x, weight, stride, padding, dilation, groups=1, keep=None):
    """y[n, o, i, j] = sum_{c, kh, kw} W[o, c, kh, kw] x_pad[n, c, i*S + kh*D, j*S + kw*D]:
    im2col, then one tensor product over (c, kh, kw). No bias; a new array. With groups,
    output channel o sees only the input channels of its group.
    (``keep``: a dict in which a kernel may leave work for its backward; unused here.)"""
    if groups > 1:
        return per_group(lambda x, w: conv2d(x, w, stride, padding, dilation), groups,
                         (x, weight), (1, 0), 1)
    xp = backend.get_array_module(x, weight)
    kernel_size = weight.shape[2:]
    out_size = conv_output_size(x.shape[2:], kernel_size, stride, padding, dilation)
    cols = im2col(x, kernel_size, out_size, stride, padding, dilation)
    y = xp.tensordot(cols, weight, ((1, 2, 3), (1, 2, 3)))  # (N, OH, OW, OC)
    return y.transpose(0, 3, 1, 2)


def conv_transpose2d(x, weight, stride, padding, dilation, out_size, groups=1):
    """The adjoint of conv2d, with output size ``out_size`` (OH, OW): every input pixel
    x[n, c, i, j] adds x W[c, o, kh, kw] at (i*S + kh*D - P, j*S + kw*D - P).
    One tensor product over c, then col2im. No bias; a new array."""
    if groups > 1:
        return per_group(lambda x, w: conv_transpose2d(x, w, stride, padding, dilation,
                                                       out_size), groups, (x, weight), (1, 0), 1)
    xp = backend.get_array_module(x, weight)
    OC = weight.shape[1]
    cols = xp.tensordot(weight, x, (0, 1))           # (OC, KH, KW, N, H, W)
    cols = cols.transpose(3, 0, 1, 2, 4, 5)          # (N, OC, KH, KW, H, W)
    return col2im(cols, (x.shape[0], OC) + tuple(out_size), stride, padding, dilation)


def conv2d_grad_weight(x, g, kernel_size, stride, padding, dilation, groups=1, keep=None):
    """The weight gradient of a convolution of x whose output gradient is g (N, OC, OH, OW):
    gW[o, c, kh, kw] = sum_{n, i, j} g[n, o, i, j] x_pad[n, c, i*S + kh*D, j*S + kw*D]."""
    if groups > 1:
        return per_group(lambda x, g: conv2d_grad_weight(x, g, kernel_size, stride, padding,
                                                         dilation), groups, (x, g), (1, 1), 0)
    xp = backend.get_array_module(x, g)
    cols = im2col(x, kernel_size, g.shape[2:], stride, padding, dilation)
    return xp.tensordot(g, cols, ((0, 2, 3), (0, 4, 5)))  # (OC, C, KH, KW)


def conv2d_backward(x, weight, gy, stride, padding, dilation, groups, need_x, need_weight,
                    keep=None):
    """(dx, dW) of y = conv2d(x, W): dx = conv_transpose2d(dy, W) at x's size,
    dW = conv2d_grad_weight(x, dy). None for a gradient that is not needed."""
    gx = gw = None
    if need_x:
        gx = conv_transpose2d(gy, weight, stride, padding, dilation, x.shape[2:], groups)
    if need_weight:
        gw = conv2d_grad_weight(x, gy, weight.shape[2:], stride, padding, dilation, groups)
    return gx, gw


def conv_transpose2d_backward(x, weight, gy, stride, padding, dilation, groups, need_x,
                              need_weight):
    """(dx, dW) of y = conv_transpose2d(x, W): dx = conv2d(dy, W), cropped to x's size (a
    large output_padding adds rows that no input pixel reaches), dW = conv2d_grad_weight(dy, x)."""
    gx = gw = None
    if need_x:
        H, W = x.shape[2:]
        gx = conv2d(gy, weight, stride, padding, dilation, groups)[:, :, :H, :W]
    if need_weight:
        gw = conv2d_grad_weight(gy, x, weight.shape[2:], stride, padding, dilation, groups)
    return gx, gw


# --------------------------------------------------------------------- padding modes
def edge_index(n, before, after, mode, xp):
    """For each position i of an axis of n values padded by (before, after), the position
    j(i) of the value it copies: "reflect" mirrors at the edge (the edge not repeated),
    "replicate" repeats the edge, "circular" wraps around."""
    j = xp.arange(-before, n + after)
    if mode == "reflect":
        j = xp.abs(j)
        return xp.where(j >= n, 2 * (n - 1) - j, j)
    if mode == "replicate":
        return xp.clip(j, 0, n - 1)
    return j % n


def pad(x, widths, mode):
    """y = x with borders copied from x, ``widths`` a (before, after) pair per axis: along
    each padded axis y[i] = x[j(i)] (`edge_index`), an indexing."""
    xp = backend.get_array_module(x)
    for axis, (before, after) in enumerate(widths):
        if before or after:
            j = edge_index(x.shape[axis], before, after, mode, xp)
            x = x[(slice(None),) * axis + (j,)]
    return x


def pad_backward(g, widths, mode):
    """The adjoint of `pad`: dx[j] = the sum of dy[i] over the positions i that copy j
    (each border added back onto the values it copies), axis by axis."""
    xp = backend.get_array_module(g)
    for axis, (before, after) in enumerate(widths):
        if before or after:
            n = g.shape[axis] - before - after
            gx = xp.zeros(g.shape[:axis] + (n,) + g.shape[axis + 1:], dtype=g.dtype)
            j = edge_index(n, before, after, mode, xp)
            backend.scatter_add(gx, (slice(None),) * axis + (j,), g)
            g = gx
    return g


# ------------------------------------------------------------------------ batch norm
def _channel_axes(x):
    """The axes a channel's statistics run over: all but axis 1 (C)."""
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(values, x):
    """A (C,) array shaped (1, C, 1, 1) to broadcast against x."""
    return values.reshape((1, x.shape[1]) + (1,) * (x.ndim - 2))


def batch_norm(x, weight, bias, eps):
    """y = (x - mu) / sqrt(var + eps) * gamma + beta, with the mean mu and the biased
    variance var of each channel over the batch. Returns (y, mu, var)."""
    axes = _channel_axes(x)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    inv_std = 1.0 / backend.get_array_module(x).sqrt(var + eps)
    y = (x - _per_channel(mean, x)) * _per_channel(weight * inv_std, x) + _per_channel(bias, x)
    return y, mean, var


def batch_norm_backward(x, weight, gy, mean, var, eps, need_x):
    """(dx, dgamma, dbeta) of batch norm in training mode, with m values per channel and
    xhat = (x - mu) / sqrt(var + eps) (docs/04_batchnorm.md):
    dx = gamma inv_std / m (m dy - sum(dy) - xhat sum(dy xhat)),
    dgamma = sum(dy xhat), dbeta = sum(dy). dx is None when not needed."""
    axes = _channel_axes(x)
    m = x.size // x.shape[1]
    inv_std = 1.0 / backend.get_array_module(x).sqrt(var + eps)
    xhat = (x - _per_channel(mean, x)) * _per_channel(inv_std, x)
    gbias, gweight = gy.sum(axis=axes), (gy * xhat).sum(axis=axes)
    gx = None
    if need_x:
        gx = _per_channel(weight * inv_std / m, x) * (
            m * gy - _per_channel(gbias, x) - xhat * _per_channel(gweight, x))
    return gx, gweight, gbias


# ------------------------------------------- layer, group and instance norm (Normalize)
def normalize(x, weight, bias, axes, eps):
    """y = (x - mu) / sqrt(var + eps) * weight + bias, mu and the biased var over ``axes``
    (kept as 1); weight and bias have x's number of dims and broadcast against it.
    Returns (y, mu, var)."""
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    xhat = (x - mean) / backend.get_array_module(x).sqrt(var + eps)
    return xhat * weight + bias, mean, var


def normalize_backward(x, weight, gy, mean, var, eps, axes):
    """dx = inv_std (g - mean(g) - xhat mean(g xhat)), g = dy weight, means over ``axes``
    (batch norm's formula, docs/04_batchnorm.md); dweight = sum(dy xhat) and dbias = sum(dy),
    summed over the axes along which weight broadcasts. Returns (dx, dweight, dbias)."""
    inv_std = 1.0 / backend.get_array_module(x).sqrt(var + eps)
    xhat = (x - mean) * inv_std
    g = gy * weight
    dx = inv_std * (g - g.mean(axis=axes, keepdims=True)
                    - xhat * (g * xhat).mean(axis=axes, keepdims=True))
    broadcast = tuple(i for i, n in enumerate(weight.shape) if n == 1)
    return (dx, (gy * xhat).sum(axis=broadcast, keepdims=True),
            gy.sum(axis=broadcast, keepdims=True))


# ------------------------------------------------------------------------- LeakyReLU
def leaky_relu(x, negative_slope):
    """y = x where x > 0, else a x."""
    return backend.get_array_module(x).where(x > 0, x, x * x.dtype.type(negative_slope))


def leaky_relu_backward(x, gy, negative_slope):
    """dx = dy where x > 0, else a dy."""
    return backend.get_array_module(x).where(x > 0, gy, gy * gy.dtype.type(negative_slope))


# -------------------------------------------------------------- softmax, log-softmax
def softmax(x, axis):
    """y = e^(x - m) / sum e^(x - m) along ``axis``, m the largest x (so exp cannot overflow)."""
    e = backend.get_array_module(x).exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(y, gy, axis):
    """dx = y (dy - sum(dy y)), from the output y (docs/05_activations_and_losses.md)."""
    return y * (gy - (gy * y).sum(axis=axis, keepdims=True))


def log_softmax(x, axis):
    """y = (x - m) - log sum e^(x - m) along ``axis``, m the largest x."""
    xp = backend.get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def log_softmax_backward(y, gy, axis):
    """dx = dy - e^y sum(dy), from the output y (e^y is the softmax)."""
    return gy - backend.get_array_module(y).exp(y) * gy.sum(axis=axis, keepdims=True)


# ------------------------------------------------------------- GELU (tanh formula)
SQRT_2_OVER_PI, GELU_CUBIC = math.sqrt(2 / math.pi), 0.044715


def gelu_tanh(x):
    """(y, t): y = x (1 + t) / 2 with t = tanh u, u = sqrt(2/pi) (x + 0.044715 x^3); t is
    kept for the backward."""
    t = backend.get_array_module(x).tanh((x + x * x * x * GELU_CUBIC) * SQRT_2_OVER_PI)
    return x * (1 + t) * x.dtype.type(0.5), t


def gelu_tanh_backward(x, t, gy):
    """dx = dy [(1 + t) / 2 + x (1 - t^2) / 2 du], du = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
    (docs/05_activations_and_losses.md)."""
    du = (x * x * (3 * GELU_CUBIC) + 1.0) * SQRT_2_OVER_PI
    return gy * ((t + 1.0) * 0.5 + x * (1.0 - t * t) * du * 0.5)


# ------------------------------------------------------------------------ optimizers
def for_each(work, items, sizes, array):
    """``work(item)`` for every item, one after the other (an optimizer's updates)."""
    for item in items:
        work(item)


# ----------------------------------------------------------- pooling and resampling
# Non-overlapping windows: x (..., OH*KH, OW*KW) seen as (..., OH, KH, OW, KW), window
# (i, j) holding x[..., i*KH + u, j*KW + v]; position u*KW + v in the window (row by row).
def _windows(x, kernel):
    """The windows of x as (..., OH, OW, KH*KW), a copy."""
    (KH, KW), (H, W) = kernel, x.shape[-2:]
    blocks = x.reshape(x.shape[:-2] + (H // KH, KH, W // KW, KW))
    blocks = blocks.swapaxes(-3, -2)                                   # (..., OH, OW, KH, KW)
    return blocks.reshape(blocks.shape[:-2] + (KH * KW,))


def _from_windows(windows, kernel):
    """The inverse of `_windows`: (..., OH, OW, KH*KW) back to an image (..., OH*KH, OW*KW)."""
    (KH, KW), (OH, OW) = kernel, windows.shape[-3:-1]
    blocks = windows.reshape(windows.shape[:-1] + (KH, KW)).swapaxes(-3, -2)
    return blocks.reshape(windows.shape[:-3] + (OH * KH, OW * KW))


def block_sum(x, kernel):
    """y[..., i, j] = sum of the KH x KW block x[..., i*KH:(i+1)*KH, j*KW:(j+1)*KW]."""
    return _windows(x, kernel).sum(axis=-1)


def upsample_nearest(x, scale):
    """Every pixel of x (..., H, W) copied into an SH x SW block: (..., H*SH, W*SW)."""
    xp = backend.get_array_module(x)
    (SH, SW), (H, W) = scale, x.shape[-2:]
    blocks = xp.broadcast_to(x[..., :, None, :, None], x.shape[:-2] + (H, SH, W, SW))
    return blocks.reshape(x.shape[:-2] + (H * SH, W * SW))


def position_dtype(kernel):
    """The integer type of window positions: one byte when they fit (saves memory)."""
    return "uint8" if kernel[0] * kernel[1] <= 256 else "int64"


def max_pool_windows(x, kernel):
    """(y, which): each window's largest value and its position in the window (the first
    one, row by row, on ties)."""
    xp = backend.get_array_module(x)
    windows = _windows(x, kernel)
    which = windows.argmax(axis=-1).astype(position_dtype(kernel))
    return xp.take_along_axis(windows, which[..., None], axis=-1)[..., 0], which


def gather_windows(x, which, kernel):
    """y[..., i, j] = window (i, j) of x at its position which[..., i, j]."""
    xp = backend.get_array_module(x)
    return xp.take_along_axis(_windows(x, kernel), which[..., None], axis=-1)[..., 0]


def scatter_windows(g, which, kernel):
    """The adjoint of `gather_windows`: g[..., i, j] put at position which[..., i, j] of
    window (i, j), zeros elsewhere."""
    xp = backend.get_array_module(g)
    chosen = xp.arange(kernel[0] * kernel[1]) == which[..., None]
    return _from_windows(xp.where(chosen, g[..., None], g.dtype.type(0)), kernel)


def pixel_shuffle(x, r):
    """(..., C*r*r, H, W) -> (..., C, H*r, W*r): y[..., c, h*r + i, w*r + j] =
    x[..., c*r*r + i*r + j, h, w], a reshape, a permute and a reshape (a copy)."""
    *lead, C, H, W = x.shape
    blocks = x.reshape(-1, C // (r * r), r, r, H, W).transpose(0, 1, 4, 2, 5, 3)
    return blocks.reshape(*lead, C // (r * r), H * r, W * r)


def pixel_unshuffle(x, r):
    """The inverse of `pixel_shuffle`: (..., C, H*r, W*r) -> (..., C*r*r, H, W)."""
    *lead, C, H, W = x.shape
    blocks = x.reshape(-1, C, H // r, r, W // r, r).transpose(0, 1, 3, 5, 2, 4)
    return blocks.reshape(*lead, C * r * r, H // r, W // r)


def separable_map(x, rows, cols):
    """y = rows @ x @ cols^T on the last two axes: x (..., H, W), rows (OH, H), cols (OW, W)."""
    return rows @ x @ cols.T
