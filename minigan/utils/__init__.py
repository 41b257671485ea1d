"""Host-side utilities: image files, plots, atomic file writes.

`plots` is not imported here: it loads matplotlib, which is slow to import.
"""
from .io import atomic_open, atomic_write_bytes, atomic_savez
from .images import to_uint8_images, make_grid, save_image, save_gif, resize_images
