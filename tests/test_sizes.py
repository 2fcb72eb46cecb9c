"""The engine and the modules around it stay readable in a sitting: no module over 400 lines and no function over
60 lines in pipelines/engine, the services, execution, selectors, decisions and the configuration without a
`# Long:` comment saying why. The connectors have the same check in tests/sources/test_connector_layout.py,
whose `size_problems` this reuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sources.test_connector_layout import MAX_FUNCTION_LINES, MAX_MODULE_LINES, WHY, size_problems

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted((ROOT / "pipelines" / "engine").glob("*.py")) + [
    ROOT / "pipelines" / f"{name}.py" for name in ("services", "execution", "selectors", "decisions", "config")]


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_modules_are_found():
    assert all(path.is_file() for path in MODULES)
    assert ROOT / "pipelines" / "engine" / "runner.py" in MODULES and len(MODULES) > 15


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_modules_and_functions_are_short_or_say_why(path):
    assert size_problems(path.read_text(), _name(path)) == []


def _function(name: str, lines: int, *, why: str = "") -> str:
    return (f"{why}\n" if why else "") + f"def {name}():\n" + "    x = 1\n" * (lines - 1)


def test_the_check_sees_a_long_function_and_a_long_module_and_accepts_a_reason():
    # A check that cannot fail is a defect: too long is seen, and a `# Long:` comment is what lets it pass.
    long_function = _function("f", MAX_FUNCTION_LINES + 1)
    assert size_problems(long_function, "m.py") == [
        f"m.py:1 f has {MAX_FUNCTION_LINES + 1} lines and no {WHY!r} comment above it"]
    assert size_problems(_function("f", MAX_FUNCTION_LINES + 1, why=f"{WHY} one table of cases"), "m.py") == []
    assert size_problems(_function("f", MAX_FUNCTION_LINES), "m.py") == []
    long_module = '"""Doc."""\n' + "x = 1\n" * MAX_MODULE_LINES
    assert size_problems(long_module, "m.py") == [
        f"m.py has {MAX_MODULE_LINES + 1} lines and no {WHY!r} comment before its first statement"]
    assert size_problems(f'"""Doc."""\n{WHY} generated tables\n' + "x = 1\n" * MAX_MODULE_LINES, "m.py") == []
