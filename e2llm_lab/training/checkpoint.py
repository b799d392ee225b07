"""Training-state checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint folder holds ``state.safetensors`` (model weights, optimizer moments, any extra tensors) and
``state.json`` (optimizer hyper-parameters and step counts, epoch, history, ...). The folder is written
beside the old one and swapped in, so an interrupted save never leaves a half-written checkpoint; a folder damaged
afterwards (a broken copy, a full disk elsewhere) is reported as a :class:`~e2llm_lab.errors.CheckpointError`.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..errors import damaged, read_json, read_safetensors

__all__ = ["save_training_state", "load_training_state"]


def _flatten_optimizer(opt_state: dict) -> tuple[dict, dict]:
    tensors, scalars = {}, {}
    for pid, st in opt_state["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v) and v.ndim > 0:
                tensors[f"optim.{pid}.{k}"] = v.detach().contiguous().cpu()
            else:
                scalars[f"{pid}.{k}"] = float(v.item() if torch.is_tensor(v) else v)
    return tensors, {"param_groups": opt_state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict, meta: dict) -> dict:
    state: dict = {}
    for name, v in tensors.items():
        if name.startswith("optim."):
            _, pid, k = name.split(".", 2)
            state.setdefault(int(pid), {})[k] = v
    for key, v in meta["scalars"].items():
        pid, k = key.split(".", 1)
        state.setdefault(int(pid), {})[k] = torch.tensor(v)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_training_state(folder, *, tensors: dict[str, dict[str, torch.Tensor]], optimizer=None,
                        meta: dict | None = None) -> Path:
    """Save named groups of tensors (e.g. ``{"model": state_dict, "best": state_dict}``), optimizer and JSON meta.

    Parameters
    ----------
    folder : path
    tensors : dict of str -> state dict
    optimizer : torch.optim.Optimizer, optional
    meta : dict
        JSON-serialisable (epoch, history rows, configs).
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    flat = {f"{group}.{k}": v.detach().contiguous().cpu() for group, sd in tensors.items() for k, v in sd.items()}
    opt_meta = None
    if optimizer is not None:
        opt_tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
        flat.update(opt_tensors)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        save_file(flat, str(tmp / "state.safetensors"))
        (tmp / "state.json").write_text(json.dumps({"meta": meta or {}, "optimizer": opt_meta,
                                                    "groups": sorted(tensors)}, indent=1))
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load_training_state(folder, *, device: str = "cpu") -> tuple[dict, dict | None, dict]:
    """Load what :func:`save_training_state` wrote.

    Returns
    -------
    tensors : dict of group -> state dict
    optimizer_state : dict or None
        Ready for ``optimizer.load_state_dict``.
    meta : dict
    """
    folder = Path(folder)
    if not (folder / "state.json").exists():
        raise FileNotFoundError(f"no training checkpoint in {folder} (expected state.json and state.safetensors)")
    fix = f"delete {folder} and run the stage again without resume=True"
    info = read_json(folder / "state.json", fix=fix)
    flat = read_safetensors(folder / "state.safetensors", fix=fix, device=device)
    try:
        groups = {g: {k[len(g) + 1:]: v for k, v in flat.items() if k.startswith(g + ".")} for g in info["groups"]}
        opt = _unflatten_optimizer(flat, info["optimizer"]) if info["optimizer"] is not None else None
        return groups, opt, info["meta"]
    except (KeyError, TypeError, ValueError, AttributeError) as err:      # a field missing or of the wrong kind
        raise damaged(folder / "state.json", f"{type(err).__name__}: {err}", fix) from err
