"""The docs cannot rot: every ```python block in README.md and docs/ runs here, and every
``docs/...`` link in the code and the docs points at a file that exists.

A block whose first line is ``# slow`` (a real training run) runs only with
``MINIGAN_DOCS_SLOW=1`` or the deep hypothesis profile.
"""
import inspect
import os
import pathlib
import re

import pytest

import minigan
from minigan.autograd import Function

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
RUN_SLOW = os.environ.get("MINIGAN_DOCS_SLOW") == "1" or os.environ.get("HYPOTHESIS_PROFILE") == "deep"


def code_blocks(text):
    return [m.group(1) for m in BLOCK.finditer(text)]


def run_block(code, name):
    exec(compile(code, name, "exec"), {"__name__": "__docs__"})


BLOCKS = [pytest.param(page, i, code, id=f"{page.name}-{i}")
          for page in PAGES if page.exists()
          for i, code in enumerate(code_blocks(page.read_text()))]


@pytest.mark.parametrize("page, index, code", BLOCKS)
def test_doc_code_block_runs(page, index, code, tmp_path, monkeypatch):
    if code.lstrip().startswith("# slow") and not RUN_SLOW:
        pytest.skip("slow doc block: set MINIGAN_DOCS_SLOW=1")
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    monkeypatch.syspath_prepend(str(ROOT))  # so blocks can import examples/ helpers
    run_block(code, f"{page.name}[{index}]")


def test_a_broken_block_fails():
    page = "Text.\n\n```python\nimport minigan\nminigan.tensor([1.0]).no_such_method()\n```\n"
    (code,) = code_blocks(page)
    with pytest.raises(AttributeError):
        run_block(code, "broken")


LINK = re.compile(r"docs/([\w./-]+?\.(?:md|png|gif|svg))")


def test_every_docs_link_resolves():
    sources = list((ROOT / "minigan").rglob("*.py")) + list((ROOT / "examples").rglob("*.py")) + PAGES
    broken = []
    for path in sources:
        for target in LINK.findall(path.read_text()):
            if not (ROOT / "docs" / target).exists():
                broken.append(f"{path.relative_to(ROOT)} -> docs/{target}")
    for page in PAGES:  # relative links between pages: [text](06_gradcheck.md)
        for target in re.findall(r"\]\(([^)#:]+\.(?:md|png|gif|py))\)", page.read_text()):
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken


def _functions():
    seen = {}
    stack = list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("minigan."):
            seen[cls.__qualname__ + cls.__module__] = cls
    return sorted(seen.values(), key=lambda c: c.__module__ + c.__name__)


def test_every_op_links_to_its_derivation():
    import minigan.ops  # noqa: F401  (all ops registered)
    missing = []
    for cls in _functions():
        module = inspect.getmodule(cls)
        text = (cls.__doc__ or "") + (module.__doc__ or "")
        if "docs/" not in text or not cls.__doc__:
            missing.append(f"{cls.__module__}.{cls.__name__}")
    assert not missing, f"ops without a math docstring and a docs/ link: {missing}"
