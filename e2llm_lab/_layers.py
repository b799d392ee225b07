"""The package's layers, bottom to top: a module imports only from its own layer and the layers below it.

``tests/test_layers.py`` reads every import of every module (those inside functions too) and fails on one that
runs up this list, and on any circle between modules. The root ``__init__`` imports lazily (PEP 562) and sits
outside the list: it is the facade, not a layer.
"""
from __future__ import annotations

__all__ = ["LAYERS", "layer_of"]

#: (layer name, the modules or subpackages it holds, relative to ``e2llm_lab``), bottom first.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("config", "labels", "emotions", "channels", "errors", "_version", "_atomic", "_threads", "_device",
              "_html", "_metrics", "_lazy", "_compat", "_layers")),
    ("data", ("data",)),
    ("text", ("text",)),
    ("models", ("models",)),
    ("training", ("training",)),
    ("evaluate/interpret", ("evaluate", "interpret")),
    ("apps", ("apps",)),
)


def layer_of(module: str) -> int | None:
    """The layer index of ``e2llm_lab.<module path>`` (0 = base), or None for the package root."""
    parts = module.split(".")
    if parts[0] != "e2llm_lab" or len(parts) == 1:
        return None
    for i, (_, members) in enumerate(LAYERS):
        if parts[1] in members:
            return i
    raise KeyError(f"{module} belongs to no layer of e2llm_lab._layers.LAYERS; add it to one")
