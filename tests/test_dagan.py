"""DAGAN (minigan/gan/dagan.py, minigan/gan/models/dagan.py, examples/cats_dagan.py): a
generator of new images of a real image's class, a discriminator of pairs, and the paper's
test of it as data augmentation."""
import json
import pathlib
import sys

import numpy as np
import pytest

import minigan
from minigan import optim
from minigan.data import ImageBatches, procedural_cats
from minigan.gan import DAGANDiscriminator, DAGANGenerator, DAGANTrainer
from minigan.gan.objectives import minimax_d_loss, nonsaturating_g_loss
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import make_tensor

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # examples/ is a folder of scripts, not an installed package
from examples import cats_dagan  # noqa: E402


@pytest.mark.parametrize("size,skips", [(8, True), (16, True), (16, False)])
def test_dagan_shapes(size, skips):
    minigan.manual_seed(0)
    G = DAGANGenerator(nz=5, ngf=4, image_size=size, nz_channels=2, skips=skips)
    D = DAGANDiscriminator(ndf=4, image_size=size)
    x, z = minigan.randn(3, 3, size, size), minigan.randn(3, 5)
    fake = G(z, x)
    assert fake.shape == (3, 3, size, size)
    assert float(fake.data.max()) <= 1 and float(fake.data.min()) >= -1  # tanh
    assert D(fake, x).shape == (3,)


def test_generator_uses_both_the_image_and_the_noise():
    minigan.manual_seed(0)
    G = DAGANGenerator(nz=5, ngf=4, image_size=8).eval()
    x, z = minigan.randn(2, 3, 8, 8), minigan.randn(2, 5)
    out = G(z, x).data
    assert not np.allclose(out, G(minigan.randn(2, 5), x).data)
    assert not np.allclose(out, G(z, minigan.randn(2, 3, 8, 8)).data)


def test_dagan_loss_gradients(device):
    """D's and G's DAGAN losses through a tiny G and pair-D (batch norm in training mode),
    first and second order, with respect to the source image x, the partner x' and z."""
    minigan.manual_seed(0)
    G = DAGANGenerator(nz=3, ngf=2, image_size=8, nz_channels=1).to(device=device,
                                                                     dtype="float64")
    D = DAGANDiscriminator(ndf=2, image_size=8).to(device=device, dtype="float64")
    rng = np.random.default_rng(1)
    x = make_tensor(rng.uniform(-1, 1, size=(2, 3, 8, 8)), device)
    other = make_tensor(rng.uniform(-1, 1, size=(2, 3, 8, 8)), device)
    z = make_tensor(rng.normal(size=(2, 3)), device)

    def loss(x, other, z):
        fake = G(z, x)
        return minimax_d_loss(D(other, x), D(fake, x)) + nonsaturating_g_loss(D(fake, x))

    gradcheck(loss, [x, other, z], max_elements=24)
    gradgradcheck(loss, [x, other, z], max_elements=12)


def _trainer(device, n=18, size=8, seed=0):
    images, labels = procedural_cats(n, image_size=size, seed=seed, attributes=True)
    labels = labels["fur"]
    minigan.manual_seed(0)
    G = DAGANGenerator(nz=4, ngf=4, image_size=size).to(device)
    D = DAGANDiscriminator(ndf=4, image_size=size).to(device)
    trainer = DAGANTrainer(G, D, optim.Adam(G.parameters(), lr=2e-4),
                           optim.Adam(D.parameters(), lr=2e-4), images, labels,
                           num_sources=4, num_variations=2)
    batches = ImageBatches(images, 4, shuffle=False, device=device, labels=np.arange(n))
    return trainer, batches, images, labels


def test_partners_are_other_images_of_the_same_class(device):
    trainer, _, _, labels = _trainer(device)
    indices = np.arange(len(labels))
    for _ in range(5):
        partners = trainer.partners(indices)
        assert np.array_equal(labels[partners], labels)
        alone = np.bincount(labels)[labels] == 1  # a class of one has no other image
        assert np.all((partners != indices) | alone)


def test_the_discriminator_sees_pairs(device):
    """The D loss is d_loss(D(x', x), D(G(z, x), x)): recomputed by hand for a partner of the
    same class and for one of another class, the path is the same and only the input differs."""
    trainer, batches, _, labels = _trainer(device)
    x, index = next(iter(batches))
    idx = minigan.to_numpy(index.data)
    same = trainer.partners(idx)
    other_class = np.array([np.flatnonzero(labels != labels[i])[0] for i in idx])
    losses = []
    for partners in (same, other_class):
        trainer.partners = lambda _, p=partners: p  # the pair the D step will see
        state = trainer.state_dict()
        rng = trainer.rng.get_state()
        z = trainer.noise(x.shape[0])
        trainer.rng.set_state(rng)
        fake = trainer.G(z, x)
        real_pair = trainer._rows(partners)
        expected = minimax_d_loss(trainer.D(real_pair, x), trainer.D(fake, x))
        log = trainer.train_step(lambda: (x, index))
        assert np.isclose(log["loss_D"], float(expected.data), rtol=1e-5)
        losses.append(log["loss_D"])
        trainer.load_state_dict(state)  # the same starting point for the second pair
    assert losses[0] != losses[1]  # D's input is the only difference


def test_dagan_trains_two_steps(device):
    trainer, batches, _, _ = _trainer(device)
    before = [minigan.to_numpy(p.data).copy() for net in (trainer.G, trainer.D)
              for p in net.parameters()]
    history = trainer.fit(batches, 2)
    assert trainer.step == 2 and len(history) == 2
    for log in history:
        assert {"loss_D", "loss_G", "D(x)", "D(G(z))"} <= log.keys()
        assert all(np.isfinite(v) for v in log.values())
    after = [minigan.to_numpy(p.data) for net in (trainer.G, trainer.D) for p in net.parameters()]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    grid = trainer.sample()  # a row of 4 sources above 2 rows of variations
    assert grid.shape == (12, 3, 8, 8) and grid.device == device
    assert np.array_equal(minigan.to_numpy(grid.data[:4]), minigan.to_numpy(trainer.sources.data))
    assert trainer.G.training
    two = trainer.sample(trainer.sources[:2])  # fewer sources: the same noise, first columns
    assert np.allclose(minigan.to_numpy(two.data[2:4]), minigan.to_numpy(grid.data[4:6]), atol=1e-6)
    more = trainer.augment(trainer.sources, per_image=3)
    assert more.shape == (12, 3, 8, 8) and more.device == device


TINY = ["--device", "cpu", "--image-size", "8", "--per-class", "2", "--ngf", "4", "--ndf", "4",
        "--nz", "4", "--batch-size", "4", "--checkpoint-every", "1", "--sample-every", "2",
        "--classifier-steps", "3", "--classifier-widths", "4", "4", "--test-images", "30",
        "--augment", "1"]


def test_cats_dagan_resumes_bit_for_bit_and_reports_both_accuracies(tmp_path):
    from test_image_to_image import assert_same_run
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    summary = cats_dagan.main(TINY + ["--steps", "4", "--out", str(straight)])
    assert summary["status"] == "finished" and summary["step"] == 4
    assert cats_dagan.main(TINY + ["--steps", "2", "--out", str(resumed)])["step"] == 2
    assert cats_dagan.main(["--resume", "--steps", "4", "--out", str(resumed)])["step"] == 4
    assert_same_run(straight, resumed)
    report = json.loads((straight / "protocol.json").read_text())
    for name in ("without_dagan", "with_dagan", "majority_class"):
        assert 0.0 <= report[name] <= 1.0
    assert report["real_images"] == 18 and report["generated_images"] == 18
    assert report == summary["protocol"] | {"settings": report["settings"]}


# -------------------------------------------------------- InfoGAN: does a code pick a class?
def test_code_agreement_by_hand():
    from minigan.metrics import code_agreement, normalized_mutual_information
    # a perfect code: each value one class (two values may share one: still consistent)
    assert code_agreement([0, 0, 1, 1, 2], [3, 3, 1, 1, 3]) == 1.0
    assert normalized_mutual_information([0, 0, 1, 1], [5, 5, 2, 2]) == pytest.approx(1.0)
    # code 0 -> classes 1, 1, 2 (majority 1: 2 of 3); code 1 -> 0, 2 (a tie: 1 of 2)
    assert code_agreement([0, 0, 0, 1, 1], [1, 1, 2, 0, 2]) == pytest.approx(3 / 5)
    # independent by construction: every code value sees each class equally often
    codes, classes = np.repeat(np.arange(4), 6), np.tile(np.arange(3), 8)
    assert code_agreement(codes, classes) == pytest.approx(1 / 3)
    assert normalized_mutual_information(codes, classes) == pytest.approx(0.0, abs=1e-12)
    # NMI by hand: code = class // 2 on 4 equally likely classes: I = log 2,
    # H(code) = log 2, H(class) = log 4 -> I / mean = log 2 / (1.5 log 2) = 2/3
    classes = np.arange(4).repeat(5)
    assert normalized_mutual_information(classes // 2, classes) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="length"):
        code_agreement([0, 1], [0])


def test_an_ignored_code_scores_near_chance():
    from minigan.metrics import code_agreement, normalized_mutual_information
    rng = np.random.default_rng(0)
    codes, classes = rng.integers(0, 5, 20000), rng.integers(0, 9, 20000)
    assert code_agreement(codes, classes) == pytest.approx(1 / 9, abs=0.02)
    assert normalized_mutual_information(codes, classes) < 0.01
    assert code_agreement(classes % 5, classes) > 0.3  # a code that follows the class


def test_infogan_agreement_command(tmp_path):
    """A one-step InfoGAN of cats_dcgan.py, judged by an (untrained) saved classifier: the
    command runs end to end and reports numbers in range."""
    from examples import cats_dcgan, cats_infogan_agreement
    from minigan.metrics import CatAttributeClassifier, save_cat_classifier
    run = tmp_path / "infogan"
    cats_dcgan.main(["--device", "cpu", "--image-size", "8", "--ngf", "4", "--ndf", "4",
                     "--nz", "8", "--num-images", "8", "--batch-size", "4", "--steps", "1",
                     "--infogan", "3", "--out", str(run)])
    minigan.manual_seed(0)
    save_cat_classifier(CatAttributeClassifier(widths=(2, 2, 2, 2)), tmp_path / "judge.npz")
    result = cats_infogan_agreement.main(["--checkpoint", str(run / "checkpoint.npz"),
                                          "--classifier", str(tmp_path / "judge.npz"),
                                          "--per-code", "5", "--json", str(tmp_path / "a.json")])
    assert set(result["per_code"]) == {0, 1, 2}
    assert result["chance"] <= result["agreement"] <= 1.0 and 0.0 <= result["nmi"] <= 1.0
    assert json.loads((tmp_path / "a.json").read_text())["agreement"] == result["agreement"]
    assert set(result["attributes"]) == {"fur", "pattern", "eyes", "pose"}
    assert 0.0 <= result["q_accuracy"] <= 1.0
    # the code reader is the run's own Q on its own D's features
    checkpoint = minigan.load(str(run / "checkpoint.npz"))
    config = {**checkpoint["config"], "device": "cpu"}
    trainer, _ = cats_dcgan.build(config, np.zeros((4, 8, 8, 3), np.uint8))
    trainer.load_state_dict(checkpoint["trainer"])
    trainer.D.eval(), trainer.Q.eval()
    images = minigan.randn(5, 3, 8, 8)
    reader = cats_infogan_agreement.code_reader(str(run / "checkpoint.npz"), config)
    np.testing.assert_array_equal(reader(images).numpy(),
                                  trainer.Q(trainer._features(images, None))[0].numpy())
    assert result["attributes"]["fur"]["agreement"] == result["agreement"]
    pose = cats_infogan_agreement.main(["--checkpoint", str(run / "checkpoint.npz"),
                                        "--classifier", str(tmp_path / "judge.npz"),
                                        "--per-code", "5", "--attribute", "pose"])
    assert pose["agreement"] == result["attributes"]["pose"]["agreement"]
    assert {row["majority"] for row in pose["per_code"].values()} <= {
        "tilted left", "upright", "tilted right"}
