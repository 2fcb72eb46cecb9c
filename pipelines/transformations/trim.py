"""trim: remove leading and trailing whitespace from text columns."""

from __future__ import annotations

import pyarrow.compute as pc
from django.utils.translation import gettext_lazy

from etlsite.messages import _msg
from pipelines.transformations.base import LineageEdge, Param, Step, StepError, missing_columns_error, register
from pipelines.transformations.parsing import is_text


@register
class Trim(Step):
    name = "trim"
    description = gettext_lazy("Removes leading and trailing whitespace (spaces, tabs, no-break spaces) from text.")
    params = (Param("columns", "columns", gettext_lazy("Text columns to trim; default: every text column."),
                    default=None),)

    def run(self, table, ctx, params, state):
        columns = params["columns"]
        if columns is None:
            columns = [field.name for field in table.schema if is_text(field.type)]
        missing = missing_columns_error(self.name, table, columns)
        if missing:
            raise missing
        for column in columns:
            values = table.column(column)
            if not is_text(values.type):
                raise StepError(_msg("trim: column \"%(column)s\" is %(type)s, not text.")
                                % {"column": column, "type": values.type})
            table = table.set_column(table.column_names.index(column), column, pc.utf8_trim_whitespace(values))
            ctx.add_lineage(LineageEdge((column,), column, "trim", "trim whitespace"))
        return table
