"""cast: convert columns to another type; a value that does not convert stops the run."""

from __future__ import annotations

import pyarrow.compute as pc
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from etlsite.messages import _msg
from pipelines.config_schema import DATA_TYPES, column_name_error
from pipelines.transformations.base import (
    ROW_NUMBER,
    LineageEdge,
    Param,
    Step,
    StepError,
    missing_columns_error,
    register,
)
from pipelines.transformations.parsing import failure_reason, parse_values


@register
class Cast(Step):
    name = "cast"
    description = gettext_lazy(
        "Converts columns to a type (the names of validation_rules.data_types). A value that does not convert "
        "stops the run with the column and the value; use validation rules to set such rows aside instead.")
    params = (Param("columns", "mapping", gettext_lazy("Column -> type, e.g. {\"quantity\": \"integer\"}."),
                    required=True),)

    def check(self, params):
        errors = []
        for column, type_name in params["columns"].items():
            problem = column_name_error("columns", column)
            if problem:
                errors.append(problem)
            if column == ROW_NUMBER:
                errors.append(_("%(column)s is the system column and cannot be cast.") % {"column": ROW_NUMBER})
            if type_name not in DATA_TYPES:
                errors.append(_("columns.%(column)s: unknown type \"%(type)s\"; use one of %(types)s.")
                              % {"column": column, "type": type_name, "types": ", ".join(DATA_TYPES)})
        return errors

    def run(self, table, ctx, params, state):
        missing = missing_columns_error(self.name, table, params["columns"])
        if missing:
            raise missing
        for column, type_name in params["columns"].items():
            values = table.column(column)
            parsed = parse_values(values, type_name)
            bad = pc.sum(parsed.failed).as_py() or 0
            if bad:
                at = pc.index(parsed.failed, True).as_py()
                where = ""
                if ROW_NUMBER in table.column_names:
                    where = _msg(" (source row %(row)d)") % {"row": table.column(ROW_NUMBER)[at].as_py()}
                raise StepError(_msg("cast: column \"%(column)s\": %(reason)s%(where)s; %(count)d value(s) do not "
                                     "convert.") % {"column": column, "where": where, "count": bad,
                                                 "reason": failure_reason(type_name, values[at].as_py())})
            table = table.set_column(table.column_names.index(column), column, parsed.values)
            ctx.add_lineage(LineageEdge((column,), column, "cast", f"cast to {type_name}"))
        return table
