"""Imports run one way: base modules < ``data/`` < ``preprocess`` < everything else.

Every ``import`` and ``from ... import`` of a module is read with ``ast`` (those inside functions included, relative
ones resolved), so a reader cannot dodge a cycle by importing ``..preprocess`` inside a function.
"""
import ast
from pathlib import Path

import pytest

import e2llm_lab

PACKAGE = Path(e2llm_lab.__file__).parent
#: The modules below the data layer: they import nothing of the package but each other.
BASE = frozenset(f"e2llm_lab.{m}" for m in ("config", "channels", "labels", "emotions", "errors", "_atomic",
                                             "_threads", "_device"))
DATA = "e2llm_lab.data"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """``(line, imported module)`` of every import statement in ``source``, at any depth, relative ones resolved.

    ``from X import name`` counts as ``X.name`` when ``X`` is this package or a package of it (``name`` may be a
    submodule: ``from .. import preprocess``), else as ``X``.
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
            if target == "e2llm_lab" or (target.startswith("e2llm_lab.") and _is_package(target)):
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))                  # importlib.import_module("e2llm_lab.x")
    return found


def _is_package(dotted: str) -> bool:
    return (PACKAGE.parent / Path(*dotted.split(".")) / "__init__.py").is_file()


def _allowed(target: str, allowed: frozenset, prefixes: tuple) -> bool:
    if target != "e2llm_lab" and not target.startswith("e2llm_lab."):
        return True                                                          # numpy, mne, the standard library
    return target in allowed or any(target == p or target.startswith(p + ".") for p in prefixes)


def violations(path: Path, allowed: frozenset, prefixes: tuple = (), source: str | None = None) -> list[str]:
    """``"<module>:<line> imports <target>"`` for each import of ``path`` that reaches above its layer."""
    module = _module_name(path)
    text = path.read_text(encoding="utf-8") if source is None else source
    return [f"{module}:{line} imports {target}"
            for line, target in imports_of(text, module, is_package=path.name == "__init__.py")
            if not _allowed(target, allowed, prefixes)]


DATA_FILES = sorted((PACKAGE / "data").glob("*.py"))


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_data_imports_only_base_modules_and_itself(path):
    bad = violations(path, BASE, (DATA,))
    assert not bad, (f"the data layer imports above itself: {bad}. data/ may import only {sorted(BASE)} and "
                     f"{DATA}.*; move what it needs into data/ (or a base module)")


@pytest.mark.parametrize("name", sorted(m.removeprefix("e2llm_lab.") for m in BASE))
def test_base_modules_import_only_each_other(name):
    bad = violations(PACKAGE / f"{name}.py", BASE)
    assert not bad, f"a base module imports above the base layer: {bad}"


def test_preprocess_sits_on_the_data_layer():
    bad = violations(PACKAGE / "preprocess.py", BASE, (DATA,))
    assert not bad, f"e2llm_lab.preprocess imports above the data layer: {bad}"


def test_the_checker_catches_an_upward_import_even_inside_a_function():
    path = PACKAGE / "data" / "seed.py"
    source = '''
from ..config import DataConfig
from . import featureset
from .errors import EEGDataError
import numpy as np

def read(root):
    from ..preprocess import featureset_from_recordings
    from .. import model
    import e2llm_lab.train
    from e2llm_lab import E2LLM
    importlib.import_module("e2llm_lab.llm")
    return featureset_from_recordings
'''
    assert violations(path, BASE, (DATA,), source=source) == [
        "e2llm_lab.data.seed:8 imports e2llm_lab.preprocess",
        "e2llm_lab.data.seed:9 imports e2llm_lab.model",
        "e2llm_lab.data.seed:10 imports e2llm_lab.train",
        "e2llm_lab.data.seed:11 imports e2llm_lab.E2LLM",
        "e2llm_lab.data.seed:12 imports e2llm_lab.llm",
    ]
    init = PACKAGE / "data" / "__init__.py"                         # in a package's __init__, "." is the package
    assert violations(init, BASE, (DATA,), source="from .seed import read_seed\nfrom ..train import x\n") == [
        "e2llm_lab.data:2 imports e2llm_lab.train"]

