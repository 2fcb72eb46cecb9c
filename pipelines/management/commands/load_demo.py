"""`load_demo`: create the specification's example source and pipeline on generated sales data, and run it."""

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from pipelines.demo import demo_load
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

    def handle(self, *args, rows, data_dir, no_run, verbosity, **options):
        # The demo's sources are file sources like any other: their folder must be one sources may read.
        try:
            folder = resolve_allowed_path(data_dir or uploads_dir() / "demo", key="--data-dir")
        except PathNotAllowed as exc:
            raise CommandError(exc.message) from exc
        pipeline = demo_load(data_dir=folder, rows=rows)
        self.stdout.write(self.style.SUCCESS(
            _("Demo ready: pipeline \"%(pipeline)s\" reading %(path)s")
            % {"pipeline": pipeline.name, "path": pipeline.data_source.connection_config["file_path"]}))
        if not no_run:
            call_command("run_pipeline", str(pipeline.pk), "--sync", verbosity=verbosity, stdout=self.stdout,
                         stderr=self.stderr)
