"""Writes to pipeline runs: create, enqueue, claim, progress, finish, retry, cancel, re-run, backfill. Views,
tasks and commands call these."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.audit import audit_run_cancel
from etlsite.messages import Message, _msg, english_text, stored_json
from etlsite.tasks import task_named
from pipelines.engine.references import reference_file_paths
from pipelines.models import Pipeline, PipelineRun, PipelineStatus, RunStatus
from pipelines.watchdog import run_stale_after
from sources.scrubbing import scrub_for_run
from sources.services import server_files_errors
from staging.models import FileMetadata

# The hard time limit of a run's task comes this long after its soft one: the soft limit lets the run end as
# failed with a message (and clean up); the hard one then stops a worker that is stuck anyway.
HARD_LIMIT_GRACE_SECONDS = 60


def run_create(*, pipeline: Pipeline, triggered_by: str, execution_context: dict | None = None) -> PipelineRun:
    return PipelineRun.objects.create(
        pipeline=pipeline, status=RunStatus.PENDING, triggered_by=triggered_by[:150],
        execution_context={"step": "pending", **(execution_context or {})},
    )


def run_enqueue(*, pipeline: Pipeline, triggered_by: str, execution_context: dict | None = None) -> PipelineRun:
    """Create a pending run and hand it to a Celery worker once the row is committed."""
    with transaction.atomic():
        run = run_create(pipeline=pipeline, triggered_by=triggered_by, execution_context=execution_context)
        run_dispatch(run=run)
    return run


def pipeline_run_refusal(pipeline: Pipeline) -> str | None:
    """Why `pipeline` may not run now, or None: a deleted or deprecated pipeline is not run (the admin's
    "run now", the API, the run page's "Load it again" and the upload page all ask here)."""
    if pipeline.is_deleted or pipeline.status == PipelineStatus.DEPRECATED:
        return _("The pipeline \"%(name)s\" is deleted or deprecated and cannot be run.") % {"name": pipeline.name}
    return None


def pipeline_may_run(pipeline: Pipeline) -> bool:
    return pipeline_run_refusal(pipeline) is None


def run_trigger(*, pipeline: Pipeline, triggered_by: str, file=None, load_again: bool = False,
                link_file: bool = False) -> PipelineRun:
    """Queue a run of `pipeline` on `file` (a staging FileMetadata) when given, as `run_pipeline --file` does.

    `load_again` loads the file even if the pipeline loaded the same bytes before (pipelines.engine.repeats).
    `link_file` records the run on a file no run has claimed yet (the API shows it on the file at once).
    The caller has asked `pipeline_run_refusal` first.
    """
    context = {"file_path": file.file_path, "file_id": file.pk} if file is not None else {}
    if load_again:
        context["load_again"] = True  # pipelines.engine.repeats.LOAD_AGAIN_KEY, as run_rerun writes it
    run = run_enqueue(pipeline=pipeline, triggered_by=triggered_by, execution_context=context)
    if link_file and file is not None and file.pipeline_run_id is None:
        FileMetadata.objects.filter(pk=file.pk, pipeline_run_id__isnull=True).update(pipeline_run_id=run.pk)
    return run


def run_claim(*, run: PipelineRun, worker: str = "") -> bool:
    """pending -> running, only if nobody else took it and no other run of the pipeline is executing.

    `worker` (the Celery worker's name) is kept in execution_context["worker"]: with several workers it
    says where a run executed; a retry claimed elsewhere records the new one.

    Two workers, one run: one wins. Two runs of one pipeline: the second is refused while the first is
    alive (its heartbeat is fresh) and stays pending; the task tries it again later. A run whose worker
    died (stale heartbeat) does not hold the pipeline: the watchdog marks it failed.
    """
    with transaction.atomic():
        # Serializes the claims of one pipeline by locking the pipeline's row.
        list(Pipeline.all_objects.select_for_update().filter(pk=run.pipeline_id).values_list("pk", flat=True))
        busy = (PipelineRun.objects.filter(pipeline_id=run.pipeline_id, status=RunStatus.RUNNING,
                                           updated_at__gte=timezone.now() - run_stale_after())
                .exclude(pk=run.pk).exists())
        # The start is read from the clock only now that the previous run's end has been seen: read earlier, it
        # could precede the finished_at that run wrote just before committing (CI saw a 2 ms overlap).
        now = timezone.now()
        claimed = 0 if busy else PipelineRun.objects.filter(pk=run.pk, status=RunStatus.PENDING).update(
            status=RunStatus.RUNNING, started_at=now, updated_at=now)
        if claimed and worker:
            context = PipelineRun.objects.filter(pk=run.pk).values_list("execution_context", flat=True).get()
            PipelineRun.objects.filter(pk=run.pk).update(
                execution_context={**(context or {}), "worker": worker[:200]})
    if claimed:
        run.refresh_from_db()
    return bool(claimed)


# execution_context's key for the run's error as a message (msgid and params) beside error_message's text.
ERROR_KEY = "error"


class RunCancelled(Exception):
    """Raised inside a run when someone cancelled it; the engine stops and cleans up."""


def run_progress(*, run: PipelineRun, **values: Any) -> None:
    """Merge `values` into execution_context (step, rows read, percent ...) and beat the heartbeat.

    Saves only that column, and only while the run is still running: a cancel (or the watchdog) that
    changed the status in between wins, and the engine learns of it here.
    """
    now = timezone.now()
    values = scrub_for_run(values, run=run)
    run.execution_context = {**(run.execution_context or {}), **values, "heartbeat_at": now.isoformat()}
    updated = PipelineRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        execution_context=run.execution_context, updated_at=now)
    if not updated:
        raise RunCancelled(PipelineRun.objects.filter(pk=run.pk).values_list("status", flat=True).first())


class PartStartedTwice(Exception):
    """A part's task was delivered again after its first delivery had begun (its worker was lost)."""


def run_part_report(*, run_id: int, index: int, attempt: int, start: bool = False, **values: Any) -> dict:
    """Merge one part's state into execution_context["parts"][index] of a split run (see docs/ENGINE.md).

    Parts run in parallel on several workers, so the merge happens under a lock on the run's row (the plain
    run_progress would let one part overwrite another's counts). Returns the merged execution_context;
    raises RunCancelled once the run is no longer running (cancelled, failed by another part, or dead), and
    PartStartedTwice when `start` is set and the part had already begun in this attempt.
    """
    now = timezone.now()
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != RunStatus.RUNNING:
            raise RunCancelled(run.status if run else None)
        ctx = dict(run.execution_context or {})
        if run.retry_count + 1 != attempt or (ctx.get("split") or {}).get("attempt") != attempt:
            raise RunCancelled("stale attempt")  # a later attempt of the run is executing
        parts = dict(ctx.get("parts") or {})
        if start and str(index) in parts:
            raise PartStartedTwice(index)
        parts[str(index)] = {**parts.get(str(index), {}), **scrub_for_run(values, run=run)}
        ctx["parts"] = parts
        ctx["rows_read"] = sum(int(part.get("rows_read", 0)) for part in parts.values())
        ctx["heartbeat_at"] = now.isoformat()
        PipelineRun.objects.filter(pk=run_id).update(execution_context=ctx, updated_at=now)
    return ctx


def run_split_commit_claim(*, run_id: int) -> bool:
    """True for the one caller that may send a split run's commit (a redelivered part task must not send a
    second one)."""
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().filter(pk=run_id, status=RunStatus.RUNNING).first()
        if run is None:
            return False
        ctx = dict(run.execution_context or {})
        split = dict(ctx.get("split") or {})
        if split.get("commit_sent"):
            return False
        ctx["split"] = {**split, "commit_sent": True}
        PipelineRun.objects.filter(pk=run_id).update(execution_context=ctx, updated_at=timezone.now())
    return True


def _finish(run: PipelineRun, *, status: str, **fields: Any) -> PipelineRun:
    """Record the end of a running run, unless a cancel or the watchdog ended it first (they win).

    The error message and the context are scrubbed of the source's secret values (a server may echo them).
    """
    now = timezone.now()
    values = {"status": status, "finished_at": now, "updated_at": now,
              **scrub_for_run({"execution_context": run.execution_context, **fields}, run=run)}
    if run.started_at:
        values["duration_seconds"] = round((now - run.started_at).total_seconds(), 3)
    PipelineRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(**values)
    run.refresh_from_db()
    return run


def run_succeed(*, run: PipelineRun, records_processed: int, records_failed: int, context: dict) -> PipelineRun:
    run.execution_context = {**(run.execution_context or {}), **context, "step": "done", "percent": 100}
    return _finish(run, status=RunStatus.SUCCESS, records_processed=records_processed,
                   records_failed=records_failed, error_message="")


def run_skip(*, run: PipelineRun, message: Message | str, context: dict) -> PipelineRun:
    """A run with nothing to do (a file this pipeline already loaded): cancelled with the reason, nothing loaded,
    neither a success that loaded nothing nor a failure to retry or alert on."""
    run.execution_context = {**(run.execution_context or {}), **context, "step": "skipped",
                             ERROR_KEY: stored_json(message)}
    return _finish(run, status=RunStatus.CANCELLED, error_message=english_text(message))


def run_fail(*, run: PipelineRun, error_message: Message | str, context: dict | None = None) -> PipelineRun:
    """error_message keeps its English text (the spec's column); a Message is kept beside it as well
    (execution_context["error"]) so that pages show it in the reader's language (etlsite.messages)."""
    run.execution_context = {**(run.execution_context or {}), **(context or {}), "step": "failed",
                             ERROR_KEY: stored_json(error_message)}
    return _finish(run, status=RunStatus.FAILED, error_message=english_text(error_message)[:10_000])


# --- dispatch, retry, cancel, re-run, backfill --------------------------------------------------------

# What a re-run inherits from the run it repeats: the input and the day it is about, never its progress.
RERUN_CONTEXT_KEYS = ("file_path", "logical_date")
# The name the run task is declared under (pipelines.tasks; pinned by tests/pipelines/test_tasks.py).
RUN_TASK = "pipelines.run_pipeline"


def run_time_limits(pipeline: Pipeline) -> dict[str, int]:
    """The Celery time limits of every task of a run of `pipeline` (the whole run, a part, a split's commit)."""
    limit = pipeline.timeout_seconds
    return {"soft_time_limit": limit, "time_limit": limit + HARD_LIMIT_GRACE_SECONDS}


def task_dispatch(task, args: tuple, *, pipeline: Pipeline, countdown: float | None = None) -> None:
    """Send `task(*args)` with the run's time limits once the current transaction commits (now, outside one):
    a worker must not look for a row that is not committed yet."""
    options = {"countdown": countdown} if countdown is not None else {}
    limits = run_time_limits(pipeline)
    transaction.on_commit(lambda: task.apply_async(args, **options, **limits))


def run_dispatch(*, run: PipelineRun, countdown: float | None = None) -> None:
    """Hand a pending run to a worker once the current transaction commits (now, outside one)."""
    # By its name: pipelines.tasks imports this module (its tasks call these services), not the other way.
    task_dispatch(task_named(RUN_TASK), (run.pk,), pipeline=run.pipeline, countdown=countdown)


def run_retry(*, run: PipelineRun, countdown: float | None = None) -> bool:
    """failed -> pending for the next attempt of the same run: retry_count + 1, the attempt's outcome kept.

    `execution_context["attempts"]` keeps one entry per finished attempt (times, counts, error); the
    processing_logs rows of each attempt carry its number. False if the run is no longer the failed
    attempt we saw (someone re-ran or changed it meanwhile).
    """
    now = timezone.now()
    ctx = dict(run.execution_context or {})
    attempts = list(ctx.get("attempts") or [])
    attempts.append({
        "attempt": ctx.get("attempt", run.retry_count + 1),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_seconds": run.duration_seconds,
        "records_processed": run.records_processed,
        "records_failed": run.records_failed,
        "error_message": run.error_message[:2000],
        ERROR_KEY: ctx.pop(ERROR_KEY, None),
    })
    ctx.pop("transient", None)
    ctx.update(attempts=attempts, step="retry_wait",
               retry_at=(now + timedelta(seconds=countdown)).isoformat() if countdown else now.isoformat())
    updated = PipelineRun.objects.filter(pk=run.pk, status=RunStatus.FAILED, retry_count=run.retry_count).update(
        status=RunStatus.PENDING, retry_count=F("retry_count") + 1, error_message="", finished_at=None,
        duration_seconds=None, execution_context=ctx, updated_at=now)
    if updated:
        run.refresh_from_db()
    return bool(updated)


def run_cancel(*, run: PipelineRun, by: str) -> bool:
    """pending/running -> cancelled; False if the run had already ended.

    A running run stops at its next progress beat (run_progress raises RunCancelled) and the engine cleans
    up its temporary tables; a pending run's queued task finds it no longer pending and does nothing. The
    Celery task is not revoked: terminating a worker mid-run would skip that clean-up.
    """
    now = timezone.now()
    with transaction.atomic():
        # Locked, so a progress beat cannot slip in between reading the context and writing it back.
        current = (PipelineRun.objects.select_for_update()
                   .filter(pk=run.pk, status__in=[RunStatus.PENDING, RunStatus.RUNNING]).first())
        if current is not None:
            message = _msg("Cancelled by %(who)s.") % {"who": by or "?"}
            ctx = {**(current.execution_context or {}), "step": "cancelled", "cancelled_by": by[:150],
                   "cancelled_at": now.isoformat(), ERROR_KEY: message.as_json()}
            duration = round((now - current.started_at).total_seconds(), 3) if current.started_at else None
            PipelineRun.objects.filter(pk=run.pk).update(
                status=RunStatus.CANCELLED, finished_at=now, duration_seconds=duration, execution_context=ctx,
                error_message=message.english(), updated_at=now)
    run.refresh_from_db()
    if current is not None:
        audit_run_cancel(run=run, by=by)
    return current is not None


def run_logical_date(run: PipelineRun) -> date:
    """The day a run is about: a backfill's logical_date, otherwise the (local) day it was created."""
    value = (run.execution_context or {}).get("logical_date")
    if value:
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            pass
    return timezone.localdate(run.created_at)


def run_rerun(*, run: PipelineRun, triggered_by: str) -> PipelineRun:
    """A new run repeating `run` (same input file and logical date), queued for a worker."""
    ctx = {key: run.execution_context[key] for key in RERUN_CONTEXT_KEYS if key in (run.execution_context or {})}
    ctx.setdefault("logical_date", run_logical_date(run).isoformat())
    with transaction.atomic():
        # A re-run is a person asking for the same input again: a file it read before is loaded again.
        new = run_create(pipeline=run.pipeline, triggered_by=triggered_by,
                         execution_context={**ctx, "rerun_of": run.pk, "load_again": True})
        run_dispatch(run=new)
    return new


def _period_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    if until < since:
        raise ValidationError(_("The period ends (%(until)s) before it starts (%(since)s).")
                              % {"since": since.isoformat(), "until": until.isoformat()})
    tz = timezone.get_current_timezone()
    return (datetime.combine(since, time.min, tzinfo=tz), datetime.combine(until + timedelta(days=1), time.min,
                                                                           tzinfo=tz))


def runs_rerun_failed(*, pipeline: Pipeline, since: date, until: date, triggered_by: str) -> list[PipelineRun]:
    """Re-run the failed runs of `pipeline` whose logical date lies in [since, until], each once.

    A failed run that already has a re-run is skipped (run it again, and it is the re-run's turn if that
    failed too), so calling this twice queues nothing new.
    """
    start, end = _period_bounds(since, until)
    candidates = (pipeline.runs.filter(status=RunStatus.FAILED)
                  .filter(Q(created_at__gte=start, created_at__lt=end) | Q(execution_context__has_key="logical_date")))
    already = {
        ctx.get("rerun_of") for ctx in
        pipeline.runs.filter(execution_context__has_key="rerun_of").values_list("execution_context", flat=True)
    }
    failed = sorted((run for run in candidates if run.pk not in already and since <= run_logical_date(run) <= until),
                    key=lambda run: (run_logical_date(run), run.pk))
    with transaction.atomic():
        return [run_rerun(run=run, triggered_by=triggered_by) for run in failed]


def pipeline_backfill(*, pipeline: Pipeline, start: date, end: date, triggered_by: str) -> list[PipelineRun]:
    """One queued run per day from `start` to `end` (inclusive), each with execution_context["logical_date"].

    The runs execute one at a time (a pipeline runs once at a time), not necessarily in date order.
    """
    _period_bounds(start, end)
    if pipeline.is_deleted:
        raise ValidationError(_("The pipeline \"%(name)s\" is deleted.") % {"name": pipeline.name})
    days = (end - start).days + 1
    limit = getattr(settings, "ETL_BACKFILL_MAX_DAYS", 366)
    if days > limit:
        raise ValidationError(_("A backfill covers at most %(limit)d days; %(start)s to %(end)s is %(days)d.")
                              % {"limit": limit, "start": start.isoformat(), "end": end.isoformat(), "days": days})
    runs = []
    with transaction.atomic():
        for offset in range(days):
            day = start + timedelta(days=offset)
            run = run_create(pipeline=pipeline, triggered_by=triggered_by,
                             execution_context={"logical_date": day.isoformat(), "backfill": True})
            run_dispatch(run=run)
            runs.append(run)
    return runs


# --- the pipeline's contract ---------------------------------------------------------------------------

def pipeline_contract_save(*, pipeline: Pipeline, contract: dict) -> None:
    """Store the types inferred on a pipeline's first load (configuration["inferred"]), without touching the
    rest of its configuration that a person may be editing at the same moment."""
    with transaction.atomic():
        locked = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
        config = dict(locked.configuration or {})
        config["inferred"] = contract
        Pipeline.objects.filter(pk=pipeline.pk).update(configuration=config, updated_at=timezone.now())
    pipeline.configuration = config


def pipeline_server_files_errors(*, user, config: Any, stored: Pipeline | None = None) -> list[str]:
    """Why `user` may not save the reference files this configuration names (sources.services rules)."""
    kept = reference_file_paths(stored.configuration) if stored is not None else {}
    return server_files_errors(user=user, paths=reference_file_paths(config), kept=kept)
