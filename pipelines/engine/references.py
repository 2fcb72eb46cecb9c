"""Reference data for lookups (enrich_product_data): a file or another data source, read whole.

A step names its reference either inline ({"file_path": ...} or {"source": "<data source name>"}) or by a
key of the configuration's "references" object, so the specification's bare "enrich_product_data" can find
its product table in {"references": {"products": {...}}}.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from etlsite.identifiers import sanitize_columns
from etlsite.messages import _msg
from pipelines.engine.errors import RunError
from sources.connectors import get_connector
from sources.models import DataSource

# Reference tables are small dimension tables; refuse to hold a fact table in memory by mistake.
MAX_REFERENCE_ROWS = 1_000_000


def reference_read(spec: dict) -> pa.Table:
    if "source" in spec:
        source = DataSource.objects.filter(name=spec["source"]).first()
        if source is None:
            raise RunError(_msg("Reference data source \"%(name)s\" does not exist.") % {"name": spec["source"]})
        connector = get_connector(source.source_type, source.connection_config)
    elif "file_path" in spec:
        connector = get_connector("file", spec)
    else:
        raise RunError(_msg("A reference needs \"file_path\" or \"source\"."))
    batches = []
    rows = 0
    for batch in connector.read_batches():
        rows += batch.num_rows
        if rows > MAX_REFERENCE_ROWS:
            raise RunError(_msg("Reference data has more than %(max)d rows.") % {"max": MAX_REFERENCE_ROWS})
        batches.append(batch)
    if not batches:
        raise RunError(_msg("Reference data is empty."))
    table = pa.Table.from_batches(batches)
    return table.rename_columns(sanitize_columns(table.schema.names))


def reference_file_paths(config) -> dict[str, str]:
    """{where: file_path} of every file the configuration's references name inline (judged by
    sources.fileroots when saved and when read)."""
    paths: dict[str, str] = {}
    if not isinstance(config, dict):
        return paths
    named = config.get("references")
    for name, spec in (named.items() if isinstance(named, dict) else ()):
        if isinstance(spec, dict) and isinstance(spec.get("file_path"), str):
            paths[f"references.{name}.file_path"] = spec["file_path"]
    steps = config.get("transformations")
    for index, step in enumerate(steps if isinstance(steps, list) else ()):
        params = step.get("params") if isinstance(step, dict) else None
        reference = params.get("reference") if isinstance(params, dict) else None
        if isinstance(reference, dict) and isinstance(reference.get("file_path"), str):
            paths[f"transformations[{index}].params.reference.file_path"] = reference["file_path"]
    return paths


def reference_loader_for(named: dict) -> Callable[[dict | str], pa.Table]:
    """Reads a step's reference: inline, or by its name in `named` (the configuration's references)."""
    cache: dict[str, pa.Table] = {}

    def load(reference: dict | str) -> pa.Table:
        if isinstance(reference, str):
            if reference not in named:
                raise RunError(_msg("Unknown reference \"%(name)s\"; define it under \"references\" in the "
                                    "configuration.") % {"name": reference})
            reference = named[reference]
        key = repr(sorted(reference.items()))
        if key not in cache:
            cache[key] = reference_read(reference)
        return cache[key]

    return load
