"""Conditional DCGANs on images (docs/13_conditional.md): the label blocks' gradients (first and
second order), the shapes and label dependence of CGAN (concatenation or projection D) and
ACGAN, their training steps on every device, and examples/cats_conditional.py (outputs,
classifier agreement, exact resume). Tiny widths and 8x8 / 16x16 images keep them fast."""
import json
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan
from minigan import optim
from minigan.gan import (ACGANDiscriminator, ACGANTrainer, ConditionalDCGANDiscriminator,
                         ConditionalDCGANGenerator, GANTrainer)
from minigan.gan.models.conditional_dcgan import label_channels, projection
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor


def labels_on(device, values):
    return minigan.Tensor(minigan.to_device(np.asarray(values, dtype=np.int64), device))


# ----------------------------------------------------------------------- the label blocks
@settings(max_examples=3)
@given(data=st.data())
def test_label_channels_gradients(device, data):
    x = make_tensor(data.draw(arrays((3, 2, 2, 3))), device)
    weight = make_tensor(data.draw(arrays((4, 2))), device)
    labels = labels_on(device, [1, 3, 1])  # a repeated label: its gradient rows add up
    gradcheck(lambda x, w: label_channels(x, labels, w), [x, weight])
    gradgradcheck(lambda x, w: label_channels(x, labels, w), [x, weight])


@settings(max_examples=3)
@given(data=st.data())
def test_projection_gradients(device, data):
    features = make_tensor(data.draw(arrays((3, 5))), device)
    weight = make_tensor(data.draw(arrays((4, 5))), device)
    labels = labels_on(device, [2, 0, 2])
    gradcheck(lambda f, w: projection(f, labels, w), [features, weight])
    gradgradcheck(lambda f, w: projection(f, labels, w), [features, weight])


def test_label_blocks_compute_their_formulas():
    x = minigan.randn(2, 3, 4, 5)
    weight = minigan.randn(6, 2)
    out = label_channels(x, minigan.tensor([4, 1]), weight).numpy()
    assert out.shape == (2, 5, 4, 5)
    np.testing.assert_array_equal(out[:, :3], x.numpy())
    np.testing.assert_array_equal(out[1, 3:], np.broadcast_to(weight.numpy()[1][:, None, None],
                                                              (2, 4, 5)))
    f = minigan.randn(2, 2)
    expected = (weight.numpy()[[5, 0]] * f.numpy()).sum(1)
    np.testing.assert_allclose(projection(f, minigan.tensor([5, 0]), weight).numpy(), expected,
                               rtol=1e-6)


# --------------------------------------------------------------------------- the networks
@pytest.mark.parametrize("size", [8, 32])
def test_shapes(size):
    G = ConditionalDCGANGenerator(5, nz=6, ngf=4, image_size=size)
    labels = minigan.tensor([0, 4, 2])
    images = G(minigan.randn(3, 6), labels)
    assert images.shape == (3, 3, size, size)
    assert np.abs(images.numpy()).max() <= 1
    for D in (ConditionalDCGANDiscriminator(5, ndf=4, image_size=size),
              ConditionalDCGANDiscriminator(5, ndf=4, image_size=size, projection=True,
                                            spectral_norm=True)):
        assert D(images, labels).shape == (3,)
        assert D.features(images, labels).shape == (3, 4 * size // 8, 4, 4)
    D = ACGANDiscriminator(5, ndf=4, image_size=size)
    logits, classes = D.both(images)
    assert logits.shape == (3,) and classes.shape == (3, 5)
    np.testing.assert_array_equal(D(images, labels).numpy(), logits.numpy())
    np.testing.assert_array_equal(D.classify(images).numpy(), classes.numpy())


@pytest.mark.parametrize("projection_d", [False, True])
def test_the_label_changes_both_networks(projection_d):
    minigan.manual_seed(0)
    G = ConditionalDCGANGenerator(3, nz=4, ngf=4, image_size=8).eval()
    D = ConditionalDCGANDiscriminator(3, ndf=4, image_size=8, projection=projection_d).eval()
    if projection_d:  # its embedding starts small: make the class term visible
        D.embed.weight.data[...] = np.random.default_rng(0).normal(size=D.embed.weight.shape)
    z = minigan.randn(1, 4)
    a, b = G(z, minigan.tensor([0])), G(z, minigan.tensor([2]))
    assert np.abs(a.numpy() - b.numpy()).max() > 1e-3
    assert abs(D(a, minigan.tensor([0])).item() - D(a, minigan.tensor([1])).item()) > 1e-4


# ------------------------------------------------------------------------------ training
def batches(device, n_classes, size=8, n=8, seed=0):
    rng = np.random.default_rng(seed)
    while True:
        x = rng.uniform(-1, 1, (n, 3, size, size)).astype(np.float32)
        yield x, rng.integers(0, n_classes, n)


def build(model, device, projection_d=False, objective="ns"):
    minigan.manual_seed(0)
    G = ConditionalDCGANGenerator(3, nz=4, ngf=4, image_size=8).to(device)
    if model == "acgan":
        D = ACGANDiscriminator(3, ndf=4, image_size=8).to(device)
    else:
        D = ConditionalDCGANDiscriminator(3, ndf=4, image_size=8, projection=projection_d)
        D.to(device)
    opts = (optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999)),
            optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999)))
    if model == "acgan":
        return ACGANTrainer(G, D, *opts, num_classes=3, objective=objective, num_samples=6)
    return GANTrainer(G, D, *opts, num_classes=3, objective=objective, num_samples=6)


@pytest.mark.parametrize("model, projection_d", [("cgan", False), ("cgan", True),
                                                  ("acgan", False)])
def test_two_training_steps(device, model, projection_d):
    trainer = build(model, device, projection_d)
    before = {k: minigan.to_numpy(v.data).copy() for k, v in trainer.G.state_dict().items()}
    history = trainer.fit(batches(device, 3), 2)
    assert len(history) == 2 and all(np.isfinite(row["loss_D"]) for row in history)
    if model == "acgan":
        assert {"class_loss_D", "class_acc_real", "class_acc_fake"} <= set(history[0])
        assert 0 <= history[0]["class_acc_real"] <= 1
    after = trainer.G.state_dict()
    assert any(not np.array_equal(minigan.to_numpy(after[k].data), before[k])
               for k in before)
    sample = trainer.sample()
    assert sample.shape == (6, 3, 8, 8) and sample.device == device


def test_acgan_losses_add_the_class_cross_entropy():
    trainer = build("acgan", "cpu")
    trainer.class_weight = 0.5
    x = minigan.tensor(np.random.default_rng(0).uniform(-1, 1, (6, 3, 8, 8)), dtype="float32")
    fake = minigan.tensor(np.random.default_rng(1).uniform(-1, 1, (6, 3, 8, 8)), dtype="float32")
    y = minigan.tensor([0, 1, 2, 2, 1, 0])
    with minigan.no_grad():  # D as it is before the step (batch norm in training mode)
        real_out, real_classes = trainer.D.both(x)
        fake_out, fake_classes = trainer.D.both(fake)
    ce = lambda logits: minigan.cross_entropy(logits, y).item()  # noqa: E731
    adversarial = trainer.objective.d_loss(real_out, fake_out).item()
    log = trainer.d_step(x, fake, y)
    assert log["loss_D"] == pytest.approx(adversarial + 0.5 * (ce(real_classes) + ce(fake_classes)),
                                          rel=1e-5)
    with minigan.no_grad():
        fake_out, fake_classes = trainer.D.both(fake)
        expected = trainer.objective.g_loss(fake_out, None).item() + 0.5 * ce(fake_classes)
        assert trainer.generator_loss(fake, x, y).item() == pytest.approx(expected, rel=1e-5)


@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_acgan_losses_gradients(device, data):
    # The new block is the loss: D's two heads on one body, the adversarial term plus w times
    # the class cross-entropy. First and second derivatives in float64, through D, to the
    # images (the second order is what a gradient penalty on them would need).
    trainer = build("acgan", device)
    trainer.D.to(device, dtype="float64")
    trainer.class_weight = 0.7
    real = make_tensor(data.draw(arrays((3, 3, 8, 8), low=-1, high=1)), device)
    fake = make_tensor(data.draw(arrays((3, 3, 8, 8), low=-1, high=1)), device)
    y = labels_on(device, [2, 0, 2])

    def d_loss(real, fake):
        return trainer.d_loss(real, fake, y)[0]  # the loss d_step minimises

    def g_loss(fake):
        return trainer.generator_loss(fake, real.detach(), y)
    for check in (gradcheck, gradgradcheck):
        check(d_loss, [real, fake])
        check(g_loss, [fake])


def test_acgan_draws_images_of_the_asked_class():
    # Classes that differ in brightness: G learns to draw the class it is given, so that D
    # classifies its images as that class, within a few dozen steps.
    trainer = build("acgan", "cpu")

    def bright(rng=np.random.default_rng(1)):
        while True:
            y = rng.integers(0, 3, 16)
            x = (y[:, None, None, None] - 1) * 0.7 + rng.normal(0, 0.1, (16, 3, 8, 8))
            yield x.astype(np.float32), y
    history = trainer.fit(bright(), 40)
    assert np.mean([row["class_acc_fake"] for row in history[:3]]) < 0.6
    assert np.mean([row["class_acc_fake"] for row in history[-10:]]) > 0.8


def test_acgan_refuses_what_it_does_not_support():
    G = ConditionalDCGANGenerator(3, nz=4, ngf=4, image_size=8)
    opts = (optim.Adam(G.parameters()), optim.Adam(G.parameters()))
    with pytest.raises(ValueError, match="gp_weight"):
        ACGANTrainer(G, ACGANDiscriminator(3, 4, 8), *opts, num_classes=3, gp_weight=10.0)
    with pytest.raises(ValueError, match="gradient penalty"):
        ACGANTrainer(G, ACGANDiscriminator(3, 4, 8), *opts, num_classes=3, objective="wgan-gp")
    with pytest.raises(TypeError, match="class head"):
        ACGANTrainer(G, ConditionalDCGANDiscriminator(3, 4, 8), *opts, num_classes=3)


# ------------------------------------------------------------------------------- example
TINY = ["--image-size", "16", "--num-images", "32", "--batch-size", "8", "--ngf", "4",
        "--ndf", "4", "--nz", "8", "--per-class", "1",
        "--checkpoint-every", "100", "--sample-every", "100"]  # grids and plots at the end only


@pytest.fixture
def example(monkeypatch):
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parent.parent))
    from examples import cats_conditional
    # The loss plots and GIF (tests/test_cats_example.py checks them) cost most of a tiny run.
    monkeypatch.setattr("minigan.gan.loop.write_reports", lambda *args, **kwargs: None)
    return cats_conditional


def test_classes_combine_and_split(example):
    labels = {"fur": np.array([0, 8, 3]), "eyes": np.array([5, 0, 2])}
    classes = example.combined_class(labels, "fur+eyes")
    assert list(classes) == [5, 48, 20]
    assert {k: list(v) for k, v in example.split_class(classes, "fur+eyes").items()} == \
        {"fur": [0, 8, 3], "eyes": [5, 0, 2]}
    names = example.class_names("fur+eyes")
    assert len(names) == 54 and names[20] == "dark grey, blue"
    assert example.class_names("pose") == ["tilted left", "upright", "tilted right"]


def test_the_example_draws_a_row_per_class_and_measures_agreement(example, tmp_path, device):
    from PIL import Image
    from minigan.metrics import CatAttributeClassifier, save_cat_classifier
    minigan.manual_seed(0)
    save_cat_classifier(CatAttributeClassifier(widths=(4, 4, 4, 4)), tmp_path / "c.npz",
                        image_size=8)
    summary = example.main(TINY + ["--steps", "2", "--out", str(tmp_path / "run"), "--model",
                                   "acgan", "--classifier", str(tmp_path / "c.npz"),
                                   "--eval-per-class", "2", "--eval-real", "20",
                                   "--device", device])
    assert summary["status"] == "finished"
    assert Image.open(tmp_path / "run" / "classes.png").size == (2 + 18, 2 + 54 * 18)
    result = json.loads((tmp_path / "run" / "agreement.json").read_text())
    assert result == summary["agreement"] and len(result["classes"]) == 54
    assert result["fid"] > 0 and np.isfinite(result["kid"])
    assert result["fid_kid_samples"] == {"real": 20, "generated": 2 * 54}
    for side in ("generated", "real"):
        assert set(result["diversity"][side]) == {"fur", "pattern", "eyes", "pose"}
        assert 1 <= result["diversity"][side]["pose"]["inception_score"] <= 3
    for side in ("generated", "real"):
        assert set(result[side]) == {"all", "fur", "eyes"}
        assert 0 <= result[side]["all"] <= min(result[side]["fur"], result[side]["eyes"]) <= 1


def test_the_example_resumes_exactly(example, tmp_path):
    args = TINY + ["--projection", "--condition", "fur", "--device", "cpu",
                   "--classifier", str(tmp_path / "none")]
    straight = example.main(args + ["--steps", "4", "--out", str(tmp_path / "a")])
    example.main(args + ["--steps", "2", "--out", str(tmp_path / "b")])
    resumed = example.main(args + ["--steps", "4", "--out", str(tmp_path / "b"), "--resume"])
    assert straight["step"] == resumed["step"] == 4
    a, b = (minigan.load(tmp_path / d / "checkpoint.npz")["trainer"] for d in "ab")
    for net in ("generator", "discriminator"):
        for name in a[net]:
            np.testing.assert_array_equal(a[net][name], b[net][name], err_msg=f"{net} {name}")
    assert a["history"] == b["history"]


def test_the_example_refuses_a_projection_for_acgan(example, tmp_path):
    with pytest.raises(SystemExit, match="projection"):
        example.main(TINY + ["--model", "acgan", "--projection", "--device", "cpu",
                             "--out", str(tmp_path)])
