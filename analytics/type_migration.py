"""Changing the column types of a pipeline's target table to the types its data now has.

ClickHouse itself would change values silently: ``ALTER TABLE ... MODIFY COLUMN b Nullable(Int64)`` on a
Nullable(String) column turns "x" into NULL without a word. So every migration starts with a preview that
counts, per column, the stored non-NULL values that ``accurateCastOrNull(value, wanted)`` cannot convert
faithfully (`converted_sql` says what else is checked), with a few examples, and then takes one of two ways:

* ``modify``: every stored value converts, so ``ALTER TABLE ... MODIFY COLUMN`` rewrites the columns in place
  (waiting for the mutation); the non-NULL counts are compared before and after.
* ``rebuild``: some values do not convert. Only when the person asked for it after seeing the count
  (`null_unconvertible`): a new table with the wanted types is filled with
  ``INSERT ... SELECT accurateCastOrNull(...)``, its row count checked, swapped in with ``EXCHANGE TABLES``
  (atomic: readers see the old table or the new one) and the old one dropped. Before the swap nothing of
  the target changes; a failure drops the new table.

Conversion follows ClickHouse's rules, not the pipeline's parser: a date written 31.12.2020 or a decimal
comma does not convert and is reported as such.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from django.utils.translation import ngettext

from analytics.clickhouse import cluster
from analytics.clickhouse.client import ClickHouseError, ClickHouseTarget, quote_identifier
from analytics.loading import LOADER_COLUMNS, table_columns
from etlsite.messages import _msg

MODIFY, REBUILD = "modify", "rebuild"
EXAMPLES = 5
EXAMPLE_CHARS = 80
# The types the loader creates (analytics.loading.clickhouse_type): the only ones a migration writes into SQL.
_LOADER_TYPE = re.compile(
    r"^Nullable\((?P<inner>Bool|U?Int(?:8|16|32|64)|Float(?:32|64)|String|Date32|Decimal\(\d{1,2}, \d{1,2}\)"
    r"|DateTime64\([0-9], 'UTC'\))\)$")


class TypeMigrationError(ClickHouseError):
    """A migration that cannot be done (or was refused); the target table is as it was."""


@dataclass(frozen=True)
class ColumnChange:
    column: str
    stored: str  # the target table's type now
    wanted: str  # the type the pipeline's data has


@dataclass
class ColumnPreview:
    column: str
    stored: str
    wanted: str
    unconvertible: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class TypeMigrationPreview:
    table: str
    rows: int
    columns: list[ColumnPreview]

    @property
    def unconvertible(self) -> int:
        return sum(c.unconvertible for c in self.columns)

    @property
    def method(self) -> str:
        return MODIFY if not self.unconvertible else REBUILD

    def as_dict(self) -> dict:
        return {"table": self.table, "rows": self.rows, "method": self.method,
                "unconvertible": self.unconvertible, "columns": [asdict(c) for c in self.columns]}


@dataclass
class TypeMigrationResult:
    method: str
    rows: int
    nulled: int
    columns: list[dict]

    def as_dict(self) -> dict:
        return asdict(self)


def inner_type(clickhouse_type: str) -> str:
    """`Nullable(Int64)` -> `Int64`, refusing any type the loader would not create (it goes into SQL)."""
    match = _LOADER_TYPE.match(clickhouse_type or "")
    if not match:
        raise TypeMigrationError(_msg("%(type)s is not a column type a pipeline's table can be migrated to.")
                                 % {"type": clickhouse_type})
    return match["inner"]


def _checked(target: ClickHouseTarget, table: str, changes: list[ColumnChange]) -> None:
    """The table is a pipeline's, and each column still has the type the change was recorded against."""
    from analytics.target_tables import foreign_table_error, reserved_table_error

    if not changes:
        raise TypeMigrationError(_msg("No column to migrate."))
    problem = reserved_table_error(table)
    existing = {} if problem else table_columns(target, table)
    if not problem and not existing:
        problem = _msg("The target table %(table)s does not exist.") % {"table": table}
    problem = problem or foreign_table_error(table, existing, LOADER_COLUMNS)
    if problem:
        raise TypeMigrationError(problem)
    for change in changes:
        inner_type(change.wanted)
        if change.column.startswith("_") or change.column not in existing:
            raise TypeMigrationError(_msg("The target table %(table)s has no column %(column)s.")
                                     % {"table": table, "column": change.column})
        if existing[change.column] != change.stored:
            raise TypeMigrationError(
                _msg("Column %(column)s of %(table)s is %(have)s now, not %(stored)s as when the change was recorded; "
                     "run the pipeline again to record the current difference.")
                % {"column": change.column, "table": table, "have": existing[change.column],
                   "stored": change.stored})


def converted_sql(column: str, change: ColumnChange, key: str) -> tuple[str, str, dict]:
    """(the value converted to the wanted type, whether a non-NULL value converts faithfully, the parameters).

    `accurateCastOrNull` alone is not enough from text: it reads "2024-02-30" as 2024-03-01, "2024-13-01" as
    1900-01-01, "25:00" as the next day, a ten-digit number as a Unix time, and cuts a decimal's surplus digits.
    Such values count as not converting, and a rebuild sets them to NULL rather than to a different value.
    """
    inner = inner_type(change.wanted)
    params = {f"{key}_type": inner}
    cast = f"accurateCastOrNull({column}, {{{key}_type:String}})"
    checks = [f"{cast} IS NOT NULL"]
    if change.stored == "Nullable(String)":
        if inner == "Date32" or inner.startswith("DateTime64"):
            # The lenient cast must agree with a parser that refuses impossible dates, and times must be times.
            checks.append(f"toDateTime64({cast}, 9, 'UTC') = parseDateTime64BestEffortOrNull({column}, 9, 'UTC')")
            checks.append(f"NOT match({column}, {{{key}_bad_time:String}})")
            params[f"{key}_bad_time"] = r"^[0-9]{9,}$|(^|[ T])(2[4-9]|[3-9][0-9]):|:[6-9][0-9]"
        elif inner.startswith("Decimal"):
            scale = int(inner.rstrip(")").split(",")[1])
            checks.append(f"match({column}, {{{key}_decimal:String}})")
            params[f"{key}_decimal"] = rf"^[+-]?[0-9]+([.][0-9]{{0,{scale}}})?$"
    ok = f"ifNull({' AND '.join(checks)}, 0)"
    return f"if({ok}, {cast}, NULL)", ok, params


def type_migration_preview(target: ClickHouseTarget, table: str, changes: list[ColumnChange]) -> TypeMigrationPreview:
    """How many stored values of each column would not convert to its wanted type, with examples."""
    _checked(target, table, changes)
    name = quote_identifier(table)
    rows = int(target.command(f"SELECT count() FROM {name}"))
    columns = []
    for change in changes:
        column = quote_identifier(change.column)
        _value, ok, params = converted_sql(column, change, "c")
        lost = f"{column} IS NOT NULL AND NOT {ok}"
        count = int(target.command(f"SELECT countIf({lost}) FROM {name}", params))
        examples = []
        if count:
            examples = [value[:EXAMPLE_CHARS] for (value,) in target.query(
                f"SELECT DISTINCT toString({column}) FROM {name} WHERE {lost} LIMIT {EXAMPLES}", params).result_rows]
        columns.append(ColumnPreview(change.column, change.stored, change.wanted, count, examples))
    return TypeMigrationPreview(table=table, rows=rows, columns=columns)


def type_migration_apply(target: ClickHouseTarget, table: str, changes: list[ColumnChange], *,
                         null_unconvertible: bool = False) -> TypeMigrationResult:
    """Migrate the columns (the preview is taken again first); TypeMigrationError leaves the table as it was."""
    preview = type_migration_preview(target, table, changes)
    if preview.method == MODIFY:
        return _modify(target, table, preview)
    if not null_unconvertible:
        raise TypeMigrationError(ngettext(
            "%(count)d stored value of %(table)s would not convert (%(columns)s); the table was left as it was. "
            "Approve converting it to NULL to rebuild the table.",
            "%(count)d stored values of %(table)s would not convert (%(columns)s); the table was left as it was. "
            "Approve converting them to NULL to rebuild the table.", preview.unconvertible)
            % {"count": preview.unconvertible, "table": table,
               "columns": ", ".join(f"{c.column}: {c.unconvertible}" for c in preview.columns if c.unconvertible)})
    return _rebuild(target, table, preview)


def _non_null_counts(target: ClickHouseTarget, table: str, columns: list[str]) -> list[int]:
    counts = ", ".join(f"count({quote_identifier(c)})" for c in columns)
    return list(target.query(f"SELECT {counts} FROM {quote_identifier(table)}").result_rows[0])


def _modify(target: ClickHouseTarget, table: str, preview: TypeMigrationPreview) -> TypeMigrationResult:
    names = [c.column for c in preview.columns]
    before = _non_null_counts(target, table, names)
    actions = ", ".join(f"MODIFY COLUMN {quote_identifier(c.column)} {c.wanted}" for c in preview.columns)
    sql = f"ALTER TABLE {quote_identifier(table)} {actions}"
    try:
        with target.connection() as client:
            for statement in cluster.statements(target, sql):
                # Wait for the rewrite on every replica: the next run must find the new types in every part.
                client.command(statement, settings={"mutations_sync": 2})
    except ClickHouseError as exc:
        raise TypeMigrationError(_msg("ClickHouse could not change the column types of %(table)s: %(error)s")
                                 % {"table": table, "error": exc}, code=exc.code) from exc
    after = _non_null_counts(target, table, names)
    if after != before:  # the preview should make this impossible; say so loudly if it ever happens
        raise TypeMigrationError(
            _msg("Values of %(table)s became NULL during the migration (non-NULL values before %(before)s, after "
                 "%(after)s).") % {"table": table, "before": before, "after": after})
    columns = [{"column": c.column, "from": c.stored, "to": c.wanted} for c in preview.columns]
    return TypeMigrationResult(method=MODIFY, rows=preview.rows, nulled=0, columns=columns)


def rebuild_table_name(table: str) -> str:
    return f"_migrate_{table}"


def _rebuild(target: ClickHouseTarget, table: str, preview: TypeMigrationPreview) -> TypeMigrationResult:
    if target.cluster:
        raise TypeMigrationError(_msg("Rebuilding a table is not available on a ClickHouse cluster; convert or remove "
                                      "the values that do not convert, then migrate again."))
    wanted = {c.column: c for c in preview.columns}
    order = list(table_columns(target, table))
    old, new = quote_identifier(table), quote_identifier(rebuild_table_name(table))
    params, values = {}, []
    for i, name in enumerate(order):
        if name in wanted:
            change = ColumnChange(name, wanted[name].stored, wanted[name].wanted)
            value, _ok, more = converted_sql(quote_identifier(name), change, f"c{i}")
            params.update(more)
            values.append(f"{value} AS {quote_identifier(name)}")
        else:
            values.append(quote_identifier(name))
    select = ", ".join(values)
    actions = ", ".join(f"MODIFY COLUMN {quote_identifier(c.column)} {c.wanted}" for c in preview.columns)
    swapped = False
    try:
        with target.connection() as client:
            client.command(f"DROP TABLE IF EXISTS {new}")
            client.command(f"CREATE TABLE {new} AS {old}")
            client.command(f"ALTER TABLE {new} {actions}")  # empty: no data is rewritten
            client.command(f"INSERT INTO {new} ({', '.join(quote_identifier(n) for n in order)}) "
                           f"SELECT {select} FROM {old}", parameters=params)
            copied = int(client.command(f"SELECT count() FROM {new}"))
            stored = int(client.command(f"SELECT count() FROM {old}"))
            if copied != stored:
                raise TypeMigrationError(
                    _msg("The rebuilt table holds %(copied)d rows, %(table)s %(stored)d; the table was left as it was.")
                    % {"copied": copied, "table": table, "stored": stored})
            client.command(f"EXCHANGE TABLES {old} AND {new}")
            swapped = True
            # A load committed between the count and the swap went into the old rows: swap back, lose nothing.
            if int(client.command(f"SELECT count() FROM {new}")) != copied:
                client.command(f"EXCHANGE TABLES {old} AND {new}")
                swapped = False
                raise TypeMigrationError(_msg("Rows arrived in %(table)s during the rebuild; the table was left as it "
                                              "was. Approve the migration again.") % {"table": table})
    except ClickHouseError as exc:
        if swapped:  # the swap back failed: the old rows are kept where they are, never dropped
            raise TypeMigrationError(
                _msg("ClickHouse could not finish rebuilding %(table)s (%(error)s); its previous rows are kept in "
                     "%(kept)s.") % {"table": table, "error": exc, "kept": rebuild_table_name(table)},
                code=exc.code) from exc
        target.command(f"DROP TABLE IF EXISTS {new}")
        if isinstance(exc, TypeMigrationError):
            raise
        raise TypeMigrationError(_msg("ClickHouse could not rebuild %(table)s: %(error)s")
                                 % {"table": table, "error": exc}, code=exc.code) from exc
    target.command(f"DROP TABLE IF EXISTS {new}")  # now the old rows
    return TypeMigrationResult(method=REBUILD, rows=copied, nulled=preview.unconvertible,
                               columns=[{"column": c.column, "from": c.stored, "to": c.wanted,
                                         "nulled": c.unconvertible} for c in preview.columns])
