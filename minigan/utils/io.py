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
import secrets

from ..backend import np


@contextlib.contextmanager
def atomic_open(path, mode="wb", encoding=None):
    """Open a temporary file for writing; on a clean exit it replaces ``path`` atomically.

    ``mode`` is "w" (text, UTF-8 unless ``encoding`` says otherwise) or "wb" (bytes). Missing
    parent folders are created. If the ``with`` body raises, ``path`` is left as it was.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # A hidden, unique name next to the target. os.open with 0o666 lets the umask set the
    # permissions, as for a normal file (tempfile.mkstemp would make it private, 0o600).
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
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
