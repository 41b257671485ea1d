"""GAN tricks: instance noise, feature matching, minibatch stddev, historical averaging,
spectral norm, virtual batch norm, EMA. Each is checked against its formula
(docs/08_gan_tricks.md). Label smoothing is tested with the objectives."""
import copy

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan
from minigan import nn
from minigan.gan import (add_instance_noise, instance_noise_std, feature_matching_loss,
                         minibatch_stddev, MinibatchStdDev, HistoricalAverage, spectral_norm,
                         VirtualBatchNorm, ReferenceBatch, EMA)
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor


# ------------------------------------------------------------------------- instance noise
def test_instance_noise_is_annealed_linearly_to_zero():
    assert instance_noise_std(0, 0.5, 100) == 0.5
    assert instance_noise_std(50, 0.5, 100) == pytest.approx(0.25)
    assert instance_noise_std(100, 0.5, 100) == 0.0
    assert instance_noise_std(500, 0.5, 100) == 0.0


def test_instance_noise_has_the_requested_std(device):
    x = minigan.zeros(200, 50, device=device)
    noisy = add_instance_noise(x, 0.3, generator=np.random.default_rng(0))
    assert noisy.dtype == np.float32 and noisy.device == device
    assert noisy.numpy().std() == pytest.approx(0.3, rel=0.03)
    assert add_instance_noise(x, 0.0) is x


# ----------------------------------------------------------------------- feature matching
def test_feature_matching_is_squared_distance_of_feature_means(device):
    real = make_tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), device)
    fake = make_tensor(np.array([[0.0, 0.0], [2.0, 2.0]]), device)
    loss = feature_matching_loss(real, fake)
    assert loss.item() == pytest.approx((2 - 1) ** 2 + (3 - 1) ** 2)
    loss.backward()
    assert real.grad is None  # the real statistics are a target, not trained
    assert np.allclose(fake.grad.numpy(), [[-1.0, -2.0], [-1.0, -2.0]])  # 2 (mu_f - mu_r) / N


# ----------------------------------------------------------------- minibatch standard deviation
def test_minibatch_stddev_appends_the_mean_std_over_the_batch(device):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3, 2, 2))
    y = minibatch_stddev(make_tensor(x, device, requires_grad=False))
    assert y.shape == (5, 4, 2, 2)
    assert np.array_equal(y.numpy()[:, :3], x)
    expected = np.sqrt(x.var(axis=0) + 1e-8).mean()
    assert np.allclose(y.numpy()[:, 3], expected)
    flat = MinibatchStdDev()(make_tensor(x.reshape(5, 12), device, requires_grad=False))
    assert flat.shape == (5, 13) and np.allclose(flat.numpy()[:, 12], expected)


def test_minibatch_stddev_is_near_zero_for_a_collapsed_batch():
    same = minigan.tensor(np.tile([[0.3, -1.0]], (8, 1)))
    assert np.allclose(minibatch_stddev(same).numpy()[:, 2], 1e-4, rtol=1e-2)  # sqrt(eps)
    with pytest.raises(ValueError, match="at least 2"):
        minibatch_stddev(minigan.tensor([[1.0, 2.0]]))


@settings(max_examples=3)
@given(data=st.data())
def test_minibatch_stddev_gradients(device, data):
    n = data.draw(st.integers(2, 4))
    x = make_tensor(data.draw(arrays((n, 3))), device)
    gradcheck(minibatch_stddev, [x])
    gradgradcheck(minibatch_stddev, [x])


# ------------------------------------------------------------------- historical averaging
def test_historical_average_penalises_distance_to_the_mean_of_past_values(device):
    p = make_tensor(np.array([1.0, 2.0]), device)
    history = HistoricalAverage([p], weight=0.5)
    assert history.penalty().item() == 0.0
    history.update()                      # past values: [1, 2]
    with minigan.backend.device_context(device):  # raw arrays: on their device
        p.data = p.data + 2.0
    history.update()                      # past values: [1, 2], [3, 4] -> mean [2, 3]
    with minigan.backend.device_context(device):
        p.data = p.data + 1.0             # now [4, 5]
    assert history.penalty().item() == pytest.approx(0.5 * ((4 - 2) ** 2 + (5 - 3) ** 2))
    g, = minigan.grad(history.penalty(), p)   # d/dp w ||p - avg||^2 = 2 w (p - avg)
    assert np.allclose(g.numpy(), [2.0, 2.0])


# --------------------------------------------------------------------- spectral normalisation
def test_spectral_norm_divides_by_the_largest_singular_value(device):
    minigan.manual_seed(0)
    layer = spectral_norm(nn.Linear(6, 4, device=device), n_power_iterations=1)
    x = minigan.randn(3, 6, device=device)
    for _ in range(40):  # power iteration converges over successive training calls
        layer(x)
    w = layer.weight_orig.numpy()
    sigma = np.linalg.svd(w, compute_uv=False)[0]
    u, v = layer.weight_u.numpy(), layer.weight_v.numpy()
    assert u @ w @ v == pytest.approx(sigma, rel=1e-4)
    assert np.allclose(layer.weight.numpy(), w / sigma, rtol=1e-3)
    assert np.linalg.svd(layer.weight.numpy(), compute_uv=False)[0] == pytest.approx(1.0, rel=1e-4)
    assert set(layer.state_dict()) == {"weight_orig", "weight_u", "weight_v", "bias"}


def test_spectral_norm_of_a_transposed_conv_uses_its_output_axis(device):
    minigan.manual_seed(1)
    layer = spectral_norm(nn.ConvTranspose2d(3, 2, 3, device=device), n_power_iterations=30)
    layer(minigan.randn(1, 3, 4, 4, device=device))
    w = layer.weight.numpy().transpose(1, 0, 2, 3).reshape(2, -1)  # (out, in * KH * KW)
    assert np.linalg.svd(w, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-4)


def test_spectral_norm_eval_mode_keeps_u_fixed():
    layer = spectral_norm(nn.Linear(3, 3))
    layer.eval()
    u = layer.weight_u.numpy()
    layer(minigan.randn(2, 3))
    assert np.array_equal(layer.weight_u.numpy(), u)


def test_spectral_norm_gradient_flows_through_sigma(device):
    # With u and v fixed (eval mode), W -> W / (u^T W v) is a smooth function: its gradient,
    # including the part through sigma, must match finite differences.
    minigan.manual_seed(2)
    layer = spectral_norm(nn.Linear(3, 2, device=device), n_power_iterations=5).double()
    layer(minigan.randn(1, 3, device=device, dtype="float64"))
    layer.eval()
    x = make_tensor(np.random.default_rng(0).normal(size=(4, 3)), device, requires_grad=False)

    def run(w):
        layer._parameters["weight_orig"] = w
        return layer(x)
    w = make_tensor(layer.weight_orig.numpy(), device)
    gradcheck(run, [w])
    gradgradcheck(run, [w])


def test_spectral_norm_survives_deepcopy():
    layer = spectral_norm(nn.Linear(2, 2))
    twin = copy.deepcopy(layer)
    twin.weight_orig.data[...] = 0.0
    assert np.abs(layer(minigan.ones(1, 2)).numpy()).sum() > 0  # the original is untouched
    assert twin.forward.__self__ is twin


def test_spectral_norm_matches_pytorch():
    torch = pytest.importorskip("torch")
    minigan.manual_seed(3)
    ours = spectral_norm(nn.Linear(5, 4).double(), n_power_iterations=3)
    theirs = torch.nn.Linear(5, 4).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight_orig.numpy()))
        theirs.bias.copy_(torch.from_numpy(ours.bias.numpy()))
    theirs = torch.nn.utils.spectral_norm(theirs, n_power_iterations=3)
    with torch.no_grad():
        theirs.weight_u.copy_(torch.from_numpy(ours.weight_u.numpy()))
    x = np.random.default_rng(0).normal(size=(2, 5))
    y = ours(minigan.tensor(x))
    y_t = theirs(torch.from_numpy(x))
    assert np.allclose(y.numpy(), y_t.detach().numpy(), atol=1e-10)
    y.sum().backward()
    y_t.sum().backward()
    assert np.allclose(ours.weight_orig.grad.numpy(), theirs.weight_orig.grad.numpy(), atol=1e-10)


# ------------------------------------------------------------------- virtual batch norm
def test_virtual_batch_norm_uses_reference_plus_self_statistics(device):
    rng = np.random.default_rng(0)
    ref, batch = rng.normal(size=(4, 3)), rng.normal(size=(2, 3))
    vbn = VirtualBatchNorm(3, reference_size=4).to(device)
    y = vbn(make_tensor(np.concatenate([ref, batch]), device, dtype="float32")).numpy()
    for i in range(2):  # example i joins the reference batch: 5 values per feature
        group = np.concatenate([ref, batch[i:i + 1]])
        expected = (batch[i] - group.mean(0)) / np.sqrt(group.var(0) + 1e-5)
        assert np.allclose(y[4 + i], expected, atol=1e-5)


def test_virtual_batch_norm_output_does_not_depend_on_the_rest_of_the_batch():
    minigan.manual_seed(0)
    net = ReferenceBatch(nn.Sequential(nn.Linear(2, 8), VirtualBatchNorm(8, 16), nn.ReLU()),
                         minigan.randn(16, 2))
    x = minigan.randn(5, 2)
    alone = net(x[:1]).numpy()
    together = net(x).numpy()[:1]
    assert together.shape == (1, 8) and np.allclose(alone, together, atol=1e-6)


def test_virtual_batch_norm_gradients(device):
    rng = np.random.default_rng(1)
    x = make_tensor(rng.normal(size=(4, 2, 1, 2)), device)
    vbn = VirtualBatchNorm(2, reference_size=3).to(device).double()
    gradcheck(vbn, [x])
    gradgradcheck(vbn, [x])


# --------------------------------------------------------------------------------- EMA
def test_ema_update_formula_and_buffers(device):
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).to(device)
    ema = EMA(model, decay=0.9)
    before = ema.module[0].weight.numpy()
    with minigan.backend.device_context(device):  # raw arrays: on their device
        model[0].weight.data = model[0].weight.data + 1.0
        model[1].running_mean.data = model[1].running_mean.data + 5.0
    ema.update(model)
    assert np.allclose(ema.module[0].weight.numpy(), 0.9 * before + 0.1 * (before + 1.0))
    assert np.allclose(ema.module[1].running_mean.numpy(), 5.0)  # buffers are copied
    assert ema.module[0].weight.dtype == np.float32
    assert not any(p.requires_grad for p in ema.module.parameters())
    with pytest.raises(ValueError):
        EMA(model, decay=1.0)
