"""The layers of the code, checked on its imports (read with `ast`, nothing imported; imports inside functions
count too, they hide a dependency without removing it):

- connectors (sources/connectors) and analytics do not import pipelines: they serve it;
- the engine (pipelines/engine) does not import pipelines.tasks: it is given a dispatcher;
- the services, selectors and decisions do not import pipelines.tasks: the tasks call them, and the run task is
  sent by its name (etlsite.tasks.task_named);
- views (webui/views, api) and admin modules do not import the engine: they call services and selectors.

A ratchet: ALLOWED lists the violations the code still has. A new violation fails, and so does an entry that
no longer occurs (remove it from the list), so the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (layer, the modules it covers, the imports they may not make)
RULES = [
    ("connectors and analytics do not import pipelines", ("sources.connectors", "analytics"), ("pipelines",)),
    ("the engine does not import the tasks", ("pipelines.engine",), ("pipelines.tasks",)),
    ("services, selectors and decisions do not import the tasks",
     ("pipelines.services", "pipelines.selectors", "pipelines.decisions"), ("pipelines.tasks",)),
    ("views and admin do not import the engine", ("webui.views", "api", "*.admin"), ("pipelines.engine",)),
]

# Violations still tolerated, (module, imported module): none any more. An entry added here must say why,
# and the test fails once it no longer occurs, so the list only shrinks.
ALLOWED: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    """Every module `path` imports, by its full name; `from a import b` counts as a.b when b is a module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if (ROOT / Path(
                *f"{base}.{alias.name}".split("."))).with_suffix(".py").exists() or (ROOT / Path(
                    *f"{base}.{alias.name}".split("."))).is_dir())
    return found


def _within(name: str, prefix: str) -> bool:
    if prefix.startswith("*."):
        return name.endswith(prefix[1:])
    return name == prefix or name.startswith(prefix + ".")


def _project_modules():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).parts
        if relative[0] in {".venv", "var", "tests", "node_modules", "bench", "scripts"} or "migrations" in relative:
            continue
        yield path, _module_name(path)


def violations() -> set[tuple[str, str]]:
    found = set()
    for path, module in _project_modules():
        for _rule, layer, forbidden in RULES:
            if not any(_within(module, prefix) for prefix in layer):
                continue
            for imported in _imports(path, module):
                if any(_within(imported, prefix) for prefix in forbidden):
                    found.add((module, _most_specific(imported, _imports(path, module))))
    return found


def _most_specific(imported: str, imports: set[str]) -> str:
    """`from pipelines.engine import drift` is reported as pipelines.engine.drift, not also as the package."""
    deeper = [name for name in imports if name.startswith(imported + ".")]
    return imported if not deeper else min(deeper)


def test_no_new_import_crosses_a_layer():
    new = violations() - ALLOWED
    assert not new, f"imports across a layer (see this module's docstring): {sorted(new)}"


def test_the_allow_list_only_shrinks():
    gone = ALLOWED - violations()
    assert not gone, f"no longer imported: remove from ALLOWED in tests/test_layers.py: {sorted(gone)}"


def test_the_check_sees_a_violation(tmp_path, monkeypatch):
    # A check that cannot fail is a defect: an admin module importing the engine, inside a function, is seen.
    app = ROOT / "webui"
    path = app / "admin.py"
    assert not path.exists()
    monkeypatch.setattr(Path, "rglob", lambda self, pattern: [path])
    monkeypatch.setattr(Path, "read_text", lambda self: "def f():\n    from pipelines.engine import runner\n")
    assert violations() == {("webui.admin", "pipelines.engine.runner")}
