"""What the engine promises: how backward walks the graph, accumulates, frees, and fails."""
import gc
import weakref

import numpy as np
import pytest

import minigan as mg
from strategies import make_tensor


def test_chain_rule_through_a_small_graph(device):
    x = make_tensor(np.array([1.0, 2.0]), device)
    y = (x * x + mg.exp(x)).sum()  # dy/dx = 2x + e^x
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, 2.0]) + np.exp([1.0, 2.0]))


def test_gradients_accumulate_until_cleared():
    x = mg.tensor([3.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 5).sum().backward()
    assert x.grad.item() == 7.0
    x.grad = None
    (x * 5).sum().backward()
    assert x.grad.item() == 5.0


def test_a_tensor_used_twice_gets_both_contributions():
    x = mg.tensor([2.0], requires_grad=True)
    y = x * x * x  # x used three times along two paths
    y.backward()
    assert x.grad.item() == pytest.approx(12.0)


def test_second_derivative_with_create_graph():
    x = mg.tensor([0.7], dtype="float64", requires_grad=True)
    y = mg.tanh(x)
    (dy,) = mg.grad(y, x, create_graph=True)
    (d2y,) = mg.grad(dy, x)
    t = np.tanh(0.7)
    assert dy.item() == pytest.approx(1 - t * t)
    assert d2y.item() == pytest.approx(-2 * t * (1 - t * t))


def test_backward_create_graph_then_backward_again():
    x = mg.tensor([1.5], dtype="float64", requires_grad=True)
    (x ** 3).backward(create_graph=True)
    g = x.grad
    assert g.creator is not None  # the gradient is part of a graph
    x.grad = None
    g.backward()
    assert x.grad.item() == pytest.approx(6 * 1.5)


def test_grad_with_respect_to_an_intermediate_tensor():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    y = (h * h).sum()
    gh, gx = mg.grad(y, [h, x])
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())
    np.testing.assert_allclose(gx.numpy(), 18 * x.numpy())
    assert x.grad is None  # grad() does not touch .grad


def test_grad_runs_backward_only_on_the_path_to_its_inputs():
    # Unrolled GAN relies on this: a branch that cannot reach the inputs asked for (here w's,
    # behind a function whose backward would fail) is never differentiated.
    class NoBackward(mg.autograd.Function):
        def forward(self, a):
            return a * 2.0

        def backward(self, gy):
            raise AssertionError("grad() ran a backward off the path to its inputs")

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    h = x * 3.0
    y = (h * NoBackward()(w)).sum()
    gx, gh = mg.grad(y, [x, h], create_graph=True)
    np.testing.assert_allclose(gx.numpy(), 3.0 * 2.0 * w.numpy())
    np.testing.assert_allclose(gh.numpy(), 2.0 * w.numpy())
    with pytest.raises(AssertionError, match="off the path"):  # backward() goes everywhere
        y.backward()


def test_grad_unused_input():
    x, z = mg.tensor([1.0], requires_grad=True), mg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="not used"):
        mg.grad((x * 2).sum(), [x, z])
    assert mg.grad((x * 2).sum(), [x, z], allow_unused=True)[1] is None


def test_non_scalar_backward_needs_a_gradient():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        (x * 2).backward()
    (x * 2).backward(mg.tensor([1.0, -1.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -2.0])


def test_backward_twice_through_a_freed_graph():
    x = mg.tensor([1.0], requires_grad=True)
    y = mg.exp(x * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph"):
        y.backward()
    z = mg.exp(x * 2).sum()
    z.backward(retain_graph=True)
    z.backward()  # allowed: the graph was retained
    assert x.grad.item() == pytest.approx(3 * 2 * np.exp(2.0), rel=1e-5)  # three backwards


def test_no_grad_records_nothing():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = x * 2
        with mg.enable_grad():
            z = x * 2
    assert y.creator is None and not y.requires_grad
    assert z.creator is not None


def test_dtype_is_preserved():
    for dtype in ("float32", "float64"):
        x = mg.tensor(np.ones((2, 2)), dtype=dtype, requires_grad=True)
        y = (mg.sigmoid(x * 0.5 + 1.0) / 3.0).mean()
        y.backward()
        assert y.dtype == dtype and x.grad.dtype == dtype
    assert mg.tensor([1.0]).dtype == np.float32  # Python floats default to float32
    assert mg.tensor(np.ones(2)).dtype == np.float64  # NumPy arrays keep theirs


def test_mixing_dtypes_is_an_error_naming_the_op():
    a = mg.tensor([1.0], dtype="float32")
    b = mg.tensor([1.0], dtype="float64")
    with pytest.raises(TypeError, match=r"Add: mixed floating dtypes.*float32.*float64"):
        a + b


def test_mixing_devices_is_an_error_naming_both():
    a = mg.tensor([1.0, 2.0])
    b = mg.tensor([1.0, 2.0]).to("strict")
    with pytest.raises(mg.DeviceError, match=r"Mul: .*\(2,\) on cpu.*\(2,\) on strict"):
        a * b


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 3\)"):
        mg.matmul(mg.ones(2, 3), mg.ones(2, 3))
    with pytest.raises(ValueError, match=r"broadcast"):
        mg.ones(2, 3) + mg.ones(4)
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*\(4,\)"):
        mg.ones(2, 3).reshape(4)


def test_graph_is_freed_without_reference_cycles():
    gc.disable()
    try:
        x = mg.tensor(np.ones(3), requires_grad=True)
        y = mg.tanh(x * 2.0)
        loss = (y * y).sum()
        creator = weakref.ref(y.creator)
        loss.backward()
        del y, loss
        assert creator() is None  # freed by reference counting alone: no cycles
    finally:
        gc.enable()


def test_requires_grad_only_for_floats():
    with pytest.raises(TypeError, match="floating"):
        mg.tensor([1, 2], requires_grad=True)


def test_repr_shows_device_and_grad_fn():
    x = mg.tensor([1.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=Mul" in repr(x * 2)
    assert "device='strict:0'" in repr(x.to("strict"))
