"""Imports run one way, down the package's declared layers (:data:`e2llm_lab._layers.LAYERS`), and never in a circle.

Every ``import`` and ``from ... import`` of every module is read with ``ast`` (those inside functions included,
relative ones resolved), so a module cannot dodge a layer or a cycle by importing inside a function.
"""
import ast
from pathlib import Path

import pytest

import e2llm_lab
from e2llm_lab._layers import LAYERS, layer_of

PACKAGE = Path(e2llm_lab.__file__).parent
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(dotted: str) -> bool:
    return (PACKAGE.parent / Path(*dotted.split(".")) / "__init__.py").is_file()


def _is_module(dotted: str) -> bool:
    return _is_package(dotted) or (PACKAGE.parent / Path(*dotted.split("."))).with_suffix(".py").is_file()


def imports_of(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """``(line, imported module)`` of every import statement in ``source``, at any depth, relative ones resolved.

    ``from X import name`` counts as ``X.name`` when that is a module of this package (``from .. import text``),
    else as ``X``.
    """
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((node.lineno, sub if target.startswith("e2llm_lab") and _is_module(sub) else target))
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))                  # importlib.import_module("e2llm_lab.x")
    return sorted(found)


def _ours(target: str) -> bool:
    return target == "e2llm_lab" or target.startswith("e2llm_lab.")


def upward_imports(path: Path, source: str | None = None) -> list[str]:
    """``"<module>:<line> imports <target> (<layer> above <layer>)"`` for each import of ``path`` above its layer."""
    module = _module_name(path)
    mine = layer_of(module)
    if mine is None:                                   # the root facade: lazy, above every layer
        return []
    text = path.read_text(encoding="utf-8") if source is None else source
    bad = []
    for line, target in imports_of(text, module, is_package=path.name == "__init__.py"):
        if not _ours(target):
            continue
        theirs = layer_of(target)
        if theirs is None or theirs > mine:
            above = "the package root" if theirs is None else LAYERS[theirs][0]
            bad.append(f"{module}:{line} imports {target} ({above} is above {LAYERS[mine][0]})")
    return bad


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_every_module_imports_only_its_own_layer_and_below(path):
    bad = upward_imports(path)
    assert not bad, f"imports run up the layers: {bad}; move the name down to where it belongs, or the importer up"


def test_every_module_belongs_to_a_layer():
    for path in MODULES:
        layer_of(_module_name(path))                   # raises KeyError naming the module


def _graph() -> dict[str, set[str]]:
    graph = {}
    names = {_module_name(p) for p in MODULES}
    for path in MODULES:
        module = _module_name(path)
        targets = {t for _, t in imports_of(path.read_text(encoding="utf-8"), module,
                                             is_package=path.name == "__init__.py")}
        graph[module] = {t if t in names else t.rpartition(".")[0] for t in targets if _ours(t)} - {module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports ``[a, b, ..., a]``, or None (depth-first search, every edge counted)."""
    state, stack = {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_circle_of_imports_between_modules():
    graph = _graph()
    graph.pop("e2llm_lab", None)                       # the lazy root imports nothing at import time but _compat
    cycle = find_cycle(graph)
    assert cycle is None, f"a circle of imports: {' -> '.join(cycle)}"


def test_no_package_module_imports_an_old_path():
    from e2llm_lab._compat import MOVED

    old = {f"e2llm_lab.{m}" for m in MOVED}
    bad = [f"{_module_name(p)}:{line} imports {t}" for p in MODULES
           for line, t in imports_of(p.read_text(encoding="utf-8"), _module_name(p), is_package=p.name == "__init__.py")
           if t in old or any(t.startswith(o + ".") for o in old)]
    assert not bad, f"the package imports a deprecated path: {bad}"


def test_the_checker_catches_an_upward_import_even_inside_a_function():
    path = PACKAGE / "data" / "featureset.py"
    source = '''
from ..config import DataConfig
from . import errors
import numpy as np

def read(root):
    from ..models import model
    import e2llm_lab.training.train
    from e2llm_lab import E2LLM
    importlib.import_module("e2llm_lab.models.llm")
    from ..text.answers import parse_answer
    return errors
'''
    assert upward_imports(path, source) == [
        "e2llm_lab.data.featureset:7 imports e2llm_lab.models.model (models is above data)",
        "e2llm_lab.data.featureset:8 imports e2llm_lab.training.train (training is above data)",
        "e2llm_lab.data.featureset:9 imports e2llm_lab (the package root is above data)",
        "e2llm_lab.data.featureset:10 imports e2llm_lab.models.llm (models is above data)",
        "e2llm_lab.data.featureset:11 imports e2llm_lab.text.answers (text is above data)",
    ]
    init = PACKAGE / "data" / "__init__.py"                         # in a package's __init__, "." is the package
    assert upward_imports(init, "from .seed import read_seed\nfrom ..training import train\n") == [
        "e2llm_lab.data:2 imports e2llm_lab.training.train (training is above data)"]


def test_the_cycle_finder_finds_a_circle_and_only_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
