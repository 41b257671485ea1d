"""Every differentiable op, checked against finite differences to first AND second order.

Hypothesis draws shapes (broadcasting pairs included), values (kept away from kinks) and
memory layouts; each case runs on every test device (cpu and the strict CuPy emulator).
The upstream gradient is random (gradcheck draws it), never all ones.
"""
import pytest
from hypothesis import given, strategies as st

import minigan as mg
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, broadcastable_shapes, make_tensor, shapes


def check_both_orders(fn, inputs):
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


# ------------------------------------------------------------------ binary, broadcasting
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("op", sorted(BINARY))
@given(data=st.data())
def test_binary_ops_broadcast(device, op, data):
    shape_a, shape_b = data.draw(broadcastable_shapes())
    a = make_tensor(data.draw(arrays(shape_a)), device)
    # divisors kept away from 0, where 1/b explodes
    b = make_tensor(data.draw(arrays(shape_b, avoid=(0,), gap=0.5)), device)
    check_both_orders(BINARY[op], [a, b])


@given(data=st.data())
def test_binary_op_with_python_scalar(device, data):
    x = make_tensor(data.draw(arrays(data.draw(shapes()), avoid=(0,), gap=0.3)), device)
    check_both_orders(lambda x: 2.5 - x * 3.0 + 1.0 / x, [x])


# ------------------------------------------------------------------------- unary
UNARY = {  # name: (function, low, high, kinks to avoid)
    "neg": (lambda x: -x, -2, 2, ()),
    "pow3": (lambda x: x ** 3, -2, 2, ()),
    "pow_half": (lambda x: x ** 0.5, 0.2, 3, ()),
    "pow_neg": (lambda x: x ** -2.0, 0.5, 3, ()),
    "exp": (mg.exp, -2, 2, ()),
    "log": (mg.log, 0.2, 4, ()),
    "sqrt": (mg.sqrt, 0.2, 4, ()),
    "abs": (mg.abs, -2, 2, (0,)),
    "relu": (mg.relu, -2, 2, (0,)),
    "leaky_relu": (lambda x: mg.leaky_relu(x, 0.2), -2, 2, (0,)),
    "tanh": (mg.tanh, -3, 3, ()),
    "sigmoid": (mg.sigmoid, -4, 4, ()),
    "softplus": (mg.softplus, -4, 4, ()),
    "clip": (lambda x: mg.clip(x, -0.5, 1.0), -2, 2, (-0.5, 1.0)),
    "clip_low": (lambda x: mg.clip(x, min=0.3), -2, 2, (0.3,)),
}


@pytest.mark.parametrize("op", sorted(UNARY))
@given(data=st.data())
def test_unary_ops(kernel_set, device, op, data):
    fn, low, high, kinks = UNARY[op]
    x = make_tensor(data.draw(arrays(data.draw(shapes()), low, high, avoid=kinks, gap=0.1)), device)
    check_both_orders(fn, [x])


# --------------------------------------------------------------------- reductions
@st.composite
def shape_and_dims(draw):
    shape = draw(shapes(1, 3))
    dims = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                          st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True)
                          .map(tuple)))
    return shape, dims, draw(st.booleans())


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "var"])
@given(data=st.data())
def test_reductions(device, op, data):
    shape, dims, keepdim = data.draw(shape_and_dims())
    values = data.draw(arrays(shape))
    if op in ("max", "min"):  # distinct values: ties make max non-differentiable
        values = values + 0.3 * mg.backend.np.arange(values.size).reshape(shape) / max(values.size, 1)
        values = mg.backend.np.random.default_rng(0).permutation(values.ravel()).reshape(shape)
    if op == "var":
        count = 1
        for d in mg.ops.shape.normalize_axes(dims, len(shape)):
            count *= shape[d]
        if count < 2:
            return
    x = make_tensor(values, device)
    check_both_orders(lambda x: getattr(x, op)(dims, keepdim=keepdim), [x])


def test_var_biased(device):
    x = make_tensor(mg.backend.np.random.default_rng(1).normal(size=(3, 4)), device)
    check_both_orders(lambda x: mg.var(x, dim=1, unbiased=False), [x])


# ------------------------------------------------------------------------ matmul
@given(data=st.data())
def test_matmul_batched_broadcast(device, data):
    n, k, m = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    batch_a, batch_b = data.draw(broadcastable_shapes(0, 2, 3)) if data.draw(st.booleans()) else ((), ())
    a = make_tensor(data.draw(arrays(batch_a + (n, k))), device)
    b = make_tensor(data.draw(arrays(batch_b + (k, m))), device)
    check_both_orders(lambda a, b: a @ b, [a, b])


def test_matmul_vectors(device):
    rng = mg.backend.np.random.default_rng(2)
    v = make_tensor(rng.normal(size=3), device)
    M = make_tensor(rng.normal(size=(3, 2)), device)
    check_both_orders(lambda v, M: mg.matmul(v, M), [v, M])
    check_both_orders(lambda v, M: mg.matmul(M.T, v), [v, M])


@given(data=st.data())
def test_linear(kernel_set, device, data):
    n, i, o = (data.draw(st.integers(1, 4)) for _ in range(3))
    lead = data.draw(st.sampled_from([(), (2,), (2, 1)]))  # (N, T, in): every token's row
    x = make_tensor(data.draw(arrays(lead + (n, i))), device)
    w = make_tensor(data.draw(arrays((o, i))), device)
    b = make_tensor(data.draw(arrays((o,))), device)
    check_both_orders(mg.linear, [x, w, b])


# ------------------------------------------------------------------- shape ops
@given(data=st.data())
def test_reshape_permute_transpose(device, data):
    shape = data.draw(shapes(2, 3))
    x = make_tensor(data.draw(arrays(shape)), device)
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    check_both_orders(lambda x: x.permute(perm).reshape(-1) * x.reshape(-1)[0], [x])
    check_both_orders(lambda x: mg.transpose(x, 0, -1).flatten() ** 2, [x])


@given(data=st.data())
def test_broadcast_to_and_sum_to(device, data):
    small, _ = data.draw(broadcastable_shapes())
    big = (2,) + tuple(max(n, 2) for n in small)
    x = make_tensor(data.draw(arrays(small)), device)
    check_both_orders(lambda x: mg.broadcast_to(x, big) ** 2, [x])
    y = make_tensor(data.draw(arrays(big)), device)
    check_both_orders(lambda y: mg.sum_to(y, small) ** 2, [y])


INDICES = [
    (slice(1, 3),),
    (Ellipsis, 0),
    (slice(None, None, -1), slice(None, None, 2)),
    (None, 1),
    ([0, 2, 0],),  # advanced index with a repeat: gradients must add up
]


@pytest.mark.parametrize("index", INDICES, ids=str)
def test_getitem(device, index):
    x = make_tensor(mg.backend.np.random.default_rng(3).normal(size=(3, 4)), device)
    check_both_orders(lambda x: x[index] ** 2, [x])


@given(data=st.data())
def test_concat_and_stack(device, data):
    shape = data.draw(shapes(1, 3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = make_tensor(data.draw(arrays(shape)), device)
    other = list(shape)
    other[dim] = data.draw(st.integers(1, 3))
    b = make_tensor(data.draw(arrays(tuple(other))), device)
    check_both_orders(lambda a, b: mg.concat([a, b * b], dim=dim), [a, b])
    check_both_orders(lambda a: mg.stack([a, a ** 2], dim=dim), [a])


@given(data=st.data())
def test_pad(device, data):
    shape = data.draw(shapes(1, 3))
    widths = tuple(data.draw(st.integers(0, 2)) for _ in range(2 * data.draw(st.integers(1, len(shape)))))
    x = make_tensor(data.draw(arrays(shape)), device)
    check_both_orders(lambda x: mg.pad(x * x, widths, value=0.5), [x])


@given(data=st.data())
def test_where(device, data):
    shape_a, shape_b = data.draw(broadcastable_shapes())
    a = make_tensor(data.draw(arrays(shape_a)), device)
    b = make_tensor(data.draw(arrays(shape_b)), device)
    condition = (a * 0.0 + b * 0.0).data  # broadcast shape, then pick half of it
    condition = mg.backend.to_device(mg.backend.np.random.default_rng(4).random(condition.shape) > 0.5, device)
    check_both_orders(lambda a, b: mg.where(condition, a * a, b * a), [a, b])


# ----------------------------------------------------------------------------- losses
@given(data=st.data())
def test_mse_loss(device, data):
    shape = data.draw(shapes())
    x = make_tensor(data.draw(arrays(shape)), device)
    t = make_tensor(data.draw(arrays(shape)), device)
    check_both_orders(mg.mse_loss, [x, t])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(data=st.data())
def test_bce_with_logits(device, reduction, data):
    shape = data.draw(shapes())
    x = make_tensor(data.draw(arrays(shape, -5, 5)), device)
    t = make_tensor(data.draw(arrays(shape, 0, 1)), device)
    check_both_orders(lambda x, t: mg.binary_cross_entropy_with_logits(x, t, reduction=reduction), [x, t])


@given(data=st.data())
def test_bce(device, data):
    shape = data.draw(shapes())
    p = make_tensor(data.draw(arrays(shape, 0.05, 0.95)), device)
    t = make_tensor(data.draw(arrays(shape, 0, 1)), device)
    check_both_orders(mg.binary_cross_entropy, [p, t])


def test_to_device_and_dtype_are_differentiable(device):
    x = make_tensor(mg.backend.np.random.default_rng(5).normal(size=(2, 3)), "cpu")
    check_both_orders(lambda x: (x.to(device) ** 2).to("cpu"), [x])


def test_bce_gradient_is_finite_at_saturated_probabilities():
    # sigmoid(20) is exactly 1.0 in float32; the textbook gradient would be inf - inf = nan
    x = mg.tensor([20.0, 0.0], requires_grad=True)
    mg.binary_cross_entropy(mg.sigmoid(x), mg.tensor([1.0, 1.0])).backward()
    assert x.grad.numpy().tolist() == [0.0, -0.25]
