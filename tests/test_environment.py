"""pyproject.toml is the single source of the dependencies; environment.yml (conda/Binder)
must name exactly the same pinned packages, and torch must stay pinned to the CPU wheel."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        reqs += extra
    return {r.replace(" ", "").lower() for r in reqs}


def _environment_pip_requirements() -> set[str]:
    text = (ROOT / "environment.yml").read_text()
    pip_block = text.split("- pip:", 1)[1]
    return {m.group(1).lower() for m in re.finditer(r"^\s+-\s+(\S+)\s*$", pip_block, re.M)}


def test_environment_yml_names_the_same_pinned_packages():
    assert _environment_pip_requirements() == _pyproject_requirements()


def test_every_dependency_is_pinned_exactly():
    unpinned = [r for r in _pyproject_requirements() if "==" not in r]
    assert unpinned == []


def test_torch_is_pinned_to_the_cpu_wheel_on_disk():
    assert "torch==2.13.0" in _pyproject_requirements()


def test_environment_yml_uses_python_311():
    assert re.search(r"^\s+-\s+python=3\.11\s*$", (ROOT / "environment.yml").read_text(), re.M)
