"""The course site's sources agree with the repository (fast; `mkdocs build --strict` in .ci/run checks the rest)."""
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text())


def _nav_paths(nav) -> list[str]:
    """Every page path in the nav, in order."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for value in nav.values() for p in _nav_paths(value)]
    return [p for item in nav for p in _nav_paths(item)]


def test_mkdocs_yml_is_valid_and_strict():
    config = _config()
    assert config["strict"] is True and config["docs_dir"] == "docs"
    plugins = {next(iter(p)) if isinstance(p, dict) else p: p for p in config["plugins"]}
    assert plugins["mkdocs-jupyter"]["mkdocs-jupyter"]["execute"] is False      # never run a notebook twice
    python = plugins["mkdocstrings"]["mkdocstrings"]["handlers"]["python"]["options"]
    assert python["docstring_style"] == "numpy" and python["allow_inspection"] is False


def test_the_course_lists_every_notebook_in_order():
    course = next(item["Course"] for item in _config()["nav"] if isinstance(item, dict) and "Course" in item)
    listed = [p for p in _nav_paths(course) if p.endswith(".ipynb")]
    assert listed == [f"notebooks/{p.name}" for p in NOTEBOOKS]


def test_every_page_is_in_the_nav():
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    nav = set(_nav_paths(_config()["nav"]))
    assert pages - nav == set(), "add these pages to mkdocs.yml's nav"
    assert {p for p in nav if not p.endswith(".ipynb")} - pages == set(), "the nav names pages that do not exist"


def test_every_public_module_has_an_api_block():
    package = ROOT / "e2llm_lab"
    text = {p.stem: p.read_text() for p in (DOCS / "api").glob("*.md")}
    missing = []
    for module in sorted(package.rglob("*.py")):
        parts = module.relative_to(ROOT).with_suffix("").parts
        if module.name == "__init__.py" or any(part.startswith("_") for part in parts):
            continue
        page = parts[1] if len(parts) > 2 else "base"
        if f"::: {'.'.join(parts)}\n" not in text.get(page, ""):
            missing.append(f"{'.'.join(parts)} (docs/api/{page}.md)")
    assert not missing, f"public modules without an API block: {missing}"


def test_build_outputs_are_ignored_by_git():
    paths = ["build/notebooks/00_quickstart.ipynb", "site/index.html"]
    out = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.split() == paths
