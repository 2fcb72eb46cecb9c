"""OpenLineage run events (JSON) for a pipeline run, for Marquez, DataHub or OpenMetadata to ingest.

The event is a plain dict in the OpenLineage 2-0-2 RunEvent shape: the job, a run id (a UUID derived from the
job and the pipeline run id, so every event of one run carries the same id), the input datasets and the output
dataset with a ``schema`` facet and a ``columnLineage`` facet built from `analytics.lineage.lineage_rows`.
Intermediate tables of the lineage rows (the run's staging table) are not datasets of the event: their columns
are followed back to the inputs they were extracted from.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from analytics.lineage_graph import LineageGraph

RUN_EVENT_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
SCHEMA_FACET_URL = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
COLUMN_LINEAGE_FACET_URL = ("https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
                            "#/$defs/ColumnLineageDatasetFacet")
JOB_TYPE_FACET_URL = "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
# transformation_type of a lineage row -> (OpenLineage transformation type, subtype)
_IDENTITY = {"copy", "extract", "load", "rename"}

Field = str | tuple[str, str] | dict
Dataset = tuple[str, str, Sequence[Field]]


def run_uuid(namespace: str, job_name: str, run_id: int) -> str:
    """The OpenLineage runId of a pipeline run: stable, so START and COMPLETE events of a run match."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"openlineage:{namespace}/{job_name}/runs/{int(run_id)}"))


def _fields(fields: Iterable[Field]) -> list[dict]:
    out = []
    for field in fields:
        if isinstance(field, dict):
            out.append({k: v for k, v in field.items() if v not in (None, "")})
        elif isinstance(field, tuple):
            name, type_name = field
            out.append({"name": name, **({"type": type_name} if type_name else {})})
        else:
            out.append({"name": str(field)})
    return out


def _dataset(namespace: str, name: str, fields: Sequence[Field], producer: str) -> dict:
    dataset = {"namespace": namespace, "name": name, "facets": {}}
    if fields:
        dataset["facets"]["schema"] = {"_producer": producer, "_schemaURL": SCHEMA_FACET_URL,
                                       "fields": _fields(fields)}
    return dataset


def _transformation(row: dict) -> dict:
    kinds = set(row["transformation_type"].split("+"))
    identity = kinds <= _IDENTITY
    out = {"type": "DIRECT", "subtype": "IDENTITY" if identity else "TRANSFORMATION"}
    if row.get("transformation_logic") and row["transformation_logic"] != "copy":
        out["description"] = f"{row['transformation_type']}: {row['transformation_logic']}"
    return out


def column_lineage_facet(rows: list[dict], *, output_name: str, datasets: dict[str, str], producer: str) -> dict:
    """The columnLineage facet of the output dataset `output_name`.

    `datasets` maps the table names used in the lineage rows to their OpenLineage namespace (the inputs and
    references). Rows from other tables (staging) are followed back through the rows that fill them
    (`LineageGraph.origins`, the graph the lineage pages draw).
    """
    graph = LineageGraph(rows)
    fields: dict[str, dict] = {}
    for row in rows:
        if row["target_table"] != output_name:
            continue
        entry = fields.setdefault(row["target_column"], {"inputFields": []})
        for table, column in graph.origins(row["source_table"], row["source_column"], stop=datasets):
            entry["inputFields"].append({"namespace": datasets.get(table, ""), "name": table, "field": column,
                                         "transformations": [_transformation(row)]})
    return {"_producer": producer, "_schemaURL": COLUMN_LINEAGE_FACET_URL, "fields": fields}


def openlineage_run_event(*, run_id: int, job_name: str, namespace: str, event_type: str,
                          inputs: Sequence[Dataset], output: Dataset | None, column_lineage: list[dict] | None = None,
                          event_time: datetime | None = None, producer: str) -> dict:
    """An OpenLineage RunEvent for pipeline run `run_id`.

    `inputs`/`output`: ``(namespace, name, fields)`` with fields as names, ``(name, type)`` pairs or
    ``{"name", "type", "description"}`` dicts. `column_lineage`: rows of `analytics.lineage.lineage_rows`;
    lookups' reference tables that are not among `inputs` are added as inputs (without a schema facet).
    `producer`: a URI naming this software and version (the deployment's repository URL at its tag).
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"event_type must be one of {', '.join(EVENT_TYPES)}")
    moment = (event_time or datetime.now(timezone.utc)).astimezone(timezone.utc)
    input_datasets = [_dataset(ns, name, fields, producer) for ns, name, fields in inputs]
    datasets = {name: ns for ns, name, _fields in inputs}
    outputs = []
    if output is not None:
        out_ns, out_name, out_fields = output
        dataset = _dataset(out_ns, out_name, out_fields, producer)
        if column_lineage:
            intermediate = {r["target_table"] for r in column_lineage if r["target_table"] != out_name}
            for row in column_lineage:
                table = row["source_table"]
                if (row["target_table"] == out_name and table not in datasets and table not in intermediate):
                    datasets[table] = out_ns  # a lookup reference the caller did not list
                    input_datasets.append({"namespace": out_ns, "name": table, "facets": {}})
            dataset["facets"]["columnLineage"] = column_lineage_facet(
                column_lineage, output_name=out_name, datasets=datasets, producer=producer)
        outputs.append(dataset)
    return {
        "eventType": event_type,
        "eventTime": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "run": {"runId": run_uuid(namespace, job_name, run_id), "facets": {}},
        "job": {"namespace": namespace, "name": job_name,
                "facets": {"jobType": {"_producer": producer, "_schemaURL": JOB_TYPE_FACET_URL,
                                       "processingType": "BATCH", "integration": "ETL", "jobType": "PIPELINE"}}},
        "inputs": input_datasets,
        "outputs": outputs,
        "producer": producer,
        "schemaURL": RUN_EVENT_SCHEMA_URL,
    }
