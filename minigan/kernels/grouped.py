"""Fast grouped convolutions: all groups in one im2col and one batched matrix product.

The reference (`reference.per_group`) convolves group after group, a Python loop that is
fine for 2 groups and ruinous for a depthwise convolution (one group per channel). Here
im2col runs once over all channels; its columns, ordered (kh, kw, c) with c = g*Cg + j, are
regrouped into G matrices (P, KH*KW*Cg), P = N*OH*OW, and one batched product with the G
weight matrices gives every group's output at once. The transposed convolution and the
weight gradient regroup the same way. With one input channel per group (depthwise) the G
products are (P, KH*KW) @ (KH*KW, OCg), too thin for BLAS: there one ``einsum`` pass does
the weighted sums (measured 4x faster than the batched product at DCGAN sizes).
Each function equals its reference twin
(tests/test_kernels.py). See ``docs/11_making_it_fast.md``.
"""
from .. import backend
from .im2col import im2col, col2im, channels_last
from .reference import conv_output_size


def _group_columns(cols, taps, groups):
    """im2col's (P, taps*C) matrix as G matrices (G, P, taps*Cg) (a copy)."""
    P = cols.shape[0]
    return (cols.reshape(P, taps, groups, -1).transpose(2, 0, 1, 3)
            .reshape(groups, P, -1))


def conv2d(x, weight, stride, padding, dilation, groups):
    xp = backend.get_array_module(x, weight)
    N, OC, (KH, KW) = x.shape[0], weight.shape[0], weight.shape[2:]
    OH, OW = conv_output_size(x.shape[2:], (KH, KW), stride, padding, dilation)
    Cg, OCg = weight.shape[1], OC // groups
    if Cg == 1:  # depthwise: y[p, g, o] = sum_k cols[p, k, g] W[g*OCg + o, 0, k]
        cols = im2col(x, (KH, KW), (OH, OW), stride, padding, dilation)
        y = xp.einsum("pkg,gok->pgo", cols.reshape(-1, KH * KW, groups),
                      weight.reshape(groups, OCg, KH * KW))
        return y.reshape(N, OH, OW, OC).transpose(0, 3, 1, 2)
    cols = _group_columns(im2col(x, (KH, KW), (OH, OW), stride, padding, dilation),
                          KH * KW, groups)
    w = weight.reshape(groups, OCg, Cg, KH, KW).transpose(0, 3, 4, 2, 1)
    y = xp.matmul(cols, w.reshape(groups, KH * KW * Cg, OCg))  # (G, P, OCg)
    return y.transpose(1, 0, 2).reshape(N, OH, OW, OC).transpose(0, 3, 1, 2)


def conv_transpose2d(x, weight, stride, padding, dilation, out_size, groups):
    xp = backend.get_array_module(x, weight)
    N, C, H, W = x.shape
    Cg, OCg, KH, KW = weight.shape[0] // groups, weight.shape[1], *weight.shape[2:]
    if Cg == 1:  # depthwise: cols[p, k, g, o] = x[p, g] W[g, o, k]
        cols = xp.einsum("pg,gok->pkgo", channels_last(x), weight.reshape(groups, OCg, KH * KW))
    else:
        rows = channels_last(x).reshape(N * H * W, groups, Cg).transpose(1, 0, 2)  # (G, P, Cg)
        w = weight.reshape(groups, Cg, OCg, KH, KW).transpose(0, 1, 3, 4, 2)
        cols = xp.matmul(rows, w.reshape(groups, Cg, KH * KW * OCg))  # (G, P, KH*KW*OCg)
        cols = cols.reshape(groups, N * H * W, KH, KW, OCg).transpose(1, 2, 3, 0, 4)
    cols = cols.reshape(N * H * W, KH * KW * groups * OCg)  # im2col's order: (kh, kw, o)
    return col2im(cols, (N, groups * OCg) + tuple(out_size), (KH, KW), (H, W), stride,
                  padding, dilation)


def conv2d_grad_weight(x, g, kernel_size, stride, padding, dilation, groups):
    xp = backend.get_array_module(x, g)
    (KH, KW), (OC, OH, OW) = tuple(kernel_size), g.shape[1:]
    Cg, OCg = x.shape[1] // groups, OC // groups
    if Cg == 1:  # depthwise: gW[g*OCg + o, 0, k] = sum_p cols[p, k, g] g[p, g, o]
        cols = im2col(x, (KH, KW), (OH, OW), stride, padding, dilation)
        gw = xp.einsum("pkg,pgo->gok", cols.reshape(-1, KH * KW, groups),
                       channels_last(g).reshape(-1, groups, OCg))
        return gw.reshape(OC, 1, KH, KW)
    cols = _group_columns(im2col(x, (KH, KW), (OH, OW), stride, padding, dilation),
                          KH * KW, groups)
    rows = channels_last(g).reshape(-1, groups, OCg).transpose(1, 0, 2)  # (G, P, OCg)
    gw = xp.matmul(cols.transpose(0, 2, 1), rows)  # (G, KH*KW*Cg, OCg)
    return gw.reshape(groups, KH, KW, Cg, OCg).transpose(0, 4, 3, 1, 2).reshape(OC, Cg, KH, KW)
