"""Whether a run that read rows may be called a success, and what a person should be warned about.

- A run that read rows and loaded none fails: nothing was committed, whatever the reason (every row
  quarantined, or removed by the transformations).
- The quarantined share fails the run above the pipeline's `validation_rules.max_failed_ratio`, or above 50 %
  when the pipeline does not set one.
- Below that, a share well above what the pipeline usually quarantines (three times the highest share of its
  last successful runs, once there are three of them) succeeds with a warning and alerts.

Warnings are stored as codes with parameters (execution_context["warnings"]) and put into words in the
reader's language when shown (pipelines.warnings).
"""

from __future__ import annotations

from etlsite.messages import _msg
from pipelines.engine.errors import RunError
from pipelines.models import PipelineRun, RunStatus

DEFAULT_MAX_FAILED_RATIO = 0.5
HISTORY_RUNS = 20
MIN_HISTORY = 3
USUAL_FACTOR = 3.0
# Below this share a rise is noise, not news (a handful of bad rows in a small file).
USUAL_FLOOR = 0.01


def quarantine_limit(rules) -> float:
    return DEFAULT_MAX_FAILED_RATIO if rules.max_failed_ratio is None else rules.max_failed_ratio


def usual_share(run: PipelineRun) -> float | None:
    """The highest quarantined share of the pipeline's recent successful runs; None without enough of them."""
    shares = [failed / processed for processed, failed in
              PipelineRun.objects.filter(pipeline_id=run.pipeline_id, status=RunStatus.SUCCESS, pk__lt=run.pk,
                                         records_processed__gt=0)
              .order_by("-pk").values_list("records_processed", "records_failed")[:HISTORY_RUNS]]
    return max(shares) if len(shares) >= MIN_HISTORY else None


def outcome_check(*, run: PipelineRun, rules, rows_read: int, rows_loaded: int, rows_quarantined: int,
                  rows_removed: int) -> list[dict]:
    """Raise RunError when the run must fail; otherwise the warnings it earned (codes and parameters)."""
    if rows_read and not rows_loaded:
        raise RunError(_msg("%(read)d rows were read and none was loaded (%(quarantined)d quarantined, %(removed)d "
                            "removed by transformations); nothing was committed. See the quarantined rows for why.")
                       % {"read": rows_read, "quarantined": rows_quarantined, "removed": rows_removed})
    share = rows_quarantined / rows_read if rows_read else 0.0
    limit = quarantine_limit(rules)
    if share > limit:
        raise RunError(_msg("%(pct).1f%% of the rows failed validation, more than the allowed %(max).1f%% "
                            "(validation_rules.max_failed_ratio); nothing was committed.")
                       % {"pct": share * 100, "max": limit * 100})
    usual = usual_share(run)
    if usual is not None and share > max(USUAL_FLOOR, usual * USUAL_FACTOR):
        return [{"code": "quarantine_above_usual",
                 "params": {"share": round(share, 4), "usual": round(usual, 4), "quarantined": rows_quarantined,
                            "read": rows_read}}]
    return []
