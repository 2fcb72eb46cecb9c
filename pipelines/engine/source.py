"""The source side of a run, shared by both shapes: its connector and the check of its columns.

Neither writes: each returns what it found, and the caller records it in the run's progress (where an
incremental read starts; the columns and the schema change), so the run page can show them before the run
ends. (`policy_apply` may record a schema change waiting for approval: that is the "approve" policy's point.)
"""

from __future__ import annotations

import pyarrow as pa

from pipelines.engine.drift import baseline_columns, column_diff, columns_of, is_empty, policy_apply
from pipelines.models import PipelineRun, RunStatus
from sources.connectors import connector_class, get_connector
from sources.connectors.base import ConnectorError


def connector_for(source, connection_config: dict, run: PipelineRun) -> tuple:
    """The source's connector and the progress the caller records: an incremental one starts where the last
    successful run stopped ({"source_state_in": position}); other sources record nothing ({}).

    The position is saved with a run only after its load committed, so a failed run is read again.
    """
    cls = connector_class(source.source_type)
    if not getattr(cls, "supports_state", False):
        return get_connector(source.source_type, connection_config), {}
    errors = cls.config_errors(connection_config)
    if errors:
        raise ConnectorError("; ".join(errors), permanent=True)
    previous = (PipelineRun.objects.filter(pipeline_id=run.pipeline_id, status=RunStatus.SUCCESS, pk__lt=run.pk)
                .order_by("-pk").values_list("execution_context", flat=True).first()) or {}
    state = previous.get("source_state")
    return cls(connection_config, state=state), {"source_state_in": state}


def drift_check(run: PipelineRun, schema: pa.Schema, *, policy: str) -> dict:
    """Compare the source's columns with the last successful run's and apply the schema `policy`:
    {"source_columns", "diff", "policy"}; the caller records the columns and the diff (`drift_progress`)."""
    source_columns = columns_of(schema)
    baseline = baseline_columns(run.pipeline, before_run=run.pk)
    diff = column_diff(baseline, source_columns) if baseline is not None else column_diff(source_columns,
                                                                                          source_columns)
    policy = "evolve" if is_empty(diff) else policy_apply(pipeline=run.pipeline, run=run, diff=diff, policy=policy)
    return {"source_columns": source_columns, "diff": diff, "policy": policy}


def drift_progress(drift: dict) -> dict:
    """What a run's progress records of `drift_check`'s outcome, with the step "stage"."""
    return {"source_columns": drift["source_columns"], "schema_diff": drift["diff"]}
