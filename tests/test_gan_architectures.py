"""The GAN zoo's architectures (docs/12_architectures.md): SNGAN's ResNet pair, SAGAN's
self-attention, BigGAN-lite's conditional batch norm, projection head, orthogonal
regularisation and truncated noise, and the ViT discriminator. Each new block matches its
formula (NumPy, written out) and its first and second derivatives match finite differences
in float64; every architecture gives the right shapes and trains a few steps on cpu and strict;
examples/cats_gan.py resumes bit for bit. Tiny widths keep these fast."""
import os
import pathlib
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

import minigan
from minigan import nn
from minigan.gan.models.biggan import (BigGANGenerator, BigGANDiscriminator,
                                       ConditionalBatchNorm2d, ProjectionHead,
                                       orthogonal_regularization, truncated_noise)
from minigan.gan.models.sngan import SNGANGenerator, SNGANDiscriminator
from minigan.gan.models.sagan import SAGANGenerator, SAGANDiscriminator, SelfAttention2d
from minigan.gan.models.vit import ViTDiscriminator, TransformerBlock, L2MultiheadAttention
from minigan.random import Generator
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # examples/ is a folder of scripts, not an installed package
from examples import cats_gan  # noqa: E402


def labels(*values, device="cpu"):
    return minigan.tensor(np.array(values, dtype=np.int64), device=device)


def fill(tensor, values):
    """Overwrite a parameter's values in place, on its own device (as on a second GPU)."""
    with minigan.backend.device_context(tensor.device):
        tensor.data[...] = minigan.backend.to_device(np.asarray(values, dtype=tensor.dtype),
                                                     tensor.device)


def check_gradients(fn, inputs, module, device, max_elements=4, params=None):
    """First and second derivatives of ``fn`` with respect to ``inputs`` and the parameters
    of ``module`` (all, or those named in ``params``), moved to ``device`` in float64
    (gradcheck perturbs the parameters in place, so the module sees each perturbation).
    Tensors of up to ``max_elements`` values are checked element by element, larger ones along
    three random directions."""
    module.to(device, dtype="float64")
    named = dict(module.named_parameters())
    params = list(named.values()) if params is None else [named[name] for name in params]

    def call(*args):
        return fn(*args[:len(inputs)])
    assert gradcheck(call, list(inputs) + params, max_elements=max_elements)
    assert gradgradcheck(call, list(inputs) + params, max_elements=max_elements)


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("image_size", [16, 32, 64])
def test_resnet_and_sagan_shapes(image_size):
    minigan.manual_seed(0)
    for G, D in [(SNGANGenerator(nz=8, ngf=4, image_size=image_size),
                  SNGANDiscriminator(ndf=4, image_size=image_size)),
                 (SAGANGenerator(nz=8, ngf=8, image_size=image_size),
                  SAGANDiscriminator(ndf=8, image_size=image_size, pool=True))]:
        images = G(minigan.randn(2, 8))
        assert images.shape == (2, 3, image_size, image_size)
        assert np.abs(images.numpy()).max() <= 1.0  # Tanh output
        assert D(images).shape == (2,) and D.features(images).shape == (2, D.linear.in_features)
    # G: one up-block per doubling from 4x4; D: down to 8x8, then two blocks at 8x8 (Table 4)
    blocks = image_size.bit_length() - 3
    assert len(SNGANGenerator(nz=8, ngf=4, image_size=image_size).blocks) == blocks
    assert len(SNGANDiscriminator(ndf=4, image_size=image_size).blocks) == blocks + 1


def test_sagan_places_one_attention_block_at_16x16_in_each_net():
    G, D = SAGANGenerator(nz=8, ngf=8, image_size=32), SAGANDiscriminator(ndf=8, image_size=32)
    where_g = [i for i, m in enumerate(G.blocks) if isinstance(m, SelfAttention2d)]
    where_d = [i for i, m in enumerate(D.blocks) if isinstance(m, SelfAttention2d)]
    assert where_g == [2] and where_d == [1]  # after 4 -> 8 -> 16 in G, after 32 -> 16 in D
    # spectral norm in both nets, batch norm only in G
    assert "linear.weight_orig" in G.state_dict() and "linear.weight_orig" in D.state_dict()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    with pytest.raises(ValueError, match="power of two"):
        SNGANGenerator(image_size=48)


@pytest.mark.parametrize("image_size", [16, 32, 64])
def test_biggan_shapes_with_and_without_labels(image_size):
    minigan.manual_seed(0)
    nz = 12 if image_size == 16 else 20 if image_size == 64 else 16
    G = BigGANGenerator(nz=nz, ngf=4, image_size=image_size, num_classes=3, embed_dim=4)
    D = BigGANDiscriminator(ndf=4, image_size=image_size, num_classes=3)
    z, y = minigan.randn(2, nz), labels(0, 2)
    images = G(z, y)
    assert images.shape == (2, 3, image_size, image_size)
    assert D(images, y).shape == (2,) and D.features(images).shape == (2, 4)
    # no labels: class 0 for every example (the one-class, unconditional pair). In eval mode,
    # so that batch norm and spectral norm's power iteration give every call the same weights.
    G.eval()
    np.testing.assert_array_equal(G(z).numpy(), G(z, labels(0, 0)).numpy())
    # another class, the same noise: another image
    assert not np.allclose(G(z, labels(1, 1)).numpy(), G(z, labels(0, 0)).numpy())
    with pytest.raises(ValueError, match="equal chunks"):
        BigGANGenerator(nz=7, image_size=image_size)


@pytest.mark.parametrize("image_size", [16, 32, 64])
def test_vit_discriminator_shapes(image_size):
    minigan.manual_seed(0)
    x = minigan.randn(2, 3, image_size, image_size)
    for options in [dict(), dict(pool="mean"), dict(l2_attention=True, spectral_norm=True),
                    dict(overlap=2)]:
        D = ViTDiscriminator(image_size=image_size, patch_size=8, dim=8, depth=1, num_heads=2,
                             **options)
        assert D(x).shape == (2,) and D.features(x).shape == (2, 8)
        tokens = (image_size // 8) ** 2 + (options.get("pool", "cls") == "cls")
        assert D.pos_embed.shape == (1, tokens, 8)
    with pytest.raises(ValueError, match="does not divide"):
        ViTDiscriminator(image_size=32, patch_size=5)


def test_vit_overlapping_patches_see_their_neighbours():
    """With ``overlap`` o, the token of a P x P patch also reads o pixels of each neighbour
    (ViTGAN Sec. 4.2); without it, nothing outside its own patch."""
    minigan.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(1, 3, 16, 16)).astype(np.float32)
    nudged = x.copy()
    nudged[0, :, 8, 8] += 1.0  # the first pixel of patch (1, 1), next to patch (0, 0)
    for overlap, changes in [(0, False), (2, True)]:
        D = ViTDiscriminator(image_size=16, patch_size=8, dim=8, depth=1, num_heads=2,
                             overlap=overlap)
        assert D.patch_embed.weight.shape == (8, 3, 8 + 2 * overlap, 8 + 2 * overlap)
        tokens = [D.patch_embed(minigan.tensor(a)).numpy()[0, :, 0, 0] for a in (x, nudged)]
        assert (not np.allclose(*tokens)) == changes
    # where the position embeddings start (ViT's 0.02 by default, 1 in examples/archs/vit_d.py)
    for std in (0.02, 1.0):
        D = ViTDiscriminator(image_size=32, patch_size=4, dim=64, depth=1, pos_std=std)
        assert 0.9 * std < float(D.pos_embed.numpy().std()) < 1.1 * std


# ------------------------------------------------------------------ SAGAN's attention
def reference_self_attention(x, wq, wk, wv, wo, gamma, pool):
    """SAGAN Eq. 1-3 position by position: o_i = W_o sum_j softmax_j(q_i . k_j) v_j."""
    N, C, H, W = x.shape
    conv1x1 = lambda w, a: np.einsum("oc,nchw->nohw", w[:, :, 0, 0], a)  # noqa: E731
    q, k, v = conv1x1(wq, x), conv1x1(wk, x), conv1x1(wv, x)
    if pool:  # 2x2 max pooling of keys and values
        k, v = (a.reshape(N, a.shape[1], H // 2, 2, W // 2, 2).max(axis=(3, 5)) for a in (k, v))
    q, k, v = (a.reshape(N, a.shape[1], -1) for a in (q, k, v))
    o = np.zeros((N, v.shape[1], H * W))
    for n in range(N):
        for i in range(H * W):
            scores = np.array([q[n, :, i] @ k[n, :, j] for j in range(k.shape[2])])
            beta = np.exp(scores - scores.max())
            beta /= beta.sum()
            o[n, :, i] = sum(beta[j] * v[n, :, j] for j in range(k.shape[2]))
    return gamma * conv1x1(wo, o.reshape(N, -1, H, W)) + x


@pytest.mark.parametrize("pool", [False, True])
def test_self_attention_matches_the_formula_and_starts_as_identity(device, pool):
    minigan.manual_seed(0)
    block = SelfAttention2d(16, pool=pool).to(device, dtype="float64")
    x = minigan.tensor(np.random.default_rng(0).normal(size=(2, 16, 4, 6)), device=device)
    np.testing.assert_array_equal(block(x).numpy(), x.numpy())  # gamma = 0
    fill(block.gamma, 0.7)
    weights = [m.weight.numpy() for m in (block.query, block.key, block.value, block.out)]
    assert [w.shape[0] for w in weights] == [2, 2, 8, 16]  # C/8, C/8, C/2, back to C
    out = block(x)
    assert out.device == device
    np.testing.assert_allclose(out.numpy(), reference_self_attention(x.numpy(), *weights, 0.7,
                                                                     pool), rtol=1e-10, atol=1e-12)


@settings(max_examples=1)
@given(data=st.data())
def test_self_attention_gradients(device, data):
    minigan.manual_seed(0)
    block = SelfAttention2d(8)
    fill(block.gamma, 0.5)  # at 0 the attention branch would get no gradient
    x = make_tensor(data.draw(arrays((2, 8, 2, 2))), device)
    check_gradients(block, [x], block, device)


# ---------------------------------------------------------------- BigGAN's blocks
def reference_batch_norm(x, eps=1e-5):
    mean, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def test_conditional_batch_norm_matches_the_formula(device):
    rng = np.random.default_rng(0)
    x = minigan.tensor(rng.normal(size=(3, 4, 2, 2)), device=device)
    # labels: tables starting at zero gain and bias, so a plain batch norm at first
    by_class = ConditionalBatchNorm2d(4, num_classes=5).to(device, dtype="float64")
    y = labels(1, 4, 1, device=device)
    np.testing.assert_allclose(by_class(x, y).numpy(), reference_batch_norm(x.numpy()), atol=1e-12)
    for table in (by_class.gain, by_class.bias):
        fill(table.weight, rng.normal(size=(5, 4)))
    g, b = by_class.gain.weight.numpy()[[1, 4, 1]], by_class.bias.weight.numpy()[[1, 4, 1]]
    expected = reference_batch_norm(x.numpy()) * (1 + g[:, :, None, None]) + b[:, :, None, None]
    np.testing.assert_allclose(by_class(x, y).numpy(), expected, rtol=1e-10, atol=1e-12)
    # vectors: gain and bias by Linear layers from c (BigGAN's shared embedding + z chunk)
    by_vector = ConditionalBatchNorm2d(4, cond_dim=3).to(device, dtype="float64")
    c = rng.normal(size=(3, 3))
    out = by_vector(x, minigan.tensor(c, device=device))
    g, b = c @ by_vector.gain.weight.numpy().T, c @ by_vector.bias.weight.numpy().T
    expected = reference_batch_norm(x.numpy()) * (1 + g[:, :, None, None]) + b[:, :, None, None]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="not both"):
        ConditionalBatchNorm2d(4, num_classes=2, cond_dim=3)


@settings(max_examples=1)
@given(data=st.data())
def test_conditional_batch_norm_gradients(device, data):
    minigan.manual_seed(0)
    x = make_tensor(data.draw(arrays((3, 2, 2, 2))), device)
    c = make_tensor(data.draw(arrays((3, 3))), device)
    by_vector = ConditionalBatchNorm2d(2, cond_dim=3)
    check_gradients(by_vector, [x, c], by_vector, device)
    by_class = ConditionalBatchNorm2d(2, num_classes=3)
    by_class.to(dtype="float64")
    for table in (by_class.gain, by_class.bias):  # away from the all-zero start
        fill(table.weight, data.draw(arrays((3, 2))))
    y = labels(2, 0, 2, device=device)
    check_gradients(lambda x: by_class(x, y), [x], by_class, device)


def test_projection_head_matches_the_formula(device):
    rng = np.random.default_rng(1)
    head = ProjectionHead(4, 3, spectral_norm=False).to(device, dtype="float64")
    phi, y = rng.normal(size=(5, 4)), np.array([0, 2, 1, 2, 0])
    out = head(minigan.tensor(phi, device=device), labels(*y, device=device))
    psi = phi @ head.psi.weight.numpy()[0] + head.psi.bias.numpy()[0]
    projection = (head.embed.weight.numpy()[y] * phi).sum(axis=1)
    assert out.shape == (5,)
    np.testing.assert_allclose(out.numpy(), psi + projection, rtol=1e-10)


@settings(max_examples=1)
@given(data=st.data())
def test_projection_head_gradients(device, data):
    minigan.manual_seed(0)
    head = ProjectionHead(3, 2, spectral_norm=False)
    phi = make_tensor(data.draw(arrays((4, 3))), device)
    y = labels(1, 0, 1, 1, device=device)
    check_gradients(lambda phi: head(phi, y), [phi], head, device)


def test_orthogonal_regularization_matches_the_formula(device):
    rng = np.random.default_rng(2)
    model = nn.Sequential(nn.Conv2d(2, 3, 2), nn.ReLU(), nn.Linear(4, 5), nn.Embedding(3, 2))
    model.to(device, dtype="float64")
    expected = 0.0
    for w in (model[0].weight.numpy().reshape(3, -1), model[2].weight.numpy()):
        gram = w @ w.T
        expected += ((gram - np.diag(np.diag(gram))) ** 2).sum()  # off-diagonal only
    out = orthogonal_regularization(model, beta=0.3)
    assert out.device == device
    assert out.item() == pytest.approx(0.3 * expected, rel=1e-12)  # the Embedding is skipped
    # its gradient, as docs/12_architectures.md derives it: 4 beta ((W W^T) * (1 - I)) W
    out.backward()
    w = model[2].weight.numpy()
    off_diagonal = (w @ w.T) * (1 - np.eye(5))
    np.testing.assert_allclose(model[2].weight.grad.numpy(), 4 * 0.3 * off_diagonal @ w,
                               rtol=1e-12)
    # orthogonal rows of any lengths: nothing to penalise
    q = np.linalg.qr(rng.normal(size=(4, 4)))[0] * np.array([1.0, 2.0, 0.5, 3.0])[:, None]
    layer = nn.Linear(4, 4).to(device, dtype="float64")
    fill(layer.weight, q)
    assert orthogonal_regularization(layer).item() == pytest.approx(0.0, abs=1e-20)
    with pytest.raises(ValueError, match="no Conv2d or Linear"):
        orthogonal_regularization(nn.ReLU())


@settings(max_examples=1)
@given(data=st.data())
def test_orthogonal_regularization_gradients(device, data):
    minigan.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 2), nn.Linear(3, 2))
    model.to(dtype="float64")
    for p in model.parameters():
        fill(p, data.draw(arrays(p.shape)))
    check_gradients(lambda: orthogonal_regularization(model, beta=0.5), [], model, device)


def test_truncated_noise(device):
    z = truncated_noise(200, 5, truncation=0.5, generator=Generator(device).manual_seed(3))
    assert z.shape == (200, 5) and z.device == device and z.dtype == np.float32
    values = z.numpy()
    assert np.abs(values).max() <= 0.5 and values.std() > 0.2  # resampled, not clipped
    again = truncated_noise(200, 5, truncation=0.5, generator=Generator(device).manual_seed(3))
    np.testing.assert_array_equal(values, again.numpy())
    with pytest.raises(ValueError, match="positive"):
        truncated_noise(2, 2, truncation=0.0)


# ------------------------------------------------------------------------- the ViT D
def test_l2_attention_matches_the_formula(device):
    minigan.manual_seed(0)
    attention = L2MultiheadAttention(4, 2).to(device, dtype="float64")
    x = np.random.default_rng(3).normal(size=(2, 3, 4))
    linear = lambda layer, a: a @ layer.weight.numpy().T + layer.bias.numpy()  # noqa: E731
    q, v = linear(attention.qk, x), linear(attention.v, x)
    heads = []
    for h in range(2):
        qh, vh = q[..., 2 * h:2 * h + 2], v[..., 2 * h:2 * h + 2]
        scores = -((qh[:, :, None, :] - qh[:, None, :, :]) ** 2).sum(-1) / np.sqrt(2)
        weights = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
        heads.append(weights @ vh)
    expected = linear(attention.out_proj, np.concatenate(heads, axis=-1))
    out = attention(minigan.tensor(x, device=device))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=1)
@given(data=st.data())
def test_l2_attention_gradients(device, data):
    minigan.manual_seed(0)
    attention = L2MultiheadAttention(4, 2)
    x = make_tensor(data.draw(arrays((2, 3, 4))), device)
    check_gradients(attention, [x], attention, device, params=["qk.weight", "v.bias"])


@settings(max_examples=1)
@given(data=st.data())
def test_transformer_block_gradients(data):
    """A whole pre-norm block (residuals, layer norms, attention, MLP), on cpu and with one
    weight per part: its layers' gradients are checked on strict on their own
    (`test_l2_attention_gradients`, tests/test_attention.py, tests/test_norms.py), and a full
    check on strict would take half a minute."""
    minigan.manual_seed(0)
    block = TransformerBlock(4, 2, mlp_ratio=1)
    x = make_tensor(data.draw(arrays((2, 3, 4))), "cpu")
    check_gradients(block, [x], block, "cpu",
                    params=["attn.in_proj_weight", "norm1.weight", "norm2.bias", "mlp.0.weight"])


# ------------------------------------------------------------------- training smoke
def tiny_config(arch, device, **changes):
    config = {**cats_gan.ARCHS[arch].DEFAULTS, "image_size": 16, "ngf": 4, "ndf": 8, "nz": 12, "steps": 4,
              "device": device, "seed": 0}
    if arch == "vit-d":
        config.update(depth=1, heads=2)
    return {**config, **changes}


@pytest.mark.parametrize("arch", ["dcgan", "resnet", "sagan", "biggan", "vit-d", "stylegan", "progan", "msg"])
def test_each_architecture_trains_on_the_device(device, arch):
    from minigan.data import ImageBatches, procedural_cats
    trainer = cats_gan.ARCHS[arch].build_trainer(tiny_config(arch, device))
    nets = trainer.networks()
    before = {name: [p.numpy().copy() for p in net.parameters()] for name, net in nets.items()}
    batches = iter(ImageBatches(procedural_cats(8, image_size=16), 4, device=device))
    for _ in range(2):
        log = trainer.train_step(lambda: next(batches))
    assert np.isfinite([log["loss_D"], log["loss_G"]]).all() and trainer.step == 2
    for name, net in nets.items():  # both players moved, and stayed on the device
        params = list(net.parameters())
        assert {p.device for p in params} == {device}
        assert any(not np.array_equal(p.numpy(), old) for p, old in zip(params, before[name]))
    samples = trainer.sample()
    assert samples.shape == (64, 3, 16, 16) and samples.device == device


def test_biggan_adds_orthogonal_regularization_to_the_g_loss():
    trainer = cats_gan.ARCHS["biggan"].build_trainer(tiny_config("biggan", "cpu"))
    fake = trainer.G(trainer.noise(4))
    trainer.D(fake)  # one power iteration in training mode, so that sigma(W) is estimated;
    trainer.D.eval()  # then none: both calls below see the same normalised weights
    with_reg = trainer.generator_loss(fake, None).item()
    trainer.ortho_beta = 0.0
    without = trainer.generator_loss(fake, None).item()
    assert with_reg - without == pytest.approx(orthogonal_regularization(trainer.G).item(),
                                               rel=1e-5)


# ------------------------------------------------------------------- examples/cats_gan.py
TINY = ["--device", "cpu", "--image-size", "16", "--ngf", "4", "--ndf", "8", "--nz", "12",
        "--num-images", "8", "--batch-size", "4", "--sample-every", "4", "--checkpoint-every", "4"]


def run(out, *flags):
    return cats_gan.main(TINY + ["--out", str(out), *flags])


@pytest.fixture
def no_plots(monkeypatch):
    """The loss plots are tests/test_cats_example.py's business; drawing them would take most
    of the time of these tiny runs."""
    import minigan.utils.plots
    monkeypatch.setattr(minigan.utils.plots, "plot_losses", lambda *args, **kwargs: None)


def test_cats_gan_resumes_bit_for_bit_and_writes_fid_samples(tmp_path, no_plots):
    """BigGAN-lite: the most state (EMA, spectral norm's vectors, its own trainer class)."""
    from test_cats_example import assert_same_run
    straight = run(tmp_path / "straight", "--arch", "biggan", "--steps", "4",
                   "--fid-images", "5", "--truncation", "1.5")
    assert straight["status"] == "finished" and straight["step"] == 4
    files = sorted(os.listdir(tmp_path / "straight" / "fid_samples"))
    assert files == [f"{i:06d}.png" for i in range(5)]
    assert Image.open(tmp_path / "straight" / "fid_samples" / files[0]).size == (16, 16)
    for name in ["final.png", "progress.gif", "metrics.csv", "config.json"]:
        assert (tmp_path / "straight" / name).is_file(), name
    assert run(tmp_path / "resumed", "--arch", "biggan", "--steps", "2")["step"] == 2
    assert run(tmp_path / "resumed", "--arch", "biggan", "--resume", "--steps", "4")["step"] == 4
    assert_same_run(tmp_path / "straight", tmp_path / "resumed")


def test_cats_gan_flags_override_the_architecture_defaults(tmp_path, no_plots):
    args = cats_gan.parse_args(TINY + ["--arch", "sagan", "--lr-d", "1e-3"])
    config = cats_gan.resolve_config(args)
    assert config["lr_d"] == 1e-3 and config["lr_g"] == 1e-4  # SAGAN's two time scales
    assert config["loss"] == "hinge" and config["out"] == "runs/cats_sagan"
    with pytest.raises(SystemExit, match="^cats_gan.py: error: --resume continues"):
        run(tmp_path, "--arch", "dcgan", "--steps", "1")
        run(tmp_path, "--arch", "dcgan", "--resume", "--steps", "2", "--ngf", "8")
    with pytest.raises(SystemExit, match="^cats_gan.py: error: --data"):
        run(tmp_path / "other", "--arch", "dcgan", "--data", str(tmp_path / "missing"))
