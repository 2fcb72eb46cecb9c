"""The run page's quality box in words and numbers: checks run, pass rate, each failed check with its value and
the bounds it broke, findings and recommendations; never a printed dictionary (issue 16).

Reads the run's analysis_results rows (pipelines.engine.analyze) and formats them in the viewer's language.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from dashboards.metrics_text import bounds_text, metric_label, metric_value
from etlsite.formatting import format_percent, humanize_identifier
from pipelines.models import AnalysisResult, AnalysisType, PipelineRun


def _check(item: dict) -> dict:
    metric = item.get("metric") or item.get("rule") or ""
    return {
        "metric": metric_label(metric), "column": item.get("column") or "",
        "value": metric_value(metric, item.get("value")),
        "allowed": bounds_text(metric, item.get("threshold_min"), item.get("threshold_max"))
        if "threshold_min" in item or "threshold_max" in item else
        bounds_text(metric, None, item.get("threshold")),
        "severity": _("warning") if item.get("severity") == "warn" else _("error"),
        "learned": bool(item.get("learned")),
        "usual": metric_value(metric, item.get("baseline")) if item.get("baseline") is not None else "",
    }


def _facts(metrics: dict) -> list[tuple[str, str]]:
    """Any other result's numbers as label / value pairs (nested values summarised, not printed raw)."""
    facts = []
    for key, value in (metrics or {}).items():
        name, _sep, column = str(key).partition(":")
        label = metric_label(name) + (f" ({column})" if column else "")
        if isinstance(value, dict):
            value = value.get("value")
        facts.append((label, metric_value(name, value)))
    return facts


def result_summary(result: AnalysisResult) -> dict:
    data, metrics = result.result_data or {}, result.metrics or {}
    summary = {"title": result.get_analysis_type_display(), "alert": result.is_alert,
               "alert_level": result.get_alert_level_display() if result.is_alert else "",
               "recommendations": result.recommendation_texts,
               "table": data.get("table", ""), "checks": [], "facts": [], "lines": [], "checks_run": None}
    if result.analysis_type == AnalysisType.DATA_QUALITY and "checks_run" in metrics:
        checks_run = metrics.get("checks_run", 0)
        # results stored before analytics.quality wrote null for "nothing checked" hold 1: no "100 %" either
        summary.update(checks_run=checks_run, checks_passed=metrics.get("checks_passed", 0),
                       pass_rate=format_percent(metrics.get("pass_rate") if checks_run else None),
                       checks=[_check(item) for item in data.get("failed_checks") or []])
        if not checks_run:
            summary["lines"].append(_("No check ran on this table yet: learned checks start after three "
                                      "successful runs, fixed ones come from the pipeline's \"quality\" "
                                      "configuration."))
    elif result.analysis_type == AnalysisType.DATA_QUALITY and data.get("rule"):
        summary["checks"] = [_check(data)]
        summary["lines"] = [data["summary"]] if data.get("summary") else []
    elif result.analysis_type == AnalysisType.DATA_QUALITY and data.get("step"):
        summary["lines"] = [_("The %(step)s analysis failed: %(error)s") % {
            "step": humanize_identifier(data["step"]).lower(), "error": data.get("error", "")}]
    elif result.analysis_type == AnalysisType.ANOMALY_DETECTION:
        summary["checks"] = [_check(item) for item in data.get("anomalies") or []]
        summary["lines"] = [str(line) for line in data.get("findings") or []]
    elif result.analysis_type == AnalysisType.SCHEMA_DRIFT:
        for key, label in (("added", _("Columns added")), ("removed", _("Columns removed")),
                           ("retyped", _("Columns that changed type"))):
            names = data.get(key) or []
            if names:
                shown = [_("%(column)s (%(old)s → %(new)s)") % {"column": n.get("column"), "old": n.get("from"),
                                                                  "new": n.get("to")}
                         if isinstance(n, dict) else str(n) for n in names]
                summary["lines"].append(f"{label}: {', '.join(shown)}")
    else:
        summary["facts"] = _facts(metrics)
    return summary


def quality_summary(run: PipelineRun) -> list[dict]:
    return [result_summary(r) for r in run.analysis_results.order_by("analysis_type", "pk")]
