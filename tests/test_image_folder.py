"""Loading a folder of photos: every format and colour mode becomes an RGB square of uint8.

All images here are generated in a temporary folder; the real cat photos are not needed.
"""
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from minigan.data import image_folder
from minigan.data.image_folder import load_image_folder

RED = (200, 30, 40)


def solid(mode, size, colour):
    return Image.new(mode, size, colour)


def save(image, path, **options):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image.save(path, **options)
    return path


def load_one(tmp_path, image, name, size=8):
    save(image, str(tmp_path / "one" / name))
    return load_image_folder(tmp_path / "one", image_size=size, verbose=False)[0]


# ------------------------------------------------------------------ formats and colour modes
@pytest.mark.parametrize("name", ["a.png", "a.bmp", "a.webp", "a.PNG", "a.Bmp"])
def test_lossless_formats_keep_exact_colours(tmp_path, name):
    options = {"lossless": True} if name.endswith("webp") else {}
    save(solid("RGB", (20, 20), RED), str(tmp_path / "one" / name), **options)
    image = load_image_folder(tmp_path / "one", image_size=8, verbose=False)
    assert image.shape == (1, 8, 8, 3) and image.dtype == np.uint8
    assert (image == RED).all()


@pytest.mark.parametrize("name", ["a.jpg", "a.jpeg", "a.JPG", "a.JPEG"])
def test_jpeg_close_to_colour(tmp_path, name):
    image = load_one(tmp_path, solid("RGB", (40, 30), RED), name)
    assert np.abs(image.astype(int) - RED).max() <= 6


def test_grey_modes_become_grey_rgb(tmp_path):
    for name, image in [("l.png", solid("L", (9, 9), 77)), ("one.png", solid("1", (9, 9), 1)),
                        ("l.jpg", solid("L", (9, 9), 77))]:
        rgb = load_one(tmp_path / name, image, name)
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    assert (load_one(tmp_path / "x", solid("L", (9, 9), 77), "l.png") == 77).all()


def test_transparent_pixels_become_white(tmp_path):
    invisible = solid("RGBA", (9, 9), (10, 20, 30, 0))
    assert (load_one(tmp_path / "rgba", invisible, "a.png") == 255).all()
    assert (load_one(tmp_path / "la", solid("LA", (9, 9), (10, 0)), "a.png") == 255).all()
    opaque = load_one(tmp_path / "op", solid("RGBA", (9, 9), (10, 20, 30, 255)), "a.png")
    assert (opaque == (10, 20, 30)).all()


def test_palette_images(tmp_path):
    palette = solid("RGB", (9, 9), RED).convert("P", palette=Image.Palette.ADAPTIVE)
    assert (load_one(tmp_path / "p", palette, "a.png") == RED).all()
    see_through = solid("P", (9, 9), 0)
    see_through.info["transparency"] = 0
    assert (load_one(tmp_path / "pt", see_through, "a.png") == 255).all()


def test_cmyk_jpeg(tmp_path):
    image = load_one(tmp_path, solid("CMYK", (16, 16), (0, 255, 255, 0)), "a.jpg")  # red ink
    assert image[..., 0].mean() > 200 and image[..., 1:].mean() < 60


def test_16_bit_png_is_rescaled_not_clipped(tmp_path):
    half = Image.fromarray(np.full((9, 9), 32768, dtype=np.uint16))
    assert half.mode == "I;16"
    image = load_one(tmp_path, half, "a.png")
    assert np.abs(image.astype(int) - 128).max() <= 1


# ------------------------------------------------------------------------ crop and resize
def test_centre_square_is_kept(tmp_path):
    wide = np.zeros((10, 30, 3), np.uint8)
    wide[:, :10] = (255, 0, 0)
    wide[:, 10:20] = (0, 255, 0)    # the central square
    wide[:, 20:] = (0, 0, 255)
    image = load_one(tmp_path / "wide", Image.fromarray(wide), "a.png", size=10)
    assert (image == (0, 255, 0)).all()
    tall = Image.fromarray(wide.transpose(1, 0, 2).copy())
    tall = load_one(tmp_path / "tall", tall, "a.png", size=10)
    assert (tall == (0, 255, 0)).all()


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (5, 1), (300, 200)])
def test_any_size_becomes_image_size(tmp_path, shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape + (3,), dtype=np.uint8)
    assert load_one(tmp_path, Image.fromarray(pixels), "a.png", size=16).shape == (16, 16, 3)


def test_downscaling_is_antialiased(tmp_path):
    # 1-pixel black/white stripes average to grey; a nearest-neighbour resize would keep
    # stripes (aliasing), which is what the Lanczos filter prevents.
    stripes = np.zeros((64, 64), np.uint8)
    stripes[:, ::2] = 255
    image = load_one(tmp_path, Image.fromarray(stripes), "a.png", size=16).astype(int)
    assert np.abs(image[4:-4, 4:-4] - 128).max() < 20


# ----------------------------------------------------------------------- folders and order
def test_nested_folders_sorted_and_non_images_ignored(tmp_path):
    for i, rel in enumerate(["b/2.png", "a/z.png", "a/deep/er/1.PNG", "c.jpg"]):
        save(solid("RGB", (5, 5), (i * 60, 0, 0)), str(tmp_path / rel))
    (tmp_path / "notes.txt").write_text("not an image")
    save(solid("RGB", (5, 5), (0, 0, 0)), str(tmp_path / ".hidden" / "x.png"))
    save(solid("RGB", (5, 5), (0, 0, 0)), str(tmp_path / "._mac_junk.png"))
    images = load_image_folder(tmp_path, image_size=4, verbose=False)
    # sorted: a/deep/er/1.PNG, a/z.png, b/2.png, c.jpg
    assert images.shape == (4, 4, 4, 3)
    assert [int(round(x)) for x in images[:, 0, 0, 0]][:3] == [120, 60, 0]
    assert abs(int(images[3, 0, 0, 0]) - 180) <= 6


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_image_folder(tmp_path / "nowhere", verbose=False)


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match="a.png"):
        load_image_folder(tmp_path / "a.png", verbose=False)


def test_folder_without_images_names_extensions(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(ValueError, match=r"no images in .*\.jpg.*\.webp"):
        load_image_folder(tmp_path, verbose=False)


# ---------------------------------------------------------------------------- bad files
def write_corrupt_files(folder):
    good = save(solid("RGB", (12, 12), RED), str(folder / "good.png"))
    data = open(good, "rb").read()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "noise.jpg").write_bytes(np.random.default_rng(0).bytes(500))
    (folder / "empty.webp").write_bytes(b"")


def test_corrupt_files_skipped_with_one_warning(tmp_path):
    write_corrupt_files(tmp_path)
    with pytest.warns(UserWarning) as caught:
        images = load_image_folder(tmp_path, image_size=8, verbose=False)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "3 unreadable" in message
    for name in ("truncated.png", "noise.jpg", "empty.webp"):
        assert name in message
    assert images.shape == (1, 8, 8, 3) and (images == RED).all()


def test_long_list_of_bad_files_is_shortened(tmp_path):
    save(solid("RGB", (4, 4), RED), str(tmp_path / "ok.png"))
    for i in range(8):
        (tmp_path / f"bad{i}.png").write_bytes(b"junk")
    with pytest.warns(UserWarning, match="skipped 8 .*and 3 more"):
        load_image_folder(tmp_path, image_size=4, verbose=False)


def test_only_corrupt_files_is_an_error(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"junk")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="could be decoded"):
            load_image_folder(tmp_path, verbose=False)


# ---------------------------------------------------------------------------------- cache
def make_folder(folder, n=3):
    for i in range(n):
        save(solid("RGB", (10, 6), (i * 50, 100, 0)), str(folder / f"{i}.png"))


def test_cache_hit_does_not_decode(tmp_path, monkeypatch):
    make_folder(tmp_path / "imgs")
    cache = tmp_path / "cache"
    first = load_image_folder(tmp_path / "imgs", image_size=8, cache_dir=cache, verbose=False)
    assert len(list(cache.glob("imgs-8px-*.npz"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded an image although the cache is valid")
    monkeypatch.setattr(image_folder.Image, "open", no_decoding)
    second = load_image_folder(tmp_path / "imgs", image_size=8, cache_dir=cache, verbose=False)
    np.testing.assert_array_equal(first, second)


def test_cache_invalidated_by_changes(tmp_path):
    folder, cache = tmp_path / "imgs", tmp_path / "cache"
    make_folder(folder)
    load_image_folder(folder, image_size=8, cache_dir=cache, verbose=False)
    # Edit one file (new content and a later mtime): the next load must see the new pixels.
    save(solid("RGB", (10, 6), (1, 2, 3)), str(folder / "1.png"))
    stat = os.stat(folder / "1.png")
    os.utime(folder / "1.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    edited = load_image_folder(folder, image_size=8, cache_dir=cache, verbose=False)
    assert (edited[1] == (1, 2, 3)).all()
    save(solid("RGB", (3, 3), (9, 9, 9)), str(folder / "3.png"))          # a new file
    assert len(load_image_folder(folder, image_size=8, cache_dir=cache, verbose=False)) == 4
    assert load_image_folder(folder, image_size=4, cache_dir=cache, verbose=False).shape[1] == 4
    assert len(list(cache.glob("*.npz"))) == 4


def test_cache_hit_repeats_the_warning(tmp_path):
    write_corrupt_files(tmp_path / "imgs")
    for _ in range(2):
        with pytest.warns(UserWarning, match="truncated.png"):
            load_image_folder(tmp_path / "imgs", 8, cache_dir=tmp_path / "c", verbose=False)


def test_damaged_cache_is_rebuilt(tmp_path):
    make_folder(tmp_path / "imgs")
    first = load_image_folder(tmp_path / "imgs", 8, cache_dir=tmp_path / "c", verbose=False)
    (cache_file,) = (tmp_path / "c").glob("*.npz")
    cache_file.write_bytes(b"broken")
    again = load_image_folder(tmp_path / "imgs", 8, cache_dir=tmp_path / "c", verbose=False)
    np.testing.assert_array_equal(first, again)


def test_verbose_reports_progress(tmp_path, capsys):
    make_folder(tmp_path / "imgs")
    load_image_folder(tmp_path / "imgs", image_size=8, cache_dir=tmp_path / "c")
    load_image_folder(tmp_path / "imgs", image_size=8, cache_dir=tmp_path / "c")
    assert "from the cache" in capsys.readouterr().out
