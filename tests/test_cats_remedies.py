"""The cat example trains with every remedy of the lecture table (`examples/cats_dcgan.py
--r1/--infogan/--ebgan/--began/--diffusion/--unrolled/--mode-seeking/--pack/--lr-d/--d-skip`),
resumes each bit for bit, refuses the combinations that cannot train, and `examples/sample.py`
draws from every such run. The image discriminator of EBGAN and BEGAN,
`ConvAutoencoderDiscriminator`, has the shapes it promises and exact gradients.

Runs are tiny (8x8 images, width 4, batch 4, 8 images) and skip the loss plots, which cost
more than the training here.
"""
import pathlib
import sys

import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

import minigan
import minigan.gan.loop
from minigan.backend import np
from minigan.gan import ConvAutoencoderDiscriminator
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import arrays, make_tensor
from test_cats_example import assert_same_run

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # examples/ is a folder of scripts, not an installed package
from examples import cats_dcgan, sample  # noqa: E402

TINY = ["--image-size", "8", "--ngf", "4", "--ndf", "4", "--nz", "8", "--num-images", "8",
        "--batch-size", "4", "--lr", "1e-3"]
REMEDIES = {  # one row of benchmarks/cats_fid.py each, at toy strength
    "lazy-r1": ["--loss", "logistic", "--r1", "0.1", "--r1-interval", "2"],
    "infogan": ["--infogan", "3"],
    "ebgan": ["--ebgan", "0.5"],
    "began": ["--began", "0.5"],
    "diffusion": ["--diffusion", "10"],
    "unrolled": ["--unrolled", "2", "--unrolled-lr", "0.01"],
    "mode-seeking": ["--mode-seeking", "1"],
    "pack": ["--pack", "2"],
    "ttur": ["--lr-d", "1e-3", "--lr-g", "5e-4"],
    "d-skip": ["--d-skip", "1.386"],  # about log 4, D's loss at the start: some steps skip
    "mmd": ["--loss", "mmd"],  # an objective, but its critic differs: nz outputs, 5 steps
}


@pytest.fixture(autouse=True)
def no_plots(monkeypatch):
    monkeypatch.setattr(minigan.gan.loop, "write_reports", lambda *args, **kwargs: None)


def train(out, device, *flags):
    return cats_dcgan.main(["--device", device, *TINY, "--out", str(out), *flags])


@pytest.mark.parametrize("name", list(REMEDIES))
def test_each_remedy_trains_and_resumes_bit_for_bit(device, tmp_path, name):
    flags = REMEDIES[name]
    straight = train(tmp_path / "straight", device, "--steps", "4", *flags)
    assert straight["status"] == "finished" and straight["step"] == 4
    assert train(tmp_path / "split", device, "--steps", "2", *flags)["step"] == 2
    resumed = train(tmp_path / "split", device, "--resume", "--steps", "4")
    assert resumed["status"] == "finished" and resumed["step"] == 4
    assert_same_run(tmp_path / "straight", tmp_path / "split")
    # What the remedy keeps besides the networks is in the checkpoint, and equal too.
    state = minigan.load(tmp_path / "split" / "checkpoint.npz")["trainer"]
    kept = {"infogan": "q_head", "began": "began", "diffusion": "diffusion"}.get(name)
    if kept:
        other = minigan.load(tmp_path / "straight" / "checkpoint.npz")["trainer"]
        assert kept in state
        if kept != "q_head":  # plain numbers (the Q head's arrays were compared above)
            assert state[kept] == other[kept]
    history = state["history"]
    logged = {"lazy-r1": "r1_penalty", "began": "M_global", "diffusion": "T",
              "d-skip": "d_skipped"}.get(name)
    if logged:
        assert any(logged in row for row in history), logged
    if name == "d-skip":
        assert {row["d_skipped"] for row in history} == {0.0, 1.0}
    config = minigan.load(tmp_path / "split" / "checkpoint.npz")["config"]
    flag = next((f for f in flags if f.startswith("--") and f != "--loss"), None)
    if flag:
        assert config[flag[2:].replace("-", "_")] is not None  # the remedy is in the config
    else:
        assert config["loss"] == flags[1]


def test_began_and_diffusion_move_their_controllers(tmp_path):
    train(tmp_path / "began", "cpu", "--steps", "2", "--began", "0.5")
    k = minigan.load(tmp_path / "began" / "checkpoint.npz")["trainer"]["began"]["k"]
    assert 0 < k <= 1  # k_0 = 0 moves up when the fakes' energy is below gamma L(x)
    train(tmp_path / "diffusion", "cpu", "--steps", "2", "--diffusion", "10")
    state = minigan.load(tmp_path / "diffusion" / "checkpoint.npz")["trainer"]["diffusion"]
    assert state["updates"] == 2


def test_resume_refuses_a_changed_remedy(tmp_path):
    train(tmp_path, "cpu", "--steps", "1", "--began", "0.5")
    with pytest.raises(SystemExit, match="--began 0.7 \\(checkpoint: 0.5\\)"):
        train(tmp_path, "cpu", "--resume", "--began", "0.7")
    with pytest.raises(SystemExit, match="--r1 0.1 \\(checkpoint: None\\)"):
        train(tmp_path, "cpu", "--resume", "--r1", "0.1")


@pytest.mark.parametrize("flags, message", [
    (["--unrolled", "2", "--began", "0.5"], "choose at most one of --unrolled, --began"),
    (["--infogan", "4", "--ebgan", "1"], "choose at most one of --infogan, --ebgan"),
    (["--pack", "3"], "--pack 3 needs a batch of whole packs: --batch-size 4 is not a "
                      "multiple of 3"),
    (["--pack", "2", "--began", "0.5"], "--pack works with the DCGAN discriminator's logits"),
    (["--pack", "2", "--infogan", "4"], "--pack works with the DCGAN discriminator's logits"),
    (["--ebgan", "1", "--loss", "hinge"], "--ebgan brings its own losses: drop --loss"),
    (["--unrolled-lr", "0.1"], "--unrolled-lr needs --unrolled"),
])
def test_combinations_that_cannot_train_stop_before_anything_is_written(tmp_path, flags,
                                                                        message):
    with pytest.raises(SystemExit) as stop:
        train(tmp_path / "run", "cpu", *flags)
    assert stop.value.code.startswith("cats_dcgan.py: error: ") and message in stop.value.code
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flag, value, message", [
    ("--began", "0", "must be in (0, 1], e.g. 0.5, got 0"),
    ("--diffusion", "3", "must be an integer >= 5 (Diffusion-GAN's T_min), got 3"),
    ("--pack", "0", "must be a positive integer"),
    ("--r1", "-1", "must be a non-negative number"),
    ("--lr-d", "0", "must be a positive number"),
])
def test_impossible_remedy_values_are_refused_by_the_parser(tmp_path, capsys, flag, value,
                                                            message):
    with pytest.raises(SystemExit) as stop:
        train(tmp_path / "run", "cpu", flag, value)
    assert stop.value.code == 2
    assert f"error: argument {flag}: {message}" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--infogan", "3"], ["--began", "0.5"], ["--pack", "2"]])
def test_sample_script_draws_from_a_remedy_run(tmp_path, flags):
    """InfoGAN's G takes z and the codes (sample.py draws random ones); the others' G is the
    plain DCGAN generator."""
    train(tmp_path, "cpu", "--steps", "1", *flags)
    path = sample.main(["--checkpoint", str(tmp_path / "checkpoint.npz"), "--n", "4",
                        "--out", str(tmp_path / "four.png"), "--png-dir", str(tmp_path / "fid")])
    assert Image.open(path).size == (2 * 10 + 2, 2 * 10 + 2)  # 8x8 images, 2-pixel padding
    assert len(list((tmp_path / "fid").glob("*.png"))) == 4


@pytest.mark.parametrize("loss, features, n_critic", [("mmd", 8, 5), ("wgan", None, 5),
                                                     ("ns", None, 1), ("hinge", None, 1)])
def test_mmd_critic_gives_nz_features_and_takes_five_steps(tmp_path, loss, features, n_critic):
    """MMD-GAN's critic is f(x) with k = nz outputs (Li et al. 2017; here --nz 8), which the
    kernel compares, updated 5 times per G step as in the paper; the other objectives' D
    gives one logit per image."""
    config = cats_dcgan.resolve_config(cats_dcgan.parse_args(
        [*TINY, "--loss", loss, "--out", str(tmp_path)]))
    assert config["n_critic"] == n_critic
    out = cats_dcgan.make_discriminator(config)(minigan.randn(3, 3, 8, 8))
    assert out.shape == ((3, features) if features else (3,))


def test_infogan_interpolation_keeps_one_code_per_row(tmp_path):
    train(tmp_path, "cpu", "--steps", "1", "--infogan", "3")
    assert Image.open(tmp_path / "interpolation.png").size == (10 * 10 + 2, 6 * 10 + 2)


# --------------------------------------------------------- the convolutional autoencoder D
@pytest.mark.parametrize("size", [8, 16, 32])
def test_conv_autoencoder_shapes(size):
    D = ConvAutoencoderDiscriminator(size, channels=3, width=4, code_features=6)
    x = minigan.randn(2, 3, size, size)
    assert D.features(x).shape == (2, 6)
    assert D.reconstruct(x).shape == (2, 3, size, size)
    assert D(x).shape == (2,)
    with pytest.raises(ValueError, match="power of two >= 8, got 12"):
        ConvAutoencoderDiscriminator(12)
    with pytest.raises(ValueError, match="p must be 1 or 2, got 3"):
        ConvAutoencoderDiscriminator(8, p=3)


@pytest.mark.parametrize("p", [1, 2])
def test_conv_autoencoder_energy_is_the_reconstruction_error(device, p):
    minigan.manual_seed(0)
    D = ConvAutoencoderDiscriminator(8, channels=2, width=2, code_features=3, p=p).double()
    D.to(device)
    x = make_tensor(np.random.default_rng(p).uniform(-1, 1, (3, 2, 8, 8)), device)
    error = x.numpy() - D.reconstruct(x).numpy()
    expected = (np.abs(error) if p == 1 else error ** 2).reshape(3, -1).mean(1)
    np.testing.assert_allclose(D(x).numpy(), expected, rtol=1e-12)
    assert D(x).device == x.device


@settings(max_examples=2)
@given(data=st.data(), p=st.sampled_from([1, 2]))
def test_conv_autoencoder_energy_gradients(device, data, p):
    """First and second derivatives of the energy in x (what G's update goes through) and in
    D's first weight (what D's update and a gradient penalty go through)."""
    minigan.manual_seed(1)
    D = ConvAutoencoderDiscriminator(8, channels=1, width=2, code_features=2, p=p).double()
    D.to(device)
    x = make_tensor(data.draw(arrays((2, 1, 8, 8), -1.0, 1.0)), device)
    gradcheck(D, [x])
    gradgradcheck(D, [x])
    weight = D.encoder[0].weight

    def energy_of_weight(w):
        with minigan.gan.parameters_replaced(D, {"encoder.0.weight": w}):
            return D(x.detach())
    w = make_tensor(weight.numpy(), device)
    gradcheck(energy_of_weight, [w])
    gradgradcheck(energy_of_weight, [w])


def test_conv_autoencoder_trains_ebgan_on_images_in_the_library():
    """Without the example: EBGANTrainer with the conv D and the DCGAN G lowers D's loss."""
    minigan.manual_seed(0)
    from minigan import optim
    from minigan.gan import DCGANGenerator
    from minigan.gan.remedies import make_trainer
    G, D = DCGANGenerator(nz=4, ngf=4, image_size=8), ConvAutoencoderDiscriminator(8, width=4)
    trainer = make_trainer(G, D, optim.Adam(G.parameters(), lr=1e-3),
                           optim.Adam(D.parameters(), lr=1e-2), ebgan=0.5, seed=0)
    real = np.random.default_rng(0).uniform(-1, 1, (8, 3, 8, 8))
    first = trainer.train_step(lambda: real)["loss_D"]
    for _ in range(15):
        last = trainer.train_step(lambda: real)["loss_D"]
    assert last < first
