"""Shared by the file connector's tests: read a config, flatten batches, catch the error."""

from pathlib import Path

import pyarrow as pa
import pytest

from sources.connectors import ConnectorError, get_connector

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "files"


def read(config: dict, batch_rows: int = 65_536):
    connector = get_connector("file", config)
    return connector, list(connector.read_batches(batch_rows=batch_rows))


def rows_of(batches: list[pa.RecordBatch]) -> list[list]:
    rows = []
    for batch in batches:
        rows.extend([list(row) for row in zip(*(column.to_pylist() for column in batch.columns), strict=True)])
    return rows


def error_of(config: dict) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        read(config)
    return caught.value
