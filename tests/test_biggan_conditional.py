"""Class-conditional BigGAN-lite on the procedural cats' labels (docs/12_architectures.md):
``examples/cats_gan.py --arch biggan --conditional ATTRIBUTE``. G's shared class embedding and
D's projection really read the labels, the progress grid has one row per class, a resumed run
equals an uninterrupted one bit for bit, examples/latent.py draws labels for such a
checkpoint, and --conditional is refused where there are no labels. Tiny sizes keep it fast."""
import json
import pathlib
import sys

import numpy as np
import pytest
from PIL import Image

import minigan
from minigan.data import ImageBatches, procedural_cats

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # examples/ is a folder of scripts, not an installed package
from examples import cats_conditional, cats_gan, latent  # noqa: E402
from examples.archs import biggan  # noqa: E402
from test_cats_example import assert_same_run  # noqa: E402

SIZE, FUR = 16, len(cats_conditional.class_names("fur"))  # 9 fur colours
TINY = ["--device", "cpu", "--image-size", str(SIZE), "--ngf", "4", "--ndf", "8", "--nz", "12",
        "--batch-size", "4", "--sample-every", "2", "--checkpoint-every", "2"]
# 12 cats, 3 batches an epoch: a run resumed at step 2 resumes mid-epoch.
RUN = ["--arch", "biggan", "--conditional", "fur", "--num-images", "12"]


def run(out, *flags):
    return cats_gan.main(TINY + ["--out", str(out), *flags])


def cells(n):
    return n * (SIZE + 2) + 2  # make_grid: 2 px of padding around every image


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """Four uninterrupted conditional steps (the loss plots skipped: not this file's business)."""
    import minigan.utils.plots
    out = tmp_path_factory.mktemp("straight")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(minigan.utils.plots, "plot_losses", lambda *args, **kwargs: None)
        summary = run(out, *RUN, "--steps", "4", "--fid-images", "3", "--truncation", "1.5")
    assert summary["status"] == "finished" and summary["step"] == 4
    return out


def conditional_trainer(device):
    config = {**biggan.DEFAULTS, "image_size": SIZE, "ngf": 4, "ndf": 8, "nz": 12, "seed": 0,
              "device": device, "conditional": "fur", "num_classes": FUR}
    return biggan.build_trainer(config)


def test_a_conditional_trainer_feeds_the_labels_to_g_and_d(device):
    trainer = conditional_trainer(device)
    images, attributes = procedural_cats(8, image_size=SIZE, seed=0, attributes=True)
    classes = cats_conditional.combined_class(attributes, "fur")
    shared = trainer.G.shared.weight
    before = shared.numpy().copy()
    batches = iter(ImageBatches(images, 4, device=device, labels=classes))
    for _ in range(2):  # one epoch: every cat, so exactly the classes in `classes`, was seen
        trainer.train_step(lambda: next(batches))
    # G's shared embedding learned the rows of the classes it was given, and only those: the
    # labels of the batches reached G (8 cats cannot show all 9 fur colours).
    seen = np.zeros(FUR, dtype=bool)
    seen[np.unique(classes)] = True
    moved = (shared.numpy() != before).any(axis=1)
    assert not seen.all() and np.array_equal(moved, seen)
    # Same z, other classes: other images, and D's verdict on the same images changes too.
    z = trainer.noise(4)
    a, b = (minigan.tensor(np.array(v), device=device) for v in ([0, 1, 2, 3], [4, 5, 6, 7]))
    trainer.G.eval()
    trainer.D.eval()
    with minigan.no_grad():
        fake_a, fake_b = trainer.G(z, a), trainer.G(z, b)
        d_a, d_b = trainer.D(fake_a, a).numpy(), trainer.D(fake_a, b).numpy()
    assert (np.abs(fake_a.numpy() - fake_b.numpy()).max(axis=(1, 2, 3)) > 1e-4).all()
    assert (np.abs(d_a - d_b) > 1e-6).all()
    # The progress grid: one row of PER_CLASS samples per class, on the device.
    assert trainer.fixed_labels.device == device
    assert np.array_equal(trainer.fixed_labels.numpy(),
                          np.repeat(np.arange(FUR), biggan.PER_CLASS))
    samples = trainer.sample()
    assert samples.shape == (FUR * biggan.PER_CLASS, 3, SIZE, SIZE) and samples.device == device


def test_a_conditional_run_writes_its_outputs_and_resumes_bit_for_bit(straight, tmp_path,
                                                                      monkeypatch):
    config = json.loads((straight / "config.json").read_text())
    assert config["conditional"] == "fur" and config["num_classes"] == FUR
    assert config["classes"] == cats_conditional.class_names("fur")
    for grid in [straight / "final.png", straight / "samples" / "step_000002.png"]:
        assert Image.open(grid).size == (cells(biggan.PER_CLASS), cells(FUR))  # a row a class
    assert sorted(p.name for p in (straight / "fid_samples").iterdir()) == \
        [f"{i:06d}.png" for i in range(3)]
    import minigan.utils.plots
    monkeypatch.setattr(minigan.utils.plots, "plot_losses", lambda *args, **kwargs: None)
    resumed = tmp_path / "resumed"
    assert run(resumed, *RUN, "--steps", "2")["step"] == 2
    assert run(resumed, "--arch", "biggan", "--resume", "--steps", "4")["step"] == 4  # saved: fur
    assert_same_run(straight, resumed)


def test_latent_tools_draw_labels_for_a_conditional_checkpoint(straight, tmp_path):
    checkpoint = str(straight / "checkpoint.npz")
    G, _ = latent.load_generator(checkpoint, ema=True)
    out = str(tmp_path / "truncation.png")
    result = latent.main(["truncation", "--checkpoint", checkpoint, "--ema", "--out", out,
                          "--threshold", "2,0.5"])
    # one row per class, each threshold a column
    assert np.array_equal(result["labels"], np.repeat(np.arange(FUR), 2))
    assert Image.open(out).size == (cells(2), cells(FUR))
    latents = np.stack([latent.truncated_normal(result["z"], t, 0) for t in (2, 0.5)], axis=1)
    latents = latents.reshape(-1, G.nz)
    expected = latent.decode(G, latents, result["labels"]).numpy()
    assert np.array_equal(result["images"], expected)
    assert not np.allclose(expected, latent.decode(G, latents, np.zeros(2 * FUR, int)).numpy())
    # --label: every sample of that class; numbered (and arithmetic) default to class 0
    result = latent.main(["truncation", "--checkpoint", checkpoint, "--out", out, "--rows", "3",
                          "--label", "5"])
    assert np.array_equal(result["labels"], np.full(3 * 4, 5))
    result = latent.main(["numbered", "--checkpoint", checkpoint, "--out", out, "--n", "4"])
    assert np.array_equal(result["labels"], np.zeros(4))
    with pytest.raises(SystemExit, match=f"^latent.py: error: --label {FUR}: the generator "
                                         f"has {FUR} classes"):
        latent.main(["interpolate", "--checkpoint", checkpoint, "--out", out,
                     "--label", str(FUR)])


def test_conditional_needs_biggan_labelled_cats_and_the_same_classes(straight, tmp_path,
                                                                     monkeypatch):
    with pytest.raises(SystemExit, match="^cats_gan.py: error: --conditional: only --arch "
                                         "biggan"):
        run(tmp_path, "--arch", "dcgan", "--conditional", "fur")
    with pytest.raises(SystemExit, match="^cats_gan.py: error: --conditional fur needs the "
                                         "procedural cats' labels"):
        run(tmp_path, "--arch", "biggan", "--conditional", "fur", "--data", str(tmp_path))
    with pytest.raises(SystemExit, match=r"^cats_gan.py: error: --resume continues the run .* "
                                         r"--conditional eyes \(checkpoint: fur\)"):
        run(straight, "--arch", "biggan", "--conditional", "eyes", "--resume")
    # a version of the cats with another number of fur colours cannot continue this run
    monkeypatch.setitem(cats_conditional.CAT_ATTRIBUTES, "fur", ["orange", "grey"])
    with pytest.raises(SystemExit, match=f"^cats_gan.py: error: --resume: the run in .* has "
                                         f"{FUR} classes of fur, this version 2"):
        cats_gan.resolve_config(cats_gan.parse_args(TINY + ["--out", str(straight), "--arch",
                                                            "biggan", "--resume"]))
