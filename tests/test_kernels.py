"""The fast kernels equal the reference kernels (minigan/kernels/, docs/11_making_it_fast.md).

Every function of the fast set is run against its reference twin on the same raw arrays,
forward and backward, on cpu and strict, with one thread and with the work split between
threads (even tiny work), over hypothesis-drawn shapes, strides, paddings and dilations.
The reference kernels themselves are checked against loop definitions and finite differences
by the op tests (test_conv.py, test_batchnorm.py, test_ops_gradients.py), which run under
both kernel sets.
"""
import inspect

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigan as mg
from minigan import backend
from minigan.kernels import chunked, conv, fast, normalize, reference, resample, softmax
from strategies import arrays
from test_conv import conv_cases, phase_cases

THREADS = [1, 2]
INTERFACE = ["conv2d", "conv_transpose2d", "conv2d_grad_weight", "conv2d_backward",
             "conv_transpose2d_backward", "batch_norm", "batch_norm_backward", "leaky_relu",
             "leaky_relu_backward", "normalize", "normalize_backward", "for_each",
             "block_sum", "upsample_nearest", "max_pool_windows", "gather_windows",
             "scatter_windows", "separable_map", "pad", "pad_backward", "softmax",
             "softmax_backward", "log_softmax", "log_softmax_backward", "gelu_tanh",
             "gelu_tanh_backward", "pixel_shuffle", "pixel_unshuffle"]


def test_both_sets_offer_the_same_functions_with_the_same_arguments():
    for name in INTERFACE:
        assert (inspect.signature(getattr(fast, name)).parameters.keys()
                == inspect.signature(getattr(reference, name)).parameters.keys()), name


def on(device, array):
    return backend.to_device(np.ascontiguousarray(array) if array.ndim == 0 else array, device)


def same(fast_result, reference_result):
    """Equal up to rounding (the two sets add in different orders)."""
    if isinstance(fast_result, tuple):
        assert len(fast_result) == len(reference_result)
        for a, b in zip(fast_result, reference_result):
            same(a, b)
        return
    if reference_result is None:
        assert fast_result is None
        return
    assert fast_result.shape == reference_result.shape
    assert fast_result.dtype == reference_result.dtype
    np.testing.assert_allclose(backend.to_numpy(fast_result), backend.to_numpy(reference_result),
                               rtol=1e-9, atol=1e-9)


@pytest.fixture(autouse=True)
def on_the_test_device(request):
    """Kernels work on raw arrays: each test runs them under its device's context, as a
    Function does (on "strict:1" they would otherwise meet device 0, the current one)."""
    params = getattr(request.node, "callspec", None)
    with backend.device_context(params.params.get("device", "cpu") if params else "cpu"):
        yield


def both(name, threads, *args, conv_transpose="auto"):
    """The kernel ``name`` of each set on the same arguments (fast: ``threads`` threads,
    sharing even tiny work)."""
    with mg.kernels.use("fast", threads=threads, min_elements=0, min_multiply_adds=0,
                        conv_transpose=conv_transpose):
        fast_result = getattr(fast, name)(*args)
    return fast_result, getattr(reference, name)(*args)


def conv_arrays(data, device, transposed, cases=None):
    x_shape, w_shape, _, args, _ = data.draw(cases if cases is not None else conv_cases(transposed))
    x = on(device, data.draw(arrays(x_shape)))
    w = on(device, data.draw(arrays(w_shape)))
    return x, w, args


# ----------------------------------------------------------------------- convolution
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("rows", [chunked.ROWS, 1])  # 1: every image a slice of its own
@given(data=st.data())
def test_conv2d_forward_and_backward(device, threads, rows, data, monkeypatch):
    monkeypatch.setattr(chunked, "ROWS", rows)
    x, w, args = conv_arrays(data, device, transposed=False)
    s, p, d, g = args["stride"], args["padding"], args["dilation"], args["groups"]
    y = reference.conv2d(x, w, s, p, d, g)
    same(*both("conv2d", threads, x, w, s, p, d, g))
    gy = on(device, data.draw(arrays(y.shape)))
    same(*both("conv2d_grad_weight", threads, x, gy, w.shape[2:], s, p, d, g))
    need = data.draw(st.sampled_from([(True, True), (True, False), (False, True)]))
    same(*both("conv2d_backward", threads, x, w, gy, s, p, d, g, *need))
    keep = {}  # what the fast forward may leave for the backward: same result
    with mg.kernels.use("fast", threads=threads):
        fast.conv2d(x, w, s, p, d, g, keep)
        gw = fast.conv2d_backward(x, w, gy, s, p, d, g, True, True, keep)[1]
    assert not keep  # used once
    same(gw, reference.conv2d_grad_weight(x, gy, w.shape[2:], s, p, d, g))


@pytest.mark.parametrize("threads", THREADS)
def test_convolutions_of_4_kib_channel_planes_equal_the_reference(device, threads, monkeypatch):
    """Channel planes of 4 KiB (32x16 float64) take another way to channels-last memory
    (`chunked.channels_last_into`); slices of 2 images, and stride 1 (the input gradient
    as a convolution with the flipped kernel)."""
    rng = np.random.default_rng(1)
    x = on(device, rng.normal(size=(3, 4, 32, 16)))
    w = on(device, rng.normal(size=(6, 2, 3, 3)))
    gy = on(device, rng.normal(size=(3, 6, 32, 16)))
    monkeypatch.setattr(chunked, "ROWS", 2 * 32 * 16)
    for groups, weight in ((1, w.reshape(3, 4, 3, 3)), (2, w)):
        args = ((1, 1), (1, 1), (1, 1), groups)
        out = gy[:, :weight.shape[0]]
        same(*both("conv2d", threads, x, weight, *args))
        same(*both("conv2d_backward", threads, x, weight, out, *args, True, True))


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("method", ["auto", "col2im", "subpixel"])
@given(data=st.data())
def test_conv_transpose2d_forward_and_backward(device, threads, method, data, monkeypatch):
    if method == "subpixel":  # sub-pixel products of grouped ones in blocks of 3 rows
        monkeypatch.setattr(chunked, "ROWS", 3)
    cases = phase_cases() if method == "subpixel" else conv_cases(transposed=True)
    x, w, args = conv_arrays(data, device, transposed=True, cases=cases)
    s, p, d, op = args["stride"], args["padding"], args["dilation"], args["output_padding"]
    g = args.get("groups", 1)
    size = tuple((n - 1) * si - 2 * pi + di * (k - 1) + o + 1
                 for n, k, si, pi, o, di in zip(x.shape[2:], w.shape[2:], s, p, op, d))
    same(*both("conv_transpose2d", threads, x, w, s, p, d, size, g, conv_transpose=method))
    gy = on(device, data.draw(arrays((x.shape[0], w.shape[1] * g) + size)))
    need = data.draw(st.sampled_from([(True, True), (True, False), (False, True)]))
    same(*both("conv_transpose2d_backward", threads, x, w, gy, s, p, d, g, *need,
               conv_transpose=method))


@pytest.mark.parametrize("threads", THREADS)
@given(data=st.data())
def test_stride_1_transposed_convolution_backward_in_slices(device, threads, data, monkeypatch):
    """A stride-1 transposed convolution whose im2col(dy) would be many times the image (the
    input gradient of a 3x3 convolution, differentiated again by a gradient penalty) takes
    both its gradients a few images at a time (`chunked.py`), as the reference does whole."""
    monkeypatch.setattr(chunked, "ROWS", data.draw(st.sampled_from([chunked.ROWS, 1, 7])))
    N, C, OC = (data.draw(st.integers(1, n)) for n in (3, 4, 4))
    H, W = (data.draw(st.integers(4, 7)) for _ in range(2))
    K, d = data.draw(st.sampled_from([3, 5])), data.draw(st.sampled_from([1, 2]))
    p = d * (K - 1) // 2                             # "same" size, plus output_padding < d
    size = tuple(n + data.draw(st.integers(0, d - 1)) for n in (H, W))
    x = on(device, data.draw(arrays((N, C, H, W))))
    w = on(device, data.draw(arrays((C, OC, K, K))))
    gy = on(device, data.draw(arrays((N, OC) + size)))
    assert conv._in_slices(gy.shape[2:], x.shape[2:], (K, K))  # the path under test
    need = data.draw(st.sampled_from([(True, True), (True, False), (False, True)]))
    same(*both("conv_transpose2d_backward", threads, x, w, gy, (1, 1), (p, p), (d, d), 1,
               *need))


# ------------------------------------------------------------------------ batch norm
@st.composite
def batch_norm_arrays(draw, device):
    shape = draw(st.sampled_from([(4, 3), (3, 2, 4, 5), (2, 3, 1, 6), (5, 1, 3)]))
    x = draw(arrays(shape, low=-3.0, high=3.0))
    weight, bias = (draw(arrays(shape[1:2])) for _ in range(2))
    return [on(device, a) for a in (x, weight, bias)]


@pytest.mark.parametrize("threads", THREADS)
@given(data=st.data())
def test_batch_norm_forward_and_backward(device, threads, data):
    x, weight, bias = data.draw(batch_norm_arrays(device))
    eps = data.draw(st.sampled_from([1e-5, 0.1]))
    same(*both("batch_norm", threads, x, weight, bias, eps))
    _, mean, var = reference.batch_norm(x, weight, bias, eps)
    gy = on(device, data.draw(arrays(x.shape)))
    need_x = data.draw(st.booleans())
    same(*both("batch_norm_backward", threads, x, weight, gy, mean, var, eps, need_x))


# ------------------------------------------- layer, group and instance norm (Normalize)
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("block", [normalize.BLOCK, 1])  # 1: every sample a block of its own
@given(data=st.data())
def test_normalize_forward_and_backward(device, threads, block, data, monkeypatch):
    monkeypatch.setattr(normalize, "BLOCK", block)
    shape, axes = data.draw(st.sampled_from([((3, 4, 5, 2), (2, 3)), ((4, 6), (1,)),
                                             ((2, 3, 4), (1, 2)), ((5, 2, 3), (0, 2)),
                                             ((2, 2, 3, 4), (1, 2, 3))]))
    x = on(device, data.draw(arrays(shape, low=-3.0, high=3.0)))
    # weight and bias vary along any axes but the batch's (layer norm: the normalised
    # ones; instance norm: the others; group norm: some of each)
    varies = [i > 0 and data.draw(st.booleans()) for i in range(len(shape))]
    affine = tuple(n if v else 1 for n, v in zip(shape, varies))
    weight, bias = (on(device, data.draw(arrays(affine))) for _ in range(2))
    eps = data.draw(st.sampled_from([1e-5, 0.1]))
    same(*both("normalize", threads, x, weight, bias, axes, eps))
    _, mean, var = reference.normalize(x, weight, bias, axes, eps)
    gy = on(device, data.draw(arrays(shape)))
    same(*both("normalize_backward", threads, x, weight, gy, mean, var, eps, axes))


# ------------------------------------------------------------------------- LeakyReLU
@pytest.mark.parametrize("threads", THREADS)
@given(data=st.data())
def test_leaky_relu_forward_and_backward(device, threads, data):
    shape = data.draw(st.sampled_from([(), (5,), (3, 4), (2, 3, 4, 2)]))
    x = on(device, np.asarray(data.draw(arrays(shape, avoid=(0.0,)))))
    gy = on(device, np.asarray(data.draw(arrays(shape))))
    slope = data.draw(st.sampled_from([0.0, 0.01, 0.2, 1.0, -0.5, 1.5]))
    same(*both("leaky_relu", threads, x, slope))
    same(*both("leaky_relu_backward", threads, x, gy, slope))


# -------------------------------------------------------------- softmax, log-softmax
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("block", [softmax.BLOCK, 1])  # 1: every row a block of its own
@given(data=st.data())
def test_softmax_and_log_softmax_forward_and_backward(device, threads, block, data,
                                                      monkeypatch):
    monkeypatch.setattr(softmax, "BLOCK", block)
    shape = data.draw(st.sampled_from([(5,), (3, 4), (2, 3, 7), (2, 1, 3, 5), (4, 1)]))
    axis = data.draw(st.sampled_from([len(shape) - 1, 0]))  # the fast one, and a fallback
    scale = data.draw(st.sampled_from([1.0, 400.0]))  # 400: exp(x) alone would overflow
    x = on(device, scale * np.asarray(data.draw(arrays(shape))))
    gy = on(device, np.asarray(data.draw(arrays(shape))))
    for name in ("softmax", "log_softmax"):
        forward, y = both(name, threads, x, axis)
        same(forward, y)
        same(*both(name + "_backward", threads, y, gy, axis))


# ------------------------------------------------------------- GELU (tanh formula)
@pytest.mark.parametrize("threads", THREADS)
@given(data=st.data())
def test_gelu_tanh_forward_and_backward(device, threads, data):
    shape = data.draw(st.sampled_from([(), (5,), (3, 4), (2, 3, 4, 2)]))
    x = on(device, 3 * np.asarray(data.draw(arrays(shape))))
    gy = on(device, np.asarray(data.draw(arrays(shape))))
    forward, (y, t) = both("gelu_tanh", threads, x)
    same(forward, (y, t))
    same(*both("gelu_tanh_backward", threads, x, t, gy))


# ----------------------------------------------------------- pooling and resampling
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("chunk", [resample.CHUNK, 1])  # 1: every image a chunk of its own
@given(data=st.data())
def test_pooling_and_resampling_kernels(device, threads, chunk, data, monkeypatch):
    monkeypatch.setattr(resample, "CHUNK", chunk)
    kernel = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    lead = data.draw(st.sampled_from([(3,), (2, 3), (1, 1)]))
    out = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    image = lead + (out[0] * kernel[0], out[1] * kernel[1])
    x = on(device, np.asarray(data.draw(arrays(image))))
    g = on(device, np.asarray(data.draw(arrays(lead + out))))
    ties = on(device, np.round(np.asarray(data.draw(arrays(image)))))  # many ties
    same(*both("block_sum", threads, x, kernel))
    same(*both("upsample_nearest", threads, g, kernel))
    for values in (x, ties):
        fast_result, reference_result = both("max_pool_windows", threads, values, kernel)
        same(fast_result, reference_result)
        which = reference_result[1]
        same(*both("gather_windows", threads, values, which, kernel))
        same(*both("scatter_windows", threads, g, which, kernel))
    rows = on(device, np.asarray(data.draw(arrays((4, image[-2])))))
    cols = on(device, np.asarray(data.draw(arrays((5, image[-1])))))
    same(*both("separable_map", threads, x, rows, cols))


@pytest.mark.parametrize("threads", THREADS)
@given(data=st.data())
def test_pixel_shuffle_kernels_are_the_same_permutation(device, threads, data):
    r = data.draw(st.integers(1, 3))
    lead = data.draw(st.sampled_from([(3,), (2, 3), ()]))
    shape = lead + (data.draw(st.integers(1, 2)) * r * r, data.draw(st.integers(1, 3)),
                    data.draw(st.integers(1, 3)))
    x = on(device, np.asarray(data.draw(arrays(shape))))
    y, expected = both("pixel_shuffle", threads, x, r)
    np.testing.assert_array_equal(backend.to_numpy(y), backend.to_numpy(expected))
    assert y.shape == lead + (shape[-3] // (r * r), shape[-2] * r, shape[-1] * r)
    back, expected = both("pixel_unshuffle", threads, y, r)
    np.testing.assert_array_equal(backend.to_numpy(back), backend.to_numpy(expected))
    np.testing.assert_array_equal(backend.to_numpy(back), backend.to_numpy(x))


# --------------------------------------------------------------------- padding modes
@given(data=st.data())
def test_padding_modes_forward_and_backward(device, data):
    mode = data.draw(st.sampled_from(["reflect", "replicate", "circular"]))
    shape = data.draw(st.sampled_from([(2, 3, 4, 5), (1, 2, 1, 3), (3, 6), (2, 3, 2)]))
    largest = {"reflect": -1, "replicate": 3, "circular": 0}[mode]  # beyond the size n
    widths = tuple((0, 0) if mode == "reflect" and n == 1 else
                   tuple(data.draw(st.integers(0, n + largest)) for _ in range(2))
                   for n in shape)
    x = on(device, np.asarray(data.draw(arrays(shape))))
    same(*both("pad", 1, x, widths, mode))
    padded = tuple(n + before + after for n, (before, after) in zip(shape, widths))
    g = on(device, np.asarray(data.draw(arrays(padded))))
    same(*both("pad_backward", 1, g, widths, mode))


# ------------------------------------------------------------------------ optimizers
@pytest.mark.parametrize("threads", THREADS)
def test_for_each_does_every_item_once(threads):
    sizes = [7, 1, 30, 4, 4, 12]
    for kernel_set in (fast, reference):
        done = []
        with mg.kernels.use("fast", threads=threads, min_elements=0):
            kernel_set.for_each(done.append, list(range(len(sizes))), sizes, np.zeros(1))
        assert sorted(done) == list(range(len(sizes)))


# ----------------------------------------------------------------------- the switch
def test_use_switches_and_restores_the_kernel_set():
    assert mg.kernels.current() is fast
    with mg.kernels.use("reference") as chosen:
        assert chosen is reference and mg.kernels.current() is reference
        with mg.kernels.use("fast", threads=3):
            assert mg.kernels.current() is fast
            assert mg.kernels.parallel.num_threads() == 3
        assert mg.kernels.current() is reference
    assert mg.kernels.current() is fast


def test_use_rejects_unknown_sets_and_options():
    with pytest.raises(ValueError, match="unknown kernel set 'quick'"):
        with mg.kernels.use("quick"):
            pass
    with pytest.raises(TypeError, match="unknown options"):
        with mg.kernels.use("fast", thread=2):
            pass
    with pytest.raises(ValueError, match="conv_transpose must be"):
        with mg.kernels.use("fast", conv_transpose="fft"):
            pass


def test_minigan_kernels_environment_variable_chooses_the_set():
    import subprocess
    import sys
    code = "import minigan; print(minigan.kernels.current().__name__)"
    for name in ("reference", "fast"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**__import__("os").environ, "MINIGAN_KERNELS": name})
        assert out.stdout.strip() == f"minigan.kernels.{name}", out.stderr
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "MINIGAN_KERNELS": "quick"})
    assert out.returncode != 0 and "unknown kernel set 'quick'" in out.stderr


def test_a_plain_backward_uses_backward_arrays_and_create_graph_the_textbook():
    """The engine's one switch (minigan/autograd.py): same gradients either way."""
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.normal(size=(3, 2, 5, 5)), requires_grad=True)
    w = mg.tensor(rng.normal(size=(4, 2, 3, 3)), requires_grad=True)
    gy = mg.tensor(rng.normal(size=(3, 4, 3, 3)))
    plain = mg.grad(mg.conv2d(x, w), [x, w], gy)
    recorded = mg.grad(mg.conv2d(x, w), [x, w], gy, create_graph=True)
    assert recorded[0].creator is not None and plain[0].creator is None
    for a, b in zip(plain, recorded):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("groups, c_in, c_out", [(4, 4, 4), (4, 4, 8), (3, 6, 9), (2, 8, 4)],
                         ids=["depthwise", "depthwise x2", "3 groups", "2 groups"])
def test_grouped_convolutions_equal_their_reference(device, groups, c_in, c_out):
    """The fast set does all groups in one product (kernels/grouped.py), with its own path
    for depthwise convolutions; the reference convolves group after group."""
    rng = np.random.default_rng(groups + c_out)
    x = on(device, rng.normal(size=(2, c_in, 7, 6)))
    w = on(device, rng.normal(size=(c_out, c_in // groups, 3, 2)))
    wt = on(device, rng.normal(size=(c_in, c_out // groups, 3, 2)))
    s, p, d = (2, 1), (1, 0), (1, 2)
    y = reference.conv2d(x, w, s, p, d, groups)
    gy = on(device, rng.normal(size=y.shape))
    for threads in THREADS:
        same(*both("conv2d", threads, x, w, s, p, d, groups))
        same(*both("conv2d_grad_weight", threads, x, gy, (3, 2), s, p, d, groups))
        same(*both("conv2d_backward", threads, x, w, gy, s, p, d, groups, True, True))
        same(*both("conv_transpose2d", threads, x, wt, s, p, d, (14, 8), groups))
