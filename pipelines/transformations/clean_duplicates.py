"""clean_duplicates: drop rows whose values repeat an earlier row of the run (the first one stays)."""

from __future__ import annotations

import pyarrow as pa
from django.utils.translation import gettext_lazy as _

from pipelines.transformations.base import ROW_NUMBER, Param, Step, missing_columns_error, register
from pipelines.transformations.keys import HashSet, row_hashes


@register
class CleanDuplicates(Step):
    name = "clean_duplicates"
    description = _("Removes rows that repeat an earlier row of the run (across all batches); the first "
                    "occurrence stays. Memory: 8 bytes per distinct row of the run.")
    params = (
        Param("columns", "columns", _("Columns that make a row a repeat; default: every column."), default=None),
    )

    def run(self, table, ctx, params, state):
        columns = params["columns"] or [c for c in table.column_names if c != ROW_NUMBER]
        missing = missing_columns_error(self.name, table, columns)
        if missing:
            raise missing
        seen = state.setdefault("seen", HashSet())
        keep = seen.keep_new(row_hashes(table, columns))
        ctx.count_removed(self.name, table.num_rows - int(keep.sum()))
        return table.filter(pa.array(keep))
