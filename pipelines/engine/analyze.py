"""After a run's rows are committed: measure and record what was loaded.

data_quality_metrics (with fixed and learned thresholds), business_metrics, data_lineage, data_catalog (with
personal-data suggestions), and analysis_results rows of type data_quality, anomaly_detection and
schema_drift. The load stands even if an analysis fails: the failure is recorded as an alert instead.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.db.models import Count

from analytics.business import business_metrics_compute
from analytics.catalog import STAGING_SCHEMA, catalog_refresh, target_columns, target_samples
from analytics.clickhouse import ClickHouseError, ClickHouseTarget
from analytics.lineage import lineage_record, lineage_rows
from analytics.quality import quality_measure, validation_measure
from analytics.recommendations import recommendation
from pipelines.config import PipelineConfig
from pipelines.engine.drift import describe
from pipelines.engine.outcome import quarantine_limit
from pipelines.models import AlertLevel, AnalysisResult, AnalysisType, PipelineRun, RunStatus
from pipelines.validation import ValidationRules
from pipelines.warnings import warning_text
from staging.catalog import staging_columns, staging_samples
from staging.quarantine import QuarantinedRow

logger = logging.getLogger(__name__)
HISTORY_RUNS = 30
DRIFT_RULE = "schema_drift"  # pipelines.engine.drift: rows set aside before validation


def _invalid_by_column(run_id: int) -> dict[str, int]:
    rows = (QuarantinedRow.objects.filter(pipeline_run_id=run_id).exclude(column_name="")
            .values("column_name").annotate(n=Count("row_number", distinct=True)))
    return {r["column_name"]: r["n"] for r in rows}


def validation_outcomes(run_id: int, rules: ValidationRules, *, columns: list[str], rows_read: int) -> list[dict]:
    """Each validation rule the run's rows were checked against, per column: rows checked, rows failed.

    Rows a schema policy set aside before validation (rule schema_drift) were not checked. Failures of a
    (rule, column) the configuration does not name (a min/max on a text column adds a data_types check) count too.
    """
    entries = QuarantinedRow.objects.filter(pipeline_run_id=run_id)
    failed = {(row["rule"], row["column_name"]): row["n"] for row in
              entries.exclude(rule=DRIFT_RULE).values("rule", "column_name")
              .annotate(n=Count("row_number", distinct=True))}
    set_aside = entries.filter(rule=DRIFT_RULE).values("row_number").distinct().count()
    checked = max(0, rows_read - set_aside)
    pairs = rules.checks(columns)
    pairs += [pair for pair in failed if pair not in pairs]
    limit = quarantine_limit(rules)
    outcomes = []
    for rule, column in pairs:
        n = failed.get((rule, column), 0)
        outcomes.append({"rule": rule, "column": column, "rows_checked": checked, "rows_failed": n,
                         # above the share that fails a run, the rule's result is an error, else a warning
                         "severity": "error" if checked and n / checked > limit else "warn"})
    return outcomes


def _history(run: PipelineRun) -> list[int]:
    return list(PipelineRun.objects.filter(pipeline_id=run.pipeline_id, status=RunStatus.SUCCESS, pk__lt=run.pk)
                .order_by("-pk").values_list("pk", flat=True)[:HISTORY_RUNS])


def _drift_result(run: PipelineRun, diff: dict | None) -> dict | None:
    if not diff or not (diff["added"] or diff["removed"] or diff["retyped"]):
        return None
    recommendations = []  # codes, worded in the reader's language (analytics.recommendations)
    if diff["added"]:
        recommendations.append(recommendation("drift_added", columns=list(diff["added"])))
    if diff["removed"]:
        recommendations.append(recommendation("drift_removed", columns=list(diff["removed"])))
    if diff["retyped"]:
        recommendations.append(recommendation("drift_retyped"))
    return {"analysis_type": AnalysisType.SCHEMA_DRIFT, "result_data": diff,
            "metrics": {k: len(v) for k, v in diff.items()}, "recommendations": recommendations,
            "is_alert": bool(diff["removed"] or diff["retyped"]),
            "alert_level": AlertLevel.HIGH if diff["retyped"] else (AlertLevel.MEDIUM if diff["removed"]
                                                                    else AlertLevel.LOW)}


def run_analyze(*, run: PipelineRun, config: PipelineConfig, target: ClickHouseTarget, table: str, staging_table: str,
                source_columns: list[str], lineage: list[dict], schema_diff: dict | None,
                rows_read: int, rows_loaded: int, warnings: list[dict] | None = None) -> list[AnalysisResult]:
    results: list[dict] = [_warning_result(warning) for warning in warnings or []
                           if warning["code"] == "quarantine_above_usual"]
    steps = (
        ("quality", lambda: results.extend(quality_measure(
            target=target, table=table, run_id=run.pk, rows_read=rows_read,
            invalid_by_column=_invalid_by_column(run.pk), config=config.raw,  # analytics reads its own keys
            history_run_ids=_history(run),
            validation=validation_outcomes(run.pk, config.rules, columns=source_columns, rows_read=rows_read),
        ).analysis_results())),
        ("business_metrics", lambda: business_metrics_compute(
            target=target, table=table, run_id=run.pk, definitions=config.business_metrics)),
        ("lineage", lambda: _lineage(run, target, table, staging_table, source_columns, lineage, rows_loaded)),
        ("catalog", lambda: _catalog(run, target, table)),
        ("staging_catalog", lambda: _staging_catalog(target, staging_table)),
    )
    for name, step in steps:
        try:
            step()
        except (ClickHouseError, DatabaseError, ValueError) as exc:
            logger.warning("run %s: analysis step %s failed: %s", run.pk, name, exc)
            results.append({"analysis_type": AnalysisType.DATA_QUALITY,
                            "result_data": {"step": name, "error": str(exc)}, "metrics": {},
                            "recommendations": [recommendation("analysis_failed", step=name)],
                            "is_alert": True, "alert_level": AlertLevel.MEDIUM})
    drift = _drift_result(run, schema_diff)
    if drift:
        drift["result_data"] = {**drift["result_data"], "summary": describe(schema_diff)}
        results.append(drift)
    return AnalysisResult.objects.bulk_create([AnalysisResult(pipeline_run=run, **r) for r in results])


def run_validation_report(*, run: PipelineRun, rules: ValidationRules, target: ClickHouseTarget, table: str,
                          source_columns: list[str], rows_read: int) -> None:
    """For a run that fails because too many rows were quarantined (nothing committed, so no analysis): its
    validation outcomes as its data-quality result, so its page says which rules the rows failed. Not an alert
    of its own (the failed run is one). Best effort: the run's own error is what matters."""
    try:
        outcomes = validation_outcomes(run.pk, rules, columns=source_columns,
                                       rows_read=rows_read)
        report = validation_measure(target=target, table=table, run_id=run.pk, validation=outcomes)
        result = report.analysis_results()[0]
        AnalysisResult.objects.create(pipeline_run=run, **{**result, "is_alert": False})
    except (ClickHouseError, DatabaseError, ValueError) as exc:
        logger.warning("run %s: its validation outcomes could not be recorded: %s", run.pk, exc)


def _warning_result(warning: dict) -> dict:
    """An unusual quarantined share as a data-quality finding: it opens the pipeline's quality alert."""
    params = warning["params"]
    return {"analysis_type": AnalysisType.DATA_QUALITY,
            "result_data": {"rule": "quarantined_share", "value": params["share"],
                            "threshold": round(max(0.01, params["usual"] * 3), 4), "summary": warning_text(warning)},
            "metrics": {"quarantined_share": params["share"], "usual_share": params["usual"]},
            "recommendations": [recommendation("quarantine_above_usual")],
            "is_alert": True, "alert_level": AlertLevel.HIGH}


def _lineage(run, target, table, staging_table, source_columns, edges, rows_loaded) -> None:
    loaded = [c["name"] for c in target_columns(target, table)]
    rows = lineage_rows(source_name=run.pipeline.data_source.name, staging_table=staging_table,
                        target_table=table, target_columns=loaded, source_columns=source_columns, edges=edges)
    lineage_record(target=target, run_id=run.pk, rows=rows, record_count=rows_loaded)


def _catalog(run, target, table) -> None:
    columns = target_columns(target, table)
    samples = target_samples(target, table, run.pk, [c["name"] for c in columns])
    catalog_refresh(target=target, schema_name=target.database, table_name=table, columns=columns,
                    samples=samples)


def _staging_catalog(target, staging_table) -> None:
    """The staging table's columns as the staging database holds them (raw text before typing), with
    personal-data detection on a sample of what was staged."""
    if not staging_table:
        return
    columns = staging_columns(staging_table)
    if not columns:
        return
    samples = staging_samples(staging_table, [c["name"] for c in columns])
    catalog_refresh(target=target, schema_name=STAGING_SCHEMA, table_name=staging_table, columns=columns,
                    samples=samples)
