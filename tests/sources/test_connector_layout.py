"""The connectors stay a layer a newcomer can read: they import no app above them, and no module or function grows
past what one reads in a sitting without a comment saying why."""

import ast
from pathlib import Path

import pytest

CONNECTORS = Path(__file__).resolve().parents[2] / "sources" / "connectors"
MODULES = sorted(CONNECTORS.rglob("*.py"))
# The apps that use connectors: a connector importing one of them would make the layers a cycle. (etlsite is
# not one: its settings, environment and base models are below every app.)
ABOVE = {"pipelines", "staging", "analytics", "webui", "dashboards", "api"}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# The comment that says why: above a longer function's def (or its first decorator); for a longer module, a
# line of its own at the top level before its first statement after the docstring.
WHY = "# Long:"


def _name(path: Path) -> str:
    return str(path.relative_to(CONNECTORS.parents[1]))


def _imported(tree: ast.AST) -> set[str]:
    """Every module imported anywhere in the file, functions' own imports included."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _module_file(name: str) -> Path | None:
    path = CONNECTORS.parents[1].joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _sources_used(paths: list[Path]) -> set[Path]:
    """The modules of sources/ the connectors import, and what those import of sources/, to the end."""
    seen: set[Path] = set()
    todo = list(paths)
    while todo:
        for name in _imported(ast.parse(todo.pop().read_text())):
            found = _module_file(name) if name.split(".")[0] == "sources" else None
            if found is not None and found not in seen:
                seen.add(found)
                todo.append(found)
    return seen - set(MODULES)


def test_the_modules_are_found():
    assert len(MODULES) > 10 and CONNECTORS / "database" / "connector.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_a_connector_imports_no_app_above_it(path):
    above = sorted(name for name in _imported(ast.parse(path.read_text())) if name.split(".")[0] in ABOVE)
    assert above == [], f"{_name(path)} imports {above}"


def size_problems(text: str, name: str) -> list[str]:
    """What in a module's `text` is longer than one reads in a sitting without a WHY comment saying why: the
    module over MAX_MODULE_LINES, each function over MAX_FUNCTION_LINES. Shared with tests/test_sizes.py."""
    lines = text.splitlines()
    tree = ast.parse(text)
    problems = []
    body = tree.body[1:] if tree.body and isinstance(getattr(tree.body[0], "value", None), ast.Constant) else tree.body
    head = lines[: body[0].lineno - 1] if body else lines
    if len(lines) > MAX_MODULE_LINES and not any(line.startswith(WHY) for line in head):
        problems.append(f"{name} has {len(lines)} lines and no {WHY!r} comment before its first statement")
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            explained = first >= 2 and lines[first - 2].strip().startswith(WHY)
            if length > MAX_FUNCTION_LINES and not explained:
                problems.append(f"{name}:{node.lineno} {node.name} has {length} lines and no {WHY!r} comment above it")
    return problems


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_modules_and_functions_are_short_or_say_why(path):
    assert size_problems(path.read_text(), _name(path)) == []


def test_what_the_connectors_use_of_sources_imports_no_app_above_either():
    used = _sources_used(MODULES)
    assert CONNECTORS.parent / "scrubbing.py" in used and CONNECTORS.parent / "netpolicy.py" in used
    above = {_name(path): sorted(name for name in _imported(ast.parse(path.read_text()))
                                 if name.split(".")[0] in ABOVE) for path in sorted(used)}
    assert {name: found for name, found in above.items() if found} == {}
