"""The dry run of the upload page: what a file looks like to a pipeline, without committing anything.

First rows, the inferred schema (name, type, nullable), detected encoding and delimiter, the columns the
pipeline expects that the file lacks (to map), and a sample of validation errors with row numbers from the
pipeline's own Validator over the first rows. Nothing is written: no run, no staging table, no quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from etlsite.identifiers import sanitize_columns
from pipelines.engine.mapping import CONFIG_KEY as MAPPING_KEY
from pipelines.engine.mapping import column_mapping_apply
from pipelines.inference import infer_column, null_markers_apply, null_values_of
from pipelines.models import Pipeline
from pipelines.validation import ROW_NUMBER, ValidationRules, Validator
from sources.connectors.base import ConnectorError
from sources.connectors.file import FileConnector, sniff
from staging.models import FileMetadata

SAMPLE_ROWS = 1000
MAX_ERRORS = 50
# Read options of the pipeline's file source that apply to an uploaded file too.
READ_OPTIONS = ("format", "encoding", "delimiter", "quote_char", "escape_char", "has_header", "record_path",
                "sheet")


@dataclass
class ColumnInfo:
    file_name: str  # as in the file's header
    source: str  # sanitized: the name column_mapping keys use
    name: str  # after sanitizing and the pipeline's mapping: what the run calls it
    type: str
    nullable: bool


@dataclass
class Preview:
    format: str
    encoding: str | None
    delimiter: str | None
    header: list[str]
    columns: list[ColumnInfo]
    rows: list[list]
    expected: list[str]
    missing: list[str]
    rows_checked: int = 0
    rows_failed: int = 0
    errors: list[dict] = field(default_factory=list)
    validation_problem: str = ""
    # False when another common code page would read the file's accented letters differently.
    encoding_confident: bool = True
    null_values: list[str] = field(default_factory=list)

    @property
    def needs_mapping(self) -> bool:
        return bool(self.missing)


def read_options(pipeline: Pipeline) -> dict:
    config = pipeline.data_source.connection_config or {} if pipeline.data_source_id else {}
    return {key: config[key] for key in READ_OPTIONS if key in config}


def _sample(path: str, options: dict, markers: tuple[str, ...]) -> pa.Table:
    connector = FileConnector({"file_path": path, **options})
    batches, rows = [], 0
    reader = connector.read_batches(batch_rows=SAMPLE_ROWS)
    try:
        for batch in reader:
            batches.append(null_markers_apply(batch.slice(0, SAMPLE_ROWS - rows), markers))
            rows += batches[-1].num_rows
            if rows >= SAMPLE_ROWS:
                break
    finally:
        reader.close()
    return pa.Table.from_batches(batches) if batches else pa.table({})


def file_preview(*, file: FileMetadata, pipeline: Pipeline, mapping: dict | None = None) -> Preview:
    """The dry run. `mapping` overrides the pipeline's saved column_mapping (to try one before saving it).
    Raises ConnectorError with a message for the user when the file cannot be read."""
    config = pipeline.configuration or {}
    mapping = config.get(MAPPING_KEY) or {} if mapping is None else mapping
    options = read_options(pipeline)
    looks = sniff(file.file_path, **options)
    markers = null_values_of(config)
    sample = _sample(file.file_path, options, markers)
    raw_names = list(sample.column_names)
    sanitized = sanitize_columns(raw_names)
    names = column_mapping_apply(sanitized, mapping)
    sample = sample.rename_columns(names) if sample.num_columns else sample
    try:
        rules = ValidationRules.from_config(config)
    except ValueError as exc:
        rules, problem = None, str(exc)
    else:
        problem = ""
    # What the load will use: a declared type, else the pipeline's contract, else what this file looks like.
    fixed = {**rules.inferred_types, **rules.data_types} if rules else {}
    guesses = {name: infer_column(sample.column(name)) for name in names}
    columns = [ColumnInfo(raw, source, name, fixed.get(name, guesses[name].type_name), guesses[name].nullable)
               for raw, source, name in zip(raw_names, sanitized, names, strict=True)]
    expected = rules.columns() if rules else []
    preview = Preview(format=looks["format"], encoding=looks["encoding"], delimiter=looks["delimiter"],
                      encoding_confident=all(info.get("encoding_confident", True)
                                             for info in looks["description"].get("files", [])),
                      header=looks["header"], columns=columns, rows=looks["rows"], expected=expected,
                      missing=[name for name in expected if name not in names], validation_problem=problem,
                      null_values=list(markers))
    if rules and not preview.missing and sample.num_rows:
        numbered = sample.append_column(ROW_NUMBER, pa.array(range(1, sample.num_rows + 1), pa.int64()))
        outcome = Validator(rules).check(numbered)
        preview.rows_checked, preview.rows_failed = sample.num_rows, outcome.failed_rows
        preview.errors = [{"row": e.row_number, "column": e.column_name, "value": e.value, "reason": str(e.reason)}
                          for e in outcome.quarantined[:MAX_ERRORS]]
    return preview


def columns_missing(*, file: FileMetadata, pipeline: Pipeline) -> list[str]:
    """The columns the pipeline expects that `file` lacks with the saved mapping (the preview's "missing"):
    a run on it could only fail. [] when the file cannot be read: the run then says why."""
    try:
        return file_preview(file=file, pipeline=pipeline).missing
    except (ConnectorError, OSError, ValueError):
        return []


__all__ = ["ConnectorError", "Preview", "columns_missing", "file_preview"]
