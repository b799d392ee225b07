"""Old module paths, kept for users' code: each warns once (``DeprecationWarning``) and forwards to the real home.

Before the package was arranged in layers, every module sat at the top (``e2llm_lab.model``, ``e2llm_lab.llm``,
``e2llm_lab.train``, ...) and a few re-exported others (``e2llm_lab.preprocess``, ``e2llm_lab.instructions``).
``import e2llm_lab.model`` and ``from e2llm_lab.llm import load_llm`` keep working through a finder on
``sys.meta_path`` that answers only for the names in :data:`MOVED`: the module it gives forwards every attribute to
the new home. The package itself never imports an old path (``tests/test_layers.py`` says so); like transformers'
deprecations, these go in a later release.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

__all__ = ["MOVED", "install"]

#: Old module (under ``e2llm_lab.``) -> its home now; a tuple gathers the names of several homes.
MOVED: dict[str, str | tuple[str, ...]] = {
    "encoder": "models.encoder", "projector": "models.projector", "llm": "models.llm",
    "processor": "models.processor", "model": "models.model",
    "pretrain": "training.pretrain", "train": "training.train", "pipeline": "training.pipeline",
    "heldout": "data.splits", "checkpoint": "training.checkpoint",
    "cli": "apps.cli", "quickstart": "apps.quickstart", "reference": "apps.reference", "build": "apps.build",
    "colab": "apps.colab", "report": "_html",
    "instructions": "text.instructions", "rationales": "text.rationales", "answers": "text.answers",
    "knowledge": "text.knowledge",
    "preprocess": ("data.filtering", "data.de", "data.recordings", "data.featureset", "data.errors"),
}
_PREFIX = "e2llm_lab."


def _caller_stacklevel() -> int:
    """The stack level of the first frame outside the import system and this module (where the import was
    written), so the warning names the user's line."""
    frame, level = sys._getframe(1), 1
    while frame is not None and (frame.f_code.co_filename.startswith("<frozen importlib")
                                 or frame.f_code.co_filename == __file__):
        # warnings.warn itself steps over the import system's frames: count only the others
        level += not frame.f_code.co_filename.startswith("<frozen importlib")
        frame = frame.f_back
    return level


def _homes(old: str) -> tuple[str, ...]:
    new = MOVED[old]
    return (new,) if isinstance(new, str) else new


def moved_module(old: str) -> types.ModuleType:
    """The forwarding module of old name ``old`` (a key of :data:`MOVED`), with its one warning."""
    name = _PREFIX + old
    if name in sys.modules:
        return sys.modules[name]
    homes = [importlib.import_module(_PREFIX + h) for h in _homes(old)]
    where = " and ".join(_PREFIX + h for h in _homes(old))
    warnings.warn(f"{name} moved to {where}; import from there ({name} will be removed)", DeprecationWarning,
                  stacklevel=_caller_stacklevel())
    module = types.ModuleType(name, f"Moved to {where}.")

    def __getattr__(attr):
        for home in homes:
            if hasattr(home, attr):
                return getattr(home, attr)
        raise AttributeError(f"module {name!r} (moved to {where}) has no attribute {attr!r}")

    module.__getattr__ = __getattr__
    module.__all__ = [a for home in homes for a in getattr(home, "__all__", ())]
    sys.modules[name] = module
    return module


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds only the old paths of :data:`MOVED`; everything else is left to the normal finders."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(_PREFIX) and fullname[len(_PREFIX):] in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return moved_module(spec.name[len(_PREFIX):])

    def exec_module(self, module):
        pass


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
