"""Test machinery: the gradient checker, the strict (CuPy-like) backend and the sync counter."""
from .syncs import count_syncs  # noqa: F401
