"""Excel .xlsx through openpyxl in read-only mode: rows stream from the sheet's XML, so memory stays flat.

Formulas give the value Excel cached when it last saved the file (`data_only=True`); a workbook written by a
program that never calculated it has no cached value, and the cell reads as NULL. The first non-empty row is the
header; fully empty rows are skipped, like empty lines in a CSV file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from typing import Any

import openpyxl
import pyarrow as pa
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from etlsite.messages import _msg
from sources.connectors.base import ConnectorError
from sources.connectors.filesupport import FileReader
from sources.connectors.filesupport.batching import rows_to_batch, string_schema, to_text
from sources.connectors.filesupport.delimited import file_is_empty
from sources.connectors.filesupport.opening import ByteBudget, ReadErrors, content_free, too_big


class _ExcelErrors(ReadErrors):
    def translate(self, error: BaseException) -> ConnectorError | None:
        if isinstance(error, (InvalidFileException, zipfile.BadZipFile, KeyError)):
            return ConnectorError(_("%(name)s is not a readable .xlsx workbook: %(reason)s")
                                  % {"name": self.name, "reason": content_free(error)}, permanent=True)
        return super().translate(error)


def _trimmed(values: tuple) -> tuple:
    end = len(values)
    while end and values[end - 1] is None:
        end -= 1
    return values[:end]


class ExcelReader(FileReader):
    def _workbook(self, path: str):
        # The workbook is itself a zip: refuse one whose parts would decompress past max_bytes.
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > self.settings.max_bytes:
                raise too_big(self.member.name, self.settings.max_bytes)
        return openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)

    def _sheet(self, workbook):
        wanted = self.settings.sheet
        if wanted is None:
            if not workbook.worksheets:
                raise file_is_empty(self.member.name)
            sheet = workbook.worksheets[0]
        elif wanted in workbook.sheetnames:
            sheet = workbook[wanted]
        else:
            raise ConnectorError(_msg("%(name)s has no sheet %(sheet)s (sheets: %(sheets)s).")
                                 % {"name": self.member.name, "sheet": wanted,
                                    "sheets": ", ".join(workbook.sheetnames)}, permanent=True)
        sheet.reset_dimensions()  # the declared size is often wrong; read every row there is
        self.detected["sheet"] = sheet.title
        return sheet

    def _rows(self, budget: ByteBudget) -> Iterator[tuple[int, tuple]]:
        """(row number, values without trailing empty cells) of every non-empty row."""
        with _ExcelErrors(self.member.name), self.member.local_file(budget) as path:
            workbook = self._workbook(path)
            try:
                for number, values in enumerate(self._sheet(workbook).iter_rows(values_only=True), start=1):
                    values = _trimmed(values)
                    if values:
                        yield number, values
            finally:
                workbook.close()

    def _header(self, rows: Iterator[tuple[int, tuple]], budget_for_width: ByteBudget) -> list[str]:
        if self.settings.has_header:
            for _number, values in rows:
                return [to_text(value) or "" for value in values]
            raise file_is_empty(self.member.name)
        width = max((len(values) for _number, values in self._rows(budget_for_width)), default=0)
        if not width:
            raise file_is_empty(self.member.name)
        return [f"column_{index}" for index in range(1, width + 1)]

    def read_schema(self) -> pa.Schema:
        rows = self._rows(self.settings.budget())
        try:
            names = self._header(rows, self.settings.budget())
        finally:
            rows.close()
        self.detected["columns"] = len(names)
        return string_schema(names)

    def batches(self, budget: ByteBudget, batch_rows: int) -> Iterator[pa.RecordBatch]:
        rows_iter = self._rows(budget)
        try:
            names = self._header(rows_iter, self.settings.budget())
            schema = self._schema = string_schema(names)
            width, rows, count = len(names), [], 0
            if not self.settings.has_header:
                rows_iter.close()
                rows_iter = self._rows(budget)
            for number, values in rows_iter:
                if len(values) > width:
                    raise ConnectorError(
                        _msg("%(name)s, row %(row)d: a value in column %(column)s, beyond the header's %(width)d "
                             "columns.") % {"name": self.member.name, "row": number,
                                         "column": get_column_letter(width + 1), "width": width}, permanent=True)
                row: list[Any] = [to_text(value) for value in values]
                row.extend([None] * (width - len(row)))
                rows.append(row)
                if len(rows) == batch_rows:
                    count += len(rows)
                    yield rows_to_batch(schema, rows)
                    rows = []
            if rows:
                count += len(rows)
                yield rows_to_batch(schema, rows)
            self.detected["rows"] = count
        finally:
            rows_iter.close()
