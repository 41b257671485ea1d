"""The latent tools (examples/latent.py) on tiny checkpoints trained for 2 steps, one from
examples/cats_dcgan.py and one StyleGAN run of examples/archs/stylegan.py: every grid is
written with the right size, and each tool feeds G the latents it promises (checked
numerically: the arithmetic's a - b + c of the chosen samples, truncation's bounds, mixing's
layer ranges)."""
import pathlib
import sys

import pytest
from PIL import Image

import minigan
from minigan.backend import np
from minigan.data import ImageBatches, procedural_cats
from minigan.gan.loop import run_training

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from examples import cats_dcgan, latent  # noqa: E402
from archs import stylegan as stylegan_spec  # noqa: E402  (latent.py put examples/ on the path)

SIZE = 16


@pytest.fixture(scope="module")
def dcgan_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("dcgan")
    cats_dcgan.main(["--device", "cpu", "--image-size", str(SIZE), "--ngf", "4", "--ndf", "4",
                     "--nz", "8", "--num-images", "8", "--batch-size", "4", "--steps", "2",
                     "--ema", "0.9", "--out", str(out)])
    return str(out / "checkpoint.npz")


@pytest.fixture(scope="module")
def stylegan_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("stylegan")
    # no nz: the arch's default (128) fills it in, and the tools must take it from G
    config = dict(arch="stylegan", image_size=SIZE, batch_size=4, steps=2, device="cpu",
                  seed=0, ngf=2, ndf=2, max_channels=4, w_dim=4, mapping_layers=2)
    trainer = stylegan_spec.build_trainer(config)
    batches = ImageBatches(procedural_cats(8, image_size=SIZE, seed=0), 4, seed=0)
    assert run_training(trainer, batches, 2, str(out), config)["status"] == "finished"
    return str(out / "checkpoint.npz")


def run(tmp_path, command, checkpoint, *flags):
    out = str(tmp_path / f"{command}.png")
    return latent.main([command, "--checkpoint", checkpoint, "--out", out, *flags]), out


def grid_size(path):
    return Image.open(path).size  # (width, height)


def cells(n):
    return n * (SIZE + 2) + 2  # make_grid: 2 px of padding around every image


def images_of(G, z, **options):
    return latent.decode(G, z, **options).numpy()


@pytest.mark.parametrize("mode", ["linear", "slerp"])
def test_interpolation_rows_walk_between_two_points(tmp_path, dcgan_checkpoint, mode):
    result, out = run(tmp_path, "interpolate", dcgan_checkpoint, "--mode", mode,
                      "--rows", "2", "--columns", "5")
    assert grid_size(out) == (cells(5), cells(2))
    z = result["z"].reshape(2, 5, 8)
    ends = np.random.default_rng(0).standard_normal((2, 2, 8))
    assert np.allclose(z[:, 0], ends[:, 0]) and np.allclose(z[:, -1], ends[:, 1])
    middle = (ends[:, 0] + ends[:, 1]) / 2
    if mode == "linear":
        assert np.allclose(z[:, 2], middle)
    else:  # the arc keeps the norm up where the straight line dips inside the sphere
        assert (np.linalg.norm(z[:, 2], axis=1) > np.linalg.norm(middle, axis=1)).all()


def test_vector_arithmetic_uses_the_chosen_samples(tmp_path, dcgan_checkpoint):
    numbered, out = run(tmp_path, "numbered", dcgan_checkpoint, "--n", "16", "--nrow", "4",
                        "--seed", "3")
    zoom = 64 // SIZE
    assert grid_size(out) == (cells(4) * zoom, cells(4) * zoom)
    a, b, c = [1, 4, 9], [0, 2, 15], [3, 7, 8]
    result, out = run(tmp_path, "arithmetic", dcgan_checkpoint, "--n", "16", "--seed", "3",
                      "--a", "1,4,9", "--b", "0,2,15", "--c", "3,7,8", "--noise", "0.25")
    assert grid_size(out) == (cells(4), cells(4))
    z = numbered["z"]
    assert np.array_equal(result["z"], z)  # the numbered grid's samples
    expected = z[a].mean(axis=0) - z[b].mean(axis=0) + z[c].mean(axis=0)
    assert np.allclose(result["result"], expected, rtol=1e-12, atol=1e-12)
    latents = result["latents"]
    assert np.array_equal(latents[[0, 1, 2]], z[a]) and np.allclose(latents[3], z[a].mean(axis=0))
    assert np.array_equal(latents[12], result["result"])
    noise = latents[13:] - result["result"]
    assert (np.abs(noise) <= 0.25).all() and np.abs(noise).max() > 0.05
    G, _ = latent.load_generator(dcgan_checkpoint)
    assert np.allclose(result["images"].numpy()[12], images_of(G, expected[None])[0], atol=1e-5)
    with pytest.raises(SystemExit, match="not on the numbered grid"):
        run(tmp_path, "arithmetic", dcgan_checkpoint, "--n", "16", "--a", "1,4,16",
            "--b", "0,2,15", "--c", "3,7,8")


def test_truncated_normal_for_dcgan(tmp_path, dcgan_checkpoint):
    result, out = run(tmp_path, "truncation", dcgan_checkpoint, "--rows", "3",
                      "--threshold", "3,1,0.5", "--ema")
    assert grid_size(out) == (cells(3), cells(3))
    z = result["z"]
    for t in (3.0, 1.0, 0.5):
        cut = latent.truncated_normal(z, t, 0)
        assert (np.abs(cut) <= t).all()
        inside = np.abs(z) <= t
        assert np.array_equal(cut[inside], z[inside])  # only the outliers are redrawn


def test_stylegan_truncation_columns_are_psi(tmp_path, stylegan_checkpoint):
    result, out = run(tmp_path, "truncation", stylegan_checkpoint, "--rows", "3",
                      "--psi", "1,0.5,0")
    assert grid_size(out) == (cells(3), cells(3))
    images = result["images"].reshape(3, 3, 3, SIZE, SIZE)
    G, _ = latent.load_generator(stylegan_checkpoint)
    assert np.allclose(images[:, 0], images_of(G, result["z"]), atol=1e-6)  # psi = 1: plain G
    assert np.allclose(images[:, 2], images[:1, 2], atol=1e-6)  # psi = 0: all the average w
    assert not np.allclose(images[:, 1], images[:1, 1], atol=1e-3)


def test_stylegan_mixing_takes_each_range_from_b(tmp_path, stylegan_checkpoint):
    result, out = run(tmp_path, "mixing", stylegan_checkpoint, "--rows", "2", "--columns", "3")
    G, _ = latent.load_generator(stylegan_checkpoint)
    assert G.layer_resolutions == [4, 8, 8, 16, 16, 16]
    assert {name: r["layers"] for name, r in result.items()} == {"coarse": (0, 3), "fine": (3, 6)}
    rng = np.random.default_rng(0)
    z_a, z_b = rng.standard_normal((2, G.nz)), rng.standard_normal((3, G.nz))
    w_a, w_b = (G.mapping(minigan.tensor(z, dtype="float32")).numpy() for z in (z_a, z_b))
    for name, r in result.items():
        assert grid_size(r["path"]) == (cells(4), cells(3))
        first, end = r["layers"]
        ws = np.repeat(w_a[1][None], G.num_ws, axis=0)  # A_1 with B_2's styles in the range
        ws[first:end] = w_b[2]
        expected = G.synthesis(minigan.tensor(ws[None], dtype="float32")).numpy()[0]
        assert np.allclose(r["images"][1, 2], expected, atol=1e-6)
        assert not np.allclose(r["images"][1, 2], images_of(G, z_a[1:2])[0], atol=1e-4)


def test_mixing_needs_stylegan_and_unknown_archs_are_named(tmp_path, dcgan_checkpoint):
    with pytest.raises(SystemExit, match="mixing needs a StyleGAN checkpoint"):
        run(tmp_path, "mixing", dcgan_checkpoint)
    checkpoint = minigan.load(dcgan_checkpoint)
    checkpoint["config"]["arch"] = "hypernet"
    path = str(tmp_path / "other.npz")
    minigan.save(checkpoint, path)
    with pytest.raises(SystemExit, match="--arch hypernet run, which this version cannot load"):
        run(tmp_path, "numbered", path)


def test_msg_gan_checkpoints_give_their_finest_scale_and_sample_py_points_to_latent(tmp_path):
    # MSG-GAN's G returns one image per scale: the tools show the last, the picture itself
    from archs import msg as msg_spec
    out = tmp_path / "msg"
    config = dict(arch="msg", image_size=SIZE, batch_size=4, steps=1, device="cpu", seed=0,
                  widths=(4, 4, 4))
    trainer = msg_spec.build_trainer(config)
    batches = ImageBatches(procedural_cats(8, image_size=SIZE, seed=0), 4, seed=0)
    assert run_training(trainer, batches, 1, str(out), config)["status"] == "finished"
    checkpoint = str(out / "checkpoint.npz")
    result, path = run(tmp_path, "numbered", checkpoint, "--n", "4", "--nrow", "2")
    width, height = grid_size(path)
    assert width == height > 2 * SIZE  # two rows of two numbered cells (a pyramid broke it)
    G, _ = latent.load_generator(checkpoint)
    z = np.random.default_rng(0).standard_normal((2, G.nz))
    with minigan.no_grad():
        finest = G(minigan.tensor(z, dtype="float32"))[-1].numpy()
    np.testing.assert_array_equal(images_of(G, z), finest)
    from examples import sample
    with pytest.raises(SystemExit, match="--arch msg run; sample it with examples/latent.py"):
        sample.main(["--checkpoint", checkpoint, "--out", str(tmp_path / "s.png")])
