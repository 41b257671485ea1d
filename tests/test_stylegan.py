"""StyleGAN-lite (minigan/gan/models/stylegan.py): the modulated convolution is a per-sample
convolution with modulated, demodulated weights, and differentiable twice; style mixing
switches w at the crossover layer; truncation pulls w to the average; the nets have the
right shapes at each resolution, and the trainer trains and resumes exactly.
See docs/12_stylegan.md."""
import copy

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numpy.lib.stride_tricks import sliding_window_view

import minigan
from minigan import optim
from minigan.gan.models.stylegan import (
    DiscriminatorBlock, MappingNetwork, NoiseInjection, StyledConv, StyleGANDiscriminator,
    StyleGANGenerator, StyleGANTrainer, broadcast_ws, mix_styles, modulated_conv2d, pixel_norm,
    random_crossover, truncate)
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor


def modulated_conv2d_oracle(x, weight, styles, demodulate, eps=1e-8):
    """StyleGAN2 Eq. 1-3 in NumPy, one sample at a time, with a window-by-window convolution."""
    K = weight.shape[-1]
    out = []
    for n in range(x.shape[0]):
        w = weight * styles[n][None, :, None, None]                            # Eq. 1
        if demodulate:
            w = w / np.sqrt((w ** 2).sum(axis=(1, 2, 3), keepdims=True) + eps)  # Eq. 2-3
        padded = np.pad(x[n], ((0, 0), (K // 2, K // 2), (K // 2, K // 2)))
        windows = sliding_window_view(padded, (K, K), axis=(1, 2))  # (C, H, W, K, K)
        out.append(np.einsum("chwij,ocij->ohw", windows, w))
    return np.stack(out)


def tiny_pair(device, image_size=8):
    minigan.manual_seed(0)
    G = StyleGANGenerator(nz=6, w_dim=5, image_size=image_size, ngf=3, max_channels=4,
                          mapping_layers=2).to(device)
    D = StyleGANDiscriminator(ndf=3, image_size=image_size, max_channels=4).to(device)
    return G, D


# ------------------------------------------------------------------------- modulated conv
@settings(max_examples=4)
@given(data=st.data())
def test_modulated_conv2d_is_a_convolution_per_sample(device, data):
    N, C, OC, H, W = (data.draw(st.integers(1, n)) for n in (3, 3, 3, 4, 4))
    K = data.draw(st.sampled_from([1, 3]))
    demodulate = data.draw(st.booleans())
    x, weight = data.draw(arrays((N, C, H, W))), data.draw(arrays((OC, C, K, K)))
    styles = data.draw(arrays((N, C), low=0.5, high=2.0))
    y = modulated_conv2d(make_tensor(x, device), make_tensor(weight, device),
                         make_tensor(styles, device), demodulate, padding=K // 2)
    assert y.shape == (N, OC, H, W) and y.device == device
    assert np.allclose(y.numpy(), modulated_conv2d_oracle(x, weight, styles, demodulate),
                       rtol=1e-10, atol=1e-12)


def test_demodulation_cancels_the_scale_of_the_styles(device):
    # sigma in Eq. 2 grows with s, so s and 3s give the same output; without it they do not.
    rng = np.random.default_rng(0)
    x = make_tensor(rng.normal(size=(2, 3, 4, 4)), device)
    weight = make_tensor(rng.normal(size=(2, 3, 3, 3)), device)
    s = rng.uniform(0.5, 1.5, size=(2, 3))
    one, three = make_tensor(s, device), make_tensor(3 * s, device)
    assert np.allclose(modulated_conv2d(x, weight, one, padding=1).numpy(),
                       modulated_conv2d(x, weight, three, padding=1).numpy())
    assert np.allclose(3 * modulated_conv2d(x, weight, one, False, padding=1).numpy(),
                       modulated_conv2d(x, weight, three, False, padding=1).numpy())


@settings(max_examples=3)
@given(data=st.data())
def test_modulated_conv2d_gradients(device, data):
    N, C, OC = data.draw(st.integers(1, 2)), 2, data.draw(st.integers(1, 2))
    K = data.draw(st.sampled_from([1, 3]))
    demodulate = data.draw(st.booleans())
    x = make_tensor(data.draw(arrays((N, C, 3, 3))), device)
    weight = make_tensor(data.draw(arrays((OC, C, K, K))), device)
    styles = make_tensor(data.draw(arrays((N, C), low=0.5, high=2.0)), device)

    def f(x, weight, styles):
        return modulated_conv2d(x, weight, styles, demodulate, padding=K // 2)
    gradcheck(f, [x, weight, styles])
    gradgradcheck(f, [x, weight, styles])


# ----------------------------------------------------- the other blocks (compositions of ops)
def test_pixel_norm_gives_unit_mean_square_and_its_gradients(device):
    z = make_tensor(np.random.default_rng(0).normal(size=(3, 4)), device)
    assert np.allclose((pixel_norm(z).numpy() ** 2).mean(axis=1), 1.0)
    gradcheck(pixel_norm, [z])
    gradgradcheck(pixel_norm, [z])


def test_mapping_network_gradients_and_w_avg(device):
    minigan.manual_seed(0)
    mapping = MappingNetwork(3, 4, num_layers=2, lr_mul=0.5).to(device).double().eval()
    z = make_tensor(np.random.default_rng(1).normal(size=(2, 3)), device)
    gradcheck(mapping, [z])
    gradgradcheck(mapping, [z])
    assert not mapping.w_avg.numpy().any()  # eval mode leaves w_avg alone
    mapping.train()
    w = mapping(z).numpy()
    assert np.allclose(mapping.w_avg.numpy(), (1 - 0.995) * w.mean(axis=0))


@pytest.mark.parametrize("upsample", [False, True])
def test_styled_conv_and_noise_gradients(device, upsample):
    minigan.manual_seed(0)
    layer = StyledConv(2, 2, 3, resolution=4, upsample=upsample).to(device).double().eval()
    minigan.nn.init.constant_(layer.noise.weight, 0.5)  # B starts at 0: make the noise count
    rng = np.random.default_rng(2)
    x = make_tensor(rng.normal(size=(2, 2, 2 if upsample else 4, 2 if upsample else 4)), device)
    w = make_tensor(rng.normal(size=(2, 3)), device)
    gradcheck(layer, [x, w])
    gradgradcheck(layer, [x, w])
    noise = make_tensor(rng.normal(size=(2, 1, 4, 4)), device)
    x = make_tensor(rng.normal(size=(2, 2, 4, 4)), device)
    gradcheck(lambda x, noise: layer.noise(x, noise), [x, noise])


def test_noise_injection_adds_per_channel_scaled_noise(device):
    layer = NoiseInjection(2, 3).to(device).double()
    layer.weight.data = minigan.tensor([0.5, -2.0], dtype="float64", device=device).data
    x, noise = np.ones((1, 2, 3, 3)), np.random.default_rng(0).normal(size=(1, 1, 3, 3))
    y = layer(make_tensor(x, device), make_tensor(noise, device)).numpy()
    assert np.allclose(y, x + np.array([0.5, -2.0])[None, :, None, None] * noise)
    layer.eval()  # fixed noise: the same input gives the same output
    x = make_tensor(x, device)
    assert np.array_equal(layer(x).numpy(), layer(x).numpy())
    layer.train()  # fresh noise
    assert not np.array_equal(layer(x).numpy(), layer(x).numpy())


def test_discriminator_block_gradients(device):
    minigan.manual_seed(0)
    block = DiscriminatorBlock(2, 3).to(device).double()
    x = make_tensor(np.random.default_rng(3).normal(size=(2, 2, 4, 4)), device)
    gradcheck(block, [x])
    gradgradcheck(block, [x])


# ---------------------------------------------------------------- style mixing, truncation
def test_mix_styles_switches_w_at_the_crossover(device):
    rng = np.random.default_rng(0)
    w1, w2 = (make_tensor(rng.normal(size=(3, 4)), device) for _ in range(2))
    ws = mix_styles(w1, w2, minigan.tensor([0, 2, 5], device=device), 5).numpy()
    assert ws.shape == (3, 5, 4)
    assert np.array_equal(ws[0], np.tile(w2.numpy()[0], (5, 1)))   # all from w2
    assert np.array_equal(ws[1, :2], np.tile(w1.numpy()[1], (2, 1)))
    assert np.array_equal(ws[1, 2:], np.tile(w2.numpy()[1], (3, 1)))
    assert np.array_equal(ws[2], np.tile(w1.numpy()[2], (5, 1)))   # no mixing


def test_every_layer_reads_its_own_w_and_the_crossover_switches_the_image(device):
    G, _ = tiny_pair(device)
    G.eval()
    rng = np.random.default_rng(0)
    w1 = make_tensor(rng.normal(size=(1, 5)), device, requires_grad=False, dtype="float32")
    w2 = make_tensor(rng.normal(size=(1, 5)), device, requires_grad=False, dtype="float32")
    plain = G.synthesis(broadcast_ws(w1, G.num_ws)).numpy()
    for k in range(G.num_ws):  # w2 from layer k on: the image changes, and not as with k + 1
        mixed = G.synthesis(mix_styles(w1, w2, np.array([k]), G.num_ws)).numpy()
        later = G.synthesis(mix_styles(w1, w2, np.array([k + 1]), G.num_ws)).numpy()
        assert not np.allclose(mixed, plain) and not np.allclose(mixed, later)
    same = G.synthesis(mix_styles(w1, w2, np.array([G.num_ws]), G.num_ws)).numpy()
    assert np.array_equal(same, plain)


def test_random_crossover(device):
    rng = minigan.random.Generator(device).manual_seed(0)
    assert (minigan.backend.to_numpy(random_crossover(50, 6, 0.0, rng, device)) == 6).all()
    always = minigan.backend.to_numpy(random_crossover(400, 6, 1.0, rng, device))
    assert set(always.tolist()) == {1, 2, 3, 4, 5}  # both w's used, every crossover drawn
    often = minigan.backend.to_numpy(random_crossover(2000, 6, 0.9, rng, device))
    assert 0.87 < (often < 6).mean() < 0.93


def test_trainer_mixes_training_batches_only(device):
    G, D = tiny_pair(device)
    G.eval()  # fixed noise, so only the styles can differ
    trainer = StyleGANTrainer(G, D, optim.Adam(G.parameters()), optim.Adam(D.parameters()),
                              mixing_prob=1.0, num_samples=4)
    z = trainer.noise(4)
    assert not np.allclose(trainer.generate(z).numpy(), G(z).numpy())
    trainer.mixing_prob = 0.0
    assert np.array_equal(trainer.generate(z).numpy(), G(z).numpy())
    trainer.mixing_prob = 1.0
    assert np.array_equal(trainer.sample(z).numpy(), G(z).numpy())  # progress grids: unmixed


def test_truncation(device):
    G, _ = tiny_pair(device)
    w_avg = np.linspace(-1, 1, 5)
    G.mapping.w_avg.data = minigan.tensor(w_avg, dtype="float32", device=device).data
    G.eval()
    z = G.mapping(minigan.randn(3, 6, device=device))
    w_avg = G.mapping.w_avg
    assert np.allclose(truncate(z, w_avg, 0.0).numpy(), np.tile(w_avg.numpy(), (3, 1)))
    assert np.allclose(truncate(z, w_avg, 1.0).numpy(), z.numpy())
    assert np.allclose(truncate(z, w_avg, 0.5).numpy(), (z.numpy() + w_avg.numpy()) / 2)
    images = G(minigan.randn(3, 6, device=device), truncation_psi=0.0).numpy()
    assert np.allclose(images, images[:1], atol=1e-6)  # psi = 0: every z draws the average cat


# ---------------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("image_size", [4, 8, 16, 32])
def test_shapes(image_size):
    G, D = tiny_pair("cpu", image_size)
    assert G.num_ws == 2 * int(np.log2(image_size)) - 2 == len(G.layer_resolutions)
    images = G(minigan.randn(2, 6))
    assert images.shape == (2, 3, image_size, image_size)
    assert D(images).shape == (2,)
    with pytest.raises(ValueError, match="power of two"):
        StyleGANGenerator(image_size=24)


# ------------------------------------------------------------ path-length regularisation
def test_path_lengths_are_norms_of_j_transpose_y_and_differentiable(device):
    G, D = tiny_pair(device)
    G.double().eval()  # fixed noise: synthesis is a function of ws alone
    trainer = StyleGANTrainer(G, D.double(), optim.Adam(G.parameters()), optim.Adam(D.parameters()))
    rng = np.random.default_rng(4)
    ws, y = rng.normal(size=(1, G.num_ws, 5)), rng.normal(size=(1, 3, 8, 8)) / 8
    lengths = trainer.path_lengths(make_tensor(ws, device), make_tensor(y, device, False)).numpy()

    def f(ws):  # sum(G(w) * y), whose gradient is J^T y
        return float((G.synthesis(make_tensor(ws, device, False)).numpy() * y).sum())
    g, h = np.zeros_like(ws), 1e-6
    for index in np.ndindex(ws.shape):  # J^T y by central differences, element by element
        step = np.zeros_like(ws)
        step[index] = h
        g[index] = (f(ws + step) - f(ws - step)) / (2 * h)
    assert np.allclose(lengths, np.sqrt((g ** 2).sum(axis=2).mean(axis=1)), rtol=1e-5)
    # the penalty trains G through the lengths: their gradient is a second derivative of G
    gradcheck(lambda ws: trainer.path_lengths(ws, make_tensor(y, device, False)),
              [make_tensor(ws, device)])


# --------------------------------------------------------------------------------- training
def make_trainer(device):
    G, D = tiny_pair(device)
    adam = lambda net: optim.Adam(net.parameters(), lr=2e-3, betas=(0.0, 0.99))  # noqa: E731
    return StyleGANTrainer(G, D, adam(G), adam(D), r1_gamma=1.0, r1_interval=2, ema_decay=0.9,
                           pl_weight=2.0, pl_interval=2, num_samples=4, seed=1)


def test_training_smoke_and_exact_resume(device):
    images = minigan.randn(4, 3, 8, 8, device=device,
                           generator=minigan.random.Generator(device).manual_seed(5))
    trainer = make_trainer(device)
    before = trainer.G.const.numpy().copy()
    logs = [trainer.train_step(lambda: images) for _ in range(2)]
    for name in ("r1_penalty", "pl_penalty"):  # lazy regularisation: every 2nd step
        assert name in logs[0] and name not in logs[1]
    assert trainer.pl_mean.numpy()[0] > 0
    assert all(np.isfinite(v) for log in logs for v in log.values())
    assert not np.allclose(trainer.G.const.numpy(), before)
    assert trainer.sample().shape == (4, 3, 8, 8)
    state, rng = copy.deepcopy(trainer.state_dict()), minigan.random.get_rng_state()
    trainer.train_step(lambda: images)
    again = make_trainer(device)
    again.load_state_dict(state)
    minigan.random.set_rng_state(rng)  # the noise inputs draw from the device's generator
    again.train_step(lambda: images)
    assert np.array_equal(trainer.pl_mean.numpy(), again.pl_mean.numpy())
    for (name, a), (_, b) in zip(trainer.G.state_dict().items(), again.G.state_dict().items()):
        assert np.array_equal(minigan.backend.to_numpy(a.data if hasattr(a, "data") else a),
                              minigan.backend.to_numpy(b.data if hasattr(b, "data") else b)), name
