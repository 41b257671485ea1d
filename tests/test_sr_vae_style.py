"""Super-resolution, the VAE and style transfer: image-quality scores against their formulas,
gradient checks of every new differentiable piece (first and second order), the models'
shapes, short training runs on every device, and the examples' exact resume.
"""
import math
import pathlib
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan
from minigan import backend, nn, optim
from minigan.gan import (DCGANDiscriminator, SRGANGenerator, SRGANTrainer, VAE, VAETrainer,
                         RandomFeatures, content_loss, gram_matrix, kl_divergence,
                         negative_elbo, reparameterize, style_loss, total_variation_loss,
                         transfer_style)
from minigan.metrics import psnr, ssim
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from minigan.utils import resize_images
from strategies import arrays, make_tensor

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # examples/ is a folder of scripts, not an installed package


# ------------------------------------------------------------------------------- PSNR, SSIM
def test_psnr_of_identical_images_is_infinite_and_of_a_shift_is_20_log10_L_over_c(device):
    rng = np.random.default_rng(0)
    a = rng.uniform(-0.5, 0.5, (2, 3, 8, 8))
    x = make_tensor(a, device, requires_grad=False)
    assert psnr(x, x, data_range=2.0) == math.inf
    shifted = make_tensor(a + 0.1, device, requires_grad=False)  # MSE = 0.01 everywhere
    assert psnr(x, shifted, data_range=2.0) == pytest.approx(20 * math.log10(2.0 / 0.1))


def test_psnr_is_the_mean_of_per_image_scores_and_uint8_means_255():
    a = np.zeros((2, 1, 4, 4), dtype=np.uint8)
    b = a.copy()
    b[0] += 1     # MSE 1
    b[1, 0, 0, :2] = 4  # MSE 2 * 16 / 16 = 2
    expected = (10 * math.log10(255 ** 2 / 1) + 10 * math.log10(255 ** 2 / 2)) / 2
    assert psnr(a, b) == pytest.approx(expected)
    assert psnr(a[0, 0], b[0, 0]) == pytest.approx(20 * math.log10(255))  # one (H, W) image


def test_quality_scores_refuse_bad_input():
    a = np.zeros((1, 3, 16, 16))
    with pytest.raises(ValueError, match="data_range"):
        psnr(a, a)
    with pytest.raises(ValueError, match="differ in shape"):
        ssim(a, a[:, :2], data_range=1.0)
    with pytest.raises(ValueError, match="smaller than the 11x11 window"):
        ssim(a[..., :8, :8], a[..., :8, :8], data_range=1.0)
    with pytest.raises(ValueError, match="map images in \\[-1, 1\\] to \\[0, 1\\]"):
        ssim(a - 1, a, data_range=2.0)


def ssim_direct(a, b, data_range, size=11, sigma=1.5):
    """Wang et al.'s formula written out: every window position, its 2-D Gaussian weights,
    the weighted moments, one channel of one image at a time."""
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-r ** 2 / (2 * sigma ** 2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    scores = []
    for x, y in zip(a.reshape(-1, *a.shape[-2:]), b.reshape(-1, *b.shape[-2:])):
        values = []
        for i in range(x.shape[0] - size + 1):
            for j in range(x.shape[1] - size + 1):
                p, q = x[i:i + size, j:j + size], y[i:i + size, j:j + size]
                mp, mq = (window * p).sum(), (window * q).sum()
                vp, vq = (window * (p - mp) ** 2).sum(), (window * (q - mq) ** 2).sum()
                cov = (window * (p - mp) * (q - mq)).sum()
                values.append((2 * mp * mq + c1) * (2 * cov + c2)
                              / ((mp ** 2 + mq ** 2 + c1) * (vp + vq + c2)))
        scores.append(np.mean(values))
    return np.mean(scores)


@settings(max_examples=3)
@given(seed=st.integers(0, 2 ** 16), height=st.integers(11, 14), width=st.integers(11, 13))
def test_ssim_matches_the_direct_formula(device, seed, height, width):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 1, (2, 2, height, width))
    b = np.clip(a + rng.normal(0, 0.2, a.shape), 0, 1)
    value = ssim(make_tensor(a, device, False), make_tensor(b, device, False), data_range=1.0)
    assert value == pytest.approx(ssim_direct(a, b, 1.0), rel=1e-10)


def test_ssim_of_identical_images_is_1_and_of_constant_images_is_the_luminance_term(device):
    rng = np.random.default_rng(1)
    x = make_tensor(rng.uniform(0, 1, (1, 3, 16, 16)), device, False)
    assert ssim(x, x, data_range=1.0) == pytest.approx(1.0, abs=1e-12)
    # Constant images a and b: no variance, so only (2ab + C1) / (a^2 + b^2 + C1) is left.
    a, b = np.full((12, 12), 0.2), np.full((12, 12), 0.6)
    c1 = (0.01 * 1.0) ** 2
    assert ssim(a, b, data_range=1.0) == pytest.approx((2 * 0.2 * 0.6 + c1)
                                                       / (0.2 ** 2 + 0.6 ** 2 + c1))
    noise = rng.uniform(0, 255, (3, 20, 20)).astype(np.uint8)
    assert ssim(noise, rng.uniform(0, 255, (3, 20, 20)).astype(np.uint8)) < 0.1  # unrelated


def test_bicubic_resize_is_pillows_and_keeps_a_flat_image_flat():
    from PIL import Image
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    big = resize_images(images, 64)
    assert big.shape == (2, 64, 64, 3) and big.dtype == np.uint8
    assert np.array_equal(big[1], np.asarray(Image.fromarray(images[1]).resize((64, 64),
                                                                               Image.BICUBIC)))
    flat = np.full((1, 16, 16, 1), 77, dtype=np.uint8)
    assert (resize_images(flat, 4) == 77).all()
    with pytest.raises(ValueError, match="resample"):
        resize_images(images, 8, resample="cubic")


# ------------------------------------------------------------------------- gradient checks
@settings(max_examples=2)
@given(data=st.data())
def test_prelu_gradients_to_the_input_and_the_slopes(device, data):
    x = make_tensor(data.draw(arrays((2, 3, 2, 2), avoid=(0.0,), gap=0.1)), device)
    for slopes in ((3,), (1,)):
        weight = make_tensor(data.draw(arrays(slopes, -0.5, 0.5)), device)
        gradcheck(nn.functional.prelu, [x, weight])
        gradgradcheck(nn.functional.prelu, [x, weight])


def test_prelu_is_relu_on_the_right_and_a_line_of_slope_a_on_the_left():
    layer = nn.PReLU(2, init=0.25)
    x = minigan.tensor([[[1.0, -2.0]], [[-4.0, 3.0]]])[None]  # (1, 2, 1, 2)
    assert layer(x).numpy().tolist() == [[[[1.0, -0.5]], [[-1.0, 3.0]]]]
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    with pytest.raises(ValueError, match="one per channel"):
        nn.functional.prelu(x, minigan.ones(3))


def test_prelu_equals_pytorchs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, slopes = rng.standard_normal((2, 3, 4, 4)), rng.uniform(-0.5, 0.5, 3)
    theirs = torch.nn.PReLU(3).double()
    theirs.weight.data = torch.tensor(slopes)
    ours = nn.PReLU(3, dtype="float64")
    ours.load_state_dict({"weight": slopes})
    tx, mx = torch.tensor(x, requires_grad=True), minigan.tensor(x, requires_grad=True)
    ty, my = theirs(tx), ours(mx)
    np.testing.assert_allclose(my.numpy(), ty.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(x.shape)
    ty.backward(torch.tensor(g))
    my.backward(minigan.tensor(g))
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)


@settings(max_examples=2)
@given(data=st.data())
def test_gram_matrix_and_total_variation_gradients(device, data):
    f = make_tensor(data.draw(arrays((2, 3, 2, 3))), device)
    gradcheck(gram_matrix, [f])
    gradgradcheck(gram_matrix, [f])
    x = make_tensor(data.draw(arrays((1, 2, 3, 3))), device)
    gradcheck(total_variation_loss, [x])
    gradgradcheck(total_variation_loss, [x])


def test_gram_matrix_and_total_variation_on_hand_computed_inputs(device):
    # One image, two channels of two pixels: F = [[1, 2], [3, 4]]; F F^T / (C H W = 4).
    f = make_tensor(np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2), device, False)
    assert gram_matrix(f).numpy().tolist() == [[[5 / 4, 11 / 4], [11 / 4, 25 / 4]]]
    # [[0, 1], [3, 3]]: vertical differences 3, 2 -> mean 13/2; horizontal 1, 0 -> 1/2.
    x = make_tensor(np.array([[0.0, 1.0], [3.0, 3.0]]).reshape(1, 1, 2, 2), device, False)
    assert total_variation_loss(x).item() == pytest.approx(13 / 2 + 1 / 2)
    assert style_loss([f], [gram_matrix(f)]).item() == 0.0
    assert content_loss(f, f * 2).item() == pytest.approx((1 + 4 + 9 + 16) / 4)


def tiny_vae_loss(x, w_mu, w_logvar, w_out, noise):
    """A VAE on vectors with linear maps: encoder x -> (mu, logvar), decoder z -> tanh(z W)."""
    mu, logvar = x @ w_mu, x @ w_logvar
    z = reparameterize(mu, logvar, noise=noise)
    return negative_elbo((z @ w_out).tanh(), x, mu, logvar, sigma=0.5)[0]


@settings(max_examples=2)
@given(data=st.data())
def test_the_reparameterised_elbo_gradients(device, data):
    x = make_tensor(data.draw(arrays((3, 4), -0.9, 0.9)), device)
    weights = [make_tensor(data.draw(arrays(shape, -0.5, 0.5)), device)
               for shape in ((4, 2), (4, 2), (2, 4))]
    noise = make_tensor(data.draw(arrays((3, 2))), device, requires_grad=False)
    gradcheck(tiny_vae_loss, [x, *weights, noise])
    gradgradcheck(tiny_vae_loss, [x, *weights, noise])


def test_kl_term_is_the_integral_of_q_log_q_over_p():
    """The closed form against numerical integration, one latent dimension at a time (the KL
    of independent dimensions adds up)."""
    mu, logvar = np.array([[0.0, 1.5, -0.7]]), np.array([[0.0, -1.0, 0.8]])
    z = np.linspace(-12, 12, 200001)
    integral = 0.0
    for m, lv in zip(mu[0], logvar[0]):
        s = np.exp(lv / 2)
        log_q = -0.5 * ((z - m) / s) ** 2 - np.log(s * np.sqrt(2 * np.pi))
        log_p = -0.5 * z ** 2 - np.log(np.sqrt(2 * np.pi))
        integral += np.trapezoid(np.exp(log_q) * (log_q - log_p), z)
    value = kl_divergence(minigan.tensor(mu), minigan.tensor(logvar)).item()
    assert value == pytest.approx(integral, rel=1e-8)
    assert kl_divergence(minigan.zeros(2, 5), minigan.zeros(2, 5)).numpy().tolist() == [0.0, 0.0]


def test_reparameterised_samples_have_the_posterior_mean_and_variance(device):
    mu = make_tensor(np.full((20000, 2), [1.0, -2.0]), device, False)
    logvar = make_tensor(np.full((20000, 2), [0.0, math.log(0.25)]), device, False)
    z = reparameterize(mu, logvar, generator=minigan.random.Generator(device).manual_seed(0))
    z = z.numpy()
    assert np.allclose(z.mean(0), [1.0, -2.0], atol=0.03)
    assert np.allclose(z.std(0), [1.0, 0.5], rtol=0.03)


# --------------------------------------------------------------------------------- SRGAN
def test_srgan_generator_makes_16x16_images_64x64(device):
    minigan.manual_seed(0)
    G = SRGANGenerator(scale=4, nf=4, num_blocks=1).to(device)
    out = G(minigan.randn(2, 3, 16, 16, device=device))
    assert out.shape == (2, 3, 64, 64) and out.device == device
    assert np.abs(out.numpy()).max() <= 1.0
    with pytest.raises(ValueError, match="power of two"):
        SRGANGenerator(scale=3)


def test_with_input_skip_the_generator_adds_its_output_to_the_enlarged_input():
    minigan.manual_seed(0)
    G = SRGANGenerator(scale=2, nf=4, num_blocks=1, input_skip=True)
    x = minigan.randn(2, 3, 8, 8)
    bilinear = minigan.nn.functional.interpolate(x, scale_factor=2, mode="bilinear").numpy()
    assert not np.allclose(G(x).numpy(), bilinear)
    nn.init.zeros_(G.tail.weight)
    nn.init.zeros_(G.tail.bias)
    np.testing.assert_allclose(G(x).numpy(), bilinear, rtol=1e-6, atol=1e-6)


class TinyFeatures(nn.Module):
    """Any module with ``features(x) -> list of Tensors`` serves the feature loss."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)

    def features(self, x):
        h = self.conv(x).relu()
        return [h, h.mean(dim=(2, 3))]


def test_srgan_trains_two_steps_with_a_feature_loss(device):
    minigan.manual_seed(0)
    G = SRGANGenerator(nf=4, num_blocks=1).to(device)
    D = DCGANDiscriminator(ndf=4, image_size=64).to(device)
    features = TinyFeatures().to(device)
    high = minigan.rand(4, 3, 64, 64, device=device) * 2 - 1
    trainer = SRGANTrainer(G, D, optim.Adam(G.parameters(), lr=1e-3),
                           optim.Adam(D.parameters(), lr=1e-3), feature_extractor=features,
                           feature_weight=0.5, sample_images=high[:2])
    before = next(G.parameters()).numpy().copy()
    for _ in range(2):
        log = trainer.train_step(lambda: high)
    assert trainer.step == 2 and len(trainer.history) == 2
    for key in ("loss_D", "loss_G", "content_mse", "adversarial", "feature"):
        assert math.isfinite(log[key]), key
    # L_G = MSE + 1e-3 adversarial + 0.5 feature, on the batch G saw before its update
    assert log["loss_G"] == pytest.approx(log["content_mse"] + 1e-3 * log["adversarial"]
                                          + 0.5 * log["feature"], rel=1e-5)
    assert not np.array_equal(before, next(G.parameters()).numpy())
    assert all(p.grad is None for p in features.parameters())  # the extractor stays frozen
    grid = trainer.sample()  # inputs | outputs | originals
    assert grid.shape == (6, 3, 64, 64) and grid.device == device
    assert np.array_equal(grid[4:].numpy(), high[:2].numpy())


@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_srgan_generator_loss_gradients(device, data):
    # G's loss, MSE + 1e-3 adversarial + feature loss, as a function of G's output: first and
    # second derivatives in float64 (the extractor's features of the target carry none).
    minigan.manual_seed(0)
    G = SRGANGenerator(nf=4, num_blocks=1).to(device)
    D = DCGANDiscriminator(ndf=2, image_size=64).to(device, dtype="float64")
    features = TinyFeatures().to(device, dtype="float64")
    trainer = SRGANTrainer(G, D, optim.Adam(G.parameters(), lr=1e-3),
                           optim.Adam(D.parameters(), lr=1e-3), feature_extractor=features,
                           feature_weight=0.5)
    real = make_tensor(data.draw(arrays((2, 3, 64, 64), low=-1, high=1)), device,
                       requires_grad=False)
    fake = make_tensor(data.draw(arrays((2, 3, 64, 64), low=-1, high=1)), device)
    loss = lambda fake: trainer.generator_loss(fake, real)  # noqa: E731
    gradcheck(loss, [fake])
    gradgradcheck(loss, [fake])


# ----------------------------------------------------------------------------------- VAE
def test_vae_shapes_and_a_few_steps_lower_the_loss(device):
    minigan.manual_seed(0)
    vae = VAE(nz=4, ngf=4, ndf=4, image_size=8).to(device)
    x = minigan.rand(8, 3, 8, 8, device=device) * 2 - 1
    reconstruction, mu, logvar = vae(x)
    assert reconstruction.shape == (8, 3, 8, 8) and mu.shape == logvar.shape == (8, 4)
    trainer = VAETrainer(vae, optim.Adam(vae.parameters(), lr=3e-3), sigma=0.3, num_samples=4)
    logs = [trainer.train_step(lambda: x) for _ in range(8)]
    assert logs[-1]["loss"] < logs[0]["loss"]
    assert logs[0]["loss"] == pytest.approx(logs[0]["reconstruction"] + logs[0]["kl"], rel=1e-5)
    assert trainer.sample().shape == (4, 3, 8, 8) and trainer.reconstruct(x).shape == x.shape


def test_vae_encoder_mirrors_the_dcgan_discriminator_and_decodes_with_its_generator():
    vae = VAE(nz=5, ngf=4, ndf=4, image_size=16)
    assert type(vae.decoder).__name__ == "DCGANGenerator"
    assert isinstance(vae.encoder, DCGANDiscriminator)
    assert vae.encoder.head.weight.shape == (10, 8, 4, 4)  # 2 nz numbers from the 4x4 map


# ------------------------------------------------------------------------ style transfer
def test_style_transfer_lowers_its_loss_in_a_few_steps(device):
    minigan.manual_seed(0)
    extractor = RandomFeatures(widths=(4, 8)).to(device)
    rng = np.random.default_rng(0)
    content = make_tensor(rng.uniform(-1, 1, (1, 3, 8, 8)), device, False, "float32")
    style = make_tensor(rng.uniform(-1, 1, (1, 3, 12, 12)), device, False, "float32")
    image, history = transfer_style(content, style, extractor, steps=6, lr=0.05,
                                    style_weight=1e4, tv_weight=0.1)
    assert image.shape == content.shape and image.device == device and not image.requires_grad
    assert history[-1]["loss"] < history[0]["loss"]
    assert np.abs(image.numpy()).max() <= 1.0
    assert all(p.grad is None for p in extractor.parameters())


def test_the_cat_classifier_serves_as_the_feature_network(device):
    from minigan.metrics import CatAttributeClassifier
    minigan.manual_seed(0)
    classifier = CatAttributeClassifier(widths=(4, 4, 4, 4)).to(device)
    image = minigan.rand(1, 3, 16, 16, device=device) * 2 - 1
    _, history = transfer_style(image, -image,  # the negative as a "style"
                                classifier, steps=2, style_weight=1e3)
    assert all(math.isfinite(log["loss"]) for log in history)


# ------------------------------------------------------------------------------ examples
from examples import cats_srgan, cats_style_transfer, cats_vae  # noqa: E402
from test_cats_example import assert_same_run  # noqa: E402


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Twelve small noise "photos": the examples must not need ../shared/data in tests."""
    from PIL import Image
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def srgan_flags(photos, out, *more):
    return ["--device", "cpu", "--data", str(photos), "--image-size", "16", "--nf", "4",
            "--num-blocks", "1", "--ndf", "4", "--batch-size", "4", "--holdout", "4",
            "--features", "random", "--out", str(out), *more]


def vae_flags(photos, out, *more):
    return ["--device", "cpu", "--data", str(photos), "--image-size", "16", "--ngf", "4",
            "--ndf", "4", "--nz", "4", "--batch-size", "4", "--fid-images", "3",
            "--out", str(out), *more]


@pytest.mark.parametrize("example, flags", [(cats_srgan, srgan_flags), (cats_vae, vae_flags)])
def test_examples_resume_bit_for_bit(example, flags, photos, tmp_path):
    straight = example.main(flags(photos, tmp_path / "straight", "--steps", "4"))
    assert straight["status"] == "finished" and straight["step"] == 4
    assert example.main(flags(photos, tmp_path / "resumed", "--steps", "2"))["step"] == 2
    resumed = example.main(flags(photos, tmp_path / "resumed", "--steps", "4", "--resume"))
    assert resumed["status"] == "finished" and resumed["step"] == 4
    assert_same_run(tmp_path / "straight", tmp_path / "resumed")


def test_srgan_example_scores_srgan_and_bicubic_on_held_out_cats(photos, tmp_path):
    summary = cats_srgan.main(srgan_flags(photos, tmp_path, "--steps", "1"))
    result = summary["evaluation"]
    assert result["images"] == 4
    for method in ("srgan", "bicubic"):
        assert 0 < result[method]["psnr"] < 60 and -1 <= result[method]["ssim"] <= 1
    assert (tmp_path / "comparison.png").is_file() and (tmp_path / "evaluation.json").is_file()


def test_vae_example_writes_reconstructions_and_fid_samples(photos, tmp_path):
    cats_vae.main(vae_flags(photos, tmp_path, "--steps", "1"))
    assert sorted(p.name for p in (tmp_path / "fid_samples").iterdir()) == \
        ["00000.png", "00001.png", "00002.png"]
    assert (tmp_path / "reconstructions.png").is_file() and (tmp_path / "final.png").is_file()


def test_examples_run_on_the_device(device, photos, tmp_path):
    for example, flags in ((cats_srgan, srgan_flags), (cats_vae, vae_flags)):
        out = tmp_path / example.__name__.split(".")[-1]
        more = ["--steps", "1", "--device", device]
        assert example.main(flags(photos, out, *more))["status"] == "finished"


def test_style_transfer_example_writes_its_pictures(photos, tmp_path):
    result = cats_style_transfer.main(["--content", str(photos / "0.png"), "--image-size", "16",
                                       "--steps", "3", "--out", str(tmp_path)])
    assert len(result["history"]) == 3
    for name in ("result.png", "comparison.png", "progress.png", "losses.csv"):
        assert (tmp_path / name).is_file(), name


def test_style_transfer_stops_on_a_non_finite_loss(photos, tmp_path):
    with pytest.raises(SystemExit, match=r"the loss is (inf|nan) at step 1; try a lower lr"):
        cats_style_transfer.main(["--content", str(photos / "0.png"), "--image-size", "16",
                                  "--steps", "3", "--style-weight", "inf", "--out",
                                  str(tmp_path)])
    assert not (tmp_path / "result.png").exists()
