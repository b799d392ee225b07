"""The notebooks' one setup path: the install cell (run for real against a local wheel and folder, no network)
and setup_notebook()."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from e2llm_lab.apps.colab import SETUP_CELL, changed_packages, colab_url, setup_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_every_notebook_starts_with_the_one_setup_cell_and_then_setup_notebook():
    assert len(NOTEBOOKS) >= 8
    for path in NOTEBOOKS:
        code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        assert "".join(code[0]["source"]) == SETUP_CELL, f"{path.name}: first cell is not colab.SETUP_CELL"
        assert "setup_notebook(" in "".join(code[1]["source"]), f"{path.name}: second cell does not call it"
        body = "".join("".join(c["source"]) for c in code[1:])
        assert "subprocess" not in body and "REPO_URL" not in body and "replace(PRESETS" not in body, path.name


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory):
    """A virtualenv without e2llm_lab (and without its dependencies: installs run with --no-deps --no-index)."""
    import setuptools

    d = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(d / "env")], check=True)
    python = d / "env" / "bin" / "python"
    # Offline builds of a source folder need a setuptools with bdist_wheel: borrow this machine's (its folder is
    # appended to sys.path by a .pth line; the folder's own .pth files, e2llm_lab's editable finder among them,
    # are not run), in place of the venv's old one.
    subprocess.run([python, "-m", "pip", "uninstall", "-q", "-y", "setuptools"], check=True, capture_output=True)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "build_backend.pth").write_text(str(Path(setuptools.__file__).parents[1]) + "\n")
    assert subprocess.run([python, "-c", "import e2llm_lab"], capture_output=True, cwd=d).returncode != 0
    return python


def _run_cell(python, cwd, url):
    env = {**os.environ, "E2LLM_LAB_URL": url, "E2LLM_LAB_PIP_ARGS": "--no-deps --no-index --no-build-isolation",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    return subprocess.run([python, "-c", SETUP_CELL], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def _installed_origin(python, cwd):
    r = subprocess.run([python, "-c", "import importlib.util as u; print(u.find_spec('e2llm_lab').origin)"],
                       cwd=cwd, capture_output=True, text=True)
    return r.stdout.strip()


def _uninstall(python):
    subprocess.run([python, "-m", "pip", "uninstall", "-q", "-y", "e2llm-lab"], capture_output=True)


@pytest.mark.slow
def test_setup_cell_installs_from_an_uploaded_wheel_after_the_url_fails(bare_venv, tmp_path):
    import zipfile

    from e2llm_lab.apps.cli import main

    wheels = tmp_path / "wheels"
    assert main(["build-wheel", "--out", str(wheels)]) == 0              # what an instructor runs
    work = tmp_path / "content"
    work.mkdir()
    (wheel,) = wheels.glob("e2llm_lab-*.whl")
    inside = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith("data/share/e2llm_lab/data_samples/sample_features.npz") for n in inside)
    assert any(n.endswith("data_samples/tiny_qwen3/model.safetensors") for n in inside)
    for ref in ("reference", "reference_smollm2"):                     # both reference models travel with it
        for part in ("evaluation.json", "answers.csv", "model/e2llm_config.json", "model/signatures.json",
                     "model/adapter/adapter_model.safetensors", "model/encoder/encoder.safetensors"):
            assert any(n.endswith(f"data_samples/{ref}/{part}") for n in inside), (ref, part)
    shutil.copy(wheel, work)
    r = _run_cell(bare_venv, work, url=str(tmp_path / "no-such-repository"))
    assert r.returncode == 0, r.stderr
    assert "no-such-repository: failed" in r.stdout and f"{wheel.name}: done" in r.stdout
    assert "site-packages" in _installed_origin(bare_venv, work)
    prefix = Path(bare_venv).parents[1]                          # the samples land where sample_dir() looks
    assert (prefix / "share" / "e2llm_lab" / "data_samples" / "tiny_qwen3" / "config.json").exists()
    for ref in ("reference", "reference_smollm2"):                        # both references, where reference_dir looks
        assert (prefix / "share" / "e2llm_lab" / "data_samples" / ref / "model" / "e2llm_config.json").exists()
    again = _run_cell(bare_venv, work, url="")                   # installed: the cell does nothing
    assert again.returncode == 0 and "installing" not in again.stdout
    _uninstall(bare_venv)


@pytest.mark.slow
def test_setup_cell_installs_from_a_source_folder_and_a_bare_folder_is_no_install(bare_venv, tmp_path):
    work = tmp_path / "content"
    src = work / "e2llm_lab-main"                                # GitHub's zip, unpacked
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "notebooks", "*.egg-info",
                                                             "build", "__pycache__", ".exp", "reports"))
    (work / "e2llm_lab").mkdir()                                 # a folder that merely has the package's name
    r = _run_cell(bare_venv, work, url="")
    assert r.returncode == 0, r.stderr
    assert "e2llm_lab-main: done" in r.stdout
    assert "site-packages" in _installed_origin(bare_venv, work)
    _uninstall(bare_venv)


@pytest.mark.slow
def test_setup_cell_says_what_to_do_when_nothing_can_be_installed(bare_venv, tmp_path):
    r = _run_cell(bare_venv, tmp_path, url=str(tmp_path / "no-such-repository"))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "CalledProcessError" not in r.stderr
    assert "set E2LLM_LAB_URL to the repository URL" in r.stderr and "e2llm_lab-*.whl" in r.stderr


def test_setup_notebook_chooses_and_says_so(capsys, monkeypatch):
    monkeypatch.delenv("E2LLM_LAB_LLM", raising=False)
    monkeypatch.setenv("E2LLM_FAST", "1")
    cfg, llm, fast = setup_notebook(device="cpu", seed=3)
    out = capsys.readouterr().out.strip()
    assert llm is None and fast is True and cfg.llm.name_or_path is None
    assert cfg.pretrain.device == "cpu" and cfg.pretrain.seed == cfg.align.seed == cfg.instruct.seed == 3
    assert out.count("\n") == 0 and "device cpu" in out and "tiny offline Qwen3" in out and "fast mode" in out
    _, _, full = setup_notebook(device="cpu", fast=False, verbose=False)
    assert full is False
    with pytest.raises(ValueError, match="preset='nope'"):
        setup_notebook(device="cpu", preset="nope", verbose=False)
    with pytest.raises(ValueError, match="does not exist"):
        setup_notebook(device="cpu", llm="/tmp/no-model-here-e2llm", verbose=False)


def test_a_replaced_package_asks_for_a_restart(monkeypatch):
    import numpy

    assert changed_packages() == []
    monkeypatch.setattr(numpy, "__version__", "0.0.1")
    assert changed_packages() == [f"numpy 0.0.1 -> {__import__('importlib.metadata').metadata.version('numpy')}"]
    with pytest.raises(SystemExit, match="restart the kernel"):
        setup_notebook(device="cpu", verbose=False)


def test_colab_links_point_at_the_notebooks():
    url = colab_url("00_quickstart.ipynb")
    assert url.startswith("https://colab.research.google.com/github/")
    assert url.endswith("/notebooks/00_quickstart.ipynb")
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        assert colab_url(path.name) in readme, f"README lacks the Open-in-Colab link of {path.name}"
