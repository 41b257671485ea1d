"""Batch normalization (`minigan.ops.norm.batch_norm`), as PyTorch's ``F.batch_norm``.

What it promises, in the order of docs/04_batchnorm.md: the forward pass normalises with the
batch statistics in training and the running ones in eval; training updates the running
statistics in place with the *unbiased* variance; gradients are right to first and second
order in both modes; bad input gets a clear error.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan
from minigan.ops.norm import BatchNormTrain, batch_norm
from minigan.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck
from strategies import arrays, make_tensor


def reference(x, running_mean, running_var, weight, bias, training, momentum, eps=1e-5):
    """NumPy batch norm: the output, and the running statistics afterwards."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        m = x.size // x.shape[1]
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var * m / (m - 1)
    else:
        mean, var = running_mean, running_var
    xhat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return xhat * weight.reshape(shape) + bias.reshape(shape), running_mean, running_var


@st.composite
def bn_shapes(draw, ndims=(2, 4)):
    """(N, C) or (N, C, H, W), tiny: N in 2..4, C in 1..3, H, W in 1..3."""
    shape = (draw(st.integers(2, 4)), draw(st.integers(1, 3)))
    ndim = draw(st.sampled_from(ndims))
    return shape + tuple(draw(st.integers(1, 3)) for _ in range(ndim - 2))


@st.composite
def batches(draw, shape):
    """Values in [-2, 2], each channel spread out (std >= 0.5): with only two values a channel
    could otherwise be nearly constant, and dividing by its tiny std is ill-conditioned."""
    x = draw(arrays(shape))
    axes = (0,) + tuple(range(2, len(shape)))
    mean, std = x.mean(axis=axes, keepdims=True), x.std(axis=axes, keepdims=True)
    x[...] = mean + (x - mean) * np.maximum(1.0, 0.5 / std)  # in place: keeps the strides
    return x


@st.composite
def bn_case(draw, ndims=(2, 4)):
    """x, weight, bias and running statistics for one drawn shape (host float64 arrays)."""
    shape = draw(bn_shapes(ndims))
    c = shape[1]
    return (draw(batches(shape)), draw(arrays((c,))), draw(arrays((c,))),
            draw(arrays((c,))), draw(arrays((c,), 0.5, 2.0)))


def tensors(device, *arrays_, requires_grad=True):
    return [make_tensor(a, device, requires_grad) for a in arrays_]


# ------------------------------------------------------------------------------ forward
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@given(case=bn_case(ndims=(2, 3, 4)))
def test_forward_matches_reference(kernel_set, device, training, case):
    x, w, b, rm, rv = case
    running_mean, running_var = tensors(device, rm.copy(), rv.copy(), requires_grad=False)
    y = batch_norm(make_tensor(x, device), running_mean, running_var, *tensors(device, w, b),
                   training=training, momentum=0.3)
    want_y, want_rm, want_rv = reference(x, rm, rv, w, b, training, momentum=0.3)
    np.testing.assert_allclose(y.numpy(), want_y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(running_mean.numpy(), want_rm, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(running_var.numpy(), want_rv, rtol=1e-12, atol=1e-12)


def test_training_normalises_each_channel(device):
    x = minigan.randn(8, 3, 4, 4, device=device) * 5.0 + 2.0
    y = batch_norm(x, None, None, training=True).numpy()  # no running statistics: allowed
    assert np.allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    assert np.allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)  # biased variance, up to eps


def test_one_sample_with_pixels_can_train(device):
    # PyTorch needs more than one value per *channel*, not more than one sample.
    x = np.random.default_rng(0).standard_normal((1, 2, 2, 3))
    y = batch_norm(make_tensor(x, device), None, None, training=True)
    ones, zeros = np.ones(2), np.zeros(2)
    np.testing.assert_allclose(y.numpy(), reference(x, zeros, ones, ones, zeros, True, 0.1)[0])


def test_running_statistics_update_in_place_with_unbiased_variance(device):
    x = np.array([[1.0, 10.0], [3.0, 20.0], [8.0, 60.0]])  # 3 samples, 2 channels
    running_mean, running_var = minigan.zeros(2, device=device), minigan.ones(2, device=device)
    mean_array, var_array = running_mean.data, running_var.data
    with minigan.no_grad():  # the update happens with or without a graph
        batch_norm(minigan.tensor(x, device=device, dtype="float32"), running_mean,
                   running_var, training=True, momentum=0.25)
    assert running_mean.data is mean_array and running_var.data is var_array  # in place
    assert running_mean.dtype == running_var.dtype == np.float32
    np.testing.assert_allclose(running_mean.numpy(), 0.75 * 0 + 0.25 * x.mean(axis=0), rtol=1e-6)
    # x.var(ddof=1): divided by m - 1 = 2, not by m = 3
    np.testing.assert_allclose(running_var.numpy(), 0.75 * 1 + 0.25 * x.var(axis=0, ddof=1),
                               rtol=1e-6)
    assert not running_mean.requires_grad and running_mean.creator is None


def test_eval_mode_leaves_running_statistics_alone(device):
    running_mean = minigan.tensor([0.5, -1.0], device=device)
    running_var = minigan.tensor([2.0, 0.25], device=device)
    batch_norm(minigan.randn(4, 2, device=device), running_mean, running_var, training=False)
    np.testing.assert_array_equal(running_mean.numpy(), np.float32([0.5, -1.0]))
    np.testing.assert_array_equal(running_var.numpy(), np.float32([2.0, 0.25]))


def test_float32_stays_float32(kernel_set, device):
    x = minigan.randn(4, 3, 2, 2, device=device, requires_grad=True)
    w = minigan.ones(3, device=device, requires_grad=True)
    b = minigan.zeros(3, device=device, requires_grad=True)
    rm, rv = minigan.zeros(3, device=device), minigan.ones(3, device=device)
    for training in (True, False):
        y = batch_norm(x, rm, rv, w, b, training=training)
        y.backward(minigan.randn(*y.shape, device=device))
        assert {t.dtype for t in (y, x.grad, w.grad, b.grad, rm, rv)} == {np.dtype("float32")}
        assert y.device == x.grad.device == rm.device == device


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 5, 2)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_matches_pytorch(shape, dtype, training):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, gy = (rng.standard_normal(shape).astype(dtype) * 2 + 1 for _ in range(2))
    w, b, rm = (rng.standard_normal(shape[1]).astype(dtype) for _ in range(3))
    rv = rng.uniform(0.5, 2, shape[1]).astype(dtype)
    ours = [minigan.Tensor(a, requires_grad=True) for a in (x, w, b)] + \
        [minigan.Tensor(a.copy()) for a in (rm, rv)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)] + \
        [torch.tensor(a.copy()) for a in (rm, rv)]
    y = batch_norm(ours[0], ours[3], ours[4], ours[1], ours[2], training=training, momentum=0.2)
    y.backward(minigan.Tensor(gy))
    ty = torch.nn.functional.batch_norm(theirs[0], theirs[3], theirs[4], theirs[1], theirs[2],
                                        training=training, momentum=0.2)
    ty.backward(torch.tensor(gy))
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **tol)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose((a.grad if a.requires_grad else a).numpy(),
                                   (t.grad if t.requires_grad else t).numpy(), **tol)


# ---------------------------------------------------------------------------- gradients
# gradcheck uses a random upstream gradient u (the loss is sum(BN(x) * u)); the test below
# shows why an all-ones upstream gradient would prove nothing for batch norm.
@pytest.mark.parametrize("training", [True, False], ids=["training_mode", "eval_mode"])
@given(case=bn_case())
def test_gradients(kernel_set, device, training, case):
    x, w, b, rm, rv = case
    running_mean, running_var = tensors(device, rm, rv, requires_grad=False)

    def fn(x, w, b):
        return batch_norm(x, running_mean, running_var, w, b, training=training)
    inputs = tensors(device, x, w, b)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@settings(max_examples=4)
@given(case=bn_case())
def test_gradients_without_weight_and_bias(kernel_set, device, case):
    x = make_tensor(case[0], device)
    assert gradcheck(lambda x: batch_norm(x, None, None, training=True), [x])
    assert gradgradcheck(lambda x: batch_norm(x, None, None, training=True), [x])


@settings(max_examples=4)
@given(case=bn_case())
def test_differentiable_backward_agrees_with_fast_backward(kernel_set, device, case):
    # create_graph=True takes the backward written in minigan ops (so it can be differentiated
    # again); a plain backward takes the fast array formula. gradgradcheck checks the
    # *derivatives* of the first; here its values must equal the (gradchecked) second.
    inputs = tensors(device, *case[:3])
    gy = make_tensor(np.random.default_rng(0).standard_normal(case[0].shape), device, False)
    y = batch_norm(inputs[0], None, None, inputs[1], inputs[2], training=True)
    slow = minigan.grad(y, inputs, gy, retain_graph=True, create_graph=True)
    fast = minigan.grad(y, inputs, gy)
    for s, f in zip(slow, fast):
        np.testing.assert_allclose(s.numpy(), f.numpy(), rtol=1e-10, atol=1e-12)


def test_gradient_of_the_sum_is_zero_so_it_tests_nothing(device):
    # Every output channel of batch norm (before gamma, beta) has mean zero whatever x is, so
    # sum(BN(x)) = N * L * sum(beta) does not depend on x: its gradient is 0 for ANY correct
    # implementation -- and for a broken backward that returns zeros. A test built on
    # sum(BN(x)).backward() can therefore not fail; gradcheck uses a random upstream gradient.
    x = minigan.randn(6, 3, 2, 2, device=device, dtype="float64", requires_grad=True)
    weight = minigan.tensor([0.5, 2.0, -1.0], device=device, dtype="float64")
    batch_norm(x, None, None, weight, training=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.0, atol=1e-12)


class _ConstantStatistics(BatchNormTrain):
    """DeZero's mistake: a backward that treats xhat and inv_std, which depend on x, as
    constants. Its first derivative is right; its second derivative is not."""
    backward_arrays = None  # every backward goes through the one below

    def backward(self, gy):
        x, weight, _ = self.inputs
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        saved_inv_std = (1.0 / np.sqrt(minigan.to_numpy(self.var) + self.eps)).reshape(shape)
        xhat = (x.numpy() - minigan.to_numpy(self.mean).reshape(shape)) * saved_inv_std
        xhat, inv_std = (minigan.tensor(a, device=x.device) for a in (xhat, saved_inv_std))
        g = gy * minigan.reshape(weight, shape)
        dx = inv_std * (g - g.mean(axes, keepdim=True)
                        - xhat * (g * xhat).mean(axes, keepdim=True))
        return dx, (gy * xhat).sum(axes), gy.sum(axes)


def test_second_order_check_catches_constant_statistics(device):
    x, w, b = tensors(device, *(np.random.default_rng(3).standard_normal(s)
                                for s in ((4, 2, 2, 2), (2,), (2,))))

    def wrong(x, w, b):
        return _ConstantStatistics(1e-5)(x, w, b)
    assert gradcheck(wrong, [x, w, b])  # first order: fine
    with pytest.raises(GradcheckError):
        gradgradcheck(wrong, [x, w, b])  # second order: caught


# -------------------------------------------------------------------------------- errors
def _call(device, shape=(4, 3), running=3, weight=3, bias=3, training=True, **kwargs):
    def vec(n):
        return None if n is None else minigan.ones(n, device=device)
    return batch_norm(minigan.randn(*shape, device=device), vec(running), vec(running),
                      vec(weight), vec(bias), training=training, **kwargs)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(shape=(3,)), ValueError, r"\(N, C\).*got shape \(3,\)"),
    (dict(running=4), ValueError, r"running_mean has shape \(4,\).*3 channels"),
    (dict(weight=2), ValueError, r"weight has shape \(2,\).*3 channels"),
    (dict(bias=5), ValueError, r"bias has shape \(5,\)"),
    (dict(shape=(1, 3)), ValueError, "more than 1 value per channel when training"),
    (dict(shape=(1, 3, 1, 1)), ValueError, "more than 1 value per channel when training"),
    (dict(running=None, training=False), ValueError, "running_mean and running_var must be given"),
    (dict(momentum=None), TypeError, "1 / num_batches_tracked"),
])
def test_bad_input_gets_a_clear_error(device, kwargs, error, message):
    with pytest.raises(error, match=message):
        _call(device, **kwargs)


def test_eval_with_one_value_per_channel_is_fine(device):
    assert _call(device, shape=(1, 3), training=False).shape == (1, 3)


def test_running_statistics_must_come_in_pairs(device):
    x = minigan.randn(4, 3, device=device)
    with pytest.raises(ValueError, match="both be given or both be None"):
        batch_norm(x, minigan.zeros(3, device=device), None, training=True)


def test_dtype_and_device_mismatch(device):
    x = minigan.randn(4, 3, device=device)
    with pytest.raises(TypeError, match="running_mean is float64, the input is float32"):
        batch_norm(x, minigan.zeros(3, device=device, dtype="float64"),
                   minigan.ones(3, device=device), training=True)
    other = "strict" if device == "cpu" else "cpu"
    with pytest.raises(minigan.DeviceError, match=f"weight is on {other}"):
        batch_norm(x, None, None, minigan.ones(3, device=other), training=True)
