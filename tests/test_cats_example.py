"""The cat example (`examples/cats_dcgan.py`) keeps its promises: every output file is written,
a stopped run resumes bit for bit, Ctrl-C and crashes never lose the last good checkpoint,
a diverged run stops with a message, `examples/sample.py` reads its checkpoints, any folder
of images can replace the built-in cats, and bad input ends with one line, never a traceback.

Runs here are tiny (16x16 images, width 4, a handful of steps): seconds each, on NumPy, where
a resumed run must equal an uninterrupted one exactly.
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest
from PIL import Image

import minigan
import minigan.gan.loop
from minigan.backend import np

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # examples/ is a folder of scripts, not an installed package
from examples import cats_dcgan, sample  # noqa: E402

TINY = ["--device", "cpu", "--image-size", "16", "--ngf", "4", "--ndf", "4", "--nz", "8",
        "--num-images", "16", "--batch-size", "8", "--lr", "1e-3"]


def train(out, *flags, callback=None):
    return cats_dcgan.main(TINY + ["--out", str(out), *flags], callback=callback)


def checkpoint_arrays(out):
    """Every array of a checkpoint, by name, and its JSON part (step, RNG states, history)."""
    path = os.path.join(out, "checkpoint.npz")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "__minigan__"}
    state = minigan.load(path)
    rest = {"step": state["trainer"]["step"], "rng": state["trainer"]["rng"],
            "history": state["trainer"]["history"], "batches": state["batches"],
            "minigan_rng": state["minigan_rng"], "device_rng": state["device_rng"]}
    return arrays, rest


def assert_same_run(out_a, out_b):
    arrays_a, rest_a = checkpoint_arrays(out_a)
    arrays_b, rest_b = checkpoint_arrays(out_b)
    assert arrays_a.keys() == arrays_b.keys()
    for name in arrays_a:  # exact equality: not a single bit may differ
        assert arrays_a[name].dtype == arrays_b[name].dtype, name
        assert np.array_equal(arrays_a[name], arrays_b[name]), f"{name} differs"
    assert rest_a == rest_b


# Six steps with EMA and flips, two batches per epoch: resuming at step 3 lands mid-epoch.
RUN = ["--steps", "6", "--ema", "0.9", "--flip", "--sample-every", "3", "--checkpoint-every", "3"]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """One uninterrupted run that the resumed runs must reproduce."""
    out = tmp_path_factory.mktemp("straight")
    summary = train(out, *RUN)
    assert summary["status"] == "finished" and summary["step"] == 6
    return out


def test_a_run_writes_every_output(straight):
    out = straight
    for name in ["config.json", "final.png", "progress.gif", "losses.png", "interpolation.png",
                 "metrics.csv", "checkpoint.npz", "samples/step_000003.png",
                 "samples/step_000006.png"]:
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["image_size"] == 16 and config["total_steps"] == 6 and config["ema"] == 0.9
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0].split(",")[:1] == ["step"] and len(rows) == 1 + 6
    for column in ["loss_D", "loss_G", "D(x)", "D(G(z))"]:
        assert column in rows[0]
    # 64 fixed-noise samples of 16x16 in 8 columns with 2-pixel padding: 8 * 18 + 2 pixels.
    assert Image.open(out / "final.png").size == (146, 146)
    with Image.open(out / "progress.gif") as gif:
        assert gif.n_frames == 2
    assert Image.open(out / "interpolation.png").size == (10 * 18 + 2, 6 * 18 + 2)


def test_the_run_stays_on_the_device(device, tmp_path):
    """On "strict" (CuPy's rules on the CPU) and, with ``pytest --device cuda``, on a GPU: the
    dataset preloaded on the device, training, sampling, checkpoint, resume and sample.py."""
    flags = ["--device", device, "--steps", "2", "--ema", "0.9", "--flip"]
    assert train(tmp_path, *flags)["status"] == "finished"
    assert train(tmp_path, "--resume", "--device", device, "--steps", "3")["step"] == 3
    path = sample.main(["--checkpoint", str(tmp_path / "checkpoint.npz"), "--ema", "--n", "4",
                        "--device", device, "--out", str(tmp_path / "four.png")])
    assert Image.open(path).size == (2 * 18 + 2, 2 * 18 + 2)


def test_resume_is_bit_identical_to_an_uninterrupted_run(straight, tmp_path):
    assert train(tmp_path, "--steps", "3", *RUN[2:])["step"] == 3
    summary = train(tmp_path, "--resume", "--steps", "6")
    assert summary["status"] == "finished" and summary["step"] == 6
    assert_same_run(straight, tmp_path)


def test_ctrl_c_saves_a_checkpoint_and_resume_continues_exactly(straight, tmp_path):
    def interrupt(trainer, log):
        if trainer.step == 2:
            raise KeyboardInterrupt

    summary = train(tmp_path, *RUN, callback=interrupt)
    assert summary["status"] == "interrupted" and summary["step"] == 2
    assert "--resume" in summary["message"]
    assert minigan.load(tmp_path / "checkpoint.npz")["trainer"]["step"] == 2
    assert train(tmp_path, "--resume")["step"] == 6
    assert_same_run(straight, tmp_path)


def test_a_real_ctrl_c_finishes_the_step_then_saves(tmp_path):
    def press_ctrl_c(trainer, log):
        if trainer.step == 1:
            os.kill(os.getpid(), signal.SIGINT)  # the handler only raises a flag

    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when started in the background
    summary = train(tmp_path, "--steps", "5", callback=press_ctrl_c)
    assert summary["status"] == "interrupted" and summary["step"] == 1
    assert minigan.load(tmp_path / "checkpoint.npz")["trainer"]["step"] == 1
    assert signal.getsignal(signal.SIGINT) is before  # the example's handler is removed


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    def poison(trainer, log):
        if trainer.step == 2:  # after the step-2 checkpoint: step 3 computes a NaN loss
            weight = next(trainer.D.parameters())
            weight.data[...] = np.nan

    summary = train(tmp_path, "--steps", "6", "--checkpoint-every", "2", callback=poison)
    assert summary["status"] == "diverged" and summary["step"] == 2
    assert "loss_D is nan at step 2" in summary["message"]
    assert "the last good checkpoint, " in summary["message"]
    assert "from step 2, is kept" in summary["message"]
    state = minigan.load(tmp_path / "checkpoint.npz")
    assert state["trainer"]["step"] == 2
    assert all(np.isfinite(v).all() for v in state["trainer"]["discriminator"].values())
    assert not (tmp_path / "final.png").exists()
    assert len((tmp_path / "metrics.csv").read_text().splitlines()) == 1 + 2  # kept for diagnosis


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_huge_learning_rate_diverges_with_a_clear_message(tmp_path):
    summary = train(tmp_path, "--steps", "30", "--lr", "1e30", "--loss", "lsgan")
    assert summary["status"] == "diverged"
    assert "training diverged" in summary["message"] and "learning rate" in summary["message"]


def test_non_finite_weights_are_never_checkpointed(straight, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(straight, out)
    before = (out / "checkpoint.npz").read_bytes()
    config = cats_dcgan.resolve_config(cats_dcgan.parse_args(TINY + ["--out", str(out)] + RUN))
    trainer, batches = cats_dcgan.build(config, cats_dcgan.load_images(config))
    next(trainer.G.parameters()).data[0] = np.inf
    with pytest.raises(minigan.gan.NonFiniteLossError, match="generator weight"):
        minigan.gan.loop.save_checkpoint(out / "checkpoint.npz", trainer, batches, config)
    assert (out / "checkpoint.npz").read_bytes() == before


def test_a_crash_while_writing_a_checkpoint_leaves_the_previous_one_intact(tmp_path, monkeypatch):
    train(tmp_path, "--steps", "2", "--checkpoint-every", "2")
    before = (tmp_path / "checkpoint.npz").read_bytes()
    real_savez = np.savez

    def crash_half_way(file, **arrays):
        real_savez(file, **arrays)
        file.truncate(file.tell() // 2)  # half a file on disk, then the machine "dies"
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", crash_half_way)
    with pytest.raises(OSError, match="No space"):
        train(tmp_path, "--resume", "--steps", "4")
    monkeypatch.undo()
    assert (tmp_path / "checkpoint.npz").read_bytes() == before
    assert minigan.load(tmp_path / "checkpoint.npz")["trainer"]["step"] == 2
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_resume_refuses_settings_that_change_the_model(straight, tmp_path):
    shutil.copytree(straight, tmp_path / "run")
    with pytest.raises(SystemExit, match="--ngf 8 \\(checkpoint: 4\\)"):
        train(tmp_path / "run", "--resume", "--ngf", "8")


def test_sample_script_draws_from_a_checkpoint(straight, tmp_path):
    path = sample.main(["--checkpoint", str(straight / "checkpoint.npz"), "--n", "5",
                        "--out", str(tmp_path / "five.png")])
    assert Image.open(path).size == (3 * 18 + 2, 2 * 18 + 2)  # 5 images in a 3-column grid
    ema = sample.main(["--checkpoint", str(straight / "checkpoint.npz"), "--ema",
                       "--out", str(tmp_path / "ema.png")])
    assert np.asarray(Image.open(ema)).std() > 0  # not a blank grid


def test_sample_script_writes_one_png_per_image_for_fid(straight, tmp_path):
    grid = sample.main(["--checkpoint", str(straight / "checkpoint.npz"), "--n", "5",
                        "--out", str(tmp_path / "five.png"), "--png-dir", str(tmp_path / "fid")])
    files = sorted(os.listdir(tmp_path / "fid"))
    assert files == [f"{i:06d}.png" for i in range(5)]
    tiles = np.asarray(Image.open(grid))  # 3 columns of 16x16 images, 2 pixels apart
    for i, name in enumerate(files):
        row, column = divmod(i, 3)
        tile = tiles[2 + 18 * row:18 + 18 * row, 2 + 18 * column:18 + 18 * column]
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "fid" / name)), tile)


def test_sample_ema_needs_a_run_trained_with_ema(tmp_path):
    train(tmp_path, "--steps", "1")
    with pytest.raises(SystemExit, match="without --ema"):
        sample.main(["--checkpoint", str(tmp_path / "checkpoint.npz"), "--ema",
                     "--out", str(tmp_path / "x.png")])


def test_any_folder_of_images_can_be_the_data(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):  # different sizes and colour modes, as a real folder has
        pixels = rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8)
        Image.fromarray(pixels).convert("L" if i % 3 == 0 else "RGB").save(folder / f"cat{i}.png")
    flags = ["--data", str(folder), "--batch-size", "4", "--steps", "2"]
    summary = train(tmp_path / "run", *flags)
    assert summary["status"] == "finished"
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["num_images_used"] == 10 and config["data"] == str(folder)
    assert list((tmp_path / "run" / "cache").glob("photos-16px-*.npz"))
    capsys.readouterr()
    train(tmp_path / "run", *flags)  # the second run reads the decoded images from the cache
    assert "from the cache" in capsys.readouterr().out


def test_defaults_depend_on_the_device():
    config = cats_dcgan.resolve_config(cats_dcgan.parse_args(["--device", "cpu"]))
    for key, value in cats_dcgan.CPU_DEFAULTS.items():
        assert config[key] == value
    assert config["out"] == "runs/cats" and config["loss"] == "ns" and config["n_critic"] == 1
    config = cats_dcgan.resolve_config(cats_dcgan.parse_args(["--device", "cpu", "--data", "d"]))
    assert config.get("num_images") is None  # the 4000 procedural cats do not cap a folder
    config = cats_dcgan.resolve_config(cats_dcgan.parse_args(["--device", "cpu", "--epochs", "3"]))
    assert config["epochs"] == 3 and "steps" not in config
    with pytest.raises(SystemExit, match="not both"):
        cats_dcgan.resolve_config(cats_dcgan.parse_args(["--steps", "3", "--epochs", "3"]))


def test_epochs_count_passes_over_the_data(tmp_path):
    summary = train(tmp_path, "--epochs", "2")  # 16 images in batches of 8: 2 steps an epoch
    assert summary["step"] == summary["total_steps"] == 4


# ----------------------------------------------------------------------------- bad input
# Impossible flags are refused by argparse as the command line is read (exit status 2,
# "argument --steps: ..."). Bad data, devices and checkpoints end with one line,
# "cats_dcgan.py: error: ..." (status 1). All of it happens before training starts.

@pytest.mark.parametrize("flag, value, message", [
    ("--steps", "-5", "must be a positive integer, got -5"),
    ("--epochs", "0", "must be a positive integer, got 0"),
    ("--batch-size", "0", "must be a positive integer"),
    ("--ngf", "-1", "must be a positive integer"),
    ("--image-size", "48", "must be a power of two from 8 up (8, 16, 32, 64, 128, ...), got 48"),
    ("--image-size", "4", "must be a power of two from 8 up"),
    ("--lr", "-0.001", "must be a positive number"),
    ("--lr", "nan", "must be a positive number"),
    ("--beta1", "1", "must be in [0, 1)"),
    ("--ema", "1.5", "must be in (0, 1)"),
    ("--seed", "-1", "must be a non-negative integer"),  # NumPy's generators refuse it
    ("--sample-every", "0", "must be a positive integer"),
    ("--steps", "five", "invalid int value: 'five'"),
])
def test_impossible_flags_are_refused_before_anything_is_written(tmp_path, capsys, flag, value,
                                                                 message):
    with pytest.raises(SystemExit) as stop:
        train(tmp_path / "run", flag, value)
    assert stop.value.code == 2
    assert f"error: argument {flag}: {message}" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def make_bad_folder(path, kind):
    if kind == "a file":
        path.write_text("not a folder")
        return
    path.mkdir()
    if kind == "only text":
        (path / "notes.txt").write_text("no pictures here")
    elif kind == "corrupt":
        (path / "cat.png").write_bytes(b"not a png")


@pytest.mark.parametrize("kind, message", [
    ("missing", "the folder '{data}' does not exist"),
    ("a file", "'{data}' is a file, not a folder of images"),
    ("empty", "no images in '{data}'"),
    ("only text", "no images in '{data}'"),
    ("corrupt", "none of the 1 image files in '{data}' could be decoded: cat.png "
                "(UnidentifiedImageError"),
])
def test_a_bad_data_folder_stops_with_one_line(tmp_path, kind, message):
    data = tmp_path / "photos"
    if kind != "missing":
        make_bad_folder(data, kind)
    with pytest.raises(SystemExit) as stop:
        train(tmp_path / "run", "--data", str(data))
    line = stop.value.code  # SystemExit("...") prints this to stderr and exits with status 1
    assert line.startswith("cats_dcgan.py: error: --data: load_image_folder: ")
    assert message.format(data=data) in line and "\n" not in line
    assert not (tmp_path / "run").exists()


def test_more_batch_than_images_stops_before_training(tmp_path):
    with pytest.raises(SystemExit, match="--batch-size 8 is more than the 4 procedural cats"):
        train(tmp_path, "--num-images", "4")
    assert not (tmp_path / "checkpoint.npz").exists()


def test_an_unknown_device_stops_with_one_line(tmp_path):
    with pytest.raises(SystemExit, match="^cats_dcgan.py: error: --device: unknown device 'tpu'"):
        train(tmp_path, "--device", "tpu")


def test_resume_from_a_damaged_checkpoint_stops_with_one_line(tmp_path):
    (tmp_path / "checkpoint.npz").write_bytes(b"half a file")
    with pytest.raises(SystemExit, match="^cats_dcgan.py: error: --resume: .*not a minigan "
                                         "checkpoint"):
        train(tmp_path, "--resume")


@pytest.mark.parametrize("flags, status, last_line", [
    (["--steps", "-5"], 2, "cats_dcgan.py: error: argument --steps: must be a positive integer, "
                           "got -5"),
    (["--data", "{corrupt}"], 1, "cats_dcgan.py: error: --data: load_image_folder: none of the 1 "
                                 "image files in '{corrupt}' could be decoded: cat.png"),
])
def test_the_command_line_shows_errors_without_a_traceback(tmp_path, flags, status, last_line):
    """As a user runs it: the status is not 0, and stderr ends with the error line (before it,
    at most the decoding progress bar)."""
    corrupt = tmp_path / "photos"
    make_bad_folder(corrupt, "corrupt")
    argv = [a.format(corrupt=corrupt) for a in TINY + ["--out", str(tmp_path / "run"), *flags]]
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "cats_dcgan.py"), *argv],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == status
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(last_line.format(corrupt=corrupt))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags, status, message", [
    (["--n", "0"], 2, "error: argument --n: must be a positive integer, got 0"),
    (["--nrow", "-2"], 2, "error: argument --nrow: must be a positive integer"),
    (["--out", "grid.txt"], 2, "error: argument --out: grid.txt does not end in an image format"),
    (["--device", "tpu"], 2, "error: argument --device: unknown device 'tpu'"),
])
def test_sample_refuses_impossible_flags(tmp_path, capsys, flags, status, message):
    with pytest.raises(SystemExit) as stop:
        sample.main(["--checkpoint", str(tmp_path / "checkpoint.npz"), *flags])
    assert stop.value.code == status
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("kind, message", [
    ("missing", "minigan.load: no checkpoint at"),
    ("a picture", "is not a minigan checkpoint (not an .npz file)"),
    ("another checkpoint", "is a minigan checkpoint, but not one written by "
                           "examples/cats_dcgan.py"),
])
def test_sample_reports_a_bad_checkpoint_in_one_line(tmp_path, kind, message):
    path = tmp_path / "checkpoint.npz"
    if kind == "a picture":
        Image.new("RGB", (4, 4)).save(path, format="PNG")
    elif kind == "another checkpoint":
        minigan.save({"weights": np.zeros(3)}, path)
    with pytest.raises(SystemExit) as stop:
        sample.main(["--checkpoint", str(path), "--out", str(tmp_path / "grid.png")])
    line = stop.value.code
    assert line.startswith("sample.py: error: --checkpoint: ") and message in line
    assert not (tmp_path / "grid.png").exists()
