"""Masking of row values in API responses (issue 4): users without `analytics.view_sensitive_data` see the
catalog's sensitive columns masked. The rules live in analytics.masking; this only applies them."""

from __future__ import annotations

from analytics.clickhouse import get_target


def can_view_sensitive(user) -> bool:
    from analytics.masking import can_view_sensitive as allowed

    return allowed(user)


def sensitive_columns(target, table_name: str, schema_name: str | None = None) -> set[str]:
    from analytics.masking import sensitive_columns as columns

    return set(columns(target, table_name, schema_name))


def mask_records(records: list[dict], columns: set[str]) -> list[dict]:
    from analytics.masking import mask_records as mask

    return mask(records, columns)


def staged_sensitive_columns(table_name: str, pipeline_run_id: int | None) -> set[str]:
    """Sensitive columns of a staging table: its own catalog entries and those of the target table its run
    loads (staged columns keep the source's names, which the target mostly keeps too)."""
    target = get_target()
    columns = set(sensitive_columns(target, table_name))
    if pipeline_run_id is not None:
        from pipelines.engine.runner import target_table_name
        from pipelines.models import PipelineRun

        run = PipelineRun.objects.select_related("pipeline").filter(pk=pipeline_run_id).first()
        if run is not None:
            columns |= set(sensitive_columns(target, target_table_name(run.pipeline), target.database))
    return columns


def masked_staged_records(user, records: list[dict], *, table_name: str, pipeline_run_id: int | None) -> list[dict]:
    """Rows of a staging table as `user` may see them."""
    if not records or can_view_sensitive(user):
        return records
    columns = staged_sensitive_columns(table_name, pipeline_run_id)
    return mask_records(records, columns) if columns else records


def masked_cells(user, records: list[dict], *, value_keys: tuple[str, ...]) -> list[dict]:
    """Quarantined rows (one cell each: `value_keys` of column `column_name` of staging table
    `staging_table`, run `pipeline_run_id`) with the cells of sensitive columns masked."""
    if not records or can_view_sensitive(user):
        return records
    sensitive: dict[tuple, set[str]] = {}
    out = []
    for record in records:
        table = (record.get("staging_table") or "", record.get("pipeline_run_id"))
        if table not in sensitive:
            sensitive[table] = staged_sensitive_columns(*table)
        if record.get("column_name") in sensitive[table]:
            cell = {name: record.get(name) for name in value_keys}
            masked = mask_records([cell], set(value_keys))[0]
            record = {**record, **masked}
        out.append(record)
    return out
