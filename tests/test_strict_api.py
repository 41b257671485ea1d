"""The strict backend keeps to CuPy's real API (minigan/testing/cupy_api.json, made from CuPy).

Each refusal below is something NumPy allows and CuPy does not; the strict backend must refuse
it the way CuPy would, or code that only breaks on a GPU would pass CI.
"""
import ast
import json
import pathlib
import re

import numpy as np
import pytest

from minigan.testing import cupy_api
from minigan.testing.strict import StrictArray, xp

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "make_cupy_api_table.py"
LACKS = r"CuPy \d+\.\d+\S* has no"


# ------------------------------------------------------------------ the table itself
def _script_constant(name):
    """A list constant of the generator script, read without importing it (it needs CuPy)."""
    for node in ast.parse(SCRIPT.read_text()).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {SCRIPT}")


def test_table_records_cupy_version_and_the_script_that_made_it():
    table = cupy_api.table()
    assert table["generated_by"] == "tools/make_cupy_api_table.py" == _script_constant("SCRIPT")
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", table["cupy_version"])
    assert table["format"] == 1


def test_table_has_the_scripts_format():
    table = cupy_api.table()
    assert list(table["modules"]) == _script_constant("MODULES")
    assert list(table["ufunc_methods"]) == _script_constant("UFUNC_METHODS")
    keyword_maps = [table["ufunc_methods"], table["ndarray"]["methods"],
                    table["random"]["Generator"]["methods"], table["random"]["RandomState"]["methods"]]
    for path, entry in table["modules"].items():
        assert set(entry) == {"functions", "ufuncs", "numpy_aliases", "submodules", "other"}, path
        keyword_maps += [entry["functions"], entry["ufuncs"]]
        assert set(entry["numpy_aliases"]) <= set(entry["functions"]), path
    for keywords in (k for m in keyword_maps for k in m.values()):
        assert keywords is None or keywords == sorted(keywords) and all(map(str.isidentifier, keywords))
    # The script writes one callable per line, so a CuPy upgrade reads as a short diff.
    text = (ROOT / "minigan" / "testing" / "cupy_api.json").read_text()
    assert '    "sum": ["a", "axis", "dtype", "keepdims", "out"],\n' in text


def test_table_matches_the_installed_cupy_when_there_is_one():
    cupy = pytest.importorskip("cupy")
    if cupy.__version__ != cupy_api.table()["cupy_version"]:
        pytest.skip("the table was made from another CuPy version")
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_cupy_api_table", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    fresh = json.loads(script.dump(script.build()))
    assert fresh["modules"] == cupy_api.table()["modules"]


def _resolve(dotted):
    """Check that ``xp.<dotted>`` exists in CuPy according to the table."""
    path, parts = "cupy", dotted.split(".")
    for i, name in enumerate(parts):
        kind = cupy_api.module_member(path, name)
        if kind == "submodules":
            path = f"{path}.{name}"
            continue
        rest = parts[i + 1:]
        if kind == "ufuncs" and rest:
            cupy_api.ufunc_method_keywords(name, rest[0])
        elif rest:  # e.g. xp.float32(...) has no attributes that we check
            assert kind == "other", dotted
        return


# xp.f, or the array module used in place: get_array_module(x).f, xp_for(device).f
ARRAY_MODULE_CALL = r"(?:\bxp|get_array_module\([^()]*\)|xp_for\([^()]*\))\.([A-Za-z_][\w.]*\w)"


def test_every_array_function_minigan_calls_exists_in_cupy():
    used = set()
    for source in (ROOT / "minigan").rglob("*.py"):
        if source.parent.name != "testing":
            used |= set(re.findall(ARRAY_MODULE_CALL, source.read_text()))
    assert {"einsum", "lib.stride_tricks.as_strided", "empty_like", "arange"} <= used  # the grep works
    for dotted in sorted(used):
        _resolve(dotted)  # raises, naming the function, if CuPy lacks it


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize("name", ["block", "insert", "nanquantile", "einsum_path"])
def test_functions_cupy_lacks_are_refused(name):
    assert hasattr(np, name)
    with pytest.raises(AttributeError, match=rf"cupy\.{name}: {LACKS}"):
        getattr(xp, name)


def test_submodule_functions_cupy_lacks_are_refused():
    with pytest.raises(AttributeError, match=rf"cupy\.linalg\.multi_dot: {LACKS}"):
        xp.linalg.multi_dot


@pytest.mark.parametrize("call, keyword", [
    (lambda a: xp.sum(a, where=a > 0), "where"),
    (lambda a: a.max(initial=0.0), "initial"),
    (lambda a: xp.multiply(a, a, where=a > 0), "where"),
    (lambda a: xp.lib.stride_tricks.as_strided(a, (2, 2), (8, 8), writeable=False), "writeable"),
    (lambda a: xp.add.reduce(a, initial=0.0), "initial"),
    (lambda a: a.sum(where=a > 0), "where"),
    (lambda a: xp.exp(a, order="K"), "order"),
])
def test_keywords_cupy_lacks_are_refused(call, keyword):
    a = xp.ones((2, 3))
    with pytest.raises(TypeError, match=rf"got keyword argument\(s\) '{keyword}': {LACKS}"):
        call(a)


def test_keywords_cupy_accepts_pass():
    a = xp.ones((2, 3))
    assert float(xp.sum(a, axis=1, keepdims=True).sum()) == 6.0
    xp.multiply(a, 2.0, out=a)
    assert float(a.max(axis=None)) == 2.0
    assert xp.lib.stride_tricks.as_strided(a, shape=(2, 2), strides=(8, 8)).shape == (2, 2)


def test_numpy_functions_on_device_arrays_follow_cupys_array_function():
    a = xp.ones((2, 3))
    # CuPy dispatches numpy.f(cupy_array) to cupy.f when it exists...
    assert isinstance(np.sum(a), StrictArray) and isinstance(np.linalg.norm(a), StrictArray)
    # ...with cupy.f's keywords...
    with pytest.raises(TypeError, match=rf"'where': {LACKS}"):
        np.sum(a, where=a > 0)
    # ...and numpy raises TypeError when cupy.f is missing.
    for func in (lambda: np.nanquantile(a, 0.5), lambda: np.block([a, a]),
                 lambda: np.einsum_path("ij->i", a)):
        with pytest.raises(TypeError, match=r"CuPy's __array_function__ finds no cupy\."):
            func()


def test_numpy_ufuncs_on_device_arrays_take_cupys_keywords():
    a = xp.ones(3)
    assert isinstance(np.add(a, a), StrictArray)
    with pytest.raises(TypeError, match=r"cupy\.add\(\) got keyword argument\(s\) 'where'"):
        np.add(a, a, where=a > 0)


def test_host_buffers_of_device_arrays_are_refused():
    a = xp.ones(3)
    with pytest.raises(TypeError, match="device pointer"):
        a.data  # noqa: B018 (on CuPy: a MemoryPointer, not the values)
    with pytest.raises(TypeError, match="device pointer"):
        getattr(a, "data", a)  # the Tensor-or-array idiom must not silently pass
    with pytest.raises(AttributeError, match=rf"cupy\.ndarray\.ctypes: {LACKS}"):
        a.ctypes  # noqa: B018
    with pytest.raises(TypeError):
        memoryview(a)
    with pytest.raises(TypeError):
        np.frombuffer(a)


@pytest.mark.parametrize("make", [lambda: xp.asarray(np.array(["cat", "dog"])),
                                  lambda: xp.zeros(2, dtype=object),
                                  lambda: xp.ones(2).astype("U8"),
                                  lambda: xp.asarray(np.array(["2024-01-01"], dtype="M8[D]"))])
def test_string_object_and_datetime_dtypes_are_refused(make):
    with pytest.raises(TypeError, match="CuPy has only boolean and numeric dtypes"):
        make()


@pytest.mark.parametrize("compute", [
    lambda xp, a: a * 2.0,
    lambda xp, a: xp.exp(a),
    lambda xp, a: xp.maximum(a, 0.0),
    lambda xp, a: xp.where(a, a, 0.0),
    lambda xp, a: xp.clip(a, 0.0, 1.0),
    lambda xp, a: a.sum(axis=1),
    lambda xp, a: xp.sum(a, axis=1),
    lambda xp, a: xp.add.reduce(a, axis=1),
])
def test_kernel_results_are_c_contiguous_as_on_cupy(compute):
    host = np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1)  # a non-contiguous layout
    numpy_result = compute(np, host)
    assert not numpy_result.flags.c_contiguous  # NumPy keeps the inputs' layout here...
    strict_result = compute(xp, xp.asarray(host))
    assert strict_result.flags.c_contiguous  # ...CuPy's kernels write C order
    np.testing.assert_array_equal(strict_result.get(), numpy_result)


def test_random_generators_offer_only_cupys_methods():
    rng = xp.random.default_rng(0)
    draw = rng.standard_normal((2, 3), dtype=np.float32)
    assert isinstance(draw, StrictArray) and draw.dtype == np.float32
    assert isinstance(rng.random(4), StrictArray) and isinstance(rng.integers(0, 5, size=3), StrictArray)
    for method in ("normal", "permutation", "choice", "shuffle", "bit_generator"):
        with pytest.raises(AttributeError, match=rf"cupy\.random\.Generator\.{method}: {LACKS}"):
            getattr(rng, method)
    with pytest.raises(TypeError, match=r"got keyword argument\(s\) 'loc'"):
        rng.standard_normal(3, loc=1.0)
    state = xp.random.RandomState(0)
    assert isinstance(state.normal(size=2), StrictArray)
    with pytest.raises(AttributeError, match=rf"cupy\.random\.RandomState\.random: {LACKS}"):
        state.random  # noqa: B018
    with pytest.raises(AttributeError, match=rf"cupy\.random\.SFC64: {LACKS}"):
        xp.random.SFC64
