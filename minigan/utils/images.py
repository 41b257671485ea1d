"""Turning generator outputs into pictures: uint8 conversion, grids, PNG and GIF files.

Generators end in ``tanh``, so their images are float NCHW in [-1, 1]; image files want
uint8 HWC in [0, 255]. `to_uint8_images` does that conversion (with an explicit copy to the
host, so device tensors work), and `make_grid` tiles a batch into one picture, like
``torchvision.utils.make_grid``:

    save_image(generator(z), "samples.png", nrow=8)       # an 8-column grid
    save_image(frames, "interpolation.png", nrow=None)    # one row, e.g. a latent walk
"""
import math
import os

from PIL import Image

from .. import backend
from ..backend import np
from .io import atomic_open


def to_uint8_images(images):
    """Float NCHW in [-1, 1] (Tensor or array, any device) -> host uint8 NHWC in [0, 255].

    Values outside [-1, 1] are clipped. uint8 input is taken to be NHWC already and returned
    as a host array unchanged. A single image (CHW or HWC) gets a batch axis of 1.
    """
    array = backend.to_numpy(images.data if hasattr(images, "_is_tensor") else images)
    if array.dtype == np.uint8:
        array = array[None] if array.ndim == 3 else array
        if array.ndim != 4:
            raise ValueError(f"to_uint8_images: expected uint8 images N x H x W x C, got shape "
                             f"{array.shape}")
        return array
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[1] not in (1, 3, 4):
        raise ValueError(f"to_uint8_images: expected float images N x C x H x W with C in 1, 3, 4, "
                         f"got shape {array.shape} ({array.dtype})")
    scaled = np.rint((array.astype(np.float32) + 1) * 127.5)   # -1 -> 0, 1 -> 255
    return np.clip(scaled, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def make_grid(images, nrow=8, padding=2, pad_value=0):
    """Tile a batch of images into one uint8 H x W x 3 picture, ``nrow`` images per row.

    ``images``: float NCHW in [-1, 1] (Tensor or array) or uint8 NHWC. ``nrow=None`` puts them
    all in one row. ``pad_value`` is the grey level (0-255) of the ``padding`` pixels between
    and around the images. Grey images are repeated into three channels, as in torchvision
    (whose ``make_grid`` returns a float CHW tensor; this returns what image files want).
    """
    batch = to_uint8_images(images)
    n, height, width, channels = batch.shape
    if channels == 1:
        batch = np.repeat(batch, 3, axis=3)
    elif channels == 4:  # RGBA: drop alpha, the grid is RGB
        batch = batch[..., :3]
    if n == 0:
        raise ValueError("make_grid: got an empty batch of images")
    columns = n if nrow is None else min(nrow, n)
    rows = math.ceil(n / columns)
    cell_h, cell_w = height + padding, width + padding
    grid_shape = (rows * cell_h + padding, columns * cell_w + padding, 3)
    grid = np.full(grid_shape, pad_value, dtype=np.uint8)
    for i in range(n):
        top, left = (i // columns) * cell_h + padding, (i % columns) * cell_w + padding
        grid[top:top + height, left:left + width] = batch[i]
    return grid


def save_image(images, path, nrow=8, padding=2, pad_value=0):
    """Save a batch as one grid image (PNG, or any format Pillow knows from the extension).

    The file is replaced atomically, so a viewer never sees a half-written sample grid.
    """
    _save(Image.fromarray(make_grid(images, nrow, padding, pad_value)), path)


def save_gif(frames, path, duration_ms=200, loop=0):
    """Save a list of uint8 H x W x 3 frames (e.g. grids from `make_grid`) as an animated GIF.

    ``duration_ms`` is the time each frame shows; ``loop=0`` repeats forever.
    """
    if len(frames) == 0:
        raise ValueError("save_gif: no frames to save")
    pictures = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    _save(pictures[0], path, save_all=True, append_images=pictures[1:], duration=duration_ms,
          loop=loop)


def _save(picture, path, **options):
    extension = os.path.splitext(os.fspath(path))[1].lower()
    file_format = Image.registered_extensions().get(extension)
    if file_format is None:
        raise ValueError(f"cannot tell the image format of {path!r} from its extension; "
                         f"use e.g. .png, .jpg or .gif")
    with atomic_open(path, "wb") as f:
        picture.save(f, format=file_format, **options)


def resize_images(images, size, resample="bicubic"):
    """uint8 NHWC images -> uint8 NHWC images of ``size`` x ``size``, resized one by one by
    Pillow (``resample``: "bicubic", "bilinear", "nearest", "box" or "lanczos").

    The bicubic baseline of super-resolution (docs/15_super_resolution.md): Pillow's BICUBIC
    (Keys' cubic, a = -0.5) works on uint8, so the result is rounded to whole grey levels, as
    an image file would be. Downscaling filters over the whole footprint (antialiased)."""
    filters = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "nearest": Image.NEAREST,
               "box": Image.BOX, "lanczos": Image.LANCZOS}
    if resample not in filters:
        raise ValueError(f"resize_images: resample must be one of {sorted(filters)}, "
                         f"got {resample!r}")
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] not in (1, 3):
        raise ValueError(f"resize_images: expected uint8 images N x H x W x C (C = 1 or 3), got "
                         f"{images.dtype} of shape {images.shape}")
    out = [np.asarray(Image.fromarray(image.squeeze(2) if image.shape[2] == 1 else image)
                      .resize((size, size), filters[resample])) for image in images]
    return np.stack(out).reshape(len(images), size, size, images.shape[3])
