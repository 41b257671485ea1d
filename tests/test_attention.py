"""Attention is two matrix products and a softmax (docs/10_nn_and_optim.md).

``F.scaled_dot_product_attention`` matches the NumPy formula with boolean, float and causal
masks, and its first and second derivatives match finite differences; ``nn.MultiheadAttention``
loads PyTorch's state dict unchanged and then gives PyTorch's outputs, weights and input
gradients.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan as mg
import minigan.nn as nn
import minigan.nn.functional as F
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor


def reference_attention(q, k, v, mask=None, scale=None):
    """softmax(q k^T * scale + mask) v in NumPy; a boolean mask is True where attending."""
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if mask is not None:
        scores = np.where(mask, scores, -np.inf) if mask.dtype == bool else scores + mask
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return (weights / weights.sum(axis=-1, keepdims=True)) @ v


# ------------------------------------------------------------------------ the formula
@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "causal"])
def test_sdpa_matches_the_numpy_formula(device, mask_kind):
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(2, 3, 6, 7))
    mask, kwargs = None, {}
    if mask_kind == "bool":
        mask = rng.random((4, 6)) < 0.7
        mask[:, 0] = True  # every query keeps at least one key
        kwargs["attn_mask"] = mg.tensor(mask, device=device)
    elif mask_kind == "float":
        mask = rng.normal(size=(3, 4, 6))  # broadcasts over the batch
        kwargs["attn_mask"] = mg.tensor(mask, dtype="float64", device=device)
    elif mask_kind == "causal":
        mask = np.tril(np.ones((4, 6), dtype=bool))
        kwargs["is_causal"] = True
    out = F.scaled_dot_product_attention(*(mg.tensor(a, dtype="float64", device=device)
                                           for a in (q, k, v)), **kwargs)
    assert out.shape == (2, 3, 4, 7) and out.device == device
    np.testing.assert_allclose(out.numpy(), reference_attention(q, k, v, mask), rtol=1e-12)


def test_sdpa_scale_dropout_and_errors():
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(size=(3, 4)) for _ in range(3))
    out = F.scaled_dot_product_attention(*(mg.tensor(a) for a in (q, k, v)), scale=0.3)
    np.testing.assert_allclose(out.numpy(), reference_attention(q, k, v, scale=0.3), rtol=1e-5)
    # dropout_p=1 drops every weight: the output is zero (PyTorch drops whenever dropout_p > 0)
    dropped = F.scaled_dot_product_attention(*(mg.tensor(a) for a in (q, k, v)), dropout_p=1.0)
    assert np.all(dropped.numpy() == 0)
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v),
                                       attn_mask=mg.ones(3, 3), is_causal=True)


def test_sdpa_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    q, k, v = rng.normal(size=(2, 4, 5)), rng.normal(size=(2, 6, 5)), rng.normal(size=(2, 6, 3))
    mask = rng.random((2, 4, 6)) < 0.6
    mask[..., 0] = True
    for kwargs in ({"attn_mask": mask}, {"is_causal": True}, {"scale": 0.7}):
        ours = F.scaled_dot_product_attention(
            *(mg.tensor(a, dtype="float64") for a in (q, k, v)),
            **{n: mg.tensor(a) if n == "attn_mask" else a for n, a in kwargs.items()})
        theirs = torch.nn.functional.scaled_dot_product_attention(
            *(torch.tensor(a) for a in (q, k, v)),
            **{n: torch.tensor(a) if n == "attn_mask" else a for n, a in kwargs.items()})
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------- gradients
@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "causal"])
@given(data=st.data())
@settings(max_examples=3)
def test_sdpa_first_and_second_derivatives(device, mask_kind, data):
    """Small shapes, every element checked; the float mask is an input too (its gradient is
    the gradient of the scores)."""
    L, S, E = data.draw(st.integers(1, 3)), data.draw(st.integers(2, 3)), data.draw(st.integers(1, 3))
    q = make_tensor(data.draw(arrays((2, L, E))), device)
    k = make_tensor(data.draw(arrays((2, S, E))), device)
    v = make_tensor(data.draw(arrays((2, S, 2))), device)
    inputs, bool_mask = [q, k, v], None
    if mask_kind == "bool":
        keep = np.random.default_rng(L * S).random((L, S)) < 0.6
        keep[:, 0] = True  # every query keeps at least one key
        bool_mask = mg.tensor(keep, device=device)
    elif mask_kind == "float":
        inputs.append(make_tensor(data.draw(arrays((L, S))), device))

    def fn(q, k, v, float_mask=None):
        mask = float_mask if float_mask is not None else bool_mask
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                              is_causal=mask_kind == "causal")
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


# ----------------------------------------------------------------- MultiheadAttention
def test_multihead_attention_parameters_follow_pytorch():
    mha = nn.MultiheadAttention(8, 2)
    assert list(mha.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert mha.in_proj_weight.shape == (24, 8) and mha.head_dim == 4
    assert np.all(mha.in_proj_bias.numpy() == 0) and np.all(mha.out_proj.bias.numpy() == 0)
    bound = np.sqrt(6 / (8 + 24))  # xavier_uniform_ on (3E, E)
    assert np.abs(mha.in_proj_weight.numpy()).max() <= bound
    no_bias = nn.MultiheadAttention(8, 2, bias=False)
    assert list(no_bias.state_dict()) == ["in_proj_weight", "out_proj.weight"]
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(8, 3)
    with pytest.raises(NotImplementedError, match="kdim"):
        nn.MultiheadAttention(8, 2, kdim=4)
    with pytest.raises(NotImplementedError, match="add_bias_kv"):
        nn.MultiheadAttention(8, 2, add_bias_kv=True)


def _torch_pair(torch, batch_first, **options):
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first, **options).double()
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first, **options).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "padding", "padding+attn", "float_attn_3d"])
def test_multihead_attention_matches_torch(batch_first, masks):
    torch = pytest.importorskip("torch")
    ours, theirs = _torch_pair(torch, batch_first)
    rng = np.random.default_rng(3)
    N, L, S = 3, 4, 5
    shape = (lambda n, t: (n, t, 8)) if batch_first else (lambda n, t: (t, n, 8))
    arrays_ = [rng.normal(size=shape(N, L)), rng.normal(size=shape(N, S)), rng.normal(size=shape(N, S))]
    kwargs = {}
    if "padding" in masks:
        padding = np.zeros((N, S), dtype=bool)
        padding[0, -2:] = padding[2, -1] = True  # True marks padded keys
        kwargs["key_padding_mask"] = padding
    if "attn" in masks:
        kwargs["attn_mask"] = np.triu(np.ones((L, S), dtype=bool), k=1)  # True: masked out
    if masks == "float_attn_3d":
        kwargs["attn_mask"] = rng.normal(size=(N * 2, L, S))
    for average in (True, False):
        mg_in = [mg.tensor(a, requires_grad=True) for a in arrays_]
        th_in = [torch.tensor(a, requires_grad=True) for a in arrays_]
        out, weights = ours(*mg_in, average_attn_weights=average,
                            **{n: mg.tensor(a) for n, a in kwargs.items()})
        ref_out, ref_weights = theirs(*th_in, average_attn_weights=average,
                                      **{n: torch.tensor(a) for n, a in kwargs.items()})
        np.testing.assert_allclose(out.numpy(), ref_out.detach().numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(weights.numpy(), ref_weights.detach().numpy(), rtol=1e-9, atol=1e-12)
        upstream = rng.normal(size=out.shape)
        out.backward(mg.tensor(upstream))
        ref_out.backward(torch.tensor(upstream))
        for a, b in zip(mg_in, th_in):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)
    ref_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), ref_params[name].grad.numpy(), rtol=1e-9, atol=1e-12)


def test_multihead_attention_unbatched_no_weights_and_causal_hint():
    torch = pytest.importorskip("torch")
    ours, theirs = _torch_pair(torch, batch_first=False)
    x = np.random.default_rng(4).normal(size=(4, 8))  # (L, E): no batch
    causal = np.triu(np.ones((4, 4), dtype=bool), k=1)
    out, weights = ours(mg.tensor(x), mg.tensor(x), mg.tensor(x), need_weights=False,
                        attn_mask=mg.tensor(causal), is_causal=True)
    ref, _ = theirs(*(torch.tensor(x),) * 3, need_weights=False, attn_mask=torch.tensor(causal),
                    is_causal=True)
    assert weights is None and out.shape == (4, 8)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-9, atol=1e-12)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        ours(mg.tensor(x), mg.tensor(x), mg.tensor(x), is_causal=True)


def test_multihead_attention_dropout_only_in_training(device):
    mha = nn.MultiheadAttention(4, 2, dropout=0.5, batch_first=True).to(device)
    x = mg.randn(2, 3, 4, device=device)
    mha.eval()
    a, wa = mha(x, x, x)
    b, wb = mha(x, x, x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(wa.numpy().sum(-1), 1.0, rtol=1e-6)
    mha.train()
    mg.manual_seed(0)
    _, dropped = mha(x, x, x, average_attn_weights=False)  # weights after dropout, as PyTorch
    values = dropped.numpy()
    assert np.any(values == 0) and not np.allclose(values.sum(-1), 1.0)


def test_multihead_attention_second_order(device):
    """A gradient penalty through attention (as in a transformer discriminator) needs the
    input gradient to be differentiable again."""
    mha = nn.MultiheadAttention(4, 2, batch_first=True).to(device).double()
    x = make_tensor(np.random.default_rng(5).normal(size=(1, 3, 4)), device)
    assert gradgradcheck(lambda x: mha(x, x, x)[0], [x])
