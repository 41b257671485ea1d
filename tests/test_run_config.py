"""`resolve_run_config`: how every example turns its flags into a run's settings. Typed flags
win; --resume takes the rest from OUT/checkpoint.npz and refuses flags that would change that
run; a new run takes the device's defaults. Errors are one line, as argparse's."""
import argparse

import pytest

import minigan
from minigan.gan.loop import CHECKPOINT, resolve_run_config

COMMON = dict(lr=1e-3, seed=0, data=None, out="runs/x")
CPU = dict(ngf=8, num_images=100, steps=10)
GPU = dict(ngf=64, num_images=1000, steps=1000)


def flags(resume=False, **typed):
    """What argparse returns for these typed flags: every untyped one is None."""
    names = ["device", "out", "ngf", "lr", "seed", "data", "num_images", "steps", "epochs",
             "fid_images"]
    return argparse.Namespace(resume=resume, **{name: typed.get(name) for name in names})


def resolve(args, **options):
    return resolve_run_config(args, "prog.py", COMMON, CPU, GPU, **options)


@pytest.fixture
def run(tmp_path):
    """A folder whose checkpoint holds the settings of a finished run."""
    saved = {**COMMON, **CPU, "ngf": 16, "device": "cpu", "out": str(tmp_path)}
    minigan.save({"config": saved, "trainer": {}}, tmp_path / CHECKPOINT)
    return tmp_path


def test_a_new_run_takes_the_devices_defaults_under_the_typed_flags():
    config = resolve(flags(device="cpu", lr=0.5))
    assert config == {**COMMON, **CPU, "lr": 0.5, "device": "cpu"}
    assert resolve(flags(device="strict"))["ngf"] == CPU["ngf"]  # the CPU stand-in for a GPU


def test_a_typed_length_or_folder_replaces_the_defaults_it_conflicts_with():
    config = resolve(flags(device="cpu", epochs=3))
    assert config["epochs"] == 3 and "steps" not in config
    assert "num_images" not in resolve(flags(device="cpu", data="photos"))  # the whole folder
    assert resolve(flags(device="cpu", data="photos"), all_of_data=False)["num_images"] == 100


def test_resume_without_a_checkpoint_starts_a_new_run(tmp_path, capsys):
    config = resolve(flags(resume=True, device="cpu", out=str(tmp_path)))
    assert config == {**COMMON, **CPU, "device": "cpu", "out": str(tmp_path)}
    assert f"--resume: no checkpoint in {tmp_path}, starting a new run" in capsys.readouterr().out


def test_resume_takes_the_checkpoints_settings_and_accepts_resumable_flags(run):
    config = resolve(flags(resume=True, device="cpu", out=str(run), steps=20, fid_images=5),
                     resumable={"fid_images"})
    assert config["ngf"] == 16 and config["steps"] == 20 and config["fid_images"] == 5
    assert config["num_images"] == 100  # saved, though the defaults would say the same
    config = resolve(flags(resume=True, device="cpu", out=str(run), epochs=2),
                     resumable={"epochs"})
    assert config["epochs"] == 2 and "steps" not in config  # a new length, in epochs
    assert resolve(flags(resume=True, device="cpu", out=str(run), ngf=16))["ngf"] == 16  # same


def test_resume_refuses_flags_that_would_change_the_run(run):
    with pytest.raises(SystemExit) as stop:
        resolve(flags(resume=True, device="cpu", out=str(run), ngf=32, lr=1e-3, fid_images=5))
    message = str(stop.value)
    assert message.startswith(f"prog.py: error: --resume continues the run in {run}, which used "
                              f"other settings: ")
    # --lr equals the checkpoint's; --ngf differs; --fid-images is not resumable here
    assert "--ngf 32 (checkpoint: 16), --fid-images 5 (checkpoint: None)." in message
    assert "--lr" not in message and "\n" not in message


@pytest.mark.parametrize("content, says", [
    (b"half a file", "not a minigan checkpoint"),
    (None, "is damaged"),  # a real checkpoint with bytes overwritten in the middle
])
def test_a_damaged_checkpoint_stops_with_one_line(run, content, says):
    path = run / CHECKPOINT
    if content is None:
        content = bytearray(path.read_bytes())
        middle = len(content) // 2
        content[middle:middle + 16] = b"\xff" * 16
    path.write_bytes(content)
    with pytest.raises(SystemExit) as stop:
        resolve(flags(resume=True, device="cpu", out=str(run)))
    message = str(stop.value)
    assert message.startswith("prog.py: error: --resume: ") and says in message
    assert "\n" not in message


def test_an_unknown_device_stops_with_one_line():
    with pytest.raises(SystemExit, match="^prog.py: error: --device: unknown device 'tpu'"):
        resolve(flags(device="tpu"))
