"""Recommendations of the analysis results, stored as codes with parameters and put into words in the
reader's language when shown (the run page, the admin, the API, notifications), as pipelines.warnings does
for run warnings. An entry is {"code": ..., "params": {...}}; a plain string (results stored before codes)
is shown as it is.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


def recommendation(code: str, **params) -> dict:
    return {"code": code, "params": params}


def recommendation_text(item) -> str:
    if not isinstance(item, dict):
        return str(item)
    code, params = item.get("code"), dict(item.get("params") or {})
    try:
        return _render(code, params)
    except (KeyError, TypeError, ValueError):
        return str(code)


def recommendation_texts(items) -> list[str]:
    return [recommendation_text(item) for item in items or []]


def _render(code: str, params: dict) -> str:
    from analytics.quality import FailedCheck, _anomaly_recommendation, _recommendation

    if code in ("quality_check", "quality_anomaly"):
        table = params.pop("table")
        check = FailedCheck(**params)
        return (_recommendation if code == "quality_check" else _anomaly_recommendation)(table, check)
    if code == "drift_added":
        return _("Describe the new columns %(cols)s in the catalog and add validation rules for them.") % {
            "cols": ", ".join(params["columns"])}
    if code == "drift_removed":
        return _("Columns %(cols)s are no longer delivered and load as empty: check the source's export, or drop "
                 "them from downstream reports.") % {"cols": ", ".join(params["columns"])}
    if code == "drift_retyped":
        return _("Columns changed type: review the pipeline's data_types.")
    if code == "analysis_failed":
        return _("Fix the pipeline's \"%(key)s\" configuration or the target table, then re-run.") % {
            "key": params["step"]}
    if code == "quarantine_above_usual":
        return _("Look at the quarantined rows: the source may have changed its format.")
    return str(code)
