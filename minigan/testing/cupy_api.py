"""CuPy's real API, as the strict backend checks it: what exists, and which keywords it takes.

``cupy_api.json`` beside this file is generated from an installed CuPy by
``tools/make_cupy_api_table.py`` (CuPy imports without a GPU); it records CuPy's version. Each
function below answers one question the strict backend (``strict.py``) asks before it lets a
call through, and raises the error CuPy would raise on a GPU, naming what CuPy lacks.
A keyword list of ``None`` means "unknown" (a ``**kwargs`` signature CuPy documents nowhere):
such calls are let through rather than guessed at.
"""
import functools
import json
import os

_TABLE = os.path.join(os.path.dirname(__file__), "cupy_api.json")


@functools.cache
def table():
    with open(_TABLE) as f:
        return json.load(f)


def _lacks(what):
    return (f"CuPy {table()['cupy_version']} has no {what}, so this fails on a GPU "
            f"(the strict backend follows CuPy's API as recorded in minigan/testing/cupy_api.json)")


def check_keywords(where, keywords, kwargs):
    """TypeError if ``kwargs`` holds a keyword that CuPy's ``where`` does not accept."""
    if keywords is None or not kwargs:
        return
    unknown = sorted(set(kwargs).difference(keywords))
    if unknown:
        raise TypeError(f"{where}() got keyword argument(s) {', '.join(map(repr, unknown))}: "
                        + _lacks(f"such keyword (it accepts {', '.join(keywords) or 'none'})"))


def module_member(path, name):
    """How CuPy's module ``path`` (e.g. "cupy.linalg") offers ``name``: "functions", "ufuncs",
    "submodules" or "other" (classes, dtypes, constants). AttributeError if it does not."""
    entry = table()["modules"][path]
    for kind in ("functions", "ufuncs", "submodules", "other"):
        if name in entry[kind]:
            if kind == "submodules" and f"{path}.{name}" not in table()["modules"]:
                raise AttributeError(f"{path}.{name}: the strict backend does not emulate this "
                                     f"CuPy module (add it to tools/make_cupy_api_table.py)")
            return kind
    raise AttributeError(f"{path}.{name}: " + _lacks(f"function or attribute {path}.{name}"))


def function_keywords(path, name):
    entry = table()["modules"][path]
    return entry["functions"].get(name, entry["ufuncs"].get(name))


def ufunc_method_keywords(name, method):
    """Keywords of ``cupy.<name>.<method>`` (reduce, accumulate, outer, at...)."""
    if method == "__call__":
        return function_keywords("cupy", name)
    if name not in table()["modules"]["cupy"]["ufuncs"] or method not in table()["ufunc_methods"]:
        raise TypeError(f"cupy.{name}.{method}: " + _lacks(f"ufunc method {name}.{method}"))
    return table()["ufunc_methods"][method]


def array_function_target(func):
    """Where CuPy's ``__array_function__`` sends ``numpy.f(cupy_array)``: the module path and
    name of ``cupy.f``. CuPy looks ``f.__name__`` up in the cupy module that mirrors
    ``f.__module__`` and declines (numpy then raises TypeError) when it is missing or is
    NumPy's own function re-exported."""
    path = "cupy" + "".join("." + part for part in func.__module__.split(".")[1:])
    entry = table()["modules"].get(path)
    name = func.__name__
    if entry is None or name in entry["numpy_aliases"] or \
            (name not in entry["functions"] and name not in entry["ufuncs"]):
        raise TypeError(f"no implementation found for '{func.__module__}.{name}' on device "
                        f"arrays: CuPy's __array_function__ finds no {path}.{name} to dispatch "
                        f"to; " + _lacks(f"{path}.{name}"))
    return path, name


def ndarray_member(name):
    """("method", keywords) or ("attribute", None) for ``cupy.ndarray.<name>``; AttributeError if
    CuPy's ndarray lacks it."""
    entry = table()["ndarray"]
    if name in entry["methods"]:
        return "method", entry["methods"][name]
    if name in entry["attributes"]:
        return "attribute", None
    raise AttributeError(f"cupy.ndarray.{name}: " + _lacks(f"ndarray attribute or method {name!r}"))


def random_method_keywords(cls, name):
    """Keywords of ``cupy.random.<cls>.<name>`` (cls: "Generator" or "RandomState")."""
    methods = table()["random"][cls]["methods"]
    if name not in methods:
        raise AttributeError(f"cupy.random.{cls}.{name}: " + _lacks(f"{cls} method {name!r}"))
    return methods[name]
