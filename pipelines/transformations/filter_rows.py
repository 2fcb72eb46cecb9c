"""filter: keep the rows whose column satisfies a comparison."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from etlsite.messages import _msg
from pipelines.transformations.base import Param, Step, StepError, missing_columns_error, register
from pipelines.transformations.parsing import is_text, parse_values, to_scalar

COMPARISONS = {"==": pc.equal, "!=": pc.not_equal, "<": pc.less, "<=": pc.less_equal, ">": pc.greater,
               ">=": pc.greater_equal}
OPS = (*COMPARISONS, "in", "not_in", "is_null", "not_null")


def _scalar_value(value) -> bool:
    return isinstance(value, str | int | float | bool)


@register
class Filter(Step):
    name = "filter"
    description = gettext_lazy(
        "Keeps the rows whose column satisfies a condition, e.g. {\"column\": \"channel\", \"op\": \"==\", "
        "\"value\": \"online\"}. Like SQL, an empty value satisfies no comparison (use is_null / not_null). "
        "Text compared with a number is read as a number.")
    params = (
        Param("column", "column", gettext_lazy("The column to test."), required=True),
        Param("op", "string", gettext_lazy("One of ==, !=, <, <=, >, >=, in, not_in, is_null, not_null."),
              required=True),
        Param("value", "value", gettext_lazy("The value to compare with; a list for in / not_in; none for "
                                             "is_null / not_null."), default=None),
    )

    def check(self, params):
        op, value = params["op"], params["value"]
        if op not in OPS:
            return [_("parameter \"op\": unknown operator \"%(op)s\"; use one of %(ops)s.")
                    % {"op": op, "ops": ", ".join(OPS)}]
        if op in ("is_null", "not_null"):
            return [_("parameter \"value\" is not used with %(op)s.") % {"op": op}] if value is not None else []
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value or not all(_scalar_value(v) for v in value):
                return [_("parameter \"value\" must be a non-empty list of values for %(op)s.") % {"op": op}]
            return []
        if not _scalar_value(value):
            return [_("parameter \"value\" must be a string, a number or true/false for %(op)s.") % {"op": op}]
        return []

    def run(self, table, ctx, params, state):
        column, op, value = params["column"], params["op"], params["value"]
        missing = missing_columns_error(self.name, table, [column])
        if missing:
            raise missing
        values = table.column(column)
        if op in ("is_null", "not_null"):
            keep = pc.is_null(values) if op == "is_null" else pc.is_valid(values)
        else:
            candidates = value if isinstance(value, list) else [value]
            if is_text(values.type) and all(isinstance(v, int | float) and not isinstance(v, bool)
                                            for v in candidates):
                values = parse_values(values, "float").values
            try:
                scalars = [to_scalar(v, values.type) for v in candidates]
            except ValueError as exc:
                raise StepError(_msg("filter: %(value)r cannot be compared with column \"%(column)s\" (%(type)s): "
                                     "%(error)s.") % {"value": value, "column": column, "type": values.type,
                                                    "error": exc}) from exc
            if op in COMPARISONS:
                keep = COMPARISONS[op](values, scalars[0])
            else:
                keep = pc.is_in(values, value_set=pa.array([s.as_py() for s in scalars], values.type))
                if op == "not_in":
                    keep = pc.and_(pc.invert(keep), pc.is_valid(values))
        kept = table.filter(pc.fill_null(keep, False))
        ctx.count_removed(self.name, table.num_rows - kept.num_rows)
        return kept
