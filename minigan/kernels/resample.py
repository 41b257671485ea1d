"""Fast pooling and resampling: the same results as the reference kernels `block_sum`,
`upsample_nearest`, `max_pool_windows`, `scatter_windows`, `separable_map` and
`pixel_shuffle`/`pixel_unshuffle`, without the reference's big copies and fancy indexes.

Shape letters: B images (all leading axes together), H x W image, KH x KW window (as
large as the stride: windows do not overlap), OH x OW output. See
``docs/11_making_it_fast.md``.

The reference turns every window into a row of its own (a transposed copy of the image)
and reduces or indexes along it. Here the image is only *viewed* as (B, OH, KH, OW, KW)
and the KH*KW window positions are visited one strided slice at a time: a 2x2 window is
four elementwise passes over a quarter of the image each, and reducing the KH rows first
(whole rows of memory) leaves the strided work to the smaller second step. Nearest
upsampling is two `repeat`s; `separable_map` does its two products on the threads, a slice
of the batch each. Pixel shuffle is a permuting copy, shared between the threads, a slice of
the batch each.
"""
from .. import backend
from . import reference
from .parallel import over_batch

gather_windows = reference.gather_windows  # only second derivatives need it


# Elements handled together (a megabyte of float32), so that the several passes over one
# chunk find it in the cache; on 2 cores this measured 1.5-2x faster than whole-batch passes.
CHUNK = 1 << 18


def _in_chunks(work, per_item, array):
    """``work`` over start:stop, CHUNK elements (``per_item`` an item) at a time on the CPU
    (a GPU takes each pass whole)."""
    if backend.device_of(array) != "cpu":
        return work
    step = max(1, CHUNK // per_item)

    def chunked(start, stop):
        for first in range(start, stop, step):
            work(first, min(first + step, stop))
    return chunked


def _blocks(x, kernel):
    """x (..., OH*KH, OW*KW) viewed as (B, OH, KH, OW, KW)."""
    (KH, KW), (H, W) = kernel, x.shape[-2:]
    return x.reshape(-1, H // KH, KH, W // KW, KW)


def block_sum(x, kernel):
    xp = backend.get_array_module(x)
    (KH, KW), blocks = kernel, _blocks(x, kernel)
    B, OH, _, OW, _ = blocks.shape
    y = xp.empty((B, OH, OW), dtype=x.dtype)

    def work(start, stop):
        part = blocks[start:stop]
        rows = part[:, :, 0].copy()            # (b, OH, OW, KW): the KH rows added first
        for u in range(1, KH):
            rows += part[:, :, u]
        out = y[start:stop]
        out[...] = rows[..., 0]
        for v in range(1, KW):
            out += rows[..., v]
    over_batch(_in_chunks(work, x.size // B, x), B, 2 * x.size, x)
    return y.reshape(x.shape[:-2] + (OH, OW))


def upsample_nearest(x, scale):
    xp = backend.get_array_module(x)
    return xp.repeat(xp.repeat(x, scale[1], axis=-1), scale[0], axis=-2)


def max_pool_windows(x, kernel):
    """Each window row's maximum first (and its column), then the best row: a later pixel
    wins only when strictly larger, so ties go to the first maximum, row by row."""
    xp = backend.get_array_module(x)
    (KH, KW), blocks = kernel, _blocks(x, kernel)
    B, OH, _, OW, _ = blocks.shape
    y = xp.empty((B, OH, OW), dtype=x.dtype)
    dtype = reference.position_dtype(kernel)
    which = xp.empty((B, OH, OW), dtype=dtype)

    def select(larger, new, old):  # where(larger, new, old); NumPy's where is 20x slower
        return new * larger + old * ~larger

    def row_max(part, u):
        best, column = part[:, :, u, :, 0], xp.zeros(part.shape[:2] + (OW,), dtype=dtype)
        for v in range(1, KW):
            value = part[:, :, u, :, v]
            column = select(value > best, xp.asarray(v, dtype=dtype), column)
            best = xp.maximum(best, value)
        return best, column

    def work(start, stop):
        part = blocks[start:stop]
        best, index = row_max(part, 0)
        for u in range(1, KH):
            value, column = row_max(part, u)
            larger = value > best
            index = select(larger, column + xp.asarray(u * KW, dtype=dtype), index)
            best = xp.maximum(best, value)
        y[start:stop], which[start:stop] = best, index
    over_batch(_in_chunks(work, x.size // B, x), B, 3 * x.size, x)
    return y.reshape(x.shape[:-2] + (OH, OW)), which.reshape(x.shape[:-2] + (OH, OW))


def scatter_windows(g, which, kernel):
    xp = backend.get_array_module(g)
    (KH, KW), (OH, OW) = kernel, g.shape[-2:]
    g3, which3 = g.reshape(-1, OH, OW), which.reshape(-1, OH, OW)
    B = g3.shape[0]
    blocks = xp.empty((B, OH, KH, OW, KW), dtype=g.dtype)

    def work(start, stop):
        for u in range(KH):
            for v in range(KW):
                xp.multiply(g3[start:stop], which3[start:stop] == u * KW + v,
                            out=blocks[start:stop, :, u, :, v])
    over_batch(_in_chunks(work, blocks.size // B, g), B, 3 * blocks.size, g)
    return blocks.reshape(g.shape[:-2] + (OH * KH, OW * KW))


def separable_map(x, rows, cols):
    xp = backend.get_array_module(x, rows, cols)
    (H, W), OH, OW = x.shape[-2:], rows.shape[0], cols.shape[0]
    x3 = x.reshape(-1, H, W)
    y = xp.empty((x3.shape[0], OH, OW), dtype=xp.result_type(x, rows, cols))
    cols_t = cols.T.copy()

    def work(start, stop):
        xp.matmul(rows @ x3[start:stop], cols_t, out=y[start:stop])
    over_batch(work, x3.shape[0], 2 * y.size, x)
    return y.reshape(x.shape[:-2] + (OH, OW))


def pixel_shuffle(x, r):
    """Sub-image (i, j) of each group of r*r channels is copied to the pixels (h*r + i,
    w*r + j): r*r strided copies of whole rows (one element at a time, as a plain permuted
    copy does it, measured 25% slower), the batch in slices on the threads."""
    xp = backend.get_array_module(x)
    *lead, C, H, W = x.shape
    source = x.reshape(-1, C // (r * r), r, r, H, W)
    y = xp.empty((source.shape[0], C // (r * r), H, r, W, r), dtype=x.dtype)

    def work(start, stop):
        for i in range(r):
            for j in range(r):
                y[start:stop, :, :, i, :, j] = source[start:stop, :, i, j]
    over_batch(work, source.shape[0], 2 * x.size, x)
    return y.reshape(*lead, C // (r * r), H * r, W * r)


def pixel_unshuffle(x, r):
    """The inverse copies of `pixel_shuffle`."""
    xp = backend.get_array_module(x)
    *lead, C, H, W = x.shape
    source = x.reshape(-1, C, H // r, r, W // r, r)
    y = xp.empty((source.shape[0], C, r, r, H // r, W // r), dtype=x.dtype)

    def work(start, stop):
        for i in range(r):
            for j in range(r):
                y[start:stop, :, i, j] = source[start:stop, :, :, i, :, j]
    over_batch(work, source.shape[0], 2 * x.size, x)
    return y.reshape(*lead, C * r * r, H // r, W // r)
