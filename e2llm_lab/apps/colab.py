"""One setup path for every notebook, on Colab and locally.

Each notebook starts with the same two cells:

1. :data:`SETUP_CELL` installs the toolkit when it is not importable, from (in this order) the repository URL
   (:data:`REPOSITORY_URL`, overridable by the ``E2LLM_LAB_URL`` environment variable), a wheel the student
   uploaded (``e2llm_lab-*.whl`` in the working folder or Drive's ``MyDrive``), or a source folder
   (``e2llm_lab*/`` with its ``pyproject.toml``, e.g. GitHub's ``e2llm_lab-main`` zip unpacked, there or on Drive).
   When none works it says in one sentence what to
   do; it never ends in a bare ``CalledProcessError``. It uses the standard library only, since it runs before the
   toolkit exists.
2. ``cfg, LLM, FAST = e2llm_lab.setup_notebook()`` picks device, model, preset, fast mode and seeds, prints one
   line saying what it chose, and first restarts the Colab runtime if installing replaced a package the runtime
   had already imported (numpy is the usual one).

``tests/test_colab.py`` checks that every notebook's first cell is :data:`SETUP_CELL`, and runs it against a
local wheel and a local folder without network.
"""
from __future__ import annotations

import importlib.metadata
import os
import random
import sys
from typing import NamedTuple

__all__ = ["REPOSITORY_URL", "SETUP_CELL", "NotebookSetup", "changed_packages", "setup_notebook", "colab_url"]

#: The repository, in one place (the README's links and the setup cell are built from it).
REPOSITORY_URL = "https://github.com/e2llm-lab/e2llm_lab"

#: The first cell of every notebook. Keep it standard-library only: it runs before e2llm_lab is installed.
SETUP_CELL = f'''# Setup (Colab or local): install e2llm_lab if missing -- from E2LLM_LAB_URL, else an uploaded wheel or folder
import glob, importlib, importlib.util, os, subprocess, sys
URL = os.environ.get("E2LLM_LAB_URL", "git+{REPOSITORY_URL}.git")  # the repository
if getattr(importlib.util.find_spec("e2llm_lab"), "origin", None) is None:  # (a bare folder of that name is no install)
    places = [".", "/content/drive/MyDrive"]                                  # here, or Drive once it is mounted
    wheels = sorted((w for d in places for w in glob.glob(f"{{d}}/e2llm_lab-*.whl")), reverse=True)
    folders = [os.path.dirname(p) for d in places for p in sorted(glob.glob(f"{{d}}/e2llm_lab*/pyproject.toml"))]
    for source in [s for s in [URL] + wheels + folders if s]:
        pip = [sys.executable, "-m", "pip", "install", "-q", source] + os.environ.get("E2LLM_LAB_PIP_ARGS", "").split()
        done = subprocess.run(pip, capture_output=True, text=True, env={{**os.environ, "GIT_TERMINAL_PROMPT": "0"}})
        why = (done.stderr.strip().splitlines() or [""])[-1][:160]
        print(f"installing e2llm_lab from {{source}}:", "done" if done.returncode == 0 else f"failed ({{why}})")
        if done.returncode == 0:
            break
    else:
        raise SystemExit("e2llm_lab is not installed and could not be: set E2LLM_LAB_URL to the repository URL, or "
                         "upload an e2llm_lab-*.whl next to this notebook, or run `pip install -e .` in a clone.")
    importlib.invalidate_caches()'''  # noqa: E501 - the notebooks' first cell, verbatim


class NotebookSetup(NamedTuple):
    """What :func:`setup_notebook` chose: unpack as ``cfg, LLM, FAST = setup_notebook()``."""

    cfg: object          # E2LLMConfig with device, model and seeds filled in
    llm: str | None      # hub id or folder; None = the tiny offline model
    fast: bool


def changed_packages(names=("numpy", "scipy", "pandas", "torch", "transformers", "tokenizers", "safetensors",
                            "huggingface_hub")) -> list[str]:
    """Packages imported in this process whose installed version changed since (so a restart is needed)."""
    changed = []
    for name in names:
        module = sys.modules.get(name)
        loaded = getattr(module, "__version__", None)
        if module is None or loaded is None:
            continue
        try:
            installed = importlib.metadata.version(name.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            continue
        if installed.split("+")[0] != str(loaded).split("+")[0]:
            changed.append(f"{name} {loaded} -> {installed}")
    return changed


def _on_colab() -> bool:
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def colab_url(notebook: str, branch: str = "main") -> str:
    """The "Open in Colab" address of a notebook of this repository."""
    path = REPOSITORY_URL.replace("https://github.com/", "")
    return f"https://colab.research.google.com/github/{path}/blob/{branch}/notebooks/{notebook}"


def setup_notebook(*, llm: str | None = "auto", preset: str | None = None, device: str = "auto",
                   fast: bool | None = None, seed: int = 0, verbose: bool = True) -> NotebookSetup:
    """Choose device, model, preset, fast mode and seeds for a notebook; print one line saying what was chosen.

    Parameters
    ----------
    llm : str or None
        ``"auto"``: ``$E2LLM_LAB_LLM`` if set, else ``"Qwen/Qwen3-0.6B"`` on a CUDA GPU and the tiny offline model
        elsewhere; None: the tiny model; or a hub id / folder.
    preset : str, optional
        A name of :data:`~e2llm_lab.config.PRESETS`; default ``"colab-t4"`` with a real model, ``"cpu-tiny"`` with
        the tiny one.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``; checked now.
    fast : bool, optional
        Shrink every stage (:func:`~e2llm_lab.config.fast_config`; the test suite's mode); default
        ``$E2LLM_FAST == "1"``.
    seed : int
        Seeds Python, numpy and torch, and every training stage of ``cfg``.

    Returns
    -------
    NotebookSetup
        ``(cfg, llm, fast)``.

    Raises
    ------
    SystemExit
        On Colab, after installing replaced an already-imported package: the runtime is restarted (the cell's
        output says so; run the notebook again from the top). Locally it asks you to restart the kernel.
    """
    changed = changed_packages()
    if changed:
        msg = f"installing replaced packages this runtime had already imported ({', '.join(changed)})"
        if _on_colab():
            print(f"{msg}: restarting the runtime now; run the notebook again from the top.", flush=True)
            os.kill(os.getpid(), 9)                        # Colab brings the runtime back up by itself
        raise SystemExit(f"{msg}: restart the kernel (Kernel > Restart), then run the notebook again.")

    from .._threads import configure_threads

    threads = configure_threads()      # before torch is imported where possible: OpenMP reads its settings once
    import numpy as np
    import torch

    from .._device import resolve_device
    from ..models.llm import check_llm_source
    from ..training.pipeline import preset_name, resolve_config

    dev = resolve_device(device)
    if llm == "auto":
        llm = os.environ.get("E2LLM_LAB_LLM") or ("Qwen/Qwen3-0.6B" if dev.type == "cuda" else None)
    check_llm_source(llm)
    name = preset_name(preset, llm)
    fast = os.environ.get("E2LLM_FAST") == "1" if fast is None else bool(fast)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    cfg = resolve_config(name, llm, seed, str(dev), fast)
    if verbose:
        gpu = f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""
        print(f"e2llm_lab: device {dev}{gpu} | model {llm or 'tiny offline Qwen3'} | preset {name} | "
              f"{'fast' if fast else 'full'} mode | seed {seed} | {threads} CPU thread(s)")
    return NotebookSetup(cfg, llm, fast)
