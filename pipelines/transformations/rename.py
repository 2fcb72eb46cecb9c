"""rename: give columns new names."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from etlsite.messages import _msg
from pipelines.config_schema import column_name_error
from pipelines.transformations.base import (
    ROW_NUMBER,
    LineageEdge,
    Param,
    Step,
    StepError,
    missing_columns_error,
    register,
)


@register
class Rename(Step):
    name = "rename"
    description = gettext_lazy("Renames columns: {\"mapping\": {\"old\": \"new\"}} (or just {\"old\": \"new\"}).")
    params = (Param("mapping", "mapping", gettext_lazy("Old column name -> new column name."), required=True),)

    def normalize(self, params):
        return params if "mapping" in params or not params else {"mapping": params}

    def check(self, params):
        errors = []
        for old, new in params["mapping"].items():
            for problem in (column_name_error("mapping", old), column_name_error(f"mapping.{old}", new)):
                if problem:
                    errors.append(problem)
            if ROW_NUMBER in (old, new):
                errors.append(_("%(column)s is the system column and cannot be renamed.") % {"column": ROW_NUMBER})
        targets = list(params["mapping"].values())
        repeated = sorted({t for t in targets if isinstance(t, str) and targets.count(t) > 1})
        if repeated:
            errors.append(_("mapping: more than one column would be named %(names)s.") % {"names": ", ".join(repeated)})
        return errors

    def run(self, table, ctx, params, state):
        mapping = params["mapping"]
        missing = missing_columns_error(self.name, table, mapping)
        if missing:
            raise missing
        names = [mapping.get(c, c) for c in table.column_names]
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            raise StepError(_msg("rename: the data would have two columns named %(names)s.")
                            % {"names": ", ".join(clashes)})
        for old, new in mapping.items():
            ctx.add_lineage(LineageEdge((old,), new, "rename", f"{old} -> {new}"))
        return table.rename_columns(names)
