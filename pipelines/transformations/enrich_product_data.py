"""enrich_product_data: add columns of a reference table (products) to each row by key, as a left join."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from etlsite.messages import _msg
from pipelines.config_schema import DATA_TYPES, column_name_error
from pipelines.transformations.base import LineageEdge, Param, Step, StepError, missing_columns_error, register
from pipelines.transformations.parsing import is_text, parse_values, type_name_for

_POSITION = "__enrich_position"


@register
class EnrichProductData(Step):
    name = "enrich_product_data"
    description = gettext_lazy(
        "Adds columns of a reference table (by default the product list) to each row by a key, like a left join: "
        "rows without a match keep empty values; the row order and count do not change.")
    params = (
        Param("reference", "reference",
              gettext_lazy("The reference data: the name of an entry of the configuration's \"references\", or "
                           "{\"file_path\": ...} or {\"source\": \"<data source name>\"}."), default="products"),
        Param("key", "column", gettext_lazy("The key column of the rows."), default="product_id"),
        Param("reference_key", "column", gettext_lazy("The key column of the reference; default: the same as key."),
              default=None),
        Param("columns", "columns", gettext_lazy("Reference columns to add; default: all but the key."),
              default=None),
        Param("prefix", "string", gettext_lazy("Put before the added columns' names, e.g. \"product_\"."),
              default=""),
        Param("data_types", "mapping",
              gettext_lazy("Types of added columns, e.g. {\"list_price\": \"float\"}; values that do not parse "
                           "become empty."), default=None),
    )

    def check(self, params):
        errors = []
        reference = params["reference"]
        if isinstance(reference, dict) and not (
                isinstance(reference.get("file_path"), str) or isinstance(reference.get("source"), str)):
            errors.append(_("parameter \"reference\" needs \"file_path\" or \"source\"."))
        for column, type_name in (params["data_types"] or {}).items():
            problem = column_name_error("data_types", column)
            if problem:
                errors.append(problem)
            if type_name not in DATA_TYPES:
                errors.append(_("data_types.%(column)s: unknown type \"%(type)s\"; use one of %(types)s.")
                              % {"column": column, "type": type_name, "types": ", ".join(DATA_TYPES)})
        prefix = params["prefix"]
        if prefix and column_name_error("prefix", prefix + "x"):
            errors.append(_("parameter \"prefix\": \"%(prefix)s\" must be lower-case letters, digits and _.")
                          % {"prefix": prefix})
        return errors

    def run(self, table, ctx, params, state):
        key = params["key"]
        missing = missing_columns_error(self.name, table, [key])
        if missing:
            raise missing
        if "reference" not in state:
            state["reference"] = self._prepare(ctx, params)
        reference, added = state["reference"]
        clashes = [name for name in added if name in table.column_names]
        if clashes:
            raise StepError(_msg("%(step)s: the data already has column(s) %(columns)s; set \"prefix\" or "
                                 "\"columns\".") % {"step": self.name, "columns": ", ".join(clashes)})
        right = reference.set_column(0, key, _matching_keys(reference.column(0), table.column(key).type))
        left = table.append_column(_POSITION, pa.array(np.arange(table.num_rows, dtype=np.int64)))
        joined = left.join(right, keys=key, join_type="left outer", use_threads=False)
        joined = joined.sort_by(_POSITION).drop_columns([_POSITION])
        return joined.select(table.column_names + added)

    def _prepare(self, ctx, params) -> tuple[pa.Table, list[str]]:
        """The reference as (key, added columns...), typed and checked once per run; and the added names."""
        spec = params["reference"]
        reference = ctx.load_reference(spec)
        ref_key = params["reference_key"] or params["key"]
        columns = params["columns"] or [c for c in reference.column_names if c != ref_key]
        missing = [c for c in [ref_key, *columns] if c not in reference.column_names]
        if missing:
            raise StepError(_msg("%(step)s: the reference has no column(s) %(missing)s (it has: %(have)s).") % {
                "step": self.name, "missing": ", ".join(missing), "have": ", ".join(reference.column_names)})
        keys = reference.column(ref_key)
        counts = pc.value_counts(keys.drop_null())
        repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
        if len(repeated):
            raise StepError(_msg("%(step)s: the reference has more than one row for %(key)s = %(value)s; a lookup "
                                 "needs one row per key.") % {"step": self.name, "key": ref_key,
                                                          "value": repeated[0].as_py()})
        prefix = params["prefix"]
        types = params["data_types"] or {}
        arrays = [keys]
        for column in columns:
            values = reference.column(column)
            if column in types:
                values = parse_values(values, types[column]).values
            arrays.append(values)
        added = [prefix + c for c in columns]
        label = spec if isinstance(spec, str) else spec.get("file_path") or spec.get("source")
        for column, target in zip(columns, added, strict=True):
            ctx.add_lineage(LineageEdge((column,), target, "lookup",
                                        f"left join on {params['key']} = {label}.{ref_key}", source_table=label))
        return pa.table(arrays, names=[ref_key, *added]), added


def _matching_keys(keys: pa.ChunkedArray, wanted: pa.DataType) -> pa.ChunkedArray | pa.Array:
    """The reference's keys in the type of the rows' key (CSV references are text); keys that do not fit are NULL."""
    if keys.type == wanted:
        return keys
    if is_text(wanted):
        return pc.cast(keys, wanted)
    type_name = type_name_for(wanted)
    if type_name is None:
        raise StepError(_msg("enrich_product_data: a key of type %(type)s cannot be looked up.") % {"type": wanted})
    values = parse_values(keys, type_name).values
    return values if values.type == wanted else pc.cast(values, wanted)
