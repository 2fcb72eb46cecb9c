"""ClickHouse SQL is written in `analytics` only (issue 14): a statement in a string literal of any other
module of the project fails this test.

What counts as SQL: a string literal (or a piece of an f-string) holding an upper-case ``SELECT``,
``INSERT INTO``, ``ALTER TABLE``, ``CREATE TABLE``, ``DROP TABLE``, ``TRUNCATE TABLE``, ``OPTIMIZE TABLE`` or
``DELETE WHERE``. Text given to a DB-API cursor's ``execute`` (Django's connections: the PostgreSQL metadata
and staging databases) is not ClickHouse's and is not counted; the ClickHouse client has no ``execute``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SQL = re.compile(r"\b(SELECT\s|INSERT INTO\b|ALTER TABLE\b|CREATE TABLE\b|DROP TABLE\b|TRUNCATE TABLE\b"
                 r"|OPTIMIZE TABLE\b|DELETE WHERE\b)")
# Not modules of the application: tests and their fixtures, the benchmark, tools, installed packages.
SKIP_DIRS = {".venv", "var", "tests", "bench", "node_modules", "static", "scripts", ".git"}
SKIP_FILES = {"conftest.py"}
ALLOWED = {
    # Reads the user's external databases (PostgreSQL, MySQL, SQLite, ...) as a source: that SQL is the
    # source's dialect, never ClickHouse's, and its texts name a user-given SELECT in messages. (Covers the
    # module and, once it is split along its sections, the package sources/connectors/database/.)
    "sources/connectors/database.py": "external source databases",
    # The staging tables are PostgreSQL (the staging database); its SQL is built here and run through
    # Django's cursors, partly from variables this test does not follow.
    "staging/writer.py": "PostgreSQL staging tables",
    # /health/ pings ClickHouse with SELECT 1 (reachability only, no table, nothing to name in analytics).
    "etlsite/health.py": "ClickHouse ping",
}


def _modules() -> list[Path]:
    found = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in SKIP_DIRS or relative.parts[0] == "analytics" or path.name in SKIP_FILES:
            continue
        if any(part in SKIP_DIRS for part in relative.parts[:-1]):
            continue
        found.append(path)
    return found


def _allowance(relative: str) -> str | None:
    """The ALLOWED entry covering `relative`: the module itself or the package of the same name."""
    for key in ALLOWED:
        if relative == key or relative.startswith(key.removesuffix(".py") + "/"):
            return key
    return None


def _executed(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are (part of) the SQL argument of an ``.execute(...)`` call."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("execute", "executemany") and node.args):
            inside |= {id(n) for n in ast.walk(node.args[0])}
    return inside


def sql_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal of `source` that holds SQL, outside ``.execute(...)`` calls."""
    tree = ast.parse(source)
    executed = _executed(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in executed
            and SQL.search(node.value)]


def test_the_check_finds_sql_and_leaves_prose_and_postgresql_alone():
    found = sql_literals(
        'a = "SELECT x FROM t"\n'
        'b = f"ALTER TABLE {t} DELETE WHERE 1"\n'
        'c = "select the rows you want"\n'
        'cursor.execute("SELECT pg_database_size(current_database())")\n'
        'target.rows("SELECT DISTINCT target_table FROM data_lineage")\n')
    assert sorted({line for line, _text in found}) == [1, 2, 5]


def test_clickhouse_sql_is_written_only_in_analytics():
    offenders = {}
    for path in _modules():
        relative = path.relative_to(ROOT).as_posix()
        if _allowance(relative):
            continue
        found = sql_literals(path.read_text(encoding="utf-8"))
        if found:
            offenders[relative] = [f"line {line}: {text[:80]!r}" for line, text in found]
    assert not offenders, "SQL outside analytics/ (put it in analytics.queries):\n" + "\n".join(
        f"{path}: {lines}" for path, lines in sorted(offenders.items()))


@pytest.mark.parametrize("relative", sorted(ALLOWED))
def test_every_allowance_is_still_needed(relative):
    """An allowed module that no longer writes SQL leaves the list (so the list only ever shrinks)."""
    covered = [path for path in _modules() if _allowance(path.relative_to(ROOT).as_posix()) == relative]
    assert any(sql_literals(path.read_text(encoding="utf-8")) for path in covered), (
        f"{relative} holds no SQL any more: remove it from ALLOWED")
