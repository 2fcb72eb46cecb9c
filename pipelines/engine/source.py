"""The source side of a run, shared by both shapes: its connector and the check of its columns.

Both record what they find in the run's progress (where an incremental read starts; the columns and the
schema change), so the run page can show them before the run ends.
"""

from __future__ import annotations

import pyarrow as pa

from pipelines.engine.drift import baseline_columns, column_diff, columns_of, is_empty, policy_apply
from pipelines.models import PipelineRun, RunStatus
from pipelines.run_state import Step, progress_write
from sources.connectors import connector_class, get_connector
from sources.connectors.base import ConnectorError


def connector_for(source, connection_config: dict, run: PipelineRun):
    """The source's connector; an incremental one starts where the last successful run stopped (recorded
    as execution_context["source_state_in"]).

    The position is saved with a run only after its load committed, so a failed run is read again.
    """
    cls = connector_class(source.source_type)
    if not getattr(cls, "supports_state", False):
        return get_connector(source.source_type, connection_config)
    errors = cls.config_errors(connection_config)
    if errors:
        raise ConnectorError("; ".join(errors), permanent=True)
    previous = (PipelineRun.objects.filter(pipeline_id=run.pipeline_id, status=RunStatus.SUCCESS, pk__lt=run.pk)
                .order_by("-pk").values_list("execution_context", flat=True).first()) or {}
    state = previous.get("source_state")
    progress_write(run, source_state_in=state)
    return cls(connection_config, state=state)


def drift_check(run: PipelineRun, schema: pa.Schema, *, policy: str) -> dict:
    """Compare the source's columns with the last successful run's and apply the schema `policy`; records the
    step "stage" with the columns and the diff. {"source_columns", "diff", "policy"}."""
    source_columns = columns_of(schema)
    baseline = baseline_columns(run.pipeline, before_run=run.pk)
    diff = column_diff(baseline, source_columns) if baseline is not None else column_diff(source_columns,
                                                                                          source_columns)
    policy = "evolve" if is_empty(diff) else policy_apply(pipeline=run.pipeline, run=run, diff=diff, policy=policy)
    progress_write(run, step=Step.STAGE, source_columns=source_columns, schema_diff=diff)
    return {"source_columns": source_columns, "diff": diff, "policy": policy}
