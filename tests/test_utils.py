"""Utilities: atomic file writes, image grids and files, plots."""
import csv
import math
import os

import numpy as np
import pytest
from PIL import Image

import minigan
from minigan import backend
from minigan.utils import io, plots
from minigan.utils.images import make_grid, save_gif, save_image, to_uint8_images


# ---------------------------------------------------------------------------- atomic writes
def test_atomic_write_replaces_file(tmp_path):
    path = tmp_path / "sub" / "f.bin"   # missing folders are created
    io.atomic_write_bytes(path, b"old")
    io.atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path / "sub") == ["f.bin"]


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with io.atomic_open(path, "w") as f:
            f.write("half of the new cont")
            raise RuntimeError("disk on fire")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_interrupted_first_write_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with io.atomic_open(tmp_path / "f.bin") as f:
            f.write(b"x")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_atomic_text_and_savez(tmp_path):
    with io.atomic_open(tmp_path / "t.csv", "w") as f:
        f.write("ünïcode,1\n")
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == "ünïcode,1\n"
    io.atomic_savez(tmp_path / "a.npz", x=np.arange(3), y=np.eye(2))
    io.atomic_savez(tmp_path / "b.data", compressed=True, x=np.arange(3))
    with np.load(tmp_path / "a.npz") as saved:
        np.testing.assert_array_equal(saved["y"], np.eye(2))
    assert sorted(os.listdir(tmp_path)) == ["a.npz", "b.data", "t.csv"]  # no ".npz" appended


def test_atomic_open_refuses_read_and_append_modes(tmp_path):
    for mode in ("r", "a", "rb+"):
        with pytest.raises(ValueError, match="mode"):
            with io.atomic_open(tmp_path / "f", mode):
                pass


def test_atomic_file_has_normal_permissions(tmp_path):
    io.atomic_write_bytes(tmp_path / "f", b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp_path / "f").st_mode & 0o777 == 0o666 & ~umask


# -------------------------------------------------------------------------------- images
def test_to_uint8_maps_range_and_layout():
    x = np.array([-1.0, -0.5, 0.0, 1.0, 3.0, -7.0], dtype=np.float32).reshape(1, 1, 2, 3)
    out = to_uint8_images(x)
    assert out.shape == (1, 2, 3, 1) and out.dtype == np.uint8
    assert out.ravel().tolist() == [0, 64, 128, 255, 255, 0]
    rgb = np.zeros((2, 3, 4, 5))
    rgb[:, 1] = 1.0   # green channel
    assert to_uint8_images(rgb).shape == (2, 4, 5, 3)
    assert (to_uint8_images(rgb)[..., 1] == 255).all() and (to_uint8_images(rgb)[..., 0] == 128).all()


def test_to_uint8_from_device_tensor(device):
    t = minigan.Tensor(np.full((2, 3, 4, 4), 1.0, np.float32), device=device)
    assert (to_uint8_images(t) == 255).all()


def test_to_uint8_refuses_bad_shapes():
    with pytest.raises(ValueError, match="N x C x H x W"):
        to_uint8_images(np.zeros((2, 5, 4, 4)))


def test_make_grid_layout():
    n, h, w = 5, 3, 4
    images = np.stack([np.full((h, w, 3), 10 * (i + 1), np.uint8) for i in range(n)])
    grid = make_grid(images, nrow=2, padding=1, pad_value=255)
    # 2 columns, 3 rows, 1-pixel padding around and between
    assert grid.shape == (3 * (h + 1) + 1, 2 * (w + 1) + 1, 3)
    for i in range(n):
        top, left = (i // 2) * (h + 1) + 1, (i % 2) * (w + 1) + 1
        assert (grid[top:top + h, left:left + w] == 10 * (i + 1)).all()
    assert (grid[0] == 255).all() and (grid[:, 0] == 255).all()
    assert (grid[-h - 1:, -w - 1:] == 255).all()   # the empty sixth cell is padding


def test_make_grid_single_row_and_grey():
    grey = np.zeros((3, 1, 2, 2), np.float32)        # NCHW float, one channel
    grid = make_grid(grey, nrow=None, padding=0)
    assert grid.shape == (2, 6, 3) and (grid == 128).all()
    assert make_grid(grey, nrow=8, padding=2).shape == (6, 14, 3)


def test_save_image_png_round_trip(tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, (6, 3, 8, 8)).astype(np.float32)
    save_image(images, tmp_path / "grid.png", nrow=3)
    loaded = np.asarray(Image.open(tmp_path / "grid.png"))
    np.testing.assert_array_equal(loaded, make_grid(images, nrow=3))


def test_save_image_needs_known_extension(tmp_path):
    with pytest.raises(ValueError, match="extension"):
        save_image(np.zeros((1, 3, 4, 4)), tmp_path / "grid.unknown")


def test_save_gif_frames(tmp_path):
    frames = [np.full((10, 12, 3), v, np.uint8) for v in (0, 128, 255)]
    save_gif(frames, tmp_path / "a.gif", duration_ms=50)
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (12, 10)
        gif.seek(1)
        assert abs(int(np.asarray(gif.convert("RGB")).mean()) - 128) <= 2
        assert gif.info["duration"] == 50


# --------------------------------------------------------------------------------- plots
def test_smooth():
    assert plots.smooth([1.0, 2.0, 3.0], 0.0).tolist() == [1.0, 2.0, 3.0]
    s = plots.smooth([5.0, 5.0, float("nan"), 5.0], 0.9)   # debiased: a constant stays put
    assert s[0] == pytest.approx(5.0) and math.isnan(s[2]) and s[3] == pytest.approx(5.0)
    with pytest.raises(ValueError):
        plots.smooth([1.0], 1.0)


def test_plot_losses_from_dict_and_csv(tmp_path):
    steps = list(range(50))
    history = {"step": steps, "loss_g": [1 + math.sin(s) for s in steps],
               "loss_d": [0.7] * 50, "d_real": [0.8] * 50, "d_fake": [0.3] * 50}
    plots.plot_losses(history, tmp_path / "losses.png")
    with Image.open(tmp_path / "losses.png") as image:
        assert image.size[1] > image.size[0] * 0.6    # two panels stacked
    with open(tmp_path / "log.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "loss_g", "loss_d"])
        writer.writeheader()
        writer.writerows({"step": s, "loss_g": 1.0, "loss_d": "" if s == 3 else 0.5} for s in steps)
    with open(tmp_path / "log.csv", newline="") as f:
        plots.plot_losses(list(csv.DictReader(f)), tmp_path / "from_csv.png", title="run")
    with Image.open(tmp_path / "from_csv.png") as image:
        assert image.size[1] < image.size[0]          # one panel


def test_d_output_panel_fits_critic_scores(tmp_path):
    # Probabilities (ns, minimax) get the fixed [0, 1] axis; raw critic scores (wgan,
    # hinge) are outside it and would be clipped, so the axis follows the values.
    assert plots.d_output_limits([0.0, 0.5, float("nan"), 1.0]) == (-0.02, 1.02)
    assert plots.d_output_limits([-3.0, 0.5, 12.0]) is None
    assert plots.d_output_limits([0.2, 1.5]) is None
    history = {"step": [0, 1, 2], "loss_D": [1.0, 0.5, 0.2], "D(x)": [4.0, 8.0, 12.0],
               "D(G(z))": [-4.0, -8.0, -12.0]}
    plots.plot_losses(history, tmp_path / "critic.png")
    assert (tmp_path / "critic.png").exists()


def test_plot_losses_needs_a_loss_column(tmp_path):
    with pytest.raises(ValueError, match="loss"):
        plots.plot_losses({"step": [1, 2]}, tmp_path / "x.png")


def test_plot_toy_scatter(tmp_path, device):
    real = np.random.default_rng(0).normal(size=(100, 2))
    fake = minigan.Tensor(real[:50] * 0.5, device=device)
    plots.plot_toy_scatter(real, fake, tmp_path / "s.png", title="ring", modes=np.eye(2))
    assert Image.open(tmp_path / "s.png").size[0] > 100
    assert backend.device_of(fake.data) == backend.parse_device(device)
