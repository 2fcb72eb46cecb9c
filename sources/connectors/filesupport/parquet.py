"""Parquet through pyarrow.parquet, in the file's own column types (docs/ENGINE.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from django.utils.translation import gettext as _

from sources.connectors.base import ConnectorError
from sources.connectors.filesupport import FileReader
from sources.connectors.filesupport.opening import ByteBudget, ReadErrors, content_free


class _ParquetErrors(ReadErrors):
    def translate(self, error: BaseException) -> ConnectorError | None:
        if isinstance(error, (pa.ArrowException, OSError)) and not isinstance(error, (FileNotFoundError,
                                                                                        PermissionError)):
            return ConnectorError(_("%(name)s is not a readable Parquet file: %(reason)s")
                                  % {"name": self.name, "reason": content_free(error)}, permanent=True)
        return super().translate(error)


class ParquetReader(FileReader):
    def read_schema(self) -> pa.Schema:
        with _ParquetErrors(self.member.name), self.member.local_file(self.settings.budget()) as path:
            schema = pq.ParquetFile(path).schema_arrow.remove_metadata()
        self.detected["columns"] = len(schema)
        return schema

    def batches(self, budget: ByteBudget, batch_rows: int) -> Iterator[pa.RecordBatch]:
        rows = 0
        with _ParquetErrors(self.member.name), self.member.local_file(budget) as path:
            parquet = pq.ParquetFile(path)
            self._schema = parquet.schema_arrow.remove_metadata()
            self.detected.update(columns=len(self._schema), row_groups=parquet.num_row_groups)
            for batch in parquet.iter_batches(batch_size=batch_rows):
                rows += batch.num_rows
                yield batch.replace_schema_metadata(None)
        self.detected["rows"] = rows
