"""Every notebook runs top to bottom (E2LLM_FAST=1 shrinks the work), and is committed clean."""
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from e2llm_lab._atomic import write_text_atomic

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: Each notebook that ran clean is saved here with its outputs (git ignores build/): the course site renders these
#: copies (mkdocs.yml, docs/hooks.py), so the notebooks are executed once, by this test, not again by the docs build.
EXECUTED = ROOT / "build" / "notebooks"


def _kernel_name() -> str:
    """The project's own kernel (.ci/run registers "e2llm-lab" in its virtualenv), else the default "python3"."""
    from jupyter_client.kernelspec import KernelSpecManager

    return "e2llm-lab" if "e2llm-lab" in KernelSpecManager().find_kernel_specs() else "python3"


def test_there_are_notebooks():
    assert any(p.name.startswith("01_") for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_well_formed(path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")                            # e.g. a cell without an id
        nbformat.validate(nbformat.read(path, as_version=4))
    nb = json.loads(path.read_text())
    assert not any(c.get("outputs") for c in nb["cells"]), "strip outputs before committing"
    assert "What you will learn" in "".join(nb["cells"][0]["source"])
    assert "run time" in "".join(nb["cells"][0]["source"])
    markdown = [c for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert "Exercises" in "".join(markdown[-1]["source"])
    after = nb["cells"][nb["cells"].index(markdown[-1]) + 1:]         # only collapsed solutions follow them
    assert all(c["metadata"].get("jupyter", {}).get("source_hidden") for c in after)


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path, monkeypatch):
    monkeypatch.setenv("E2LLM_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    executed = EXECUTED / path.name
    executed.unlink(missing_ok=True)          # a run that fails leaves no copy of an earlier run for the site
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name=_kernel_name(),
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    said = "".join(o.get("text", "") for o in code[1].get("outputs", []) if o.output_type == "stream")
    assert "fast mode" in said and "e2llm_lab: device" in said        # the kernel got the test's settings
    shown = [o for c in code for o in c.get("outputs", []) if o.output_type in ("display_data", "execute_result")]
    assert shown, "a notebook that shows nothing"
    write_text_atomic(executed, nbformat.writes(nb))
