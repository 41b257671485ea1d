"""Atomic file writes: a file is either the old version or the complete new one, never half.

Training runs get interrupted (Ctrl-C, a full disk, a preempted GPU). If a checkpoint were
written in place, the interruption would leave a truncated file *and* destroy the previous
good one. So we write to a temporary file in the same folder, flush it to disk (`fsync`), and
rename it over the target with `os.replace`, which is atomic on POSIX and Windows when both
paths are on the same file system (hence "same folder"). On any error the temporary file is
removed and the old file is untouched.

    with atomic_open("losses.csv", "w") as f:
        f.write("step,loss_g,loss_d\\n")
    atomic_write_bytes("model.bin", data)
    atomic_savez("cache.npz", images=images)
"""
import contextlib
import os
import tempfile

from ..backend import np


@contextlib.contextmanager
def atomic_open(path, mode="wb", encoding=None):
    """Open a temporary file for writing; on a clean exit it replaces ``path`` atomically.

    ``mode`` is a write mode ("w", "wb", "w+", ...); text modes default to UTF-8. Missing parent
    folders are created. If the ``with`` body raises, ``path`` is left as it was.
    """
    if not any(m in mode for m in "wx") or "a" in mode:
        raise ValueError(f"atomic_open: mode must be a write mode such as 'w' or 'wb', got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    try:
        with os.fdopen(fd, mode.replace("x", "w"), encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())   # the bytes are on disk before the name points at them
        os.replace(tmp, path)
    except BaseException:          # KeyboardInterrupt too: never leave temp files behind
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def atomic_write_bytes(path, data):
    """Write ``data`` (bytes) to ``path`` atomically."""
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_savez(path, compressed=False, **arrays):
    """``numpy.savez`` (or ``savez_compressed``) to ``path`` atomically.

    Unlike ``numpy.savez`` the name is used exactly as given: no ".npz" is appended.
    """
    save = np.savez_compressed if compressed else np.savez
    with atomic_open(path, "wb") as f:
        save(f, **arrays)
