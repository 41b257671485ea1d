"""Write minigan/testing/cupy_api.json: the part of CuPy's API that minigan's code can reach.

The strict test backend (minigan/testing/strict.py) emulates CuPy on the CPU. It refuses any
function, keyword argument, array method or random-generator method that this table says CuPy
lacks, so code that would only fail on a GPU fails in CI. The table is made from a real CuPy,
which imports without a GPU:

    python3 -m venv /tmp/cupyapi && /tmp/cupyapi/bin/pip install cupy-cuda12x numpy
    /tmp/cupyapi/bin/python tools/make_cupy_api_table.py      # from the repository root

What is recorded for each callable is the set of names it accepts *by keyword*. Many CuPy
functions are Cython: when ``inspect.signature`` fails, the signature on the first line of the
docstring (Cython's embedsignature) is used. A callable whose signature ends in ``**kwargs``
and whose docstring gives none is recorded as ``null`` ("unknown"): strict then lets any keyword
through rather than guess.
"""
import __future__
import inspect
import json
import os
import re
import sys
import warnings

import cupy
import cupyx
import numpy

OUT = os.path.join(os.path.dirname(__file__), "..", "minigan", "testing", "cupy_api.json")
SCRIPT = "tools/make_cupy_api_table.py"
# The modules minigan's array code can reach through its array module ``xp``.
MODULES = ["cupy", "cupy.linalg", "cupy.random", "cupy.fft", "cupy.lib", "cupy.lib.stride_tricks",
           "cupyx"]
UFUNC_METHODS = ["reduce", "accumulate", "reduceat", "outer", "at"]


def _split_top_level(text):
    """Split a parameter list at the commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _docstring_keywords(obj):
    """Keyword names from a docstring's first line ``name(a, b=1, *, c=None) -> T``; None if absent."""
    first = (getattr(obj, "__doc__", None) or "").strip().split("\n")[0].replace("\\*", "*")
    match = re.match(r"^[\w.]+\((.*)\)(\s*->.*)?$", first)
    if not match:
        return None
    names = []
    for param in _split_top_level(match.group(1)):
        left = param.split("=")[0].strip()
        if left == "/":   # everything before it is positional-only
            names = []
            continue
        if left.startswith("**"):
            return None   # **kwargs: the docstring does not say which
        if left.startswith("*"):
            continue      # *args, or the bare * before keyword-only names
        name = left.split()[-1] if left.split() else ""   # "_ndarray_base b" -> "b"
        if name.isidentifier() and name != "self":
            names.append(name)
    return sorted(names)


def keywords(obj):
    """The sorted names ``obj`` accepts by keyword, or None when unknown."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return _docstring_keywords(obj)
    params = list(sig.parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return _docstring_keywords(obj)
    return sorted(p.name for p in params if p.name != "self" and p.kind in
                  (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


def _is_ufunc(obj):
    return type(obj).__name__ in ("ufunc", "_GUFunc")


def describe_module(module):
    entry = {"functions": {}, "ufuncs": {}, "numpy_aliases": [], "submodules": [], "other": []}
    for name in sorted(dir(module)):
        if name.startswith("_"):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NumPy's FutureWarnings for old aliases
            obj = getattr(module, name)
            numpy_obj = getattr(numpy, name, None)
        if isinstance(obj, __future__._Feature):
            continue  # `from __future__ import annotations`, not API
        if inspect.ismodule(obj) or type(obj).__name__ == "_LazyModule":
            if obj.__name__.startswith(("cupy", "cupyx")):
                entry["submodules"].append(name)
            continue
        if _is_ufunc(obj):
            entry["ufuncs"][name] = keywords(obj)
        elif callable(obj) and not isinstance(obj, type):
            entry["functions"][name] = keywords(obj)
            # CuPy re-exports some of NumPy's own functions; its __array_function__ declines them.
            if obj is numpy_obj:
                entry["numpy_aliases"].append(name)
        else:
            entry["other"].append(name)   # classes, dtypes and constants
    return entry


def describe_class(cls):
    methods, attributes = {}, []
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        obj = getattr(cls, name)
        if isinstance(obj, __future__._Feature):
            continue
        if callable(obj) and not isinstance(obj, type):
            methods[name] = keywords(obj)
        else:
            attributes.append(name)
    return {"methods": methods, "attributes": attributes}


def check_ufunc_keywords(recorded):
    """Cross-check the docstring-derived ufunc keywords against CuPy's own argument check:
    ``cupy.add(1, 2, where=True)`` raises "Wrong arguments" before touching a GPU, while an
    accepted keyword gets as far as the GPU (an error about CUDA when there is none)."""
    for keyword, value in [("out", None), ("dtype", None), ("casting", "same_kind"),
                           ("where", True), ("order", "K"), ("subok", True), ("signature", None)]:
        try:
            cupy.add(1, 2, **{keyword: value})
            accepted = True
        except TypeError as error:
            accepted = "Wrong arguments" not in str(error)
        except Exception:  # no GPU: CuPy accepted the keyword and then failed to launch
            accepted = True
        assert accepted == (keyword in recorded), f"cupy.add keyword {keyword}: table disagrees"


def build():
    modules = {}
    for path in MODULES:
        module = cupy if path == "cupy" else cupyx if path == "cupyx" else None
        if module is None:
            module = cupy
            for part in path.split(".")[1:]:
                module = getattr(module, part)
        modules[path] = describe_module(module)
    return {
        "format": 1,
        "generated_by": SCRIPT,
        "cupy_version": cupy.__version__,
        "numpy_version": numpy.__version__,
        "python_version": sys.version.split()[0],
        "keywords": "names each callable accepts by keyword; null: unknown (**kwargs, undocumented)",
        "modules": modules,
        "ufunc_methods": {m: keywords(getattr(cupy.add, m)) for m in UFUNC_METHODS},
        "ndarray": describe_class(cupy.ndarray),
        "random": {"Generator": describe_class(cupy.random.Generator),
                   "RandomState": describe_class(cupy.random.RandomState)},
    }


def dump(table):
    """JSON with one line per callable, so that a CuPy upgrade reads as a short diff."""
    def block(obj, indent):
        pad = " " * indent
        if isinstance(obj, dict) and any(isinstance(v, dict) for v in obj.values()):
            items = [f'{pad} {json.dumps(k)}: {block(v, indent + 1).lstrip()}' for k, v in obj.items()]
            return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(obj, dict) and any(isinstance(v, list) or v is None for v in obj.values()):
            items = [f'{pad} {json.dumps(k)}: {json.dumps(v)}' for k, v in obj.items()]
            return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
        return pad + json.dumps(obj)
    return block(table, 0) + "\n"


def main():
    table = build()
    check_ufunc_keywords(table["modules"]["cupy"]["ufuncs"]["add"])
    with open(OUT, "w") as f:
        f.write(dump(table))
    json.load(open(OUT))  # the file must stay plain JSON
    counts = {path: len(m["functions"]) + len(m["ufuncs"]) for path, m in table["modules"].items()}
    print(f"wrote {os.path.normpath(OUT)} from CuPy {cupy.__version__}: {counts}")


if __name__ == "__main__":
    main()
