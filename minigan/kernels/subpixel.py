"""A transposed convolution with stride S computed as S x S small convolutions ("sub-pixel").

Raw arrays only; `conv.py` chooses between this and im2col's ``col2im``. Shape letters
as in ``im2col.py``; T = K / S taps per phase. See ``docs/03_convolution.md``.

The col2im way computes ``x @ W`` (every input pixel times every kernel tap) and then adds
the KH*KW slices of that matrix onto the image, one strided read-modify-write pass each. But
with stride S the output pixels fall into S x S *phases* (row mod S, column mod S), and the
pixels of one phase only ever meet the taps ``kh = r + S*a``: each phase is an ordinary
stride-1 convolution of x with a T x T sub-kernel. Better still, all phases read the *same*
T x T windows of x, so one im2col and one matrix product, with the S*S sub-kernels side by
side as columns, give every phase at once; a last copy interleaves them into the image.

Derivation: a transposed convolution puts ``x[i] W[kh]`` at padded output row
``i*S + kh``. Write that row as ``m*S + r`` (phase r) and the tap as ``kh = r + S*a``: then
``m = i + a``, so output row m of phase r sums ``x[m - a] W[r + S*a]`` over a = 0..T-1, a
window of T input rows ending at row m, the same window for every r.

The price: windows that hang over the image border are computed for every phase, about
(H+T-1)(W+T-1) / (H*W) times the multiply-adds of col2im's product, so `worth_it` picks
this method only where that waste costs less than the col2im passes it saves.
"""
from .. import backend
from . import chunked
from .im2col import im2col
from .parallel import over_batch, matmul_on_threads


def applies(kernel_size, stride, padding, output_padding, dilation):
    """True when every phase has the same number of taps (S divides K, no dilation) and the
    output lies within the windows computed (output_padding <= padding)."""
    return all(d == 1 and k % s == 0 and op <= p for k, s, p, op, d
               in zip(kernel_size, stride, padding, output_padding, dilation))


def worth_it(in_channels, out_channels, size, kernel_size, stride):
    """A cost rule measured on a 2-core x86 CPU (benchmarks/conv_transpose_methods.py):
    the extra multiply-adds per output value, C * (wasted border windows) / (H*W), must stay
    below about 40, the cost of col2im's additions per output value in the same units; and
    with few output channels (RGB images) the product's S*S*OC columns are too few for BLAS
    to run at full speed, so col2im (which then runs along image rows) wins."""
    (H, W), (TH, TW) = size, [k // s for k, s in zip(kernel_size, stride)]
    waste = ((H + TH - 1) * (W + TW - 1) - H * W) / (H * W)
    return in_channels * waste <= 40 and out_channels >= 8


def phase_weight_matrix(weight, stride, groups=1):
    """W (C, OCg, KH, KW) as G matrices (G, TH*TW*Cg, SH*SW*OCg), one per group (Cg = C / G):
    rows in im2col's window order (u, v, c), columns the sub-kernels of the phases (r, q, o),
    with entry ``W[g*Cg + c, o, r + SH*(TH-1-u), q + SW*(TW-1-v)]`` (window position u holds
    x[m-a], a = TH-1-u)."""
    C, OCg, KH, KW = weight.shape
    (SH, SW), TH, TW, Cg = stride, KH // stride[0], KW // stride[1], C // groups
    taps = weight.reshape(groups, Cg, OCg, TH, SH, TW, SW)[:, :, :, ::-1, :, ::-1, :]
    return taps.transpose(0, 3, 5, 1, 4, 6, 2).reshape(groups, TH * TW * Cg, SH * SW * OCg)


def conv_transpose2d_phases(x, weight, stride, padding, out_size, groups=1):
    """The transposed convolution of x (N, C, H, W) with weight (C, OC / G, KH, KW), cropped
    to ``out_size`` = (OH, OW) after ``padding``; an (N, OC, OH, OW) view of channels-last
    memory. With G groups, im2col's columns come group by group and each group's block is
    multiplied by its own phase matrix."""
    xp = backend.get_array_module(x, weight)
    N, C, H, W = x.shape
    OCg, KH, KW = weight.shape[1:]
    (SH, SW), (PH, PW), (OH, OW) = stride, padding, out_size
    TH, TW = KH // SH, KW // SW
    MH, MW = H + TH - 1, W + TW - 1  # rows and columns of each phase, border included
    matrices = phase_weight_matrix(weight, stride, groups)
    image = xp.empty((N, MH, SH, MW, SW, groups, OCg), dtype=xp.result_type(x, weight))
    if groups == 1:
        cols = im2col(x, (TH, TW), (MH, MW), (1, 1), (TH - 1, TW - 1), (1, 1))
        phases = matmul_on_threads(cols, matrices[0]).reshape(N, MH, MW, 1, SH, SW, OCg)

        def interleave(start, stop):  # the images start:stop (see parallel.py)
            image[start:stop] = phases[start:stop].transpose(0, 1, 4, 2, 5, 3, 6)
        over_batch(interleave, N, 2 * image.size, image)
    else:  # a few images at a time (`chunked.py`): windows, products and interleave in cache
        def work(start, stop):
            phases = None
            for a, b, cols in chunked.slices_of_windows(x, (TH, TW), (MH, MW), (1, 1),
                                                        (TH - 1, TW - 1), (1, 1), groups,
                                                        start, stop):
                if phases is None:
                    phases = xp.empty((groups, cols.shape[0], SH * SW * OCg), dtype=image.dtype)
                part = phases[:, :cols.shape[0]]
                xp.matmul(cols.transpose(1, 0, 2), matrices, out=part)
                image[a:b] = part.reshape(groups, b - a, MH, MW, SH, SW, OCg).transpose(
                    1, 2, 4, 3, 5, 0, 6)
        over_batch(work, N, x.size * (TH * TW) * SH * SW * OCg, image)
    image = image.reshape(N, MH * SH, MW * SW, groups * OCg)
    return image[:, PH:PH + OH, PW:PW + OW, :].transpose(0, 3, 1, 2)
