"""Kernels: the array computations behind the ops, in two sets with one interface.

- `reference` (``reference.py``): plain, short, obviously correct NumPy/CuPy. Read it first.
- `fast` (``fast.py`` and the files it gathers): the same functions with the same arguments
  and results, made fast: threads (``parallel.py``), channels-last im2col (``im2col.py``),
  sub-pixel transposed convolution (``subpixel.py``), fused in-place passes.

The ops in ``minigan/ops/`` state the maths and call ``kernels.current()`` where speed
matters; the kernels see raw arrays only and never import the engine or the ops. The fast
set is the default. Choose with the environment variable ``MINIGAN_KERNELS=reference|fast``
or, for a block of code::

    with minigan.kernels.use("reference"):
        ...

Importing minigan also keeps NumPy's BLAS on one thread (``blas.py``), so that minigan's
threads have the cores. See ``docs/11_making_it_fast.md``.
"""
import contextlib
import os

from . import blas, fast, memory, parallel, reference
from . import conv as _conv

SETS = {"reference": reference, "fast": fast}
_FAST_OPTIONS = {"threads": (parallel.options, "threads"),
                 "min_elements": (parallel.options, "min_elements"),
                 "min_multiply_adds": (parallel.options, "min_multiply_adds"),
                 "conv_transpose": (_conv.options, "conv_transpose")}


def _by_name(name):
    if name not in SETS:
        raise ValueError(f"unknown kernel set {name!r}: choose 'fast' or 'reference' "
                         f"(MINIGAN_KERNELS or minigan.kernels.use)")
    return SETS[name]


_current = _by_name(os.environ.get("MINIGAN_KERNELS", "fast").strip() or "fast")


def current():
    """The kernel set in use: the module `fast` or `reference`."""
    return _current


@contextlib.contextmanager
def use(name, **options):
    """Run a block with the kernel set ``name`` ("fast" or "reference"). Options of the fast
    set: ``threads`` (how many), ``min_elements`` and ``min_multiply_adds`` (the smallest
    work that is shared between threads; 0 shares everything) and ``conv_transpose``
    ("auto", "col2im" or "subpixel")."""
    global _current
    unknown = set(options) - set(_FAST_OPTIONS)
    if unknown:
        raise TypeError(f"kernels.use: unknown options {sorted(unknown)}; "
                        f"known: {sorted(_FAST_OPTIONS)}")
    if options.get("conv_transpose", "auto") not in ("auto", "col2im", "subpixel"):
        raise ValueError(f"kernels.use: conv_transpose must be 'auto', 'col2im' or "
                         f"'subpixel', got {options['conv_transpose']!r}")
    if options.get("threads", 1) is not None and options.get("threads", 1) < 1:
        raise ValueError(f"kernels.use: threads must be at least 1, got {options['threads']}")
    previous = _current, {k: getattr(*_FAST_OPTIONS[k]) for k in options}
    _current = _by_name(name)
    for key, value in options.items():
        setattr(*_FAST_OPTIONS[key], value)
    try:
        yield _current
    finally:
        _current = previous[0]
        for key, value in previous[1].items():
            setattr(*_FAST_OPTIONS[key], value)


blas.take_over()
