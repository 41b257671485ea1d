"""The gradient checker must itself be able to fail: these tests give it wrong backward
passes and kinks, and expect it to say so."""
import numpy as np
import pytest

import minigan as mg
from minigan import Function
from minigan.testing.gradcheck import (GradcheckError, NondifferentiableError, gradcheck,
                                       gradgradcheck)
from strategies import make_tensor


class SignFlippedMul(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        return gy * b, -(gy * a)  # wrong sign for b


class TransposedMatMul(Function):
    def forward(self, a, b):
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        return gy @ b.T, gy.T @ a  # should be a.T @ gy: the shape fits square inputs, values don't


class ConstantSavedSquare(Function):
    """Right first derivative, wrong second: it treats 2x as a constant (DeZero's BN mistake)."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * (2 * self.inputs[0].data)


def test_catches_sign_flip(device):
    rng = np.random.default_rng(0)
    a, b = (make_tensor(rng.normal(size=(2, 3)), device) for _ in range(2))
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(lambda a, b: SignFlippedMul()(a, b), [a, b])


def test_catches_transposed_gradient(device):
    rng = np.random.default_rng(1)
    a, b = (make_tensor(rng.normal(size=(3, 3)), device) for _ in range(2))
    gradcheck(lambda a, b: a @ b, [a, b])  # the real one passes
    with pytest.raises(GradcheckError):
        gradcheck(lambda a, b: TransposedMatMul()(a, b), [a, b])


def test_catches_wrong_second_derivative(device):
    x = make_tensor(np.array([0.5, -1.5, 2.0]), device)
    assert gradcheck(lambda x: ConstantSavedSquare()(x), [x])
    with pytest.raises(GradcheckError):
        gradgradcheck(lambda x: ConstantSavedSquare()(x), [x])
    assert gradgradcheck(lambda x: x * x, [x])


def test_random_direction_check_on_large_inputs(device):
    rng = np.random.default_rng(2)
    a, b = (make_tensor(rng.normal(size=(20, 10)), device) for _ in range(2))
    assert gradcheck(lambda a, b: a * b, [a, b], max_elements=16)
    with pytest.raises(GradcheckError, match="random direction"):
        gradcheck(lambda a, b: SignFlippedMul()(a, b), [a, b], max_elements=16)


def test_detects_kinks():
    x = mg.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    with pytest.raises(NondifferentiableError, match="not differentiable"):
        gradcheck(mg.abs, [x])


def test_report_names_worst_element():
    x = mg.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    y = mg.Tensor(np.array([[1.0, -1.0], [0.5, 2.0]]), requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        # |error| at b[i, j] is 2 |u[i, j] a[i, j]|: largest at (1, 1) for this upstream u
        gradcheck(lambda a, b: SignFlippedMul()(a, b), [x, y],
                  upstream=[np.array([[0.5, -1.0], [0.2, 3.0]])])
    message = str(info.value)
    assert "element (1, 1)" in message and "backprop" in message and "finite differences" in message


def test_refuses_float32():
    x = mg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        gradcheck(mg.exp, [x])
