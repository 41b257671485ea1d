"""Layer, group and instance norm (`minigan.ops.normalize`, `minigan.nn.normalization`), as
PyTorch's ``F.layer_norm``, ``F.group_norm``, ``F.instance_norm`` and their modules.

What they promise, in the order of the last section of docs/04_batchnorm.md: each normalises
over its own axes (a NumPy formula says which) and then scales and shifts; gradients are
right to first and second order; instance norm keeps running statistics like batch norm
(unbiased variance, averaged over the batch) and uses them in eval; the modules start,
save and behave as PyTorch's; bad input gets a clear error.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan
from minigan import nn
from minigan.nn import functional as F
from minigan.ops.normalize import Normalize
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor

KINDS = ["layer", "group", "instance"]


# ------------------------------------------------------------------- NumPy reference
def normalize(x, axes, eps=1e-5):
    """(x - mean) / sqrt(var + eps) over ``axes``, with the biased variance."""
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def reference(kind, x, weight, bias, arg, eps=1e-5):
    """The output of layer norm (arg: normalized_shape), group norm (arg: num_groups) or
    instance norm (arg unused), in NumPy."""
    channel = (1, -1) + (1,) * (x.ndim - 2)
    if kind == "layer":
        y = normalize(x, tuple(range(x.ndim - len(arg), x.ndim)), eps)
        shape = arg
    elif kind == "group":
        y = normalize(x.reshape(x.shape[0], arg, -1), (2,), eps).reshape(x.shape)
        shape = channel
    else:
        y = normalize(x, tuple(range(2, x.ndim)), eps)
        shape = channel
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def call(kind, x, weight, bias, arg, eps=1e-5):
    if kind == "layer":
        return F.layer_norm(x, arg, weight, bias, eps)
    if kind == "group":
        return F.group_norm(x, arg, weight, bias, eps)
    return F.instance_norm(x, None, None, weight, bias, True, 0.1, eps)


# ------------------------------------------------------------------------- strategies
def spread(x, grouped_shape, axes):
    """Give every normalised group a std of at least 0.5, in place (keeps the strides): a
    group of two close values would make dividing by its tiny std ill-conditioned."""
    g = x.reshape(grouped_shape)
    mean, std = g.mean(axis=axes, keepdims=True), g.std(axis=axes, keepdims=True)
    x[...] = (mean + (g - mean) * np.maximum(1.0, 0.5 / np.maximum(std, 1e-3))).reshape(x.shape)
    return x


@st.composite
def norm_case(draw, kind):
    """(x, weight, bias, arg) for one drawn configuration, host float64 arrays: tiny shapes,
    at least 2 values in every normalised group."""
    n = draw(st.integers(1, 3))
    if kind == "layer":
        shape = [n] + [draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 3)))]
        k = draw(st.integers(1, len(shape) - 1))
        shape[-1] = max(shape[-1], 2)
        arg = tuple(shape[len(shape) - k:])
        params, grouped, axes = arg, shape, tuple(range(len(shape) - k, len(shape)))
    elif kind == "group":
        groups = draw(st.integers(1, 3))
        channels = groups * draw(st.integers(1, 2))
        shape = [n, channels] + [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))]
        if int(np.prod(shape)) // (n * groups) < 2:
            shape.append(2)
        arg, params, grouped, axes = groups, (channels,), (n, groups, -1), (2,)
    else:
        shape = [n, draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(2, 3))]
        arg, params, grouped, axes = None, (shape[1],), shape, (2, 3)
    x = spread(draw(arrays(shape)), grouped, axes)
    return x, draw(arrays(params)), draw(arrays(params)), arg


def tensors(device, *arrays_, requires_grad=True):
    return [None if a is None else make_tensor(a, device, requires_grad) for a in arrays_]


# ------------------------------------------------------------------------------ forward
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_forward_matches_reference(device, kind, data):
    x, w, b, arg = data.draw(norm_case(kind))
    for weight, bias in ((w, b), (None, None), (w, None)):
        y = call(kind, *tensors(device, x, weight, bias), arg)
        np.testing.assert_allclose(y.numpy(), reference(kind, x, weight, bias, arg),
                                   rtol=1e-10, atol=1e-12)


def test_each_norm_normalises_its_own_axes(device):
    x = minigan.randn(2, 4, 3, 3, device=device) * 5.0 + 2.0
    cases = [(F.layer_norm(x, (4, 3, 3)).numpy(), (1, 2, 3), (2, 1, 1, 1)),
             (F.group_norm(x, 2).numpy().reshape(2, 2, 18), (2,), (2, 2, 1)),
             (F.instance_norm(x).numpy(), (2, 3), (2, 4, 1, 1))]
    for y, axes, shape in cases:
        assert y.mean(axis=axes, keepdims=True).shape == shape
        np.testing.assert_allclose(y.mean(axis=axes), 0, atol=1e-5)
        np.testing.assert_allclose(y.var(axis=axes), 1, atol=1e-3)  # biased, up to eps


def test_float32_stays_float32(device):
    x = minigan.randn(2, 4, 3, 3, device=device, requires_grad=True)
    for module in (nn.LayerNorm((3, 3), device=device), nn.GroupNorm(2, 4, device=device),
                   nn.InstanceNorm2d(4, affine=True, track_running_stats=True, device=device)):
        y = module(x)
        y.backward(minigan.randn(*y.shape, device=device))
        tensors_ = [y, x.grad] + list(module.parameters()) + [p.grad for p in module.parameters()]
        assert {t.dtype for t in tensors_} == {np.dtype("float32")}
        assert {t.device for t in tensors_} == {device}
        x.grad = None


# ---------------------------------------------------------------------------- gradients
# gradcheck uses a random upstream gradient: with an all-ones one the gradient of every
# normalised group's sum would be zero, as for batch norm (tests/test_batchnorm.py).
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_gradients(kernel_set, device, kind, data):
    x, w, b, arg = data.draw(norm_case(kind))

    def fn(x, w, b):
        return call(kind, x, w, b, arg)
    inputs = tensors(device, x, w, b)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=4)
@given(data=st.data())
def test_gradients_without_weight_and_bias(kernel_set, device, kind, data):
    x, _, _, arg = data.draw(norm_case(kind))
    (x,) = tensors(device, x)
    assert gradcheck(lambda x: call(kind, x, None, None, arg), [x])
    assert gradgradcheck(lambda x: call(kind, x, None, None, arg), [x])


@settings(max_examples=4)
@given(case=norm_case("instance"), stats=st.data())
def test_instance_norm_gradients_with_running_statistics(kernel_set, device, case, stats):
    x, w, b, _ = case
    c = x.shape[1]
    rm, rv = tensors(device, stats.draw(arrays((c,))), stats.draw(arrays((c,), 0.5, 2.0)),
                     requires_grad=False)

    def fn(x, w, b):
        return F.instance_norm(x, rm, rv, w, b, use_input_stats=False)
    inputs = tensors(device, x, w, b)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=4)
@given(data=st.data())
def test_differentiable_backward_agrees_with_array_backward(device, kind, data):
    # create_graph=True takes Normalize.backward, written in minigan ops; a plain backward
    # takes Normalize.backward_arrays. gradgradcheck checks the derivatives of the first;
    # here its values must equal the (gradchecked) second.
    x, w, b, arg = data.draw(norm_case(kind))
    inputs = tensors(device, x, w, b)
    gy = make_tensor(np.random.default_rng(0).standard_normal(x.shape), device, False)
    y = call(kind, *inputs, arg)
    slow = minigan.grad(y, inputs, gy, retain_graph=True, create_graph=True)
    fast = minigan.grad(y, inputs, gy)
    for s, f in zip(slow, fast):
        np.testing.assert_allclose(s.numpy(), f.numpy(), rtol=1e-10, atol=1e-12)


def test_normalize_is_the_one_op(device):
    x = minigan.randn(2, 4, 3, device=device, dtype="float64", requires_grad=True)
    for y in (F.layer_norm(x, 3), F.group_norm(x, 2), F.instance_norm(x)):
        assert isinstance(y.creator, Normalize) or any(
            isinstance(t.creator, Normalize) for t in y.creator.inputs)


# ------------------------------------------------------------- instance norm statistics
def test_instance_norm_running_statistics_use_the_unbiased_variance(device):
    x = np.array([[[1.0, 2.0, 6.0]], [[0.0, 4.0, 8.0]]])  # 2 samples, 1 channel, L = 3
    rm, rv = minigan.zeros(1, device=device), minigan.ones(1, device=device)
    mean_array = rm.data
    with minigan.no_grad():
        F.instance_norm(minigan.tensor(x, device=device, dtype="float32"), rm, rv,
                        momentum=0.25)
    assert rm.data is mean_array and rm.dtype == rv.dtype == np.float32  # in place
    # each sample's mean (3, 4) and unbiased variance (7, 16), averaged over the batch
    np.testing.assert_allclose(rm.numpy(), [0.75 * 0 + 0.25 * 3.5], rtol=1e-6)
    np.testing.assert_allclose(rv.numpy(), [0.75 * 1 + 0.25 * 11.5], rtol=1e-6)


def test_instance_norm_eval_uses_running_statistics(device):
    x = np.random.default_rng(2).standard_normal((2, 3, 2, 2))
    rm, rv = np.array([0.5, -1.0, 0.0]), np.array([2.0, 0.25, 1.0])
    running = tensors(device, rm, rv, requires_grad=False)
    y = F.instance_norm(make_tensor(x, device), *running, use_input_stats=False)
    want = (x - rm.reshape(1, 3, 1, 1)) / np.sqrt(rv.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-10)
    np.testing.assert_array_equal(running[0].numpy(), rm)  # left alone


def test_instance_norm_2d_module_modes(device):
    x = minigan.randn(3, 2, 4, 4, device=device) * 3.0 + 1.0
    tracking = nn.InstanceNorm2d(2, track_running_stats=True, device=device)
    plain = nn.InstanceNorm2d(2, device=device)
    tracking(x)
    assert tracking.num_batches_tracked.item() == 0  # as PyTorch: instance norm does not count
    assert not np.allclose(tracking.running_mean.numpy(), 0)
    tracking.eval(), plain.eval()
    np.testing.assert_allclose(plain(x).numpy(), F.instance_norm(x).numpy())  # no stats
    rm, rv = tracking.running_mean, tracking.running_var
    want = F.instance_norm(x, rm, rv, use_input_stats=False).numpy()
    np.testing.assert_allclose(tracking(x).numpy(), want)


def test_layer_and_group_norm_are_the_same_in_train_and_eval(device):
    x = minigan.randn(2, 4, 3, 3, device=device)
    for module in (nn.LayerNorm([4, 3, 3], device=device), nn.GroupNorm(2, 4, device=device)):
        train = module(x).numpy()
        np.testing.assert_array_equal(module.eval()(x).numpy(), train)


def test_unbatched_instance_norm_2d(device):
    x = minigan.randn(2, 3, 4, device=device)
    module = nn.InstanceNorm2d(2, affine=True, device=device)
    y = module(x)
    assert y.shape == (2, 3, 4)
    np.testing.assert_allclose(y.numpy(), module(x.unsqueeze(0)).numpy()[0])


# --------------------------------------------------------------------------- modules
def test_modules_start_as_pytorchs():
    ln, gn = nn.LayerNorm((3, 2)), nn.GroupNorm(2, 4)
    inorm = nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    for m in (ln, gn, inorm):
        np.testing.assert_array_equal(m.weight.numpy(), 1.0)
        np.testing.assert_array_equal(m.bias.numpy(), 0.0)
    assert ln.weight.shape == (3, 2) and gn.weight.shape == (4,)
    np.testing.assert_array_equal(inorm.running_var.numpy(), 1.0)
    assert list(ln.state_dict()) == list(gn.state_dict()) == ["weight", "bias"]
    assert list(inorm.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                        "num_batches_tracked"]
    assert list(nn.InstanceNorm2d(3).state_dict()) == []
    assert list(nn.LayerNorm(3, bias=False).state_dict()) == ["weight"]
    assert list(nn.LayerNorm(3, elementwise_affine=False).state_dict()) == []
    assert nn.LayerNorm(5).normalized_shape == (5,)


POSITIONAL = [
    (nn.LayerNorm, ["normalized_shape", "eps", "elementwise_affine", "bias"],
     ((3, 2), 1e-3, True, False)),
    (nn.GroupNorm, ["num_groups", "num_channels", "eps", "affine"], (2, 4, 1e-3, False)),
    (nn.InstanceNorm2d, ["num_features", "eps", "momentum", "affine", "track_running_stats"],
     (3, 1e-3, 0.2, True, True)),
]


@pytest.mark.parametrize("layer, keywords, args", POSITIONAL,
                         ids=lambda v: getattr(v, "__name__", None))
def test_positional_arguments_mean_what_they_mean_in_pytorch(layer, keywords, args):
    def described(m):
        return repr(m), {k: v.shape for k, v in m.state_dict().items()}
    assert described(layer(*args)) == described(layer(**dict(zip(keywords, args))))
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, layer.__name__)(*args).state_dict()
    assert {k: v.shape for k, v in layer(*args).state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.items()}


# ---------------------------------------------------------------------- against PyTorch
def _configuration(kind, rng, seed):
    """A random configuration: (module name, PyTorch-order positional args, input shape).
    Odd seeds give InstanceNorm2d running statistics; every group has >= 2 values."""
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    eps = float(rng.choice([1e-5, 1e-3, 0.1]))
    if kind == "layer":
        shape = (n, c, int(rng.integers(1, 4)), int(rng.integers(2, 4)))
        normalized_shape = shape[4 - int(rng.integers(1, 4)):]
        args = (normalized_shape, eps, bool(rng.integers(2)), bool(rng.integers(2)))
        return "LayerNorm", args, shape
    if kind == "group":
        groups = int(rng.integers(1, 4))
        shape = (n, groups * c) + tuple(int(s) for s in rng.integers(2, 4, int(rng.integers(1, 3))))
        return "GroupNorm", (groups, groups * c, eps, bool(rng.integers(2))), shape
    shape = (n, c, int(rng.integers(2, 4)), int(rng.integers(2, 4)))
    if rng.integers(2):
        shape = shape[1:]  # unbatched (C, H, W)
    momentum = float(rng.choice([0.1, 0.5]))
    return "InstanceNorm2d", (c, eps, momentum, bool(rng.integers(2)), seed % 2 == 1), shape


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", KINDS)
def test_modules_match_pytorch(kind, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    name, args, shape = _configuration(kind, rng, seed)
    ours = getattr(nn, name)(*args, dtype="float64")
    theirs = getattr(torch.nn, name)(*args, dtype=torch.float64)
    with torch.no_grad():  # random weights, the same in both
        for key, value in theirs.named_parameters():
            value.copy_(torch.tensor(rng.standard_normal(tuple(value.shape))))
    ours.load_state_dict({k: minigan.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    for mode in ("train", "train", "eval"):
        ours.train(mode == "train"), theirs.train(mode == "train")
        x, gy = rng.standard_normal(shape) * 2 + 1, rng.standard_normal(shape)
        x_ours = minigan.tensor(x, requires_grad=True)
        x_theirs = torch.tensor(x, requires_grad=True)
        y, ty = ours(x_ours), theirs(x_theirs)
        y.backward(minigan.tensor(gy))
        ty.backward(torch.tensor(gy))
        tol = dict(rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **tol)
        np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), **tol)
        for (key, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), err_msg=key, **tol)
            p.grad, tp.grad = None, None
        for key, value in theirs.state_dict().items():  # running statistics after each step
            np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(),
                                       err_msg=key, **tol)


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_functional_instance_norm_matches_pytorch_positionally(use_input_stats):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x, w, b, rm = rng.standard_normal((3, 2, 3, 2)), *rng.standard_normal((3, 2))
    rv = rng.uniform(0.5, 2.0, 2)
    ours = [minigan.tensor(a.copy()) for a in (rm, rv)]
    theirs = [torch.tensor(a.copy()) for a in (rm, rv)]
    y = F.instance_norm(minigan.tensor(x), *ours, minigan.tensor(w), minigan.tensor(b),
                        use_input_stats, 0.3, 1e-3)
    ty = torch.nn.functional.instance_norm(torch.tensor(x), *theirs, torch.tensor(w),
                                           torch.tensor(b), use_input_stats, 0.3, 1e-3)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-10, atol=1e-12)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-10, atol=1e-12)


def test_functional_layer_and_group_norm_match_pytorch_positionally():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x, w4 = rng.standard_normal((2, 4, 3)), rng.standard_normal(4)
    w3, b3 = rng.standard_normal((2, 3))
    tF, T = torch.nn.functional, torch.tensor
    np.testing.assert_allclose(F.layer_norm(minigan.tensor(x), (3,), minigan.tensor(w3),
                                            minigan.tensor(b3), 1e-2).numpy(),
                               tF.layer_norm(T(x), (3,), T(w3), T(b3), 1e-2).numpy(), rtol=1e-10)
    np.testing.assert_allclose(F.group_norm(minigan.tensor(x), 2, minigan.tensor(w4), None,
                                            1e-2).numpy(),
                               tF.group_norm(T(x), 2, T(w4), None, 1e-2).numpy(), rtol=1e-10)


# -------------------------------------------------------------------------------- errors
def _x(device, *shape):
    return minigan.randn(*shape, device=device)


def _ones(d, n):
    return minigan.ones(n, device=d)


@pytest.mark.parametrize("make, message", [
    (lambda d: F.layer_norm(_x(d, 2, 3), 3, eps=0.0), "layer_norm: eps must be positive, got 0.0"),
    (lambda d: F.group_norm(_x(d, 2, 4), 2, eps=-1e-5), "group_norm: eps must be positive"),
    (lambda d: F.instance_norm(_x(d, 2, 3, 4), eps=0), "instance_norm: eps must be positive"),
    (lambda d: nn.LayerNorm(3, eps=0), "LayerNorm: eps must be positive"),
    (lambda d: nn.GroupNorm(1, 3, 0), "GroupNorm: eps must be positive"),
    (lambda d: nn.InstanceNorm2d(3, -1.0), "InstanceNorm2d: eps must be positive"),
    (lambda d: F.layer_norm(_x(d, 2, 3, 4), (3,)),
     r"normalized_shape \(3,\) must be the last dims of the input, got input of shape "
     r"\(2, 3, 4\)"),
    (lambda d: F.layer_norm(_x(d, 2, 3), 3, _ones(d, 4)),
     r"layer_norm: weight has shape \(4,\), but the input of shape \(2, 3\) needs shape \(3,\)"),
    (lambda d: F.group_norm(_x(d, 2, 6, 2), 4),
     r"6 channels of the input \(2, 6, 2\) cannot be split into 4"),
    (lambda d: F.group_norm(_x(d, 6), 2), r"group_norm: expected an input of shape \(N, C, ...\)"),
    (lambda d: F.group_norm(_x(d, 2, 4), 2, None, _ones(d, 2)),
     r"bias has shape \(2,\).*needs shape \(4,\)"),
    (lambda d: nn.GroupNorm(4, 6), r"num_channels \(6\) must be divisible by num_groups \(4\)"),
    (lambda d: nn.GroupNorm(2, 4)(_x(d, 2, 6)),
     r"expected input of shape \(N, 4, ...\), got shape \(2, 6\)"),
    (lambda d: F.instance_norm(_x(d, 2, 3)),
     r"instance_norm: expected an input of shape.*got shape \(2, 3\)"),
    (lambda d: F.instance_norm(_x(d, 2, 3, 1, 1)), "more than 1 spatial element"),
    (lambda d: F.instance_norm(_x(d, 2, 3, 4), _ones(d, 3)), "both be given or both be None"),
    (lambda d: F.instance_norm(_x(d, 2, 3, 4), use_input_stats=False),
     "running_mean and running_var must be given"),
    (lambda d: F.instance_norm(_x(d, 2, 3, 4), _ones(d, 2), _ones(d, 2)),
     r"running_mean has shape \(2,\), but the input of shape \(2, 3, 4\) needs shape \(3,\)"),
    (lambda d: nn.InstanceNorm2d(3)(_x(d, 2, 3, 4, 4, 1)),
     r"expected 3D or 4D input.*\(2, 3, 4, 4, 1\)"),
    (lambda d: nn.InstanceNorm2d(3, affine=True)(_x(d, 2, 4, 4, 4)),
     "has 4 channels, expected num_features = 3"),
])
def test_bad_input_gets_a_clear_error(device, make, message):
    with pytest.raises(ValueError, match=message):
        make(device)


def test_channel_mismatch_without_affine_only_warns():
    with pytest.warns(UserWarning, match="has 4 channels"):
        assert nn.InstanceNorm2d(3)(minigan.randn(1, 4, 2, 2)).shape == (1, 4, 2, 2)


def test_dtype_and_device_mismatch(device):
    x = minigan.randn(2, 3, 4, device=device)
    with pytest.raises(TypeError, match="weight is float64, the input is float32"):
        F.group_norm(x, 3, minigan.ones(3, device=device, dtype="float64"))
    other = "strict" if device == "cpu" else "cpu"
    with pytest.raises(minigan.DeviceError, match=f"bias is on {other}"):
        F.layer_norm(x, 4, None, minigan.zeros(4, device=other))
