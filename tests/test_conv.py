"""Convolution and transposed convolution: what `conv2d` and `conv_transpose2d` promise.

1. Forward passes equal the definitions, written here as plain loops: a convolution *gathers*
   a window for each output pixel, a transposed convolution *scatters* each input pixel.
2. Gradients match finite differences to first AND second order for input, weight and bias,
   over strides, paddings, dilations, output paddings and sizes that do not divide evenly.
3. The family closes: the gradients are themselves convolutions (docs/03_convolution.md).
4. Bad arguments get errors that say what is wrong.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan as mg
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor


# --------------------------------------------------------------------- the definitions
def conv2d_loops(x, w, b, stride, padding, dilation, groups=1):
    """y[n,o,i,j] = b[o] + sum over c, kh, kw of w[o,c,kh,kw] * x_pad[n, c, i*S + kh*D, j*S + kw*D],
    where with groups, c runs over the input channels of output channel o's group."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    N, C, H, W = x.shape
    OC, group_channels, KH, KW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    OH = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1
    OW = (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
    y = np.zeros((N, OC, OH, OW))
    for n, o, i, j in np.ndindex(N, OC, OH, OW):
        first = (o // (OC // groups)) * group_channels  # the group's first input channel
        for c, kh, kw in np.ndindex(group_channels, KH, KW):
            y[n, o, i, j] += w[o, c, kh, kw] * x_pad[n, first + c, i * sh + kh * dh, j * sw + kw * dw]
    return y if b is None else y + b.reshape(-1, 1, 1)


def conv_transpose2d_loops(x, w, b, stride, padding, output_padding, dilation, groups=1):
    """Every input pixel x[n,c,i,j] adds x * w[c,o,:,:] onto the output at
    (i*S + kh*D - P, j*S + kw*D - P) of channel o of c's group; contributions falling
    outside are dropped."""
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    N, C, H, W = x.shape
    _, group_outputs, KH, KW = w.shape
    OC = group_outputs * groups
    OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oph + 1
    OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + opw + 1
    y = np.zeros((N, OC, OH, OW))
    for n, c, i, j in np.ndindex(N, C, H, W):
        first = (c // (C // groups)) * group_outputs  # the group's first output channel
        for o, kh, kw in np.ndindex(group_outputs, KH, KW):
            r, q = i * sh + kh * dh - ph, j * sw + kw * dw - pw
            if 0 <= r < OH and 0 <= q < OW:
                y[n, first + o, r, q] += x[n, c, i, j] * w[c, o, kh, kw]
    return y if b is None else y + b.reshape(-1, 1, 1)


# ------------------------------------------------------------------------ strategies
def pairs(low, high):
    return st.tuples(st.integers(low, high), st.integers(low, high))


@st.composite
def conv_cases(draw, transposed=False, max_side=6):
    """Shapes and arguments of a valid (transposed) convolution, small enough to check
    every element: N <= 2, channels <= 3, H, W <= max_side, kernel <= 3."""
    kernel, stride = draw(pairs(1, 3)), draw(pairs(1, 3))
    padding, dilation = draw(pairs(0, 2)), draw(pairs(1, 2))
    output_padding = (0, 0)
    if transposed:  # as PyTorch: smaller than the stride or the dilation
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                               for s, d in zip(stride, dilation))
    size = []
    for k, s, p, d, op in zip(kernel, stride, padding, dilation, output_padding):
        if transposed:  # the output must keep at least one pixel: (n-1)*S >= 2P - D*(K-1) - op
            smallest = 1 + max(0, -(-(2 * p - d * (k - 1) - op) // s))
        else:  # the dilated kernel must fit in the padded input
            smallest = max(1, d * (k - 1) + 1 - 2 * p)
        size.append(draw(st.integers(smallest, max(smallest, max_side))))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    n = draw(st.integers(1, 2))
    c_in, c_out = (groups * draw(st.integers(1, 3 if groups == 1 else 2)) for _ in range(2))
    x_shape = (n, c_in) + tuple(size)
    w_shape = (c_in, c_out // groups) + kernel if transposed else (c_out, c_in // groups) + kernel
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    if transposed:
        args["output_padding"] = output_padding
    return x_shape, w_shape, c_out, args, draw(st.booleans())


def draw_tensors(data, x_shape, w_shape, c_out, with_bias, device):
    x = make_tensor(data.draw(arrays(x_shape)), device)
    w = make_tensor(data.draw(arrays(w_shape)), device)
    b = make_tensor(data.draw(arrays((c_out,))), device) if with_bias else None
    return x, w, b


OPS = {
    "conv2d": (mg.conv2d, conv2d_loops, False),
    "conv_transpose2d": (mg.conv_transpose2d, conv_transpose2d_loops, True),
}


# --------------------------------------------------------------------------- forward
@pytest.mark.parametrize("op", sorted(OPS))
@given(data=st.data())
def test_forward_matches_the_definition(kernel_set, device, op, data):
    fn, loops, transposed = OPS[op]
    x_shape, w_shape, c_out, args, with_bias = data.draw(conv_cases(transposed))
    x, w, b = draw_tensors(data, x_shape, w_shape, c_out, with_bias, device)
    y = fn(x, w, b, **args)
    expected = loops(x.numpy(), w.numpy(), None if b is None else b.numpy(),
                     *(args[k] for k in ("stride", "padding", "output_padding", "dilation")
                       if k in args), groups=args["groups"])
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("op", sorted(OPS))
def test_int_arguments_mean_the_same_pair(device, op):
    fn, _, transposed = OPS[op]
    rng = np.random.default_rng(0)
    x = make_tensor(rng.normal(size=(1, 2, 5, 5)), device, requires_grad=False)
    w = make_tensor(rng.normal(size=(2, 3, 3, 3) if transposed else (3, 2, 3, 3)), device,
                    requires_grad=False)
    as_ints = fn(x, w, stride=2, padding=1, dilation=1)
    as_pairs = fn(x, w, stride=(2, 2), padding=(1, 1), dilation=(1, 1))
    np.testing.assert_array_equal(as_ints.numpy(), as_pairs.numpy())


# ------------------------------------------------------------------------- gradients
def check_both_orders(fn, inputs):
    assert gradcheck(fn, inputs)
    # Second order: the backward graph holds ConvTranspose2d / Conv2d / Conv2dGradW ops.
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("op", sorted(OPS))
@given(data=st.data())
def test_gradients_first_and_second_order(kernel_set, device, op, data):
    fn, _, transposed = OPS[op]
    x_shape, w_shape, c_out, args, with_bias = data.draw(conv_cases(transposed))
    x, w, b = draw_tensors(data, x_shape, w_shape, c_out, with_bias, device)
    inputs = [x, w] + ([b] if with_bias else [])
    check_both_orders(lambda *t: fn(*t, **args), inputs)


# Cases a few random draws could miss, each a reason the output-size bookkeeping exists.
AWKWARD = {
    # stride 3 does not divide 7 + 2 - 3: the input's last rows are never read
    "conv2d uneven": (mg.conv2d, (1, 2, 7, 6), (2, 2, 3, 2), dict(stride=3, padding=1)),
    "conv2d dilated": (mg.conv2d, (2, 1, 6, 5), (1, 1, 2, 3),
                       dict(stride=(2, 1), padding=(0, 2), dilation=2)),
    # output_padding 1 >= stride 1 is allowed because the dilation is 2
    "transpose, output_padding >= stride": (mg.conv_transpose2d, (1, 2, 3, 4), (2, 1, 2, 3),
                                            dict(stride=1, padding=1, output_padding=1,
                                                 dilation=2)),
    "transpose uneven": (mg.conv_transpose2d, (2, 1, 3, 2), (1, 2, 3, 3),
                         dict(stride=(3, 2), padding=(2, 0), output_padding=(2, 1))),
}


@pytest.mark.parametrize("case", sorted(AWKWARD))
def test_gradients_in_awkward_cases(kernel_set, device, case):
    fn, x_shape, w_shape, args = AWKWARD[case]
    rng = np.random.default_rng(3)
    c_out = w_shape[1] if fn is mg.conv_transpose2d else w_shape[0]
    x, w, b = (make_tensor(rng.normal(size=s), device) for s in (x_shape, w_shape, (c_out,)))
    check_both_orders(lambda x, w, b: fn(x, w, b, **args), [x, w, b])


def test_the_family_closes_under_differentiation(kernel_set, device):
    """conv2d's input gradient is a transposed convolution and vice versa; weight
    gradients are Conv2dGradW ops, whose own gradients are convolutions again."""
    rng = np.random.default_rng(4)
    x = make_tensor(rng.normal(size=(2, 3, 6, 6)), device)
    w = make_tensor(rng.normal(size=(4, 3, 3, 3)), device)
    y = mg.conv2d(x, w, stride=2, padding=1)
    gx, gw = mg.grad(y, [x, w], make_tensor(rng.normal(size=y.shape), device), create_graph=True)
    assert type(gx.creator).__name__ == "ConvTranspose2d"
    assert type(gw.creator).__name__ == "Conv2dGradW"
    (ggx,) = mg.grad((gw * gw).sum(), [x], create_graph=True)
    assert type(ggx.creator).__name__ == "ConvTranspose2d"

    v = make_tensor(rng.normal(size=(4, 2, 3, 3)), device)  # (in, out, KH, KW)
    z = mg.conv_transpose2d(y, v, stride=2, padding=1, output_padding=1)
    gy, gv = mg.grad(z, [y, v], make_tensor(rng.normal(size=z.shape), device), create_graph=True)
    assert type(gy.creator).__name__ == "Conv2d"
    assert type(gv.creator).__name__ == "Conv2dGradW"


@pytest.mark.parametrize("op", sorted(OPS))
def test_float32_stays_float32(kernel_set, device, op):
    fn, _, _ = OPS[op]
    rng = np.random.default_rng(5)
    x, w, b = (make_tensor(rng.normal(size=s), device, dtype="float32")
               for s in ((2, 4, 5, 5), (4, 4, 3, 3), (4,)))
    y = fn(x, w, b, stride=2, padding=1)
    assert y.dtype == np.float32
    gx, gw, gb = mg.grad(y, [x, w, b], make_tensor(np.ones(y.shape), device, dtype="float32"),
                         create_graph=True)
    assert gx.dtype == gw.dtype == gb.dtype == np.float32
    (gg,) = mg.grad((gw * gw).sum(), [x])
    assert gg.dtype == np.float32


# ------------------------------------------------- the two algorithms, and the threads
@st.composite
def phase_cases(draw):
    """Transposed convolutions that the sub-pixel method can compute: S divides K, no
    dilation, output_padding <= padding (minigan/kernels/subpixel.py)."""
    stride, taps = draw(pairs(1, 3)), draw(pairs(1, 2))
    kernel = tuple(s * t for s, t in zip(stride, taps))
    padding = draw(pairs(0, 2))
    output_padding = tuple(draw(st.integers(0, min(s - 1, p))) for s, p in zip(stride, padding))
    size = tuple(draw(st.integers(1 + max(0, -(-(2 * p - k + 1 - op) // s)), 5))
                 for k, s, p, op in zip(kernel, stride, padding, output_padding))
    groups = draw(st.sampled_from([1, 1, 2]))
    n = draw(st.integers(1, 2))
    c_in, c_out = (groups * draw(st.integers(1, 3 if groups == 1 else 2)) for _ in range(2))
    args = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=(1, 1),
                groups=groups)
    return (n, c_in) + size, (c_in, c_out // groups) + kernel, c_out, args, draw(st.booleans())


@pytest.mark.parametrize("method", ["col2im", "subpixel"])
@given(data=st.data())
def test_both_transposed_algorithms_match_the_definition(device, method, data):
    """conv_transpose2d picks sub-pixel phases or col2im by a cost estimate; force each."""
    x_shape, w_shape, c_out, args, with_bias = data.draw(phase_cases())
    x, w, b = draw_tensors(data, x_shape, w_shape, c_out, with_bias, device)
    with mg.kernels.use("fast", conv_transpose=method):
        y = mg.conv_transpose2d(x, w, b, **args)
    expected = conv_transpose2d_loops(x.numpy(), w.numpy(), None if b is None else b.numpy(),
                                      *(args[k] for k in ("stride", "padding", "output_padding",
                                                          "dilation", "groups")))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("op", sorted(OPS))
@given(data=st.data())
@settings(max_examples=5)
def test_gradients_through_the_subpixel_method(device, op, data):
    """First and second order with every transposed convolution computed by phases: the
    forward of conv_transpose2d, and the input gradient of conv2d, which is one."""
    fn, _, _ = OPS[op]
    x_shape, w_shape, c_out, args, with_bias = data.draw(phase_cases())
    if op == "conv2d":  # the same shapes, seen from the other side: y = conv2d(x, w)
        args = {k: v for k, v in args.items() if k != "output_padding"}
        n, c_in, h, w = x_shape
        x_shape = (n, c_out, *(conv_transpose2d_loops(np.zeros(x_shape[:2] + (h, w)),
                                                      np.zeros(w_shape), None, args["stride"],
                                                      args["padding"], (0, 0),
                                                      (1, 1)).shape[2:]))
        w_shape = (c_in, c_out // args["groups"]) + w_shape[2:]
        c_out = c_in
    x, w, b = draw_tensors(data, x_shape, w_shape, c_out, with_bias, device)
    inputs = [x, w] if b is None else [x, w, b]
    with mg.kernels.use("fast", conv_transpose="subpixel"):
        check_both_orders(lambda *t: fn(*t, **args), inputs)


def test_threads_give_the_same_results():
    """The work is split between threads (minigan/kernels/parallel.py). The copy and add
    passes give the same bits for any number of threads; split matrix products may differ in
    the last bit between thread counts, and are the same bits again for the same count."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(5, 6, 8, 8)).astype(np.float32)
    w_conv = rng.normal(size=(4, 6, 4, 4)).astype(np.float32)
    w_transposed = rng.normal(size=(6, 4, 4, 4)).astype(np.float32)

    def run(threads, method):
        results = []
        with mg.kernels.use("fast", threads=threads, min_elements=0, min_multiply_adds=0,
                            conv_transpose=method):  # share even tiny work
            for fn, w in ((mg.conv2d, w_conv), (mg.conv_transpose2d, w_transposed)):
                tx, tw = mg.tensor(x, requires_grad=True), mg.tensor(w, requires_grad=True)
                y = fn(tx, tw, stride=2, padding=1)
                y.backward(mg.tensor(np.cos(np.arange(y.data.size, dtype=np.float32)).reshape(y.shape)))
                results += [y.numpy(), tx.grad.numpy(), tw.grad.numpy()]
        return results
    for method in ("col2im", "subpixel"):
        one, three = run(1, method), run(3, method)
        for a, b, again in zip(one, three, run(3, method)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
            np.testing.assert_array_equal(b, again)


def test_copies_and_additions_are_bit_identical_for_any_thread_count():
    from minigan.kernels.im2col import im2col, col2im
    x = np.random.default_rng(8).normal(size=(5, 3, 7, 6)).astype(np.float32)
    results = {}
    for threads in (1, 2, 5):
        with mg.kernels.use("fast", threads=threads, min_elements=0):
            cols = im2col(x, (3, 2), (4, 7), (2, 1), (1, 1), (1, 1))
            results[threads] = (cols, col2im(cols, x.shape, (3, 2), (4, 7), (2, 1), (1, 1),
                                             (1, 1)))
    for threads in (2, 5):
        for a, b in zip(results[1], results[threads]):
            np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------- PyTorch oracle
@pytest.mark.parametrize("op", sorted(OPS))
def test_matches_pytorch_on_a_dcgan_layer(kernel_set, device, op):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    transposed = op == "conv_transpose2d"
    x = rng.normal(size=(4, 16, 8, 8) if transposed else (4, 8, 16, 16)).astype(np.float32)
    w = (0.1 * rng.normal(size=(16, 8, 4, 4))).astype(np.float32)  # (out, in) or (in, out)
    b = rng.normal(size=8 if transposed else 16).astype(np.float32)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    t_fn = torch.nn.functional.conv_transpose2d if transposed else torch.nn.functional.conv2d
    ty = t_fn(tx, tw, tb, stride=2, padding=1)
    g = rng.normal(size=tuple(ty.shape)).astype(np.float32)
    ty.backward(torch.from_numpy(g))

    mx, mw, mb = (make_tensor(a, device) for a in (x, w, b))
    my = OPS[op][0](mx, mw, mb, stride=2, padding=1)
    my.backward(make_tensor(g, device, requires_grad=False))
    for mine, theirs in [(my, ty), (mx.grad, tx.grad), (mw.grad, tw.grad), (mb.grad, tb.grad)]:
        np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------- errors
def tensors(device, *shapes, dtype=None):
    return [make_tensor(np.ones(s), device, requires_grad=False, dtype=dtype) for s in shapes]


def test_error_wrong_ndim(device):
    x, w = tensors(device, (8, 8), (4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D input .* or a 3-D one .*\(8, 8\)"):
        mg.conv2d(x, w)
    x, w = tensors(device, (1, 3, 8, 8), (4, 3, 3))
    with pytest.raises(ValueError, match=r"conv_transpose2d: expected a 4-D weight"):
        mg.conv_transpose2d(x, w)


def test_error_channel_mismatch_names_both_shapes(device):
    x, w = tensors(device, (1, 3, 8, 8), (4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"\(1, 3, 8, 8\) has 3 channels.*\(4, 2, 3, 3\) expects 2"):
        mg.conv2d(x, w)
    x, w = tensors(device, (1, 3, 8, 8), (4, 3, 3, 3))  # transposed: weight is (in, out, ...)
    with pytest.raises(ValueError, match=r"conv_transpose2d: .* expects 4"):
        mg.conv_transpose2d(x, w)


def test_error_bias_shape(device):
    x, w, b = tensors(device, (1, 3, 8, 8), (4, 3, 3, 3), (3,))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        mg.conv2d(x, w, b)


def test_error_kernel_larger_than_padded_input(device):
    x, w = tensors(device, (1, 1, 3, 3), (1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"spans more than the padded input \(3, 3\)"):
        mg.conv2d(x, w, dilation=2)  # the dilated kernel spans 5x5
    assert mg.conv2d(x, w, dilation=2, padding=1).shape == (1, 1, 1, 1)  # just fits


@pytest.mark.parametrize("name, value", [("stride", 0), ("stride", (1, -1)), ("dilation", 0),
                                         ("padding", -1)])
def test_error_bad_stride_padding_dilation(device, name, value):
    x, w = tensors(device, (1, 1, 5, 5), (1, 1, 3, 3))
    with pytest.raises(ValueError, match=f"conv2d: {name} must be"):
        mg.conv2d(x, w, **{name: value})
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        mg.conv2d(x, w, stride=(1, 2, 3))


def test_error_output_padding_too_large(device):
    x, w = tensors(device, (1, 2, 4, 4), (2, 3, 3, 3))
    with pytest.raises(ValueError, match=r"output_padding \(2, 2\) must be smaller than either"):
        mg.conv_transpose2d(x, w, stride=2, output_padding=2)
    assert mg.conv_transpose2d(x, w, stride=1, dilation=2, output_padding=1).shape == (1, 3, 9, 9)


def test_error_empty_transposed_output(device):
    x, w = tensors(device, (1, 2, 1, 1), (2, 3, 2, 2))
    with pytest.raises(ValueError, match="empty output"):
        mg.conv_transpose2d(x, w, padding=1)


def test_error_mixed_dtypes_and_devices(device):
    x, = tensors(device, (1, 2, 4, 4), dtype="float32")
    w, = tensors(device, (3, 2, 3, 3), dtype="float64")
    with pytest.raises(TypeError, match="mixed floating dtypes"):
        mg.conv2d(x, w)
    other = "cpu" if device != "cpu" else "strict"
    w, = tensors(other, (3, 2, 3, 3), dtype="float32")
    with pytest.raises(mg.DeviceError, match="different devices"):
        mg.conv2d(x, w)
