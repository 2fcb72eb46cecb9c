"""fill_nulls: put a fixed value where a column is empty."""

from __future__ import annotations

import pyarrow.compute as pc
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from etlsite.messages import _msg
from pipelines.config_schema import column_name_error
from pipelines.transformations.base import LineageEdge, Param, Step, StepError, missing_columns_error, register
from pipelines.transformations.parsing import to_scalar


@register
class FillNulls(Step):
    name = "fill_nulls"
    description = gettext_lazy("Puts a value where a column is empty, e.g. {\"values\": {\"channel\": \"unknown\"}}.")
    params = (Param("values", "mapping", gettext_lazy("Column -> the value for its empty cells."), required=True),)

    def check(self, params):
        errors = []
        for column, value in params["values"].items():
            problem = column_name_error("values", column)
            if problem:
                errors.append(problem)
            if not isinstance(value, str | int | float | bool):
                errors.append(_("values.%(column)s must be a string, a number or true/false.") % {"column": column})
        return errors

    def run(self, table, ctx, params, state):
        missing = missing_columns_error(self.name, table, params["values"])
        if missing:
            raise missing
        for column, value in params["values"].items():
            values = table.column(column)
            try:
                scalar = to_scalar(value, values.type)
            except ValueError as exc:
                raise StepError(_msg("fill_nulls: column \"%(column)s\" (%(type)s): %(error)s.")
                                % {"column": column, "type": values.type, "error": exc}) from exc
            table = table.set_column(table.column_names.index(column), column, pc.fill_null(values, scalar))
            ctx.add_lineage(LineageEdge((column,), column, "fill_nulls", f"empty -> {value!r}"))
        return table
