"""Load a folder of photos (any format, size, colour mode) as one uint8 array of squares.

    images = load_image_folder("data/cats", image_size=64, cache_dir=".cache")
    images.shape  # (N, 64, 64, 3), dtype uint8

Every image becomes RGB, is cropped to its central square and shrunk to ``image_size`` with a
Lanczos filter (cheap filters alias: fine fur turns into moiré, which a GAN then learns).
Files that cannot be decoded are skipped with one warning naming them.

Decoding thousands of JPEGs takes a while, so with ``cache_dir`` the result is saved as a
``.npz`` file. Its name includes a hash of every file's path, size and modification time and of
``image_size``: add, remove or edit a photo and the next call decodes again.
"""
import hashlib
import os
import warnings

from PIL import Image, ImageOps

from ..backend import np
from ..utils.io import atomic_savez

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
CACHE_VERSION = 1  # bump when the decoding changes, so old caches are not reused


def load_image_folder(root, image_size=64, cache_dir=None, verbose=True):
    """All images under ``root`` (searched recursively), as uint8 (N, image_size, image_size, 3).

    Files are read in sorted path order, so N and the order are deterministic. Extensions
    are matched case-insensitively (``EXTENSIONS``); hidden files and folders (names starting
    with ".") are ignored. Transparent images are composited onto white.
    """
    root = os.fspath(root)
    paths = _find_images(root)
    stats = [os.stat(os.path.join(root, p)) for p in paths]
    key = _cache_key(paths, stats, image_size)
    cache_file = None
    if cache_dir is not None:
        name = os.path.basename(os.path.abspath(root)) or "images"
        cache_file = os.path.join(cache_dir, f"{name}-{image_size}px-{key[:16]}.npz")
        cached = _read_cache(cache_file)
        if cached is not None:
            images, skipped = cached
            if verbose:
                print(f"loaded {len(images)} images of {root} from the cache {cache_file}")
            _warn_skipped(root, skipped)
            return images

    images, skipped = _decode_all(root, paths, image_size, verbose)
    if len(images) == 0:  # the error names the files and why, so no warning comes before it
        raise ValueError(f"load_image_folder: none of the {len(paths)} image files in {root!r} "
                         f"could be decoded: {_shortened(skipped)}")
    _warn_skipped(root, skipped)
    if cache_file is not None:
        atomic_savez(cache_file, images=images, skipped=np.array(skipped, dtype=str))
        if verbose:
            print(f"cached {len(images)} images in {cache_file}")
    return images


def _find_images(root):
    """Relative paths of image files under ``root``, sorted."""
    if not os.path.exists(root):
        raise FileNotFoundError(f"load_image_folder: the folder {root!r} does not exist")
    if not os.path.isdir(root):
        raise NotADirectoryError(f"load_image_folder: {root!r} is a file, not a folder of images")
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        for f in files:
            if not f.startswith(".") and f.lower().endswith(EXTENSIONS):
                found.append(os.path.relpath(os.path.join(folder, f), root))
    if not found:
        raise ValueError(f"load_image_folder: no images in {root!r} (looked recursively for "
                         f"files ending in {', '.join(EXTENSIONS)}, any letter case)")
    return sorted(found)


def _cache_key(paths, stats, image_size):
    h = hashlib.sha256(f"v{CACHE_VERSION} size={image_size}\n".encode())
    for path, st in zip(paths, stats):
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _read_cache(cache_file):
    """(images, skipped) from a cache file, or None if it is missing or unreadable."""
    if not os.path.exists(cache_file):
        return None
    try:
        with np.load(cache_file) as saved:
            return saved["images"], [str(s) for s in saved["skipped"]]
    except Exception:  # a damaged cache is not an error: we decode again and overwrite it
        return None


def _decode_all(root, paths, image_size, verbose):
    from tqdm import tqdm  # imported here: only this slow path shows progress
    images = np.empty((len(paths), image_size, image_size, 3), dtype=np.uint8)
    kept, skipped = 0, []
    for path in tqdm(paths, desc=f"decoding {root}", unit="img", disable=not verbose):
        try:
            images[kept] = load_image(os.path.join(root, path), image_size)
            kept += 1
        except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, zlib.error...
            skipped.append(f"{path} ({type(error).__name__}: {error})")
    return images[:kept], skipped


def _warn_skipped(root, skipped):
    if skipped:
        warnings.warn(f"load_image_folder: skipped {len(skipped)} unreadable file(s) in "
                      f"{root!r}: {_shortened(skipped)}", stacklevel=3)


def _shortened(skipped, show=5):
    """The first few skipped files with their errors, for one readable line."""
    more = f"; and {len(skipped) - show} more" if len(skipped) > show else ""
    return "; ".join(skipped[:show]) + more


def load_image(path, image_size):
    """One image file as uint8 (image_size, image_size, 3): RGB, centre square, Lanczos."""
    with Image.open(path) as image:
        image.draft("RGB", (image_size, image_size))  # JPEG: decode at reduced size, much faster
        image = ImageOps.exif_transpose(image)         # phone photos store rotation in EXIF
        image = to_rgb(image)
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    # reducing_gap: shrink by an integer factor first (fast box filter), then Lanczos.
    square = image.resize((image_size, image_size), Image.LANCZOS,
                          box=(left, top, left + side, top + side), reducing_gap=3.0)
    return np.asarray(square, dtype=np.uint8)


def to_rgb(image):
    """Any Pillow image as RGB: alpha is composited onto white, 16-bit and float are rescaled."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # Pillow's convert("RGB") clips these to 255 (a 16-bit photo becomes white).
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        grey = np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")
