"""The engine's layering (issue 14): it does not import the Celery tasks (the task layer passes a dispatcher),
imports nothing inside functions to dodge a cycle, and no engine module uses another one's private helper."""

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "pipelines" / "engine"


def _imports(path: Path) -> list[tuple[ast.AST, str, list[str], bool]]:
    """(node, module, imported names, at module level) of every import in the file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found.append((node, node.module or "", [a.name for a in node.names], id(node) in top))
        elif isinstance(node, ast.Import):
            found.extend((node, a.name, [], id(node) in top) for a in node.names)
    return found


def test_the_engine_modules_are_found():
    assert {"runner.py", "parts.py", "batches.py", "finish.py", "source.py"} <= {p.name for p in ENGINE.glob("*.py")}


def test_the_engine_does_not_import_the_tasks():
    offenders = [f"{path.name}:{node.lineno}" for path in ENGINE.glob("*.py")
                 for node, module, _names, _top in _imports(path) if module.startswith("pipelines.tasks")]
    assert offenders == []


def test_the_engine_imports_only_at_module_level():
    offenders = [f"{path.name}:{node.lineno}" for path in ENGINE.glob("*.py")
                 for node, _module, _names, top in _imports(path) if not top]
    assert offenders == []


def test_no_engine_module_imports_a_private_name_of_another():
    offenders = [f"{path.name}:{node.lineno} {name}" for path in ENGINE.glob("*.py")
                 for node, module, names, _top in _imports(path) if module.startswith("pipelines.engine")
                 for name in names if name.startswith("_")]
    assert offenders == []
