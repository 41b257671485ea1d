"""Pooling, upsampling, pixel shuffle and padding layers: what they promise.

1. Forward passes equal their definitions, written here as plain loops over output pixels.
2. Gradients match finite differences to first AND second order, over drawn shapes,
   kernels, strides, paddings and sizes, batched (N, C, H, W) and unbatched (C, H, W).
   Max pooling is checked on inputs without ties (a tie is a kink).
3. Every layer equals PyTorch's, forward and gradient, built from the same positional
   arguments (docs/03_convolution.md, "Pooling and resampling").
4. What is not implemented, and bad arguments, get errors that say so.
"""
import inspect
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigan as mg
import minigan.nn.functional as F
from minigan import nn
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor


# --------------------------------------------------------------------- the definitions
def pool_loops(x, kernel, stride, padding, reduce, dilation=(1, 1), fill=0.0):
    """reduce(window) for every window of the padded input (padding filled with ``fill``)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    pad = ((0, 0),) * (x.ndim - 2) + ((ph, ph), (pw, pw))
    x_pad = np.pad(x, pad, constant_values=fill)
    OH = (x.shape[-2] + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    OW = (x.shape[-1] + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros(x.shape[:-2] + (OH, OW))
    for i, j in np.ndindex(OH, OW):
        rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
        cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
        window = x_pad[..., rows, cols]
        y[..., i, j] = reduce(window, (i * sh - ph, j * sw - pw))
    return y


def avg_pool_loops(x, kernel, stride, padding, count_include_pad=True, divisor_override=None):
    def mean(window, corner):
        if divisor_override:
            return window.sum((-2, -1)) / divisor_override
        if count_include_pad:
            return window.mean((-2, -1))
        rows = [r for r in range(corner[0], corner[0] + kernel[0]) if 0 <= r < x.shape[-2]]
        cols = [c for c in range(corner[1], corner[1] + kernel[1]) if 0 <= c < x.shape[-1]]
        return window.sum((-2, -1)) / (len(rows) * len(cols))
    return pool_loops(x, kernel, stride, padding, mean)


def max_pool_loops(x, kernel, stride, padding, dilation):
    return pool_loops(x, kernel, stride, padding, lambda w, _: w.max((-2, -1)), dilation, -np.inf)


def adaptive_avg_pool_loops(x, out):
    H, W = x.shape[-2:]
    y = np.zeros(x.shape[:-2] + tuple(out))
    for i, j in np.ndindex(*out):
        r0, r1 = (i * H) // out[0], math.ceil((i + 1) * H / out[0])
        c0, c1 = (j * W) // out[1], math.ceil((j + 1) * W / out[1])
        y[..., i, j] = x[..., r0:r1, c0:c1].mean((-2, -1))
    return y


def source(i, n, m, scale_factor, align_corners):
    """PyTorch's source coordinate of output pixel i (of m) in an input of n pixels."""
    if align_corners:
        return i * (n - 1) / (m - 1) if m > 1 else 0.0
    step = n / m if scale_factor is None else 1 / scale_factor
    return max((i + 0.5) * step - 0.5, 0.0)


def interpolate_loops(x, out, scale_factor, mode, align_corners):
    (H, W), (OH, OW) = x.shape[-2:], out
    scales = scale_factor if isinstance(scale_factor, tuple) else (scale_factor, scale_factor)
    y = np.zeros(x.shape[:-2] + (OH, OW))
    for i, j in np.ndindex(OH, OW):
        if mode == "nearest":
            r = (i * H) // OH if scales[0] is None else min(math.floor(i / scales[0]), H - 1)
            c = (j * W) // OW if scales[1] is None else min(math.floor(j / scales[1]), W - 1)
            y[..., i, j] = x[..., r, c]
            continue
        r = source(i, H, OH, scales[0], align_corners)
        c = source(j, W, OW, scales[1], align_corners)
        r0, c0 = min(int(r), H - 1), min(int(c), W - 1)
        r1, c1 = min(r0 + 1, H - 1), min(c0 + 1, W - 1)
        a, b = r - r0, c - c0
        y[..., i, j] = ((1 - a) * (1 - b) * x[..., r0, c0] + (1 - a) * b * x[..., r0, c1]
                        + a * (1 - b) * x[..., r1, c0] + a * b * x[..., r1, c1])
    return y


def pixel_shuffle_loops(x, r):
    *lead, C, H, W = x.shape
    y = np.zeros((*lead, C // (r * r), H * r, W * r))
    for c, h, w, i, j in np.ndindex(C // (r * r), H, W, r, r):
        y[..., c, h * r + i, w * r + j] = x[..., c * r * r + i * r + j, h, w]
    return y


# ------------------------------------------------------------------------ strategies
def pairs(low, high):
    return st.tuples(st.integers(low, high), st.integers(low, high))


@st.composite
def image_shapes(draw, smallest=(1, 1), max_side=5):
    """(N, C, H, W) or (C, H, W), each side at least ``smallest``."""
    lead = (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()
    sides = tuple(draw(st.integers(s, max(s, max_side))) for s in smallest)
    return lead + (draw(st.integers(1, 2)),) + sides


@st.composite
def pool_cases(draw, dilated=False):
    """kernel, stride, padding (at most half the kernel, as PyTorch), dilation, and a shape
    whose padded input holds at least one window."""
    kernel, stride = draw(pairs(1, 3)), draw(pairs(1, 3))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = draw(pairs(1, 2)) if dilated else (1, 1)
    smallest = tuple(max(1, d * (k - 1) + 1 - 2 * p) for k, p, d in zip(kernel, padding, dilation))
    return draw(image_shapes(smallest)), kernel, stride, padding, dilation


@st.composite
def distinct_arrays(draw, shape):
    """Values without ties, at least 4/size apart (far more than the finite-difference
    step), in a random order: max pooling is differentiable there."""
    n = int(np.prod(shape))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.permutation(np.linspace(-2, 2, n)).reshape(shape)


@st.composite
def interpolate_cases(draw):
    shape = draw(image_shapes(max_side=4))
    if len(shape) == 3:
        shape = (1,) + shape
    mode = draw(st.sampled_from(["nearest", "bilinear"]))
    align_corners = draw(st.booleans()) if mode == "bilinear" else None
    if draw(st.booleans()):
        return shape, dict(size=draw(pairs(1, 6)), mode=mode, align_corners=align_corners)
    scale = draw(st.sampled_from([2, 3, 0.5, 1.5, (2, 0.75), (1.25, 3)]))
    if min(math.floor(n * s) for n, s in zip(shape[-2:], scale if isinstance(scale, tuple)
                                              else (scale, scale))) < 1:
        scale = 2
    return shape, dict(scale_factor=scale, mode=mode, align_corners=align_corners)


def output_size(shape, args):
    if args.get("size") is not None:
        return args["size"]
    s = args["scale_factor"]
    s = s if isinstance(s, tuple) else (s, s)
    return tuple(math.floor(n * f) for n, f in zip(shape[-2:], s))


def check_both_orders(fn, inputs):
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


# ------------------------------------------------------------------------ avg pooling
@given(data=st.data())
def test_avg_pool2d_matches_the_definition_and_its_gradients(device, data):
    shape, kernel, stride, padding, _ = data.draw(pool_cases())
    count_include_pad = data.draw(st.booleans())
    divisor_override = data.draw(st.sampled_from([None, None, 2]))
    x = make_tensor(data.draw(arrays(shape)), device)
    args = (kernel, stride, padding, False, count_include_pad, divisor_override)
    expected = avg_pool_loops(x.numpy(), kernel, stride, padding, count_include_pad,
                              divisor_override)
    np.testing.assert_allclose(F.avg_pool2d(x, *args).numpy(), expected, rtol=1e-10, atol=1e-12)
    check_both_orders(lambda x: F.avg_pool2d(x, *args), [x])


def ops_of_the_gradient(y, x):
    """The names of the ops that compute dx (with create_graph), and dx for dy = 1."""
    (gx,) = mg.grad(y, [x], mg.ones_like(y, requires_grad=True), create_graph=True)
    names, stack = set(), [gx.creator]
    while stack:
        f = stack.pop()
        names.add(type(f).__name__)
        stack += [t.creator for t in f.inputs if t.creator is not None]
    return names, gx


def test_avg_pool2d_gradient_is_a_transposed_convolution(device):
    """Average pooling is conv2d with a constant kernel, so its input gradient is a
    ConvTranspose2d, whose own gradient is a Conv2d again: closed under differentiation.
    Windows that tile the image are block sums instead, whose gradient is a block copy."""
    x = make_tensor(np.random.default_rng(0).normal(size=(1, 2, 4, 4)), device)
    names, gx = ops_of_the_gradient(F.avg_pool2d(x, 2, stride=1), x)
    assert "ConvTranspose2d" in names
    names, gx = ops_of_the_gradient(F.avg_pool2d(x, 2), x)
    assert "UpsampleNearest" in names
    np.testing.assert_allclose(gx.numpy(), np.full((1, 2, 4, 4), 0.25))


@given(data=st.data())
def test_pooling_windows_that_tile_the_image(device, data):
    """stride = kernel, no padding, sides divisible by the kernel: the block path
    (kernels.block_sum, max_pool_windows), checked like the general one."""
    kernel = data.draw(pairs(1, 3))
    lead = data.draw(st.sampled_from([(2,), (1, 2), (2, 1)]))
    shape = lead + tuple(k * data.draw(st.integers(1, 3)) for k in kernel)
    x = make_tensor(data.draw(distinct_arrays(shape)), device)
    np.testing.assert_allclose(F.avg_pool2d(x, kernel).numpy(),
                               avg_pool_loops(x.numpy(), kernel, kernel, (0, 0)), rtol=1e-10)
    np.testing.assert_array_equal(F.max_pool2d(x, kernel).numpy(),
                                  max_pool_loops(x.numpy(), kernel, kernel, (0, 0), (1, 1)))
    check_both_orders(lambda x: F.avg_pool2d(x, kernel, divisor_override=3), [x])
    check_both_orders(lambda x: F.max_pool2d(x, kernel), [x])


# ------------------------------------------------------------------------ max pooling
@given(data=st.data())
def test_max_pool2d_matches_the_definition_and_its_gradients(device, data):
    shape, kernel, stride, padding, dilation = data.draw(pool_cases(dilated=True))
    x = make_tensor(data.draw(distinct_arrays(shape)), device)
    args = (kernel, stride, padding, dilation)
    expected = max_pool_loops(x.numpy(), kernel, stride, padding, dilation)
    np.testing.assert_array_equal(F.max_pool2d(x, *args).numpy(), expected)
    check_both_orders(lambda x: F.max_pool2d(x, *args), [x])


def test_max_pool2d_ties_send_the_gradient_to_the_first_maximum(device):
    x = make_tensor(np.array([[[[1.0, 3.0, 3.0], [3.0, 2.0, 3.0]]]]), device)
    y = F.max_pool2d(x, (2, 3))
    y.backward(mg.ones_like(y))
    assert y.tolist() == [[[[3.0]]]]
    assert x.grad.tolist() == [[[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]]


def test_max_pool2d_ties_in_tiling_windows_go_to_the_first_maximum(device):
    x = make_tensor(np.array([[[[1.0, 3.0, 5.0, 5.0], [3.0, 2.0, 5.0, 5.0]]]]), device)
    y = F.max_pool2d(x, 2)
    y.backward(mg.ones_like(y))
    assert y.tolist() == [[[[3.0, 5.0]]]]
    assert x.grad.tolist() == [[[[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]]


def test_max_pool2d_never_picks_the_padding(device):
    x = make_tensor(-np.arange(1.0, 10.0).reshape(1, 1, 3, 3), device)
    y = F.max_pool2d(x, 3, stride=1, padding=1)  # all values negative, padding is -inf
    np.testing.assert_array_equal(y.numpy()[0, 0], [[-1, -1, -2], [-1, -1, -2], [-4, -4, -5]])


# --------------------------------------------------------------- adaptive avg pooling
@given(data=st.data())
def test_adaptive_avg_pool2d_matches_the_definition_and_its_gradients(device, data):
    shape = data.draw(image_shapes(max_side=6))
    out = data.draw(pairs(1, 6))
    x = make_tensor(data.draw(arrays(shape)), device)
    expected = adaptive_avg_pool_loops(x.numpy(), out)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, out).numpy(), expected, rtol=1e-10,
                               atol=1e-12)
    check_both_orders(lambda x: F.adaptive_avg_pool2d(x, out), [x])


# --------------------------------------------------------------------- interpolation
@given(data=st.data())
def test_interpolate_matches_the_definition_and_its_gradients(device, data):
    shape, args = data.draw(interpolate_cases())
    x = make_tensor(data.draw(arrays(shape)), device)
    expected = interpolate_loops(x.numpy(), output_size(shape, args), args.get("scale_factor"),
                                 args["mode"], args["align_corners"])
    np.testing.assert_allclose(F.interpolate(x, **args).numpy(), expected, rtol=1e-10,
                               atol=1e-12)
    check_both_orders(lambda x: F.interpolate(x, **args), [x])


def test_interpolate_gradients_are_the_adjoint_maps(device):
    """Nearest by whole factors is a block copy whose gradient is a block sum (and back);
    bilinear is A_H @ x @ A_W^T, whose gradient is the same map transposed; other nearest
    sizes are a gather whose gradient is a scatter."""
    x = make_tensor(np.random.default_rng(0).normal(size=(1, 2, 3, 4)), device)
    cases = [(dict(scale_factor=2), {"BlockSum"}, 4.0), (dict(size=(6, 12)), {"BlockSum"}, 6.0),
             (dict(scale_factor=1.5), {"GetItemGrad"}, None),
             (dict(scale_factor=2, mode="bilinear"), {"SeparableMap"}, 4.0)]
    for args, ops, total in cases:
        names, gx = ops_of_the_gradient(F.interpolate(x, **args), x)
        assert ops <= names, (args, names)
        if total is not None:  # every input pixel's copies (or weights) add up to this
            np.testing.assert_allclose(gx.numpy(), np.full(x.shape, total))


# ---------------------------------------------------------------------- pixel shuffle
@given(data=st.data())
def test_pixel_shuffle_and_unshuffle_match_the_definition_and_undo_each_other(device, data):
    r = data.draw(st.integers(1, 3))
    lead = data.draw(st.sampled_from([(), (2,)]))
    shape = lead + (r * r * data.draw(st.integers(1, 2)),) + data.draw(pairs(1, 3))
    x = make_tensor(data.draw(arrays(shape)), device)
    y = F.pixel_shuffle(x, r)
    np.testing.assert_array_equal(y.numpy(), pixel_shuffle_loops(x.numpy(), r))
    np.testing.assert_array_equal(F.pixel_unshuffle(y, r).numpy(), x.numpy())
    check_both_orders(lambda x: F.pixel_shuffle(x, r), [x])
    check_both_orders(lambda y: F.pixel_unshuffle(y, r), [y.detach().requires_grad_()])


# ---------------------------------------------------------------------- padding layers
@pytest.mark.parametrize("layer, mode", [(nn.ZeroPad2d, "constant"),
                                         (nn.ReflectionPad2d, "reflect"),
                                         (nn.ReplicationPad2d, "edge")])
@given(data=st.data())
def test_padding_layers_match_numpy_pad_and_their_gradients(device, layer, mode, data):
    shape = data.draw(image_shapes(smallest=(3, 3)))
    padding = data.draw(st.one_of(st.integers(0, 2), st.tuples(*[st.integers(0, 2)] * 4)))
    left, right, top, bottom = (padding,) * 4 if isinstance(padding, int) else padding
    x = make_tensor(data.draw(arrays(shape)), device)
    widths = ((0, 0),) * (len(shape) - 2) + ((top, bottom), (left, right))
    np.testing.assert_array_equal(layer(padding)(x).numpy(), np.pad(x.numpy(), widths, mode))
    check_both_orders(layer(padding), [x])


# --------------------------------------------------------------------- PyTorch oracle
LAYERS = [  # (name, PyTorch-order positional arguments, input shape)
    ("AvgPool2d", (3, 2, 1), (2, 4, 7, 6)),
    ("AvgPool2d", (3, 2, 1, False, False), (4, 7, 6)),
    ("AvgPool2d", ((2, 3), (1, 2), (1, 0), False, True, 4), (2, 4, 7, 6)),
    ("MaxPool2d", (3, 2, 1, 2), (2, 4, 7, 6)),
    ("MaxPool2d", ((2, 3), 1, (1, 1)), (4, 7, 6)),
    ("AdaptiveAvgPool2d", ((3, 4),), (2, 4, 7, 6)),
    ("AdaptiveAvgPool2d", ((5, None),), (4, 7, 6)),
    ("AdaptiveAvgPool2d", (1,), (2, 4, 7, 6)),
    ("Upsample", (None, 2), (2, 4, 7, 6)),
    ("Upsample", ((11, 13), None, "nearest"), (2, 4, 7, 6)),
    ("Upsample", ((11, 4), None, "bilinear", True), (2, 4, 7, 6)),
    ("Upsample", (None, 1.5, "bilinear", False), (2, 4, 7, 6)),
    ("Upsample", (None, (0.5, 2.5), "bilinear"), (2, 4, 7, 6)),
    ("PixelShuffle", (2,), (2, 8, 3, 2)),
    ("PixelUnshuffle", (2,), (4, 6, 4)),
    ("ZeroPad2d", ((1, 2, 0, 3),), (2, 4, 7, 6)),
    ("ConstantPad2d", (1, 3.5), (4, 7, 6)),
    ("ReflectionPad2d", (2,), (2, 4, 7, 6)),
    ("ReplicationPad2d", ((1, 0, 2, 3),), (4, 7, 6)),
]


@pytest.mark.parametrize("name, args, shape", LAYERS, ids=[f"{n}{a}{s}" for n, a, s in LAYERS])
def test_layers_match_pytorch(device, name, args, shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = rng.normal(size=shape)
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch.nn, name)(*args)(tx)
    g = rng.normal(size=tuple(ty.shape))
    ty.backward(torch.from_numpy(g))

    mx = make_tensor(x, device)
    my = getattr(nn, name)(*args)(mx)
    my.backward(make_tensor(g, device, requires_grad=False))
    np.testing.assert_allclose(my.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted({n for n, _, _ in LAYERS}))
def test_module_signatures_match_pytorch(name):
    torch = pytest.importorskip("torch")
    ours = list(inspect.signature(getattr(nn, name)).parameters.items())
    theirs = list(inspect.signature(getattr(torch.nn, name)).parameters.items())
    assert [(k, p.default) for k, p in ours] == [(k, p.default) for k, p in theirs]


def test_max_pool2d_tie_rule_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 3.0, 3.0], [3.0, 3.0, 1.0, 3.0]]]])
    tx, mx = torch.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(tx, 2, 1).sum().backward()
    F.max_pool2d(mx, 2, 1).sum().backward()
    np.testing.assert_array_equal(mx.grad.numpy(), tx.grad.numpy())


# ---------------------------------------------------------------------------- errors
def ones(device, *shape):
    return make_tensor(np.ones(shape), device, requires_grad=False)


def test_errors_for_what_is_not_implemented(device):
    x = ones(device, 1, 1, 4, 4)
    with pytest.raises(NotImplementedError, match="avg_pool2d: ceil_mode=True is not implemented"):
        F.avg_pool2d(x, 3, 2, 0, True)
    with pytest.raises(NotImplementedError, match="max_pool2d: ceil_mode=True"):
        F.max_pool2d(x, 3, 2, ceil_mode=True)
    with pytest.raises(NotImplementedError, match="max_pool2d: return_indices=True"):
        F.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(NotImplementedError, match="mode 'bicubic' is not supported"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(x, scale_factor=2, mode="bilinear", antialias=True)


def test_modules_refuse_what_minigan_lacks_when_built():
    # Not at the first forward, which may come after a long data load.
    with pytest.raises(NotImplementedError, match="AvgPool2d: ceil_mode=True"):
        nn.AvgPool2d(3, 2, 0, True)
    with pytest.raises(NotImplementedError, match="MaxPool2d: ceil_mode=True"):
        nn.MaxPool2d(3, 2, ceil_mode=True)
    with pytest.raises(NotImplementedError, match="MaxPool2d: return_indices=True"):
        nn.MaxPool2d(2, 2, 0, 1, True)
    with pytest.raises(NotImplementedError, match="Upsample: mode 'bicubic' is not supported"):
        nn.Upsample(scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="PixelShuffle: upscale_factor must be a positive int"):
        nn.PixelShuffle(0)
    with pytest.raises(ValueError, match="PixelUnshuffle: downscale_factor must be a positive"):
        nn.PixelUnshuffle(1.5)
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: reduction must be one of"):
        nn.CrossEntropyLoss(reduction="average")
    with pytest.raises(ValueError, match=r"MSELoss: reduction must be one of"):
        nn.MSELoss(reduction="batchmean")  # KLDivLoss only
    nn.KLDivLoss(reduction="batchmean")


def test_errors_for_bad_arguments(device):
    x = ones(device, 1, 2, 4, 4)
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half of kernel_size"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"expected a 4-D input \(N, C, H, W\) or a 3-D one"):
        F.avg_pool2d(ones(device, 4, 4), 2)
    with pytest.raises(ValueError, match=r"gives an empty output"):
        F.max_pool2d(x, 5)
    with pytest.raises(ValueError, match="output_size must hold positive ints"):
        F.adaptive_avg_pool2d(x, (0, 2))
    with pytest.raises(ValueError, match="give exactly one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="give exactly one of size or scale_factor"):
        nn.Upsample()(x)
    with pytest.raises(ValueError, match="mode 'cubic' is not supported"):
        F.interpolate(x, scale_factor=2, mode="cubic")
    with pytest.raises(ValueError, match="align_corners applies to mode 'bilinear' only"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match=r"expected a 4-D input .* 1-D signals"):
        F.interpolate(ones(device, 2, 4, 4), scale_factor=2)
    with pytest.raises(ValueError, match=r"channels divide by upscale_factor\*\*2 = 4"):
        F.pixel_shuffle(x, 2)
    with pytest.raises(ValueError, match="divide by downscale_factor = 3"):
        nn.PixelUnshuffle(3)(x)
    with pytest.raises(ValueError, match=r"ReflectionPad2d: padding must be .* \(left, right"):
        nn.ReflectionPad2d((1, 2))
    with pytest.raises(ValueError, match="reflect padding .* must be smaller than its size 4"):
        nn.ReflectionPad2d(4)(x)
