"""Module utilities and small layers that PyTorch users reach for: walking the module tree
(``named_modules``, ``children``, ``apply``), freezing and zeroing, ``nn.Identity``,
channel-wise ``nn.Dropout2d``, and gradient clipping (``minigan.nn.utils``)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan as mg
import minigan.nn as nn
import minigan.nn.functional as F
from minigan.nn import init
from minigan.nn.utils import clip_grad_norm_, clip_grad_value_
from minigan.testing.gradcheck import gradcheck
from strategies import arrays, make_tensor


def make_model():
    return nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.Tanh(), nn.Linear(4, 2)), nn.Identity())


# ---------------------------------------------------------------------- the module tree
def test_named_modules_children_and_apply_follow_pytorch():
    model = make_model()
    assert [n for n, _ in model.named_modules()] == ["", "0", "1", "1.0", "1.1", "2"]
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"]
    assert list(model.children()) == [model[0], model[1], model[2]]
    assert list(model.modules())[3] is model[1][0]
    shared = nn.Linear(2, 2)
    assert len(list(nn.Sequential(shared, shared).modules())) == 2  # each module once

    def init_weights(m):
        if isinstance(m, nn.Linear):
            init.constant_(m.weight, 0.5)
    assert model.apply(init_weights) is model
    assert all(np.all(m.weight.numpy() == 0.5) for m in model.modules() if isinstance(m, nn.Linear))


def test_names_match_torch():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    theirs = tnn.Sequential(tnn.Linear(3, 4), tnn.Sequential(tnn.Tanh(), tnn.Linear(4, 2)), tnn.Identity())
    ours = make_model()
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


def test_requires_grad_and_zero_grad():
    model = make_model()
    model[1].requires_grad_(False)  # freeze a part, as when fine-tuning
    assert [p.requires_grad for p in model.parameters()] == [True, True, False, False]
    assert model.requires_grad_() is model and all(p.requires_grad for p in model.parameters())
    model(mg.randn(5, 3)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_identity_ignores_its_arguments():
    x = mg.randn(2, 3)
    assert nn.Identity(54, unused="x")(x) is x
    assert repr(nn.Identity()) == "Identity()"
    assert list(nn.Identity().parameters()) == []


# ---------------------------------------------------------------------------- Dropout2d
def test_dropout2d_zeroes_whole_channels_and_scales(device):
    x = mg.ones(200, 10, 3, 3, device=device)
    drop = nn.Dropout2d(0.25)
    y = drop(x).numpy()
    per_channel = y.reshape(200, 10, 9)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # a channel is kept or dropped whole
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.70 < np.mean(per_channel[..., 0] != 0) < 0.80  # 2000 channels, keep rate 0.75
    assert abs(y.mean() - 1.0) < 0.05  # inverted dropout keeps the expectation
    assert drop.eval()(x) is x
    assert F.dropout2d(x, 0.5, training=False) is x and F.dropout2d(x, 0.0) is x
    assert np.all(F.dropout2d(x, 1.0).numpy() == 0)
    assert repr(drop) == "Dropout2d(p=0.25, inplace=False)"
    with pytest.raises(ValueError, match="3D or 4D"):
        F.dropout2d(mg.ones(4, 3))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(-0.1)


@given(data=st.data())
@settings(max_examples=4)
def test_dropout2d_gradient_is_the_mask(device, data):
    x = make_tensor(data.draw(arrays((2, 3, 2, 2))), device)

    def fn(x):
        mg.manual_seed(1)  # the same mask on every call the checker makes
        return F.dropout2d(x, 0.5)
    assert gradcheck(fn, [x])


# --------------------------------------------------------------------- gradient clipping
def with_grads(grads, device="cpu"):
    params = []
    for g in grads:
        p = nn.Parameter(mg.zeros(*g.shape, dtype="float64", device=device))
        p.grad = mg.tensor(g, device=device)
        params.append(p)
    return params


GRADS = [np.array([[3.0, -4.0], [1.0, 2.0]]), np.array([0.5, -12.0, 2.0])]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_matches_the_formula(device, norm_type):
    params = with_grads(GRADS, device)
    flat = np.concatenate([g.ravel() for g in GRADS])
    expected = np.abs(flat).max() if norm_type == math.inf else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    total = clip_grad_norm_(params, max_norm=2.0, norm_type=norm_type)
    assert isinstance(total, mg.Tensor) and total.device == device
    np.testing.assert_allclose(total.item(), expected, rtol=1e-12)
    clipped = np.concatenate([p.grad.numpy().ravel() for p in params])
    np.testing.assert_allclose(clipped, flat * 2.0 / (expected + 1e-6), rtol=1e-12)
    # under the limit nothing changes (the coefficient is clamped to 1)
    np.testing.assert_allclose(clip_grad_norm_(params, 100.0, norm_type).item(), 2.0, rtol=1e-5)
    np.testing.assert_allclose(np.concatenate([p.grad.numpy().ravel() for p in params]), clipped)


@pytest.mark.filterwarnings("ignore:invalid value")  # inf * 0 = nan, as in PyTorch
def test_clip_grad_norm_edge_cases():
    params = with_grads(GRADS)
    skipped = nn.Parameter(mg.ones(2))  # no gradient: left alone
    shared = params[0].grad
    clip_grad_norm_(params + [skipped], 1.0)
    assert skipped.grad is None
    np.testing.assert_array_equal(shared.numpy(), GRADS[0])  # a new tensor, not changed in place
    single = with_grads([np.array([6.0, 8.0])])[0]
    assert clip_grad_norm_(single, 5.0).item() == 10.0  # a single tensor works too
    np.testing.assert_allclose(single.grad.numpy(), [3.0, 4.0], rtol=1e-6)
    assert clip_grad_norm_([nn.Parameter(mg.ones(2))], 1.0).item() == 0.0
    bad = with_grads([np.array([1.0, np.inf])])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)
    assert clip_grad_norm_(bad, 1.0).item() == np.inf
    float32 = nn.Linear(3, 2)
    float32(mg.randn(4, 3)).sum().backward()
    assert clip_grad_norm_(float32.parameters(), 0.1).dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in float32.parameters())


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    ours = with_grads(GRADS)
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in GRADS]
    for p, g in zip(theirs, GRADS):
        p.grad = torch.tensor(g)
    total = clip_grad_norm_(ours, 1.5, norm_type=norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, 1.5, norm_type=norm_type)
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_(device):
    params = with_grads(GRADS, device)
    assert clip_grad_value_(params, 2.5) is None
    for p, g in zip(params, GRADS):
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -2.5, 2.5))


def test_utils_import_like_torch():
    import minigan.nn.utils
    assert mg.nn.utils.clip_grad_norm_ is clip_grad_norm_ is minigan.nn.utils.clip_grad_norm_
