"""Runs dashboard: pipeline_runs in the metadata database, aggregated by the database (ORM aggregates)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import connections
from django.db.models import Aggregate, Count, FloatField, Max, Q, Sum
from django.db.models.functions import TruncDate

from analytics.queries.spec import LATEST_RUNS, LATEST_RUNS_ID_COLUMN, narrowed, with_columns
from dashboards.filters import Filters
from pipelines.models import PipelineRun, RunStatus
from webui.timeline import run_duration, run_duration_expression

PERCENTILES = (50, 90, 95)
MAX_DAYS = 400
MAX_FAILURES = 20


def _runs(filters: Filters):
    runs = PipelineRun.objects.filter(created_at__gte=filters.since, created_at__lte=filters.until)
    if filters.pipeline is not None:
        runs = runs.filter(pipeline=filters.pipeline)
    return runs


def run_totals(filters: Filters) -> dict:
    """Counts by outcome and the success rate (successful / finished, cancelled runs not counted)."""
    totals = _runs(filters).aggregate(
        total=Count("pk"),
        success=Count("pk", filter=Q(status=RunStatus.SUCCESS)),
        failed=Count("pk", filter=Q(status=RunStatus.FAILED)),
        running=Count("pk", filter=Q(status__in=[RunStatus.RUNNING, RunStatus.PENDING])),
        records_processed=Sum("records_processed"),
        records_failed=Sum("records_failed"),
    )
    finished = totals["success"] + totals["failed"]
    totals["success_rate"] = totals["success"] / finished if finished else None
    return totals


class _PercentilesDisc(Aggregate):
    """PostgreSQL's percentile_disc over several fractions at once: for fraction f, the first value (in order)
    whose position is at least f * n, i.e. the nearest-rank percentile; one array, from one sort."""

    function = "PERCENTILE_DISC"
    template = "%(function)s(%(fractions)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fractions: tuple[float, ...]):
        super().__init__(expression, output_field=ArrayField(FloatField()))
        listed = ", ".join(repr(float(f)) for f in fractions)  # numbers of ours, never a user's text
        self.extra["fractions"] = f"ARRAY[{listed}]::float8[]"


def duration_percentiles(filters: Filters) -> dict:
    """Nearest-rank percentiles of the finished runs' durations (seconds; the whole run's, retries and their
    waits included, as everywhere: webui.timeline), computed by the database in one statement (one sort;
    an ordered, offset read per percentile sorted the runs once each)."""
    durations = _runs(filters).annotate(whole=run_duration_expression()).filter(whole__isnull=False)
    stats = durations.aggregate(n=Count("pk"), slowest=Max("whole"),
                                ranks=_PercentilesDisc("whole", tuple(p / 100 for p in PERCENTILES)))
    result: dict = {"count": stats["n"], "max": stats["slowest"]}
    for p, value in zip(PERCENTILES, stats["ranks"] or [None] * len(PERCENTILES), strict=True):
        result[f"p{p}"] = value
    return result


def records_by_day(filters: Filters) -> list[dict]:
    rows = (_runs(filters).annotate(day=TruncDate("created_at")).values("day")
            .annotate(runs=Count("pk"), processed=Sum("records_processed"), failed=Sum("records_failed"),
                      succeeded=Count("pk", filter=Q(status=RunStatus.SUCCESS)))
            .order_by("day"))
    return list(rows[:MAX_DAYS])


def latest_runs(filters: Filters) -> list[dict]:
    """The specification's latest-runs query, narrowed to the filters, each row with its run's id (`run_id`,
    selected by the same statement beside the specification's columns) for the link to the run's page."""
    conditions = ["pr.created_at >= %s", "pr.created_at <= %s"]
    params: list = [filters.since, filters.until]
    if filters.pipeline is not None:
        conditions.append("pr.pipeline_id = %s")
        params.append(filters.pipeline.pk)
    with connections["default"].cursor() as cursor:
        sql = narrowed(with_columns(LATEST_RUNS, [LATEST_RUNS_ID_COLUMN]), conditions, limit_param=None)
        cursor.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    labels = dict(RunStatus.choices)
    whole = _whole_durations(filters, rows)
    for row in rows:
        row["status_label"] = str(labels.get(row["status"], row["status"]))
        # pr.duration_seconds is the last attempt's; the table shows the whole run's, as the run page does
        row["duration_seconds"] = whole.get((row["pipeline_name"], row["started_at"], row["finished_at"]),
                                            row["duration_seconds"])
    return rows


def _whole_durations(filters: Filters, rows: list[dict]) -> dict:
    """(pipeline name, started_at, finished_at) -> the whole run's seconds, for the runs of `rows` (the
    specification's query names no run id; a run is its pipeline and its times)."""
    started = [row["started_at"] for row in rows if row["started_at"] is not None]
    runs = (_runs(filters).filter(started_at__in=started).select_related("pipeline")
            .only("pipeline__name", "status", "started_at", "finished_at", "retry_count", "error_message",
                  "execution_context")) if started else []
    return {(run.pipeline.name, run.started_at, run.finished_at): run_duration(run) for run in runs}


def failures(filters: Filters) -> list[PipelineRun]:
    return list(_runs(filters).filter(status=RunStatus.FAILED).select_related("pipeline")
                .only("pk", "pipeline__name", "created_at", "error_message", "execution_context", "records_failed",
                      "retry_count")
                .order_by("-created_at")[:MAX_FAILURES])
