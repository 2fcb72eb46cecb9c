"""`load_demo`: create the specification's example source and pipeline on generated sales data."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from pipelines.demo import demo_load


class Command(BaseCommand):
    help = _("Create the specification's example: the 'Sales CSV file' source and the 'Sales processing' pipeline.")

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=10_000, help=_("Sales lines to generate."))
        parser.add_argument("--data-dir", type=Path, default=None,
                            help=_("Where to write the demo files (default: var/demo)."))

    def handle(self, *args, rows, data_dir, **options):
        pipeline = demo_load(data_dir=data_dir or Path(settings.VAR_DIR) / "demo", rows=rows)
        self.stdout.write(self.style.SUCCESS(
            _("Demo ready: pipeline \"%(pipeline)s\" reading %(path)s")
            % {"pipeline": pipeline.name, "path": pipeline.data_source.connection_config["file_path"]}))
