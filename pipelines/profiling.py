"""What a file's first rows say about its columns, and the rules a new pipeline could start from.

Types come from the one inference (pipelines/inference.py: the contract the engine would store on a first
load); the rules are proposed from the profile the way Great Expectations' profiler and dlt's schema inference
do: a column with no NULL in the sample is required, a text column with few distinct values gets them as its
allowed values (unless it is mostly empty, like comments), a column whose values are all different is unique,
and a number or date column's observed minimum and maximum are shown beside it, never proposed as its range: the
next file's ids and dates lie beyond this one's (a first new user's second file was quarantined whole by a
proposed maximum), so a range is a rule the person types, for the columns whose bounds are real (a month, a
percentage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from etlsite.identifiers import sanitize_columns
from pipelines.config_schema import DATE_TYPES, NUMERIC_TYPES
from pipelines.inference import (
    SAMPLE_ROWS,
    Contract,
    contract_date_formats,
    infer_column,
    infer_contract,
    null_markers_apply,
)
from pipelines.transformations.parsing import ParseOptions, parse_values
from sources.connectors.file import FileConnector

# A text column with at most this many distinct values (each seen at least twice on average) is a category.
ALLOWED_VALUES_MAX = 10
# Types a unique key is proposed for: identifiers are whole numbers or codes, not measurements.
UNIQUE_TYPES = ("integer", "string")
# Rows looked at: as many as the engine's first load infers its contract from.
PROFILE_ROWS = SAMPLE_ROWS
ALLOWED_VALUES_TYPES = ("string", "integer")


@dataclass
class ColumnProfile:
    file_name: str  # as in the file's header
    name: str  # sanitized: the pipeline's column
    type_name: str  # inferred
    rows: int
    nulls: int
    distinct: int
    minimum: int | float | str | None = None  # numbers as numbers, dates as ISO text
    maximum: int | float | str | None = None
    values: list[str] = field(default_factory=list)  # the distinct values, when at most ALLOWED_VALUES_MAX
    range_proposed: bool = False

    @property
    def propose_required(self) -> bool:
        return self.rows > 0 and self.nulls == 0

    @property
    def propose_unique(self) -> bool:
        return self.type_name in UNIQUE_TYPES and self.rows > 1 and self.nulls == 0 and self.distinct == self.rows

    @property
    def proposed_allowed_values(self) -> list[str]:
        present = self.rows - self.nulls
        # A category is mostly filled in and repeats its values; sparse free text (comments) is not one.
        few = 0 < self.distinct <= ALLOWED_VALUES_MAX and self.distinct * 2 <= present and self.nulls * 2 <= self.rows
        return list(self.values) if self.type_name == "string" and few else []

    @property
    def proposed_min(self):
        return self.minimum if self.range_proposed else None

    @property
    def proposed_max(self):
        return self.maximum if self.range_proposed else None


@dataclass
class FileProfile:
    columns: list[ColumnProfile]
    rows: int
    complete: bool  # the sample is the whole file
    contract: Contract


def sample_read(path: str, *, options: dict, markers: tuple[str, ...],
                rows: int | None = None) -> tuple[pa.Table, bool]:
    """The first `rows` (default PROFILE_ROWS) rows of a file, NULL markers applied, and whether that is all
    of it. Raises ConnectorError with a message for the user when the file cannot be read."""
    rows = rows or PROFILE_ROWS
    connector = FileConnector({"file_path": path, **options})
    batches, taken, complete = [], 0, True
    reader = connector.read_batches(batch_rows=min(rows, 10_000))
    try:
        for batch in reader:
            if taken >= rows:
                complete = False
                break
            batches.append(null_markers_apply(batch.slice(0, rows - taken), markers))
            taken += batches[-1].num_rows
            if batch.num_rows > batches[-1].num_rows:
                complete = False
                break
    finally:
        reader.close()
    if not batches:
        return pa.table({name: pa.array([], pa.string()) for name in connector.schema.names}), True
    return pa.Table.from_batches(batches), complete


def file_profile(table: pa.Table, *, complete: bool) -> FileProfile:
    """The profile of a sample whose columns still carry the file's header names."""
    file_names = list(table.column_names)
    names = sanitize_columns(file_names)
    table = table.rename_columns(names)
    contract = infer_contract(table)
    options = ParseOptions(date_formats=contract_date_formats(contract), decimal_separator=contract.decimal_separator)
    columns = [_column_profile(file_name, name, table.column(name), contract, options, complete)
               for file_name, name in zip(file_names, names, strict=True)]
    return FileProfile(columns=columns, rows=table.num_rows, complete=complete, contract=contract)


def _column_profile(file_name, name, values, contract, options, complete) -> ColumnProfile:
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    type_name = contract.data_types.get(name, "string")
    if type_name == "string" and not pa.types.is_null(values.type):
        type_name = _native_type(values, type_name)
    typed = parse_values(values, type_name, options).values if type_name != "string" else _text(values)
    nulls = typed.null_count
    present = pc.drop_null(typed)
    distinct = pc.count_distinct(present).as_py() if len(present) else 0
    profile = ColumnProfile(file_name=file_name, name=name, type_name=type_name, rows=len(values), nulls=nulls,
                            distinct=distinct)
    if distinct and distinct <= ALLOWED_VALUES_MAX and type_name in ALLOWED_VALUES_TYPES:
        profile.values = sorted(_shown(v) for v in pc.unique(present).to_pylist())
    if len(present) and type_name in NUMERIC_TYPES + DATE_TYPES:
        bounds = pc.min_max(present)
        profile.minimum, profile.maximum = _shown(bounds["min"].as_py()), _shown(bounds["max"].as_py())
        profile.range_proposed = False  # shown, not proposed: see the module's doc
    return profile


def _native_type(values: pa.Array, type_name: str) -> str:
    """A column that is not text in the file (JSON numbers, Parquet dates) keeps its own type."""
    return infer_column(values).type_name if not pa.types.is_string(values.type) else type_name


def _text(values: pa.Array) -> pa.Array:
    text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
    blank = pc.equal(pc.utf8_trim_whitespace(text), "")
    return pc.if_else(pc.fill_null(blank, False), pa.scalar(None, pa.string()), text)


def _shown(value):
    """A bound or allowed value as the form shows it and the configuration stores it."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "as_tuple"):  # Decimal
        return float(value)
    return value


__all__ = ["ALLOWED_VALUES_MAX", "ColumnProfile", "FileProfile", "file_profile", "sample_read"]
