"""validate_amounts: keep rows whose amount is a number of at least `min`, and not zero unless allowed."""

from __future__ import annotations

import pyarrow.compute as pc
from django.utils.translation import gettext_lazy as _

from pipelines.transformations.base import Param, Step, missing_columns_error, register
from pipelines.transformations.parsing import is_numeric, parse_values


@register
class ValidateAmounts(Step):
    name = "validate_amounts"
    description = _("Removes rows whose amount is missing, not a number, below the minimum, or zero (unless "
                    "zero is allowed). With the defaults only positive amounts stay.")
    params = (
        Param("column", "column", _("The amount column."), default="amount"),
        Param("min", "number", _("The smallest amount kept (inclusive)."), default=0),
        Param("allow_zero", "boolean", _("Keep rows whose amount is exactly 0."), default=False),
    )

    def run(self, table, ctx, params, state):
        column = params["column"]
        missing = missing_columns_error(self.name, table, [column])
        if missing:
            raise missing
        values = table.column(column)
        if not is_numeric(values.type):
            values = parse_values(values, "float").values  # text that is not a number is removed
        keep = pc.greater_equal(values, params["min"])
        if not params["allow_zero"]:
            keep = pc.and_(keep, pc.not_equal(values, 0))
        keep = pc.fill_null(keep, False)
        kept = table.filter(keep)
        ctx.count_removed(self.name, table.num_rows - kept.num_rows)
        return kept
