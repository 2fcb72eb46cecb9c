"""`run_pipeline NAME|ID [--file PATH] [--sync]`: start a pipeline run, here or on a worker."""

import signal
import sys
import threading
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from etlsite.worker_priority import lower_priority
from pipelines.engine.repeats import LOAD_AGAIN_KEY
from pipelines.execution import run_alerts, run_attempt, run_engine_execute
from pipelines.models import Pipeline, PipelineRun, RunStatus
from pipelines.selectors import pipeline_by_ref, pipeline_names, run_context
from pipelines.services import pipeline_run_refusal, run_cancel, run_claim, run_create, run_enqueue
from sources.fileroots import PathNotAllowed, resolve_allowed_path
from sources.services import source_reads_uploads_only, uploads_only_refusal
from staging.uploads import file_register_path


def pipeline_lookup(ref: str) -> Pipeline:
    pipeline = pipeline_by_ref(ref)
    if pipeline is None:
        names = ", ".join(pipeline_names()) or _("none")
        raise CommandError(_("No pipeline named or numbered \"%(ref)s\". Pipelines: %(names)s")
                           % {"ref": ref, "names": names})
    return pipeline


class Command(BaseCommand):
    help = _("Run a pipeline: by default on a Celery worker; with --sync here, with progress in the terminal.")

    def add_arguments(self, parser):
        parser.add_argument("pipeline", help=_("Pipeline name or id."))
        parser.add_argument("--file", help=_("Read this file instead of the source's file_path (in the upload "
                                                   "folder or a folder of ETL_FILE_ROOTS)."))
        parser.add_argument("--sync", action="store_true", help=_("Run in this process and wait for the end."))
        parser.add_argument("--batch-rows", type=int, default=65_536)
        parser.add_argument("--load-again", action="store_true",
                            help=_("Load the file even if this pipeline loaded the same bytes before (by default "
                                   "such a run is skipped)."))

    def handle(self, *args, pipeline, file, sync, batch_rows, load_again, verbosity, **options):
        target = pipeline_lookup(pipeline)
        # A mistake on the command line is refused before a run exists: no failed run, no alert.
        refusal = pipeline_run_refusal(target)
        if refusal is None and not file and source_reads_uploads_only(target.data_source):
            refusal = uploads_only_refusal()
        if refusal is not None:
            raise CommandError(refusal)
        context = {}
        if file:
            try:
                # Read where it is, so only from a folder sources may read (the run judges it again).
                resolve_allowed_path(file, key="--file")
                registered = file_register_path(path=Path(file), uploaded_by="command")
            except PathNotAllowed as exc:
                raise CommandError(exc.message) from exc
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            if registered.duplicate_of:
                self.stdout.write(self.style.WARNING(
                    _("This file was seen before (file #%(id)d, %(name)s).")
                    % {"id": registered.duplicate_of.pk, "name": registered.duplicate_of.original_filename}))
            context = {"file_path": registered.file.file_path, "file_id": registered.file.pk}
        if load_again:
            context[LOAD_AGAIN_KEY] = True
        if not sync:
            run = run_enqueue(pipeline=target, triggered_by="command", execution_context=context)
            self.stdout.write(_("Run %(id)d of \"%(name)s\" queued; a worker will pick it up.")
                              % {"id": run.pk, "name": target.name})
            return
        lower_priority()  # the load is a worker's job done here: it yields the CPU to pages, as a worker does
        run = run_create(pipeline=target, triggered_by="command", execution_context=context)
        if not run_claim(run=run):
            run_cancel(run=run, by="command")
            raise CommandError(_("Another run of \"%(name)s\" is in progress; try again when it ends.")
                               % {"name": target.name})
        done = threading.Event()
        show = verbosity > 0 and sys.stdout.isatty()
        watcher = threading.Thread(target=self._watch, args=(run.pk, done), daemon=True) if show else None
        if watcher:
            watcher.start()
        # SIGTERM ends the run as Ctrl+C does: cancelled, its staged rows and temporary tables dropped.
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            # The worker's path (pipelines.execution), in this process: parts need workers, so no split.
            run = run_attempt(run=run, execute=lambda claimed: run_engine_execute(claimed, rows=batch_rows))
        except KeyboardInterrupt:
            raise CommandError(_("Run %(id)d was interrupted and cancelled; nothing was loaded and its staged rows "
                                 "were dropped.") % {"id": run.pk}, returncode=130) from None
        finally:
            signal.signal(signal.SIGTERM, previous)
            done.set()
            if watcher:
                watcher.join()
        self._summary(run)
        error = run_alerts(run)
        if error is not None:  # the run's outcome stands; say why no alert went out
            self.stderr.write(_("Alerts could not be evaluated: %(error)s") % {"error": error})
        if (run.execution_context or {}).get("step") == "skipped":
            self.stdout.write(self.style.WARNING(run.error_text))  # nothing to do is not an error
            return
        if run.status != RunStatus.SUCCESS:
            raise CommandError(_("Run %(id)d failed: %(error)s") % {"id": run.pk, "error": run.error_text})

    def _watch(self, run_id: int, done: threading.Event) -> None:
        """Redraw one status line from the run's execution_context, as the web page does."""
        from django.db import connection

        started = time.monotonic()
        try:
            while not done.wait(0.5):
                ctx = run_context(run_id)
                rows = ctx.get("rows_read", 0)
                rate = rows / max(time.monotonic() - started, 1e-6)
                bar = "#" * (int(time.monotonic() * 4) % 20 + 1)
                self.stdout.write(f"\r{ctx.get('step', '?'):<8} [{bar:<20}] {rows:>12,} " + _("rows read") +
                                  f"  {rate:>10,.0f}/s", ending="")
                self.stdout.flush()
            self.stdout.write("\r" + " " * 79 + "\r", ending="")
        finally:
            connection.close()

    def _summary(self, run: PipelineRun) -> None:
        ctx = run.execution_context or {}
        removed = ctx.get("rows_removed", {}) or {}
        style = self.style.SUCCESS if run.status == RunStatus.SUCCESS else self.style.ERROR
        self.stdout.write(style(_("Run %(id)d %(status)s in %(seconds).1f s") % {
            "id": run.pk, "status": run.get_status_display(), "seconds": run.duration_seconds or 0}))
        self.stdout.write(_("  read %(read)d, loaded %(loaded)d into %(table)s, quarantined %(q)d, removed %(removed)s")
                          % {"read": ctx.get("rows_read", 0), "loaded": ctx.get("rows_loaded", 0),
                             "table": ctx.get("target_table") or _("a table not known yet"),
                             "q": ctx.get("rows_quarantined", 0),
                             "removed": ", ".join(f"{k} {v}" for k, v in removed.items()) or "0"})
