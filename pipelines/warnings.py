"""What a successful run wants a person to know: stored as codes with parameters in
execution_context["warnings"], put into words in the reader's language when a page or the API shows them.

A run with warnings is still a success (the specification's statuses are fixed), but its page says
"succeeded with warnings" and an alert opens (pipelines.alerts, through the analysis results).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

ANALYSIS_STEPS = {
    "quality": gettext_lazy("data quality"),
    "business_metrics": gettext_lazy("business metrics"),
    "lineage": gettext_lazy("lineage"),
    "catalog": gettext_lazy("catalog"),
    "staging_catalog": gettext_lazy("staging catalog"),
}


def analysis_warnings(results) -> list[dict]:
    """One warning per analysis step that failed (its AnalysisResult holds the step and ClickHouse's cause)."""
    warnings = []
    for result in results:
        data = result.result_data or {}
        if data.get("step") and data.get("error"):
            warnings.append({"code": "analysis_failed", "params": {"step": data["step"], "error": data["error"]}})
    return warnings


def encoding_warnings(connector) -> list[dict]:
    """Files whose encoding was a guess the bytes could not settle (see filesupport/detection.py)."""
    warnings = []
    for reader in getattr(connector, "_readers", None) or []:
        info = reader.details()
        if info.get("encoding_confident") is False:
            warnings.append({"code": "encoding_guess", "params": {"file": info["name"], "encoding": info["encoding"]}})
    return warnings


def warning_text(warning: dict) -> str:
    code, params = warning.get("code"), dict(warning.get("params") or {})
    if code == "quarantine_above_usual":
        return _("%(pct).1f%% of the rows were quarantined (%(quarantined)d of %(read)d), far more than this "
                 "pipeline's usual %(usual).1f%% at most.") % {
            "pct": params["share"] * 100, "usual": params["usual"] * 100, "quarantined": params["quarantined"],
            "read": params["read"]}
    if code == "analysis_failed":
        step = ANALYSIS_STEPS.get(params.get("step"), params.get("step"))
        return _("The %(step)s analysis failed: %(error)s. The rows are loaded; fix the cause and re-run to "
                 "measure them.") % {"step": step, "error": params.get("error", "")}
    if code == "encoding_guess":
        return _("The encoding of %(file)s was a guess (%(encoding)s): check the accented letters in the "
                 "loaded rows, and set the source's encoding if they are wrong.") % params
    return str(params) if params else str(code)
