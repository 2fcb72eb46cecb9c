"""The contract step of a file run: on a pipeline's first load, the types of its columns are inferred from the
file's first rows (pipelines/inference.py) and stored in its configuration; every later load casts to them,
and rows that do not fit are quarantined with the reason.

Only file sources are sampled ahead of the run: a file can be read twice, a Kafka topic or an API page not.
A pipeline whose target table already exists (loaded before inference existed, or by another pipeline) takes
that table's column types as its contract, so its rows are cast to what the table holds.
"""

from __future__ import annotations

import pyarrow as pa

from analytics.loading import clickhouse_type, table_columns
from etlsite.identifiers import sanitize_columns
from pipelines import services
from pipelines.config import PipelineConfig
from pipelines.engine.mapping import column_mapping_apply
from pipelines.inference import SAMPLE_ROWS, Contract, infer_contract, null_markers_apply
from pipelines.transformations.parsing import ARROW_TYPES
from sources.connectors.base import ConnectorError

# The ClickHouse type each data_types name loads as (analytics.loading.clickhouse_type), read backwards.
TYPE_NAMES = {clickhouse_type(arrow_type): name for name, arrow_type in ARROW_TYPES.items()}


def contract_ensure(*, pipeline, config: PipelineConfig, connector, target, table: str) -> PipelineConfig:
    """The run's configuration with its contract, inferring and saving one on the first load (then the
    configuration is read again: the saved one holds the contract)."""
    if config.contract is not None or pipeline.data_source.source_type != "file":
        return config
    existing = table_columns(target, table)
    if existing:
        contract = Contract(data_types={name: TYPE_NAMES[kind] for name, kind in existing.items()
                                        if not name.startswith("_") and TYPE_NAMES.get(kind, "string") != "string"})
    else:
        try:
            sample = _first_rows(connector, config)
        except ConnectorError:
            # The file's own error belongs to the run's read (with its part, its retry): no contract yet, the
            # next run that reads the file infers one.
            return config
        declared = tuple(config.validation_rules.get("data_types") or {})
        contract = infer_contract(sample, skip=declared) if sample is not None else Contract()
    services.pipeline_contract_save(pipeline=pipeline, contract=contract.as_config())
    return pipeline.config


def _first_rows(connector, config: PipelineConfig) -> pa.RecordBatch | None:
    batches = connector.read_batches(batch_rows=SAMPLE_ROWS)
    try:
        first = next(iter(batches), None)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
    if first is None:
        return None
    names = column_mapping_apply(sanitize_columns(first.schema.names), config.column_mapping)
    return null_markers_apply(first.rename_columns(names), config.null_values)
