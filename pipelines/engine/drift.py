"""Schema drift: how a source's columns changed since the pipeline's last successful run, and what the
pipeline's `schema_policy` does about it.

* ``evolve`` (default): new columns are added to the target, missing ones load as NULL; a retyped column
  that no longer fits the target fails the load with the diff.
* ``freeze``: any change fails the run with the column diff.
* ``quarantine``: rows carrying values in new columns are quarantined and the new columns left out.
* ``approve``: the run fails with the diff recorded as a pending schema change; once a person approves it,
  later runs evolve. Nothing that drops data happens without that approval.
"""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.compute as pc
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from etlsite.messages import _msg
from pipelines.engine.errors import RunError
from pipelines.models import Pipeline, PipelineRun, RunStatus, SchemaChange, SchemaChangeStatus
from staging.quarantine import QuarantineEntry


def columns_of(schema: pa.Schema) -> list[list[str]]:
    return [[f.name, str(f.type)] for f in schema if not f.name.startswith("_")]


def baseline_columns(pipeline: Pipeline, *, before_run: int) -> list[list[str]] | None:
    """Source columns of the last successful run, or None when there is none to compare with."""
    previous = (PipelineRun.objects.filter(pipeline=pipeline, status=RunStatus.SUCCESS, pk__lt=before_run)
                .order_by("-pk").values_list("execution_context", flat=True).first())
    return (previous or {}).get("source_columns")


def column_diff(before: list[list[str]], after: list[list[str]]) -> dict:
    old, new = dict(map(tuple, before)), dict(map(tuple, after))
    return {
        "added": [name for name in new if name not in old],
        "removed": [name for name in old if name not in new],
        "retyped": [{"column": n, "from": old[n], "to": new[n]} for n in new if n in old and old[n] != new[n]],
    }


def is_empty(diff: dict) -> bool:
    return not (diff["added"] or diff["removed"] or diff["retyped"])


def describe(diff: dict) -> str:
    parts = []
    if diff["added"]:
        parts.append(_("added: %(cols)s") % {"cols": ", ".join(diff["added"])})
    if diff["removed"]:
        parts.append(_("removed: %(cols)s") % {"cols": ", ".join(diff["removed"])})
    if diff["retyped"]:
        parts.append(_("retyped: %(cols)s") % {"cols": ", ".join(
            f"{c['column']} {c['from']} -> {c['to']}" for c in diff["retyped"])})
    return "; ".join(parts)


def fingerprint(diff: dict) -> str:
    return hashlib.sha256(json.dumps(diff, sort_keys=True).encode()).hexdigest()


def policy_apply(*, pipeline: Pipeline, run: PipelineRun, diff: dict, policy: str) -> str:
    """Decide what `policy` (the configuration's schema_policy, pipelines.config.SCHEMA_POLICIES) does with
    a non-empty diff; returns the policy in force or raises RunError."""
    if policy == "freeze":
        raise RunError(_msg("The source's columns changed (%(diff)s) and the pipeline's schema policy is "
                            "\"freeze\".") % {"diff": describe(diff)})
    if policy == "quarantine" and diff["retyped"]:
        raise RunError(_msg("Columns changed type (%(diff)s); the \"quarantine\" policy only handles new columns.")
                       % {"diff": describe(diff)})
    if policy == "approve":
        change = _change_record(pipeline=pipeline, run=run, diff=diff)
        if change.status == SchemaChangeStatus.APPROVED:
            return "evolve"
        if change.status == SchemaChangeStatus.REJECTED:
            raise RunError(_msg("The source's columns changed (%(diff)s); this change was rejected.")
                           % {"diff": describe(diff)})
        raise RunError(_msg("The source's columns changed (%(diff)s); the change waits for approval under "
                            "Schema changes.") % {"diff": describe(diff)})
    return policy


def _change_record(*, pipeline: Pipeline, run: PipelineRun, diff: dict) -> SchemaChange:
    fp = fingerprint(diff)
    try:
        with transaction.atomic():
            change, _created = SchemaChange.objects.get_or_create(
                pipeline=pipeline, fingerprint=fp, defaults={"diff": diff, "pipeline_run": run})
    except IntegrityError:  # two runs detected the same change at once
        change = SchemaChange.objects.get(pipeline=pipeline, fingerprint=fp)
    return change


def quarantine_new_columns(batch: pa.RecordBatch, added: list[str]) -> tuple[pa.RecordBatch, list, int]:
    """Under the "quarantine" policy: drop the new columns; rows that had values in them are set aside.

    Returns the kept rows, the quarantine entries and the number of rows set aside.
    """
    present = [c for c in added if c in batch.schema.names]
    if not present:
        return batch, [], 0
    has_value = None
    for name in present:
        mask = pc.is_valid(batch.column(name))
        has_value = mask if has_value is None else pc.or_(has_value, mask)
    entries = []
    flagged = batch.filter(has_value)
    numbers = flagged.column("_row_number").to_pylist()
    for name in present:
        for number, value in zip(numbers, flagged.column(name).to_pylist(), strict=True):
            if value is not None:
                entries.append(QuarantineEntry(row_number=number, column_name=name, value=str(value),
                                               reason=_msg("value in a column the source did not have before"),
                                               rule="schema_drift"))
    kept = batch.filter(pc.invert(has_value)).drop_columns(present)
    return kept, entries, flagged.num_rows


def schema_change_decide(*, change: SchemaChange, approve: bool, by: str) -> bool:
    """Approve or reject a pending change; False when someone already decided it."""
    status = SchemaChangeStatus.APPROVED if approve else SchemaChangeStatus.REJECTED
    decided = SchemaChange.objects.filter(pk=change.pk, status=SchemaChangeStatus.PENDING).update(
        status=status, decided_by=by[:150], decided_at=timezone.now(), updated_at=timezone.now())
    return bool(decided)
