"""A run's time: how long it took from its first attempt to its end (retries and their waits included), and
the picture of it the run page draws: each attempt, the waits between them and each attempt's steps with their
own status and duration.

`pipeline_runs.started_at` and `duration_seconds` describe the current attempt only (a retry starts them
again); the earlier attempts are in execution_context["attempts"] (pipelines.services.run_retry). A run that
spent three minutes waiting to retry must not show the 1.1 s of its last attempt (issue 16).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import DateTimeField, F, FloatField, Func
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from etlsite.formatting import format_duration
from pipelines.models import PipelineRun, RunStatus
from pipelines.run_state import attempt_error
from staging.models import ProcessingLog

# The picture's width in SVG user units (the bars scale with the page).
SCALE = 1000.0


@dataclass
class Span:
    label: str
    status: str  # a CSS class: success, failed, cancelled, running, waiting, completed ...
    status_label: str
    start: float  # seconds after the run's first start
    seconds: float
    level: int = 0  # 0: an attempt or a wait, 1: a step of an attempt
    error: str = ""
    x: float = 0.0
    width: float = 0.0

    @property
    def duration(self) -> str:
        return format_duration(self.seconds)


def _when(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return parse_datetime(value) if isinstance(value, str) else None


def _attempt_windows(run: PipelineRun) -> list[dict]:
    """(number, start, end, status, error) of every attempt, the current one last."""
    windows = []
    for item in (run.execution_context or {}).get("attempts") or []:
        start, end = _when(item.get("started_at")), _when(item.get("finished_at"))
        if start is None:
            continue
        windows.append({"number": int(item.get("attempt") or len(windows) + 1), "start": start,
                        "end": end or start, "status": RunStatus.FAILED, "error": attempt_error(item)})
    if run.started_at and run.status != RunStatus.PENDING:
        end = run.finished_at or timezone.now()
        windows.append({"number": run.retry_count + 1, "start": run.started_at, "end": end, "status": run.status,
                        "error": run.error_text})
    return windows


def run_timing(run: PipelineRun) -> dict | None:
    """{"total", "working", "waiting", "attempts"} in seconds; None before the run first started."""
    windows = _attempt_windows(run)
    if not windows:
        return None
    first = windows[0]["start"]
    end = run.finished_at if run.finished_at and run.status != RunStatus.PENDING else timezone.now()
    total = max(0.0, (end - first).total_seconds())
    working = sum(max(0.0, (w["end"] - w["start"]).total_seconds()) for w in windows)
    return {"total": total, "working": min(working, total), "waiting": max(0.0, total - working),
            "attempts": len(windows), "ongoing": run.finished_at is None or run.status == RunStatus.PENDING}


def run_duration(run: PipelineRun) -> float | None:
    """The whole run's seconds (first attempt's start to its end, retries and their waits included) once it has
    ended; None before. What every list of runs shows, as the run page does (run_timing)."""
    timing = run_timing(run)
    return None if timing is None or timing["ongoing"] else timing["total"]


def run_duration_expression() -> Func:
    """run_duration in SQL, for sorting a list of runs by what it shows: the end minus the first attempt's start
    (execution_context.attempts[0], else started_at), in seconds; NULL until the run has ended."""
    first_start = Coalesce(Cast(KeyTextTransform("started_at", "execution_context__attempts__0"), DateTimeField()),
                           F("started_at"))
    return Func(F("finished_at") - first_start, template="EXTRACT(EPOCH FROM %(expressions)s)",
                output_field=FloatField())


def run_timeline(run: PipelineRun, logs_by_attempt: list[tuple[int, list[ProcessingLog]]]) -> list[Span]:
    """Spans to draw on one time axis: attempt, its steps, the wait before the next attempt, ..."""
    windows = _attempt_windows(run)
    if not windows:
        return []
    first = windows[0]["start"]
    logs = dict(logs_by_attempt)
    spans: list[Span] = []
    statuses = dict(RunStatus.choices)
    for index, window in enumerate(windows):
        start = (window["start"] - first).total_seconds()
        seconds = max(0.0, (window["end"] - window["start"]).total_seconds())
        steps = logs.get(window["number"], [])
        # an attempt's error shows on its step; an attempt that failed outside every step shows it itself
        own_error = window["error"] if window["status"] == RunStatus.FAILED and not any(
            log.error_message for log in steps) else ""
        spans.append(Span(_("Attempt %(n)d") % {"n": window["number"]}, window["status"],
                          str(statuses.get(window["status"], window["status"])), start, seconds, error=own_error))
        # The steps ran batch by batch, interleaved: laid end to end they show where the attempt's time went.
        offset = start
        for log in steps:
            own = float(log.processing_time_seconds or 0)
            spans.append(Span(log.get_operation_type_display(), log.status, log.get_status_display(), offset, own,
                              level=1, error=log.error_text))
            offset += own
        following = windows[index + 1]["start"] if index + 1 < len(windows) else None
        if following is None and run.status == RunStatus.PENDING and run.retry_count:
            following = timezone.now()  # waiting for the next attempt now
        if following is not None:
            wait = max(0.0, (following - window["end"]).total_seconds())
            spans.append(Span(_("Waiting to retry"), "waiting", _("Waiting"),
                              (window["end"] - first).total_seconds(), wait))
    total = max([s.start + s.seconds for s in spans] + [0.001])
    for span in spans:
        span.x = round(min(span.start, total) / total * SCALE, 1)
        # at least a sliver, so a step of a few milliseconds is still there to see
        span.width = round(max(min(span.seconds, total - span.start) / total * SCALE, 2.0), 1)
    return spans
