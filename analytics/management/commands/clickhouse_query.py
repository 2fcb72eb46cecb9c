"""`clickhouse_query "SQL"`: run a read query against the target, in either mode (dbshell for ClickHouse)."""

import csv
import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _

from analytics.clickhouse import ClickHouseError, get_target
from analytics.clickhouse.readonly import READONLY_SETTINGS, read_only_error
from etlsite.csvsafe import csv_safe_row, text_cell


def _parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CommandError(_("--param takes name=value, got %(pair)s") % {"pair": pair})
        params[name] = value
    return params


class Command(BaseCommand):
    help = _("Run a read-only SQL query against the ClickHouse target and print the result.")

    def add_arguments(self, parser):
        parser.add_argument("sql", help=_("The query; bind values with {name:Type} and --param name=value."))
        parser.add_argument("--format", choices=["pretty", "csv", "json"], default="pretty")
        parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")

    def handle(self, *args, sql, format, param, **options):
        # This command is for looking, not changing: read statements only, and the server in readonly mode.
        problem = read_only_error(sql)
        if problem:
            raise CommandError(problem)
        params = _parse_params(param)
        target = get_target()
        try:
            result = target.query(sql, params, settings=READONLY_SETTINGS)
        except ClickHouseError as exc:
            raise CommandError(_("ClickHouse: %(error)s") % {"error": exc}) from exc
        columns, rows = list(result.column_names or ()), list(result.result_rows or ())
        getattr(self, f"_write_{format}")(columns, rows)

    def _write_csv(self, columns, rows):
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(csv_safe_row(columns))  # loaded data names columns too
        writer.writerows(csv_safe_row(row) for row in rows)

    def _write_json(self, columns, rows):
        data = [dict(zip(columns, row, strict=True)) for row in rows]
        self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))

    def _write_pretty(self, columns, rows):
        # A text table: a value's tab or line break cannot break its row, nor a cell start a formula.
        columns = [text_cell(c) for c in columns]
        cells = [[("NULL" if v is None else text_cell(v)) for v in row] for row in rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        line = "-+-".join("-" * w for w in widths)
        self.stdout.write(" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        self.stdout.write(line)
        for row in cells:
            self.stdout.write(" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
        self.stdout.write(_("(%(count)d rows)") % {"count": len(rows)})
