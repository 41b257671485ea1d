"""Softmax, log-softmax, GELU/ELU/SiLU and the classification losses: what they promise.

- Forward: each equals its plain NumPy formula (erf against Python's math.erf).
- Gradients: first AND second order against finite differences (float64, hypothesis shapes,
  on every test device).
- Stability: logits of +-1000 give finite losses and gradients.
- PyTorch: same values and gradients, modules built from PyTorch-order positional arguments.
- Errors: bad targets are refused with messages that say what is wrong.
See docs/05_activations_and_losses.md.
"""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigan as mg
from minigan import nn
from minigan.nn import functional as F
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor, shapes


def check_both_orders(fn, inputs):
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


RNG = np.random.default_rng(0)


# ------------------------------------------------------------------------------ forward
def test_erf_matches_math_erf_to_float64_precision():
    x = np.linspace(-8, 8, 20001)
    ours = mg.erf(mg.tensor(x)).numpy()
    assert np.max(np.abs(ours - np.array([math.erf(v) for v in x]))) < 3e-15


def test_activations_equal_their_formulas():
    x = RNG.normal(size=(3, 5)) * 3
    erf = np.vectorize(math.erf)
    t = mg.tensor(x)
    np.testing.assert_allclose(F.gelu(t).numpy(), 0.5 * x * (1 + erf(x / math.sqrt(2))), rtol=1e-12, atol=1e-15)
    u = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
    np.testing.assert_allclose(F.gelu(t, approximate="tanh").numpy(), 0.5 * x * (1 + np.tanh(u)), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.elu(t, 0.7).numpy(), np.where(x > 0, x, 0.7 * (np.exp(x) - 1)), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.silu(t).numpy(), x / (1 + np.exp(-x)), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.softmax(t, dim=1).numpy(), np_softmax(x, 1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.log_softmax(t, dim=0).numpy(), np_log_softmax(x, 0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.softmax(t, -1).numpy().sum(axis=-1), 1.0, rtol=1e-12, atol=1e-15)


def test_losses_equal_their_formulas():
    x, t = RNG.normal(size=(4, 3)), np.array([2, 0, -100, 1])
    w = np.array([0.5, 2.0, 1.0])
    logp = np_log_softmax(x, 1)
    kept = t != -100
    picked = -logp[np.arange(4)[kept], t[kept]] * w[t[kept]]
    loss = F.cross_entropy(mg.tensor(x), mg.tensor(t), weight=mg.tensor(w))
    assert np.isclose(loss.item(), picked.sum() / w[t[kept]].sum(), rtol=1e-12, atol=1e-15)
    assert np.isclose(F.nll_loss(mg.tensor(logp), mg.tensor(t)).item(), -logp[[0, 1, 3], [2, 0, 1]].mean())
    p = np_softmax(RNG.normal(size=(4, 3)), 1)
    assert np.isclose(F.cross_entropy(mg.tensor(x), mg.tensor(p)).item(), -(p * logp).sum() / 4)
    assert np.isclose(F.kl_div(mg.tensor(logp), mg.tensor(p), reduction="batchmean").item(),
                      (p * (np.log(p) - logp)).sum() / 4)
    y = RNG.normal(size=(4, 3))
    assert np.isclose(F.l1_loss(mg.tensor(x), mg.tensor(y)).item(), np.abs(x - y).mean())


def test_a_reduction_in_the_weight_slot_gets_a_clear_error():
    """PyTorch's third argument is weight; minigan's older order put reduction there."""
    x, t = mg.tensor(RNG.normal(size=5)), mg.tensor(RNG.random(5))
    with pytest.raises(TypeError, match="pass the reduction by name: reduction='sum'"):
        F.binary_cross_entropy_with_logits(x, t, "sum")
    with pytest.raises(TypeError, match="reduction='none'"):
        F.binary_cross_entropy(mg.sigmoid(x), t, "none")


def test_kl_div_treats_zero_target_as_zero():
    loss = F.kl_div(mg.tensor([-1.0, -2.0]), mg.tensor([0.0, 1.0]), reduction="sum")
    assert loss.item() == 2.0


# ------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_gradients(kernel_set, device, op, data):
    shape = data.draw(shapes(1, 3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = make_tensor(data.draw(arrays(shape, -3, 3)), device)
    check_both_orders(lambda x: getattr(F, op)(x, dim), [x])


ACTIVATIONS = {  # name: (function, kinks to avoid)
    "erf": (mg.erf, ()),
    "gelu": (F.gelu, ()),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), ()),
    "elu": (lambda x: F.elu(x, 0.7), (0,)),
    "silu": (F.silu, ()),
}


@pytest.mark.parametrize("op", sorted(ACTIVATIONS))
@given(data=st.data())
def test_activation_gradients(device, op, data):
    fn, kinks = ACTIVATIONS[op]
    x = make_tensor(data.draw(arrays(data.draw(shapes()), -3, 3, avoid=kinks, gap=0.1)), device)
    check_both_orders(fn, [x])


@given(data=st.data())
def test_gelu_tanh_gradients_under_the_reference_kernels(device, data):
    """The fast set's GELU kernels are checked above; the reference set's here (its
    forward and plain backward are the twins that tests/test_kernels.py compares with)."""
    x = make_tensor(data.draw(arrays(data.draw(shapes()), -3, 3)), device)
    with mg.kernels.use("reference"):
        check_both_orders(ACTIVATIONS["gelu_tanh"][0], [x])


def test_erf_gradients_in_its_tails(device):
    # both sides of the switch from series to continued fraction at |x| = 2.5
    x = make_tensor(np.array([-4.0, -2.6, -2.4, 2.4, 2.6, 3.5]), device)
    check_both_orders(mg.erf, [x])
    check_both_orders(F.gelu, [x])


@st.composite
def classification(draw, device):
    """Logits (N, C) or (N, C, d), class indices with some ignored, class weights."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    extra = draw(st.sampled_from([(), (2,)]))
    x = make_tensor(draw(arrays((n, c) + extra, -3, 3)), device)
    target = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n * (2 if extra else 1),
                                    max_size=n * (2 if extra else 1)))).reshape((n,) + extra)
    if target.size > 1 and draw(st.booleans()):
        target.flat[0] = -100
    weight = make_tensor(RNG.random(c) + 0.5, device, requires_grad=False)
    return x, make_tensor(target, device, requires_grad=False), weight


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(data=st.data())
def test_cross_entropy_and_nll_gradients(device, reduction, data):
    x, target, weight = data.draw(classification(device))
    smoothing = data.draw(st.sampled_from([0.0, 0.2]))
    check_both_orders(lambda x: F.cross_entropy(x, target, weight, reduction=reduction,
                                                label_smoothing=smoothing), [x])
    check_both_orders(lambda x: F.nll_loss(F.log_softmax(x, 1), target, weight,
                                           reduction=reduction), [x])


@given(data=st.data())
def test_cross_entropy_probability_target_gradients(device, data):
    shape = (data.draw(st.integers(1, 4)), data.draw(st.integers(2, 4)))
    x = make_tensor(data.draw(arrays(shape, -3, 3)), device)
    p = make_tensor(np_softmax(data.draw(arrays(shape)), 1), device)
    check_both_orders(lambda x, p: F.cross_entropy(x, p, label_smoothing=0.1), [x, p])


@given(data=st.data())
def test_l1_and_kl_div_gradients(device, data):
    shape = data.draw(shapes())
    x = data.draw(arrays(shape))
    offset = data.draw(arrays(shape, avoid=(0,), gap=0.1))  # keep input - target off the kink
    check_both_orders(F.l1_loss, [make_tensor(x, device), make_tensor(x + offset, device)])
    logp, t = make_tensor(x - 3, device), make_tensor(data.draw(arrays(shape, 0.1, 1)), device)
    check_both_orders(lambda logp, t: F.kl_div(logp, t, reduction="batchmean"), [logp, t])
    check_both_orders(lambda logp, t: F.kl_div(logp, t, reduction="sum", log_target=True), [logp, t])


@given(data=st.data())
def test_weighted_binary_cross_entropy_gradients(device, data):
    shape = data.draw(shapes(2, 2))
    x = make_tensor(data.draw(arrays(shape, -4, 4)), device)
    t = make_tensor(data.draw(arrays(shape, 0, 1)), device)
    w = make_tensor(data.draw(arrays(shape[-1:], 0.2, 2)), device)
    check_both_orders(lambda x, t, w: F.binary_cross_entropy_with_logits(x, t, w, pos_weight=w * 2.0),
                      [x, t, w])
    p = make_tensor(data.draw(arrays(shape, 0.05, 0.95)), device)
    check_both_orders(lambda p, t: F.binary_cross_entropy(p, t, w, reduction="sum"), [p, t])


# ------------------------------------------------------------------------- stability
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_logits_give_finite_losses_and_gradients(dtype):
    logits = mg.tensor([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]], dtype=dtype,
                       requires_grad=True)
    target = mg.tensor([1, 2])
    loss = F.cross_entropy(logits, target, label_smoothing=0.1)
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(logits.grad.numpy()).all()
    assert np.isclose(F.cross_entropy(logits, target).item(), 1000.0)  # (2000 + 0) / 2
    probs = F.softmax(logits, dim=1).numpy()
    assert np.isfinite(probs).all() and np.allclose(probs.sum(axis=1), 1)
    assert np.isfinite(F.log_softmax(logits, 1).numpy()).all()
    pos_weight = mg.tensor(3.0, dtype=dtype)
    for fn in (lambda x: F.binary_cross_entropy_with_logits(x, x * 0.0 + 1.0, pos_weight=pos_weight),
               lambda x: F.gelu(x).sum() + F.elu(x).sum() + F.silu(x).sum()):
        loss = fn(logits)
        (x_grad,) = mg.grad(loss, [logits])
        assert np.isfinite(loss.item()) and np.isfinite(x_grad.numpy()).all()


# -------------------------------------------------------------------------- errors
def test_bad_targets_are_refused_clearly():
    x = mg.tensor(RNG.normal(size=(2, 3)))
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, mg.tensor([0, 3]))
    with pytest.raises(IndexError, match="target -1 is out of bounds for 3 classes"):
        F.nll_loss(x, mg.tensor([-1, 0]))
    with pytest.raises(ValueError, match=r"needs a target of shape \(2,\)"):
        F.cross_entropy(x, mg.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="same shape"):
        F.cross_entropy(x, mg.tensor(RNG.random((2, 4))))
    with pytest.raises(TypeError, match="integers"):
        F.nll_loss(x, mg.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"one entry per class, shape \(3,\)"):
        F.cross_entropy(x, mg.tensor([0, 1]), weight=mg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="pass dim"):
        F.softmax(x)
    with pytest.raises(ValueError, match="pass dim"):
        nn.LogSoftmax()(x)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")


# ----------------------------------------------------------------------------- PyTorch
torch_cases = {}


def _torch():
    return pytest.importorskip("torch")


def _compare(ours_fn, theirs_fn, arrays_in, grad_of=(0,), targets=(), atol=1e-12):
    """Forward and the gradient of sum(out * u) for the inputs in ``grad_of``."""
    torch = _torch()
    ours_in = [mg.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays_in)]
    theirs_in = [torch.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays_in)]
    ours = ours_fn(*ours_in, *[mg.tensor(t) for t in targets])
    theirs = theirs_fn(*theirs_in, *[torch.tensor(t) for t in targets])
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=atol)
    u = RNG.normal(size=ours.shape)
    ours_grads = mg.grad(ours, [ours_in[i] for i in grad_of], mg.tensor(u))
    theirs_grads = torch.autograd.grad(theirs, [theirs_in[i] for i in grad_of], torch.tensor(u))
    for a, b in zip(ours_grads, theirs_grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=atol)


ACTIVATION_PAIRS = [  # (ours, PyTorch's name and its positional arguments)
    (lambda x: F.softmax(x, 1), "softmax", (1,)),
    (lambda x: F.log_softmax(x, 0), "log_softmax", (0,)),
    (lambda x: F.gelu(x), "gelu", ()),
    (lambda x: F.gelu(x, approximate="tanh"), "gelu_tanh", ()),
    (lambda x: F.elu(x, 0.7), "elu", (0.7,)),
    (lambda x: F.silu(x), "silu", ()),
]


@pytest.mark.parametrize("ours, name, args", ACTIVATION_PAIRS, ids=[p[1] for p in ACTIVATION_PAIRS])
def test_activations_match_pytorch(ours, name, args):
    torch = _torch()
    x = RNG.normal(size=(3, 4)) * 3
    if name == "gelu_tanh":
        theirs = lambda x: torch.nn.functional.gelu(x, approximate="tanh")  # noqa: E731
    else:
        theirs = lambda x: getattr(torch.nn.functional, name)(x, *args)  # noqa: E731
    _compare(ours, theirs, [x])


MODULES = [  # (name, PyTorch-order positional arguments)
    ("GELU", ("tanh",)), ("GELU", ()), ("ELU", (0.5, False)), ("SiLU", (False,)),
    ("Softmax", (1,)), ("LogSoftmax", (1,)),
]


@pytest.mark.parametrize("name, args", MODULES, ids=[f"{n}{a}" for n, a in MODULES])
def test_activation_modules_match_pytorch(name, args):
    torch = _torch()
    _compare(getattr(nn, name)(*args), getattr(torch.nn, name)(*args), [RNG.normal(size=(3, 4)) * 2])


def _loss_cases():
    x, p = RNG.normal(size=(4, 3)) * 3, np_softmax(RNG.normal(size=(4, 3)), 1)
    t, w = np.array([2, 0, -100, 1]), np.array([0.5, 2.0, 1.0])
    t_in_range = np.array([2, 0, 1, 1])  # for an ignore_index that is a class
    y, q = RNG.normal(size=(4, 3)), RNG.random((4, 3))
    image, image_t = RNG.normal(size=(2, 3, 2, 2)), RNG.integers(0, 3, size=(2, 2, 2))
    return [  # (module name, positional args with tensors as arrays, inputs, targets)
        ("CrossEntropyLoss", (w, None, -100, None, "mean", 0.1), [x], [t]),
        ("CrossEntropyLoss", (None, None, 1, None, "sum"), [x], [t_in_range]),
        ("CrossEntropyLoss", (None, None, -100, None, "none"), [image], [image_t]),
        ("CrossEntropyLoss", (w, None, -100, None, "mean", 0.2), [x, p], []),
        ("NLLLoss", (w, None, 0, None, "mean"), [np_log_softmax(x, 1)], [t_in_range]),
        ("NLLLoss", (None, None, -100, None, "none"), [np_log_softmax(x, 1)], [t]),
        ("L1Loss", (None, None, "sum"), [x, y], []),
        ("MSELoss", (None, None, "mean"), [x, y], []),
        ("KLDivLoss", (None, None, "batchmean", False), [np_log_softmax(x, 1), p], []),
        ("KLDivLoss", (None, None, "sum", True), [np_log_softmax(x, 1), np.log(p)], []),
        ("BCELoss", (w, None, None, "mean"), [q, p], []),
        ("BCEWithLogitsLoss", (q, None, None, "sum", w * 2), [x, p], []),
        ("BCEWithLogitsLoss", (None, None, None, "none"), [x, p], []),
    ]


@pytest.mark.parametrize("name, args, inputs, targets", _loss_cases(),
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(_loss_cases())])
def test_loss_modules_and_functions_match_pytorch(name, args, inputs, targets):
    torch = _torch()
    ours = getattr(nn, name)(*[mg.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
    theirs = getattr(torch.nn, name)(*[torch.tensor(a) if isinstance(a, np.ndarray) else a
                                       for a in args])
    _compare(ours, theirs, inputs, grad_of=tuple(range(len(inputs))), targets=targets)


def test_unbatched_cross_entropy_matches_pytorch():
    torch = _torch()
    x = RNG.normal(size=3)
    _compare(lambda x, t: F.cross_entropy(x, t, reduction="none"),
             lambda x, t: torch.nn.functional.cross_entropy(x, t, reduction="none"), [x], targets=[np.array(2)])
