"""benchmarks/toy_modes.py, the table of docs/08_toy_benchmark.md: every configuration in it
trains (a few steps of tiny networks, its own flags otherwise), and its results.json keeps the
rows of earlier invocations in the same folder."""
import importlib.util
import json
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # examples/ is a folder of scripts, not an installed package
from examples import toy_2d  # noqa: E402


def load_benchmark():
    spec = importlib.util.spec_from_file_location("toy_modes", ROOT / "benchmarks" / "toy_modes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


toy_modes = load_benchmark()
TINY = ["--steps", "2", "--hidden", "8", "--batch-size", "32"]  # after the config: they win


@pytest.mark.parametrize("config", list(toy_modes.CONFIGS))
def test_every_configuration_of_the_table_trains(tmp_path, config):
    flags = toy_modes.flags(config, "ring")
    points = tmp_path / "points.npy"
    metrics = toy_2d.main(["--dataset", "ring", "--samples-out", str(points), *flags, *TINY])
    assert np.load(points).shape == (2500, 2)
    assert 0 <= metrics["modes_covered"] <= 8
    if "--drs" in flags:  # the "+ DRS" row of the same run
        assert np.load(toy_2d.drs_path(str(points))).shape[1] == 2


def test_results_json_keeps_the_rows_of_earlier_invocations(tmp_path, monkeypatch):
    earlier = {"hinge/grid/0": {"modes_covered": 24, "high_quality_fraction": 0.5,
                                "reverse_kl": 0.3, "seconds": 60.0}}
    (tmp_path / "results.json").write_text(json.dumps(earlier))
    run = tmp_path / "vanilla_ring_0"
    run.mkdir()
    metrics = {"modes_covered": 8, "high_quality_fraction": 0.9, "reverse_kl": 0.01,
               "seconds": 50.0, "cpu_seconds": 49.0}
    (run / "metrics.json").write_text(json.dumps([["vanilla", "ring", 0, metrics]]))
    monkeypatch.setattr(sys, "argv", ["toy_modes.py", "--report", "--seeds", "1", "--configs",
                                      "vanilla", "--datasets", "ring", "--out", str(tmp_path),
                                      "--figures", str(tmp_path / "figures")])
    toy_modes.main()
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved == {**earlier, "vanilla/ring/0": metrics}
