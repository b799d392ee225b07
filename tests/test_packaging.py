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


def test_the_readme_install_brings_every_module_a_notebook_imports():
    """Every top-level module a notebook's code imports comes with the README's first command (`pip install -e .`):
    the standard library, the package itself, or one of its core requirements and what they require in turn (read
    from the installed metadata, extras left out). No notebook can then stop late on an ImportError (notebook 06 once
    did, on Quantus, after five minutes of training)."""
    import ast
    import importlib.metadata
    import json
    import sys

    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    def name(req: str) -> str:
        return re.split(r"[<>=!~\[; ]", _norm(req), maxsplit=1)[0]

    core, todo = set(), [name(r) for r in py["dependencies"]]
    while todo:                                                   # the core requirements, transitively
        dist = todo.pop()
        if dist in core:
            continue
        core.add(dist)
        try:
            todo += [name(r) for r in importlib.metadata.requires(dist) or () if "extra ==" not in r]
        except importlib.metadata.PackageNotFoundError:
            pass
    provides = importlib.metadata.packages_distributions()
    missing = []
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        code = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")
        code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("!", "%")))
        for node in ast.walk(ast.parse(code)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "e2llm_lab":
                    continue
                dists = {re.sub(r"[-_.]+", "-", d).lower() for d in provides.get(top, [])}
                if not dists & core:
                    missing.append(f"{nb.name}: {name} ({sorted(dists) or 'not installed'})")
    assert not missing, f"notebooks import modules the README's install does not bring: {missing}"
    assert "quantus" in core
