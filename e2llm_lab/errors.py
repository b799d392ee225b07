"""Reading back the files the toolkit writes (checkpoints, configs, model folders): failures in the toolkit's words.

A file cut short by a full disk or an interrupted copy, or edited by hand, must end in one sentence that names the
file and what to do, not in a ``json.JSONDecodeError`` or ``SafetensorError`` traceback from deep inside a loader.
Every checkpoint loader reads through :func:`read_json` and :func:`read_safetensors`, which raise
:class:`CheckpointError` (a ``ValueError``, so the CLI prints it as one line and exits with status 2).

This module imports nothing heavy: the CLI and ``import e2llm_lab`` stay fast.
"""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["CheckpointError", "damaged", "find_damaged", "read_json", "read_safetensors", "unreadable"]


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read back: truncated, corrupt, or not what its name says.

    The message names the file, what is wrong with it, and what to do (re-save, re-train or re-copy it).
    """


def damaged(path, err: BaseException | str, fix: str) -> CheckpointError:
    """The :class:`CheckpointError` for ``path``: ``"<path> is damaged (<why>); <fix>"``."""
    why = " ".join(str(err).split()) or type(err).__name__
    why = why if len(why) <= 240 else why[:237] + "..."
    return CheckpointError(f"{path} is damaged or incomplete ({why}); {fix}")


def unreadable() -> tuple[type[BaseException], ...]:
    """The exception types a damaged JSON or safetensors file raises in the libraries that read it.

    For loaders the toolkit does not own (peft's adapter, transformers' model folder): catch these around the call
    and re-raise with :func:`damaged`. safetensors has its own ``SafetensorError``, a plain ``Exception``.
    """
    import safetensors

    return getattr(safetensors, "SafetensorError", ValueError), OSError, ValueError, EOFError


def read_json(path, *, fix: str) -> dict:
    """Read a JSON object from ``path``.

    Parameters
    ----------
    path : path
        A JSON file the toolkit wrote (a config, a meta table, signatures).
    fix : str
        What the user should do when the file is damaged, e.g. ``"re-save the model with E2LLM.save_pretrained"``.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    CheckpointError
        When it is not UTF-8 JSON holding an object (truncated, corrupt, or another kind of file).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as err:
        raise damaged(path, err, fix) from err
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise damaged(path, f"not valid JSON: {err}" if text.strip() else "empty file", fix) from err
    if not isinstance(value, dict):
        raise damaged(path, f"expected a JSON object, found {type(value).__name__}", fix)
    return value


def read_safetensors(path, *, fix: str, device: str = "cpu") -> dict:
    """Load a safetensors file into a ``{name: torch.Tensor}`` dict, on ``device``.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    CheckpointError
        When the file is not a readable safetensors file (a truncated download or copy, another format).
    """
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; {fix}")
    try:
        return load_file(str(path), device=str(device))
    except FileNotFoundError:
        raise
    except unreadable() as err:
        raise damaged(path, err, fix) from err


def find_damaged(folder) -> Path | None:
    """The first file of a model folder that cannot be read back, or None when every file reads.

    Checks what a loader outside the toolkit (transformers, tokenizers) would choke on, file by file: every
    ``*.json`` must parse and every ``*.safetensors`` header must read. Used to name the culprit after such a
    loader failed with a message that does not.
    """
    from safetensors import safe_open

    for path in sorted(Path(folder).iterdir()):
        try:
            if path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            elif path.suffix == ".safetensors":
                with safe_open(str(path), framework="pt") as f:
                    f.keys()
        except unreadable():
            return path
    return None
