"""`load_demo`: create the specification's example source and pipeline on generated sales data, and run it."""

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from pipelines.demo import demo_load
from pipelines.models import RunStatus
from sources.fileroots import PathNotAllowed, resolve_allowed_path
from staging.uploads import uploads_dir


class Command(BaseCommand):
    help = _("Create the specification's example: the 'Sales CSV file' source and the 'Sales processing' pipeline, "
             "then run it once.")

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=10_000, help=_("Sales lines to generate."))
        parser.add_argument("--data-dir", type=Path, default=None,
                            help=_("Where to write the demo files: a folder sources may read (default: the "
                                   "upload folder's demo/)."))
        parser.add_argument("--no-run", action="store_true", help=_("Only create the source and pipeline."))
        parser.add_argument("--again", action="store_true",
                            help=_("Run the demo pipeline even if it has loaded its data before."))

    def handle(self, *args, rows, data_dir, no_run, again, verbosity, **options):
        # The demo's sources are file sources like any other: their folder must be one sources may read.
        try:
            folder = resolve_allowed_path(data_dir or uploads_dir() / "demo", key="--data-dir")
        except PathNotAllowed as exc:
            raise CommandError(exc.message) from exc
        pipeline = demo_load(data_dir=folder, rows=rows)
        self.stdout.write(self.style.SUCCESS(
            _("Demo ready: pipeline \"%(pipeline)s\" reading %(path)s")
            % {"pipeline": pipeline.name, "path": pipeline.data_source.connection_config["file_path"]}))
        if no_run:
            return
        # Once per database: `make run` calls this at every start, and a second load would double the table.
        loaded = pipeline.runs.filter(status=RunStatus.SUCCESS).order_by("-pk").first()
        if loaded is not None and not again:
            self.stdout.write(_("The demo was loaded already (run %(id)d); it is not loaded again (--again does).")
                              % {"id": loaded.pk})
            return
        arguments = [str(pipeline.pk), "--sync"] + (["--load-again"] if again else [])
        call_command("run_pipeline", *arguments, verbosity=verbosity, stdout=self.stdout, stderr=self.stderr)
