"""Layers behave as PyTorch's: signatures in PyTorch's positional order, ``m(input=x)``,
grouped and depthwise convolutions, string paddings, padding modes, unbatched input,
``output_size``, batch norm on an empty batch, Embedding's ``padding_idx``.

Oracles: numpy's ``pad`` for the padding modes, the batched layer for unbatched input, and
PyTorch itself when it is installed (the comparison tests skip without it). The gradient
checks of grouped convolutions are in test_conv.py (its hypothesis cases draw groups).
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigan as mg
from minigan import nn
from minigan.nn import functional as F
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor


# ------------------------------------------------------ PyTorch's positional order
CONV_KEYWORDS = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
                 "groups", "bias", "padding_mode"]
TRANSPOSED_KEYWORDS = ["in_channels", "out_channels", "kernel_size", "stride", "padding",
                       "output_padding", "groups", "bias", "dilation", "padding_mode"]
EMBEDDING_KEYWORDS = ["num_embeddings", "embedding_dim", "padding_idx"]
POSITIONAL = [
    (nn.Conv2d, CONV_KEYWORDS, (4, 4, 3, 1, 0, 1, 2)),
    (nn.Conv2d, CONV_KEYWORDS, (4, 6, (3, 2), 2, 1, (1, 2), 2, False, "reflect")),
    (nn.ConvTranspose2d, TRANSPOSED_KEYWORDS, (3, 4, 3, (2, 3), 1, (1, 1), 1, False)),
    (nn.ConvTranspose2d, TRANSPOSED_KEYWORDS, (4, 6, 3, 2, 1, 1, 2, True, 1)),
    (nn.Embedding, EMBEDDING_KEYWORDS, (6, 3, 0)),
    (nn.BatchNorm2d, ["num_features", "eps", "momentum", "affine", "track_running_stats"],
     (3, 1e-3, 0.2, False, True)),
    (nn.Linear, ["in_features", "out_features", "bias"], (3, 2, False)),
]


def described(module):
    """What a layer is: its hyperparameters and the shapes of its parameters and buffers."""
    state = {k: v.shape for k, v in module.state_dict().items()}
    return repr(module), state


@pytest.mark.parametrize("layer, keywords, args", POSITIONAL, ids=lambda v: getattr(v, "__name__", None))
def test_positional_arguments_mean_what_they_mean_in_pytorch(layer, keywords, args):
    assert described(layer(*args)) == described(layer(**dict(zip(keywords, args))))


def test_the_positional_mistakes_of_old_are_gone():
    conv = nn.Conv2d(4, 4, 3, 1, 0, 1, 2)  # 2 is groups, not bias
    assert conv.groups == 2 and conv.weight.shape == (4, 2, 3, 3) and conv.bias is not None
    up = nn.ConvTranspose2d(3, 4, 3, (2, 3), 1, (1, 1), 1, False)  # groups 1, bias False
    assert up.dilation == (1, 1) and up.bias is None and up.output_padding == (1, 1)
    assert nn.Embedding(6, 3, 0).padding_idx == 0
    with pytest.raises(TypeError):  # device and dtype are keyword-only
        nn.Conv2d(1, 1, 1, 1, 0, 1, 1, True, "zeros", "cpu")


def test_padding_same_with_a_stride_is_refused_when_the_layer_is_built():
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding must be 'same', 'valid' or numbers"):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="only padding_mode='zeros'"):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")


@pytest.mark.parametrize("module, shape", [
    (nn.Conv2d(2, 3, 3), (1, 2, 5, 5)), (nn.ConvTranspose2d(2, 3, 3), (1, 2, 5, 5)),
    (nn.BatchNorm2d(2), (3, 2, 2, 2)), (nn.BatchNorm1d(2), (3, 2)), (nn.Linear(2, 3), (4, 2)),
    (nn.LeakyReLU(0.2), (2, 3)), (nn.ReLU(), (2, 3)), (nn.Tanh(), (2, 3)),
    (nn.Sigmoid(), (2, 3)), (nn.Flatten(), (2, 3, 2)), (nn.Dropout(0.5), (2, 3)),
    (nn.Sequential(nn.Linear(2, 2), nn.ReLU()), (3, 2)),
], ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else None)
def test_modules_take_their_input_by_the_keyword_input(module, shape):
    x = mg.randn(*shape)
    mg.manual_seed(1)
    by_keyword = module(input=x)
    mg.manual_seed(1)
    np.testing.assert_array_equal(by_keyword.numpy(), module(x).numpy())


# ------------------------------------------------------------------- string padding
@given(data=st.data())
def test_padding_same_keeps_the_size_and_valid_means_zero(device, data):
    kernel = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    dilation = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    size = tuple(d * (k - 1) + 1 + data.draw(st.integers(0, 2)) for k, d in zip(kernel, dilation))
    x = make_tensor(data.draw(arrays((2, 2) + size)), device)
    w = make_tensor(data.draw(arrays((3, 2) + kernel)), device)
    same = F.conv2d(x, w, padding="same", dilation=dilation)
    assert same.shape == (2, 3) + size
    # PyTorch's rule: D*(K-1) zeros in all, the odd one at the bottom/right
    (pt, pb), (pl, pr) = ((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                          for k, d in zip(kernel, dilation))
    padded = F.pad(x, (pl, pr, pt, pb))
    np.testing.assert_allclose(same.numpy(), F.conv2d(padded, w, dilation=dilation).numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(F.conv2d(x, w, padding="valid", dilation=dilation).numpy(),
                                  F.conv2d(x, w, dilation=dilation).numpy())
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding="same", dilation=dilation), [x, w])
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, padding="same", dilation=dilation), [x, w])


# --------------------------------------------------------------------- padding modes
NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap", "constant": "constant"}


@pytest.mark.parametrize("mode", sorted(NUMPY_MODE))
@given(data=st.data())
def test_pad_modes_match_numpy_and_their_gradients_check(kernel_set, device, mode, data):
    shape = data.draw(st.sampled_from([(2, 3, 4, 5), (1, 2, 3), (3, 4)]))
    x = make_tensor(data.draw(arrays(shape)), device)
    most = {"reflect": -1, "circular": 0}.get(mode, 0)  # reflect needs pad < size
    pad = []
    for n in reversed(shape[-2:]):
        pad += [data.draw(st.integers(0, min(3, n + most))) for _ in range(2)]
    y = F.pad(x, tuple(pad), mode=mode)
    width = [(0, 0)] * (len(shape) - 2) + [(pad[2], pad[3]), (pad[0], pad[1])]
    np.testing.assert_array_equal(y.numpy(), np.pad(x.numpy(), width, mode=NUMPY_MODE[mode]))
    assert gradcheck(lambda x: F.pad(x, tuple(pad), mode=mode), [x])
    assert gradgradcheck(lambda x: F.pad(x, tuple(pad), mode=mode), [x])


def test_pad_refuses_what_it_cannot_do():
    x = mg.randn(1, 1, 3, 3)
    with pytest.raises(ValueError, match="reflect padding .* smaller than its size 3"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="mode must be"):
        F.pad(x, (1, 1), mode="mirror")


@pytest.mark.parametrize("padding_mode", ["reflect", "replicate", "circular"])
def test_conv2d_padding_modes_pad_then_convolve(device, padding_mode):
    mg.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=(1, 2), padding_mode=padding_mode).to(device)
    x = mg.randn(2, 2, 6, 7, device=device)
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (2, 2)), mode=NUMPY_MODE[padding_mode])
    expected = F.conv2d(mg.tensor(padded).to(device), conv.weight, conv.bias, stride=2)
    np.testing.assert_allclose(conv(x).numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------- unbatched, output_size
@pytest.mark.parametrize("layer", [nn.Conv2d(2, 3, 3, padding=1, groups=1),
                                   nn.ConvTranspose2d(2, 4, 3, stride=2, groups=2)],
                         ids=["conv", "transposed"])
def test_an_unbatched_image_is_a_batch_of_one(device, layer):
    layer = layer.to(device)
    x = mg.randn(2, 5, 4, device=device)
    np.testing.assert_array_equal(layer(x).numpy(), layer(x.unsqueeze(0)).numpy()[0])


def test_conv_transpose_output_size_picks_the_output_padding():
    down = nn.Conv2d(1, 1, 3, stride=2, padding=1)
    up = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1)
    for size in (7, 8):  # both map to 4x4 under the strided convolution
        x = mg.randn(1, 1, size, size)
        assert up(down(x), output_size=x.shape).shape == x.shape
        assert up(down(x), output_size=(size, size)).shape == x.shape
    with pytest.raises(ValueError, match=r"requested an output size of \(10, 10\).*\(7, 7\) to \(8, 8\)"):
        up(mg.randn(1, 1, 4, 4), output_size=(10, 10))


# ------------------------------------------------------------------------ batch norm
def test_batch_norm_on_an_empty_batch_leaves_the_statistics_alone(device):
    bn = nn.BatchNorm2d(3).to(device)
    before = [b.numpy().copy() for b in (bn.running_mean, bn.running_var)]
    y = bn(mg.zeros(0, 3, 4, 4, device=device))
    assert y.shape == (0, 3, 4, 4)
    for a, b in zip(before, (bn.running_mean, bn.running_var)):
        np.testing.assert_array_equal(a, b.numpy())
    bn.eval()
    assert np.isfinite(bn(mg.ones(2, 3, 1, 1, device=device)).numpy()).all()


@pytest.mark.parametrize("eps", [0.0, -1.0])
def test_batch_norm_refuses_eps_that_is_not_positive(eps):
    with pytest.raises(ValueError, match="eps must be positive"):
        nn.BatchNorm2d(3, eps=eps)
    with pytest.raises(ValueError, match="eps must be positive"):
        F.batch_norm(mg.randn(4, 3), None, None, training=True, eps=eps)


# ------------------------------------------------------------------------- Embedding
def test_embedding_padding_idx_row_starts_at_zero_and_is_never_trained(device):
    emb = nn.Embedding(5, 3, padding_idx=-1).to(device)
    assert emb.padding_idx == 4
    np.testing.assert_array_equal(emb.weight.numpy()[4], 0.0)
    with mg.backend.device_context(device):  # a raw write: on the array's device
        emb.weight.data[4] = backend_ones(device, 3)  # even a non-zero row gets no gradient
    out = emb(mg.tensor(np.array([[4, 1], [1, 4]])).to(device))
    np.testing.assert_array_equal(out.numpy()[0, 0], 1.0)
    (out * out).sum().backward()
    grad = emb.weight.grad.numpy()
    np.testing.assert_array_equal(grad[4], 0.0)
    assert np.abs(grad[1]).sum() > 0


def backend_ones(device, n):
    return mg.ones(n, device=device).data


def test_embedding_options_minigan_lacks_are_refused():
    with pytest.raises(NotImplementedError, match="max_norm=1.0 is not supported"):
        nn.Embedding(5, 3, None, 1.0)
    with pytest.raises(NotImplementedError, match="sparse=True"):
        nn.Embedding(5, 3, sparse=True)


# ------------------------------------------------------------------- PyTorch oracle
@st.composite
def torch_conv_configs(draw):
    groups = draw(st.sampled_from([1, 2]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = draw(st.integers(1, 3))
    transposed = draw(st.booleans())
    if transposed:
        stride = draw(st.integers(1, 2))
        return "ConvTranspose2d", (c_in, c_out, kernel, stride, draw(st.integers(0, 1)),
                                   draw(st.integers(0, stride - 1)), groups,
                                   draw(st.booleans()), 1)
    padding = draw(st.sampled_from([0, 1, "same", "valid"]))
    stride = 1 if padding == "same" else draw(st.integers(1, 2))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    return "Conv2d", (c_in, c_out, kernel, stride, padding, draw(st.integers(1, 2)), groups,
                      draw(st.booleans()), mode)


@given(config=torch_conv_configs(), seed=st.integers(0, 100))
def test_layers_built_from_pytorch_positional_arguments_match_pytorch(config, seed):
    torch = pytest.importorskip("torch")
    name, args = config
    theirs = getattr(torch.nn, name)(*args).double()
    ours = getattr(nn, name)(*args, dtype="float64")
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(seed).standard_normal((2, args[0], 6, 5))
    tx = torch.tensor(x, requires_grad=True)
    ty = theirs(tx)
    mx = mg.tensor(x, requires_grad=True)
    my = ours(mx)
    np.testing.assert_allclose(my.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    my.backward(mg.tensor(g))
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                               rtol=1e-10, atol=1e-10)
