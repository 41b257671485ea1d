"""minigan.save / minigan.load: checkpoints round-trip exactly, never use pickle, never move a
live model, and a failed write leaves the previous checkpoint intact."""
import os
import zipfile

import numpy as np
import pytest

import minigan as mg
import minigan.nn as nn
import minigan.optim as optim
from minigan import serialization


def nested(device):
    return {
        "generator": {"0.weight": mg.randn(2, 3, device=device),
                      "1.num_batches_tracked": mg.Tensor(np.array(5, dtype=np.int64), device=device)},
        "opt": {"state": {0: {"step": 3, "exp_avg": mg.zeros(2, dtype="float64", device=device)}},
                "param_groups": [{"lr": 0.0002, "betas": (0.5, 0.999), "params": [0]}]},
        "step": 10, "loss": 0.25, "name": "cats/run-1", "best": None, "flags": [True, False],
        "fixed_noise": np.arange(6, dtype=np.float32).reshape(2, 3),
        "__dunder": 1,
    }


def test_round_trip_keeps_structure_types_and_values(device, tmp_path):
    original = nested(device)
    mg.save(original, tmp_path / "ckpt.npz")
    loaded = mg.load(tmp_path / "ckpt.npz")
    weight = loaded["generator"]["0.weight"]
    assert isinstance(weight, np.ndarray) and weight.dtype == np.float32
    np.testing.assert_array_equal(weight, original["generator"]["0.weight"].numpy())
    count = loaded["generator"]["1.num_batches_tracked"]
    assert count.dtype == np.int64 and count.shape == () and count == 5
    assert list(loaded["opt"]["state"]) == [0]  # integer keys stay integers
    assert loaded["opt"]["state"][0]["step"] == 3
    assert loaded["opt"]["param_groups"] == [{"lr": 0.0002, "betas": (0.5, 0.999), "params": [0]}]
    assert (loaded["step"], loaded["loss"], loaded["name"], loaded["best"]) == (10, 0.25, "cats/run-1", None)
    assert loaded["flags"] == [True, False] and loaded["__dunder"] == 1
    np.testing.assert_array_equal(loaded["fixed_noise"], original["fixed_noise"])


def test_load_onto_a_device_gives_tensors(device, tmp_path):
    mg.save(nested("cpu"), tmp_path / "ckpt.npz")
    loaded = mg.load(tmp_path / "ckpt.npz", device=device)
    weight = loaded["generator"]["0.weight"]
    assert isinstance(weight, mg.Tensor) and weight.device == device
    assert loaded["opt"]["state"][0]["exp_avg"].dtype == np.float64


def test_file_is_a_plain_npz_without_pickle(tmp_path):
    path = tmp_path / "model.ckpt"  # the name is used as given: no ".npz" appended
    mg.save({"model": nn.Linear(2, 3).state_dict()}, path)
    assert os.listdir(tmp_path) == ["model.ckpt"]
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["__minigan__", "model/bias", "model/weight"]
        assert npz["model/weight"].shape == (3, 2)


def test_model_and_optimizer_checkpoint_never_moves_the_live_model(device, tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).to(device)
    opt = optim.Adam(model.parameters(), lr=0.1)
    model(mg.randn(4, 2, device=device)).sum().backward()
    opt.step()
    mg.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "ckpt.npz")

    host_model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    host_opt = optim.Adam(host_model.parameters())
    checkpoint = mg.load(tmp_path / "ckpt.npz", device=device)  # tensors on the other device
    host_model.load_state_dict(checkpoint["model"])
    host_opt.load_state_dict(checkpoint["opt"])
    assert all(t.device == "cpu" for t in host_model.state_dict().values())
    assert all(v.device == "cpu" for s in host_opt.state.values() for v in s.values()
               if isinstance(v, mg.Tensor))
    for a, b in zip(model.state_dict().values(), host_model.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_failed_write_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    mg.save({"step": 1, "w": np.ones(3)}, path)

    def crash_halfway(file, arrays):
        file.write(b"PK\x03\x04 half a zip file")
        raise OSError("disk full")
    monkeypatch.setattr(serialization, "_write_npz", crash_halfway)
    with pytest.raises(OSError, match="disk full"):
        mg.save({"step": 2, "w": np.zeros(3)}, path)
    assert mg.load(path)["step"] == 1
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind


def test_unsupported_values_fail_before_touching_the_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    with pytest.raises(TypeError, match="cannot store set at 'model/bad'"):
        mg.save({"model": {"bad": {1, 2}}}, path)
    with pytest.raises(TypeError, match="pickle"):
        mg.save({"objects": np.array([object()])}, path)
    assert not path.exists()


def test_missing_or_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        mg.load(tmp_path / "nothing.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a minigan checkpoint"):
        mg.load(tmp_path / "text.npz")
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    with pytest.raises(ValueError, match="not a minigan checkpoint"):
        mg.load(tmp_path / "plain.npz")
    assert zipfile.is_zipfile(tmp_path / "plain.npz")
