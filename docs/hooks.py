"""mkdocs hook: the course notebooks on the site, each with the outputs of its last test run where there is one.

Notebooks are stored in git without outputs (notebooks/*.ipynb). tests/test_notebooks.py executes each one and
writes the executed copy, outputs included, to build/notebooks/<name>.ipynb (git ignores build/). For every
notebook in notebooks/ this hook adds one page, notebooks/<name>/, read from:

- build/notebooks/<name>.ipynb when that copy exists and its cells' sources are the stored notebook's (so a copy left
  from before the notebook was edited is never shown);
- else notebooks/<name>.ipynb itself, without outputs (a local docs build without the tests).

Nothing is copied and nothing is executed: mkdocs-jupyter renders the stored outputs (``execute: false``). With
``E2LLM_DOCS_REQUIRE_OUTPUTS=1`` (set by .ci/run) a notebook without its executed copy fails the build, so the site
CI builds shows every notebook with the outputs of that CI run.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import nbformat
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
STORED = ROOT / "notebooks"                 # notebooks/<name>.ipynb, as in git
EXECUTED = ROOT / "build" / "notebooks"     # written by tests/test_notebooks.py after a successful run
log = logging.getLogger("mkdocs.hooks.notebooks")


def _sources(path: Path) -> list[tuple[str, str]]:
    nb = nbformat.read(path, as_version=4)
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def _source_dir(stored: Path) -> Path:
    """The folder whose notebooks/<name>.ipynb the page is read from: build/ (executed) or the repository root."""
    executed = EXECUTED / stored.name
    if executed.is_file() and _sources(executed) == _sources(stored):
        return EXECUTED.parent
    why = "no executed copy" if not executed.is_file() else "its executed copy's cells differ from the notebook's"
    if os.environ.get("E2LLM_DOCS_REQUIRE_OUTPUTS") == "1":
        raise PluginError(f"{stored.name}: {why} in {EXECUTED} (run tests/test_notebooks.py first)")
    log.info("%s: %s; shown without outputs", stored.name, why)
    return ROOT


@event_priority(100)   # before mkdocs-jupyter's on_files, which makes pages of the .ipynb files it is given
def on_files(files: Files, config) -> Files:
    for stored in sorted(STORED.glob("*.ipynb")):
        files.append(File(f"notebooks/{stored.name}", src_dir=str(_source_dir(stored)), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files
