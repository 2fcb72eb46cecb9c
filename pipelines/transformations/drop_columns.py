"""drop_columns: leave columns out of the result."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pipelines.transformations.base import ROW_NUMBER, Param, Step, missing_columns_error, register


@register
class DropColumns(Step):
    name = "drop_columns"
    description = gettext_lazy("Leaves the listed columns out of the result.")
    params = (Param("columns", "columns", gettext_lazy("Columns to drop."), required=True),)

    def check(self, params):
        if ROW_NUMBER in params["columns"]:
            return [_("%(column)s is the system column and cannot be dropped.") % {"column": ROW_NUMBER}]
        return []

    def run(self, table, ctx, params, state):
        missing = missing_columns_error(self.name, table, params["columns"])
        if missing:
            raise missing
        return table.drop_columns(params["columns"])
