"""The library stays readable: one package per concern, modules read in one sitting, functions
that fit on a screen (CONTRIBUTING.md). Docstrings do not count: they are what a reader wants."""

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "course_lib"
MODULE_LINES = 400
FUNCTION_LINES = 60
PACKAGES = {"pruning", "training", "experiments", "measure", "viz", "grading"}


def _modules() -> list[Path]:
    return sorted(LIB.rglob("*.py"))


def _docstring_lines(node: ast.AST) -> int:
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        if isinstance(body[0].value.value, str):
            return body[0].end_lineno - body[0].lineno + 1
    return 0


def _code_lines(path: Path) -> int:
    """Lines of a module without its docstrings (module, classes, functions)."""
    tree = ast.parse(path.read_text())
    lines = len(path.read_text().splitlines())
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            lines -= _docstring_lines(node)
    return lines


def long_functions(path: Path, limit: int = FUNCTION_LINES) -> list[str]:
    """'name: N lines' for every function of ``path`` longer than ``limit`` (without its docstring)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            n = node.end_lineno - node.lineno + 1 - _docstring_lines(node)
            if n > limit:
                out.append(f"{node.name}: {n} lines")
    return out


def test_the_library_is_one_package_per_concern():
    packages = {p.name for p in LIB.iterdir() if (p / "__init__.py").exists()}
    assert packages == PACKAGES
    flat = sorted(p.name for p in LIB.glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "_checks.py", "grade.py"]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(LIB)))
def test_a_module_reads_in_one_sitting(path):
    assert _code_lines(path) <= MODULE_LINES


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(LIB)))
def test_a_function_fits_on_a_screen(path):
    assert long_functions(path) == []


def test_the_checks_catch_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES + 1))
    (tmp_path / "m.py").write_text(f'def f():\n    """doc\n\n    more doc\n    """\n{body}\n')
    assert long_functions(tmp_path / "m.py") == [f"f: {FUNCTION_LINES + 2} lines"]
    assert long_functions(tmp_path / "m.py", limit=FUNCTION_LINES + 2) == []
