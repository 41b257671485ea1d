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
