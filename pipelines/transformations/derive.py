"""derive: a new (or replaced) column computed from an expression over the row's columns."""

from __future__ import annotations

import pyarrow as pa
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from etlsite.messages import _msg
from pipelines.transformations.base import ROW_NUMBER, LineageEdge, Param, Step, StepError, register
from pipelines.transformations.expressions import ExpressionError, columns_of, evaluate, parse


@register
class Derive(Step):
    name = "derive"
    description = gettext_lazy(
        "Computes a column from an expression, e.g. {\"column\": \"unit_price\", \"expression\": "
        "\"round(amount / quantity, 2)\"}: + - * / with numbers and columns, parentheses, 'text', and upper(), "
        "lower(), concat(), round(x, n), abs(), year(d), month(d), day(d). An existing column is replaced.")
    params = (
        Param("column", "column", gettext_lazy("The name of the computed column."), required=True),
        Param("expression", "expression", gettext_lazy("The expression."), required=True),
    )

    def check(self, params):
        errors = []
        if params["column"] == ROW_NUMBER:
            errors.append(_("%(column)s is the system column and cannot be derived.") % {"column": ROW_NUMBER})
        try:
            parse(params["expression"])
        except ExpressionError as exc:
            errors.append(_("parameter \"expression\": %(error)s") % {"error": exc})
        return errors

    def run(self, table, ctx, params, state):
        if "tree" not in state:
            state["tree"] = parse(params["expression"])
        target, tree = params["column"], state["tree"]
        try:
            values = evaluate(tree, table)
        except ExpressionError as exc:
            raise StepError(_msg("derive %(column)s = %(expression)s: %(error)s")
                            % {"column": target, "expression": params["expression"], "error": exc}) from exc
        if isinstance(values, pa.Scalar):
            values = pa.repeat(values, table.num_rows)
        if target in table.column_names:
            table = table.set_column(table.column_names.index(target), target, values)
        else:
            table = table.append_column(target, values)
        ctx.add_lineage(LineageEdge(tuple(columns_of(tree)), target, "derive", params["expression"]))
        return table
