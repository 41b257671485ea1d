"""Device code asks the backend for its array module; it never imports numpy or cupy itself.

That rule is what lets one code path run on NumPy and CuPy. Host-side code (data loading,
image files, plots, the test machinery) may import numpy.
"""
import pathlib
import re

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "minigan"
HOST_SIDE = {"backend.py", "data", "utils", "testing", "serialization.py"}
IMPORT = re.compile(r"^\s*(import|from)\s+(numpy|cupy|cupyx)\b", re.MULTILINE)


def test_device_code_does_not_import_numpy_or_cupy():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in HOST_SIDE:
            continue
        if IMPORT.search(path.read_text()):
            offenders.append(str(relative))
    assert not offenders, f"import numpy/cupy via minigan.backend instead: {offenders}"


ENGINE_IMPORT = re.compile(r"^\s*(from\s+(\.\.|minigan\.)(autograd|ops)\b|import\s+minigan\.(autograd|ops)\b"
                           r"|from\s+\.\.\s+import\s+.*\b(autograd|ops)\b)", re.MULTILINE)


def test_kernels_see_arrays_only():
    """minigan/kernels/ is raw-array speed: it never imports the engine or the ops
    (docs/11_making_it_fast.md), so a kernel cannot build graphs or call differentiable ops."""
    offenders = [str(path.relative_to(PACKAGE)) for path in (PACKAGE / "kernels").rglob("*.py")
                 if ENGINE_IMPORT.search(path.read_text())]
    assert not offenders, f"kernels import the engine or ops: {offenders}"


def test_ops_never_ask_whether_a_graph_is_recorded():
    """An op's backward is always the differentiable textbook formula; whether a plain
    backward may take the fast array path is decided in one place, the engine's backprop
    (Function.backward_arrays), not by each op asking is_grad_enabled()."""
    offenders = [str(path.relative_to(PACKAGE)) for path in (PACKAGE / "ops").rglob("*.py")
                 if "is_grad_enabled" in path.read_text()]
    assert not offenders, offenders
