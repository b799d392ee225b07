"""pyproject.toml and environment.yml must list the same requirements."""
import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> str:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_norm(r) for r in py["dependencies"] + py["optional-dependencies"]["test"]}
    pip_lines = [m.group(1) for m in re.finditer(r"^\s{6}- (.+)$", (ROOT / "environment.yml").read_text(), re.M)]
    listed = {_norm(r) for r in pip_lines if r != "-e ."}
    assert "-e ." in pip_lines
    assert listed == wanted, f"only in pyproject: {wanted - listed}; only in environment.yml: {listed - wanted}"
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_torch_requirement_is_a_plain_range():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch = next(d for d in deps if d.startswith("torch"))
    assert torch == "torch>=2.4"


def test_the_package_imports_nothing_from_jupyterlab_and_keeps_it_out_of_its_requirements():
    import subprocess
    import sys

    code = ("import sys, e2llm_lab, e2llm_lab.interpret; "
            "print(sorted(m for m in sys.modules if m.startswith('jupyterlab')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("jupyterlab") for d in py["dependencies"])
    assert any(d.startswith("jupyterlab") for d in py["optional-dependencies"]["lab"])


def test_the_package_version_is_the_project_version():
    import tomllib

    from e2llm_lab import __version__

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert __version__ == project["version"]
