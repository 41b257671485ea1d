"""Progressive growing (ProGAN) and multi-scale gradients (MSG-GAN), docs/12_progressive.md:
shapes at every stage and during a fade-in, a fresh stage that changes nothing at alpha = 0,
gradient checks of pixel norm, the equalised layers and the fade-in blend, the growth
schedule, a checkpoint taken mid fade-in that resumes bit for bit, and short training runs.
Tiny widths keep these fast."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan
from minigan import optim
from minigan.nn import init
from minigan.nn import functional as F
from minigan.gan.models.progan import (PixelNorm, EqualizedConv2d, EqualizedLinear, fade_in,
                                       pixel_norm, growth_stage, ProGANGenerator,
                                       ProGANDiscriminator, ProGANTrainer)
from minigan.gan.models.msg import (MSGGenerator, MSGDiscriminator, MSGGANTrainer,
                                    image_pyramid)
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor

WIDTHS = (4, 4, 3, 2)  # 4x4 up to 32x32


def adam(module):
    return optim.Adam(module.parameters(), lr=1e-3, betas=(0.0, 0.99))


def random_batches(size, seed=0, n=4):
    rng = np.random.default_rng(seed)
    return lambda: rng.uniform(-1, 1, (n, 3, size, size)).astype(np.float32)


# ------------------------------------------------------------------------------ ProGAN
def test_progan_shapes_at_every_stage_and_during_fade_in():
    minigan.manual_seed(0)
    G, D = ProGANGenerator(nz=8, widths=WIDTHS), ProGANDiscriminator(widths=WIDTHS)
    z = minigan.randn(3, 8)
    for stage, size in enumerate((4, 8, 16, 32)):
        if stage:
            G.grow(), D.grow()
        for alpha in (0.0, 0.5, 1.0) if stage else (1.0,):
            G.alpha = D.alpha = alpha
            images = G(z)
            assert images.shape == (3, 3, size, size) and G.resolution == size
            assert D(images).shape == (3,) and D.features(images).shape == (3, WIDTHS[0])
    with pytest.raises(ValueError, match="largest resolution 32"):
        G.grow()
    with pytest.raises(ValueError, match="takes 32x32 images"):
        D(minigan.randn(3, 3, 16, 16))


def test_a_new_stage_at_alpha_0_changes_nothing():
    """Fig. 2: the fade-in starts from the old networks, G upsampled and D pooled."""
    minigan.manual_seed(1)
    G, D = ProGANGenerator(nz=8, widths=WIDTHS), ProGANDiscriminator(widths=WIDTHS)
    z, x = minigan.randn(3, 8), minigan.randn(3, 3, 8, 8)
    before_g, before_d = G(z), D(F.avg_pool2d(x, 2))
    G.grow(), D.grow()
    assert G.alpha == D.alpha == 0.0
    upsampled = F.interpolate(before_g, scale_factor=2, mode="nearest").numpy()
    np.testing.assert_allclose(G(z).numpy(), upsampled, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(D(x).numpy(), before_d.numpy(), rtol=1e-5, atol=1e-6)
    G.alpha = 1.0
    assert not np.allclose(G(z).numpy(), upsampled)  # ... and the new block takes over


def test_equalized_layers_draw_unit_normal_weights_and_scale_them_at_run_time():
    minigan.manual_seed(2)
    conv, linear = EqualizedConv2d(16, 32, 3, padding=1), EqualizedLinear(200, 50)
    for layer, fan_in in ((conv, 16 * 9), (linear, 200)):
        w = layer.weight.numpy()
        assert abs(w.std() - 1.0) < 0.05 and abs(w.mean()) < 0.05
        assert not layer.bias.numpy().any()
        assert layer.scale == pytest.approx(math.sqrt(2.0 / fan_in))
    x = minigan.randn(2, 16, 5, 5)
    expected = F.conv2d(x, conv.weight * conv.scale, conv.bias, padding=1)
    np.testing.assert_array_equal(conv(x).numpy(), expected.numpy())
    # The stored weight's gradient is the run-time weight's gradient times c (Sec. 4.1).
    y = minigan.randn(3, 200)
    effective = minigan.Tensor(linear.weight.numpy() * linear.scale, requires_grad=True)
    F.linear(y, effective, linear.bias).sum().backward()
    linear(y).sum().backward()
    np.testing.assert_allclose(linear.weight.grad.numpy(), effective.grad.numpy() * linear.scale,
                               rtol=1e-5)


def test_pixel_norm_gives_unit_mean_square_features():
    x = minigan.randn(2, 5, 3, 3) * 7.0
    y = PixelNorm()(x).numpy()
    np.testing.assert_allclose((y ** 2).mean(axis=1), 1.0, rtol=1e-4)


# Gradient checks: a few small examples each (the second-order checks dominate the time).
@settings(max_examples=4)
@given(data=st.data())
def test_pixel_norm_gradients(device, data):
    x = make_tensor(data.draw(arrays((1, 3, 2, 2))), device)
    gradcheck(pixel_norm, [x])
    gradgradcheck(pixel_norm, [x])


def _double(layer, device):
    return layer.to(device, "float64")


@settings(max_examples=4)
@given(data=st.data())
def test_equalized_conv_gradients(device, data):
    minigan.manual_seed(data.draw(st.integers(0, 100)))
    layer = _double(EqualizedConv2d(2, 2, 3, padding=1), device)
    init.uniform_(layer.bias, 0.2, 0.8)  # a non-zero bias (they start at zero)
    x = make_tensor(data.draw(arrays((1, 2, 3, 3))), device)
    # The layer's own Parameters are the checked inputs: gradcheck perturbs them in place.
    check = lambda x, w, b: layer(x)  # noqa: E731
    gradcheck(check, [x, layer.weight, layer.bias])
    gradgradcheck(check, [x, layer.weight, layer.bias])


@settings(max_examples=4)
@given(data=st.data())
def test_equalized_linear_gradients(device, data):
    minigan.manual_seed(data.draw(st.integers(0, 100)))
    layer = _double(EqualizedLinear(4, 3), device)
    x = make_tensor(data.draw(arrays((2, 4))), device)
    check = lambda x, w, b: layer(x)  # noqa: E731
    gradcheck(check, [x, layer.weight, layer.bias])
    gradgradcheck(check, [x, layer.weight, layer.bias])


@settings(max_examples=4)
@given(data=st.data(), alpha=st.sampled_from([0.0, 0.3, 1.0]))
def test_fade_in_gradients(device, data, alpha):
    old = make_tensor(data.draw(arrays((1, 2, 2, 2))), device)
    new = make_tensor(data.draw(arrays((1, 2, 4, 4))), device)
    blend = lambda old, new: fade_in(F.interpolate(old, scale_factor=2), new, alpha)  # noqa: E731
    gradcheck(blend, [old, new])
    gradgradcheck(blend, [old, new])


def test_growth_schedule():
    schedule = [growth_stage(step, 3, fade_steps=2, stable_steps=3) for step in range(14)]
    assert schedule == [(0, 1.0)] * 3 + [(1, 0.5), (1, 1.0)] + [(1, 1.0)] * 3 \
        + [(2, 0.5), (2, 1.0)] + [(2, 1.0)] * 4
    assert growth_stage(10 ** 6, 1, 2, 3) == (0, 1.0)
    assert [growth_stage(step, 3, 0, 1) for step in range(3)] == [(0, 1.0), (1, 1.0), (2, 1.0)]
    with pytest.raises(ValueError, match="not both 0"):
        growth_stage(0, 3, 0, 0)


def make_progan(seed=0, device="cpu", widths=(4, 3, 2), **options):
    minigan.manual_seed(seed)
    G = ProGANGenerator(nz=6, widths=widths).to(device)
    D = ProGANDiscriminator(widths=widths).to(device)
    return ProGANTrainer(G, D, adam(G), adam(D), fade_steps=2, stable_steps=2, seed=seed,
                         num_samples=4, **options)


def snapshot(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_progan_trainer_grows_on_schedule_and_pools_real_batches():
    trainer = make_progan()
    seen = []
    batches = random_batches(16)
    for _ in range(8):
        log = trainer.train_step(lambda: seen.append(trainer._as_batch(batches())[0]) or seen[-1])
        assert log["resolution"] == trainer.G.resolution == trainer.D.resolution
    assert [x.shape[-1] for x in seen] == [4, 4, 8, 8, 8, 8, 16, 16]
    assert [round(row["alpha"], 2) for row in trainer.history] == [1, 1, .5, 1, 1, 1, .5, 1]
    assert len(trainer.g_optimizer.param_groups) == len(trainer.d_optimizer.param_groups) == 3
    assert trainer.sample().shape == (4, 3, 16, 16)  # every grid at the final size
    assert np.abs(trainer.sample().numpy()).max() <= 1.0


def test_progan_checkpoint_mid_fade_in_resumes_bit_for_bit(tmp_path):
    """Save at step 3, in the middle of the 8x8 fade-in; resume across the next growth."""
    options = dict(ema_decay=0.9)
    straight = make_progan(**options)
    batches = random_batches(16, seed=5)
    for _ in range(8):
        straight.train_step(batches)

    first = make_progan(**options)
    batches = random_batches(16, seed=5)
    for _ in range(3):
        first.train_step(batches)
    assert (first.G.stage, first.G.alpha) == (1, 0.5)
    minigan.save(first.state_dict(), tmp_path / "ckpt.npz")
    resumed = make_progan(seed=7, **options)  # a fresh trainer, other weights and RNG
    resumed.fade_steps = 5  # ... and another schedule: the checkpoint's is kept
    resumed.load_state_dict(minigan.load(tmp_path / "ckpt.npz"))
    assert (resumed.G.stage, resumed.D.stage, resumed.G.alpha) == (1, 1, 0.5)
    for _ in range(5):
        resumed.train_step(batches)

    assert resumed.G.stage == straight.G.stage == 2
    assert resumed.history == straight.history
    for a, b in ((resumed.G, straight.G), (resumed.D, straight.D),
                 (resumed.ema.module, straight.ema.module)):
        assert same(snapshot(a), snapshot(b))
    assert np.array_equal(resumed.sample().numpy(), straight.sample().numpy())


@pytest.mark.parametrize("reset", [True, False])
def test_growing_adds_a_parameter_group_and_resets_adam_or_not(reset):
    trainer = make_progan(reset_optimizer=reset)
    batches = random_batches(16)
    for _ in range(2):
        trainer.train_step(batches)
    old = dict(trainer.g_optimizer.state)
    assert old and trainer.G.stage == 0
    trainer.grow()
    group = trainer.g_optimizer.param_groups[1]
    new = list(trainer.G.blocks[1].parameters()) + list(trainer.G.to_rgb[1].parameters())
    assert [id(p) for p in group["params"]] == [id(p) for p in new]
    assert group["lr"] == trainer.g_optimizer.defaults["lr"]
    kept = trainer.g_optimizer.state
    assert (not kept) if reset else (kept.keys() == old.keys() and
                                     all(kept[p] is old[p] for p in old))


def test_progan_trainer_refuses_grown_or_mismatched_models():
    G, D = ProGANGenerator(nz=4, widths=(2, 2)), ProGANDiscriminator(widths=(2, 2, 2))
    with pytest.raises(ValueError, match="same resolutions"):
        ProGANTrainer(G, D, adam(G), adam(D))
    trainer = make_progan()
    trainer.grow()
    with pytest.raises(ValueError, match="fresh trainer"):
        trainer.load_state_dict(make_progan().state_dict())


def test_progan_trains_two_steps(device):
    trainer = make_progan(device=device, widths=(4, 3))
    trainer.fade_steps = trainer.stable_steps = 1  # 4x4 then the 8x8 fade-in
    before = snapshot(trainer.G)
    batches = random_batches(8)
    logs = [trainer.train_step(batches) for _ in range(2)]
    assert all(math.isfinite(v) for log in logs for v in log.values())
    assert trainer.G.resolution == 8 and logs[1]["alpha"] == 1.0
    assert not same({k: v for k, v in snapshot(trainer.G).items() if k in before}, before)
    assert trainer.sample().device == device


# ----------------------------------------------------------------------------- MSG-GAN
@pytest.mark.parametrize("combine", ["simple", "conv"])
def test_msg_shapes(combine):
    minigan.manual_seed(0)
    G, D = MSGGenerator(nz=8, widths=WIDTHS), MSGDiscriminator(widths=WIDTHS, combine=combine)
    images = G(minigan.randn(3, 8))
    assert [x.shape for x in images] == [(3, 3, s, s) for s in (4, 8, 16, 32)]
    assert D(images).shape == (3,) and D.features(images).shape == (3, WIDTHS[0])
    pyramid = image_pyramid(minigan.randn(3, 3, 32, 32), 4)
    assert [x.shape for x in pyramid] == [x.shape for x in images] and pyramid.shape[-1] == 32
    np.testing.assert_allclose(pyramid[0].numpy(), F.avg_pool2d(pyramid[-1], 8).numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="list of 4 images"):
        D(images[-1])
    with pytest.raises(ValueError, match="image 1 must be 8x8"):
        D([images[0], images[0], images[2], images[3]])


def test_msg_discriminator_needs_every_scale():
    """Every scale of G's output reaches D: each one's gradient is non-zero."""
    minigan.manual_seed(3)
    G, D = MSGGenerator(nz=8, widths=(4, 3, 2)), MSGDiscriminator(widths=(4, 3, 2))
    images = [minigan.Tensor(x.numpy(), requires_grad=True) for x in G(minigan.randn(3, 8))]
    D(images).sum().backward()
    assert all(np.abs(x.grad.numpy()).sum() > 0 for x in images)


def test_msg_trainer_refuses_gradient_penalties():
    G, D = MSGGenerator(nz=4, widths=(2, 2)), MSGDiscriminator(widths=(2, 2))
    with pytest.raises(ValueError, match="image pyramids"):
        MSGGANTrainer(G, D, adam(G), adam(D), objective="wgan-gp")


@pytest.mark.parametrize("combine", ["simple", "conv"])
def test_msg_trains_two_steps(device, combine):
    minigan.manual_seed(0)
    G = MSGGenerator(nz=6, widths=(4, 3, 2)).to(device)
    D = MSGDiscriminator(widths=(4, 3, 2), combine=combine).to(device)
    trainer = MSGGANTrainer(G, D, adam(G), adam(D), objective="hinge", num_samples=4)
    before = snapshot(G)
    batches = random_batches(16)
    logs = [trainer.train_step(batches) for _ in range(2)]
    assert all(math.isfinite(v) for log in logs for v in log.values())
    assert not same(snapshot(G), before)
    sample = trainer.sample()
    assert sample.shape == (4, 3, 16, 16) and sample.device == device


# ------------------------------------------- the cats example's specs (examples/archs/)
def _arch(name, monkeypatch):
    """examples/archs/<name>.py with tiny widths (the loop and schedule are what is tested)."""
    import importlib
    import pathlib
    root = str(pathlib.Path(__file__).resolve().parent.parent)
    monkeypatch.syspath_prepend(root)  # examples/ is a folder of scripts, not a package
    module = importlib.import_module(f"examples.archs.{name}")
    monkeypatch.setitem(module.DEFAULTS, "widths", (4, 3, 2, 2, 2))
    return module


def _run(module, out, steps, total, resume=False):
    from minigan.data import ImageBatches
    from minigan.gan.loop import run_training
    config = dict(image_size=16, nz=8, batch_size=4, steps=total, lr_g=None, lr_d=None,
                  loss=None, device="cpu", seed=0)
    images = np.random.default_rng(0).integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)
    trainer = module.build_trainer(config)
    summary = run_training(trainer, ImageBatches(images, 4, seed=0), steps, str(out), config,
                           resume=resume)
    return trainer, summary


@pytest.mark.parametrize("name", ["progan", "msg"])
def test_arch_specs_train_with_the_shared_loop_and_resume_exactly(name, monkeypatch, tmp_path):
    module = _arch(name, monkeypatch)
    with pytest.raises(ValueError, match="image_size must be one of"):
        module.widths_for(48)
    straight, summary = _run(module, tmp_path / "straight", 6, 6)
    assert summary["status"] == "finished" and (tmp_path / "straight" / "final.png").exists()
    if name == "progan":  # 6 steps over 3 stages: phases of one step, 16x16 from step 4
        assert (straight.fade_steps, straight.stable_steps, straight.G.resolution) == (1, 1, 16)
    _run(module, tmp_path / "resumed", 3, 6)  # stops mid-schedule, then resumes
    resumed, summary = _run(module, tmp_path / "resumed", 6, 6, resume=True)
    assert summary["status"] == "finished" and resumed.history == straight.history
    assert same(snapshot(resumed.G), snapshot(straight.G))
