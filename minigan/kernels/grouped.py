"""Fast grouped convolutions: one im2col for all groups, then one matrix product per group.

The reference (`reference.per_group`) slices the channels and convolves group after group,
im2col included: fine for 2 groups, ruinous for a depthwise convolution (one group per
channel). Here im2col runs once, with its columns ordered group by group (`im2col(...,
groups=G)`), so group g's columns are one block of the matrix: a strided view that BLAS
multiplies in place, no copy. The groups' products are shared between the threads. The
transposed convolution and the weight gradient use the same blocks. With one input channel
per group (depthwise) the products are too thin for BLAS, and one ``einsum`` does the
weighted sums instead (measured about 4x faster than a batched product).
Each function equals its reference twin (tests/test_kernels.py).
See ``docs/11_making_it_fast.md``.
"""
from .. import backend
from .im2col import im2col, col2im, channels_last, weight_matrix
from .parallel import over_batch
from .reference import conv_output_size


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
    cols = im2col(x, (KH, KW), (OH, OW), stride, padding, dilation, groups)
    if Cg == 1:  # depthwise: y[p, g, o] = sum_k cols[p, g, k] W[g*OCg + o, 0, k]
        y = xp.einsum("pgk,gok->pgo", cols.reshape(-1, groups, KH * KW),
                      weight.reshape(groups, OCg, KH * KW))
        return y.reshape(N, OH, OW, OC).transpose(0, 3, 1, 2)
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
    rows = channels_last(x)  # (P, C)
    if Cg == 1:  # depthwise: cols[p, k, g, o] = x[p, g] W[g, o, k]
        cols = xp.einsum("pg,gok->pkgo", rows, weight.reshape(groups, OCg, KH * KW))
    else:
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
    cols = im2col(x, (KH, KW), (OH, OW), stride, padding, dilation, groups)
    rows = channels_last(g)  # (P, OC)
    if Cg == 1:  # depthwise: gW[g*OCg + o, 0, k] = sum_p cols[p, g, k] dy[p, g, o]
        gw = xp.einsum("pgk,pgo->gok", cols.reshape(-1, groups, KH * KW),
                       rows.reshape(-1, groups, OCg))
        return gw.reshape(OC, 1, KH, KW)
    blocks = cols.reshape(-1, groups, KH * KW * Cg)
    gw = xp.empty((OC, Cg, KH, KW), dtype=cols.dtype)

    def product(group):
        part = blocks[:, group].T @ rows[:, group * OCg:(group + 1) * OCg]  # (KH*KW*Cg, OCg)
        gw[group * OCg:(group + 1) * OCg] = part.reshape(KH, KW, Cg, OCg).transpose(3, 2, 0, 1)
    _each_group(product, groups, cols.size * OCg, gw)
    return gw
