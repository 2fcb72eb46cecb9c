"""Row values in API responses as the caller may see them (issue 4): without
`analytics.view_sensitive_data`, values of the columns the catalog marks sensitive are replaced by
`analytics.masking.MASK`. The rules live in analytics.masking / staging.masking; this only applies them.
When the catalog cannot be read, everything is hidden (fail closed)."""

from __future__ import annotations

from analytics.masking import EVERYTHING, RunMasker, mask_records
from staging.masking import QuarantineMasker
from staging.writer import ROW_NUMBER_COLUMN


def _target_table(pipeline_run_id: int | None) -> str:
    if pipeline_run_id is None:
        return ""
    from pipelines.models import PipelineRun
    from pipelines.targets import target_table_name

    run = PipelineRun.objects.select_related("pipeline").filter(pk=pipeline_run_id).first()
    return target_table_name(run.pipeline) if run else ""


def masked_staged_records(user, records: list[dict], *, table_name: str, pipeline_run_id: int | None) -> list[dict]:
    """Rows of a staging table: hidden are its own sensitive columns and those of the target table its run
    loads (and the source columns lineage traces into them)."""
    masker = RunMasker(user)
    if not records or masker.allowed:
        return records
    hidden = masker.hidden(target_table=_target_table(pipeline_run_id), staging_table=table_name)
    if hidden is EVERYTHING:  # the catalog is unreadable: every data column (not the row number)
        hidden = set(records[0]) - {ROW_NUMBER_COLUMN}
    return mask_records(records, hidden)


def masked_quarantined(user, rows: list, data: list[dict]) -> list[dict]:
    """Serialized quarantined rows (`data`, in the order of the model instances `rows`) with the value,
    corrected value and the reason quoting the value masked where the column is sensitive."""
    masker = QuarantineMasker(user)
    if masker.allowed:
        return data
    out = []
    for row, item in zip(rows, data, strict=True):
        out.append({**item, "value": masker.value(row), "corrected_value": masker.value(row, "corrected_value"),
                    "reason": masker.reason(row)})
    return out
