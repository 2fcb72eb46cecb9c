"""`migrate_target_types PIPELINE [--apply] [--null-unconvertible]`: preview, then migrate, the pending change of
column types of a pipeline's target table (pipelines.type_changes); the same as approving it on the Schema
changes page."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from analytics.audit import AuditContext, audit_context_set
from analytics.clickhouse import ClickHouseError
from pipelines.management.commands.run_pipeline import pipeline_lookup
from pipelines.type_changes import (
    TypeChangeRefused,
    describe_type_change,
    method_label,
    pending_type_changes,
    type_change_apply,
    type_change_preview,
)


class Command(BaseCommand):
    help = _("Preview and apply the pending change of column types of a pipeline's target table.")

    def add_arguments(self, parser):
        parser.add_argument("pipeline", help=_("Pipeline name or id."))
        parser.add_argument("--apply", action="store_true", help=_("Migrate the table (without it: only the preview)."))
        parser.add_argument("--null-unconvertible", action="store_true",
                            help=_("Rebuild the table even though some stored values do not convert, setting them "
                                   "to NULL."))

    def handle(self, *args, pipeline, apply, null_unconvertible, **options):
        target = pipeline_lookup(pipeline)
        change = pending_type_changes(target).first()
        if change is None:
            raise CommandError(_("Pipeline %(pipeline)s has no pending change of column types.") % {"pipeline": target})
        try:
            preview = type_change_preview(change)
        except ClickHouseError as exc:
            raise CommandError(_("The migration cannot be previewed: %(error)s") % {"error": exc}) from exc
        self.stdout.write(_("Pending change #%(id)d of %(pipeline)s: %(summary)s")
                          % {"id": change.pk, "pipeline": target, "summary": describe_type_change(change)})
        self.stdout.write(ngettext("The table holds %(rows)d row.", "The table holds %(rows)d rows.", preview.rows)
                          % {"rows": preview.rows})
        for column in preview.columns:
            if column.unconvertible:
                self.stdout.write(ngettext(
                    "  %(column)s: %(stored)s -> %(wanted)s, %(count)d value does not convert, e.g. %(examples)s",
                    "  %(column)s: %(stored)s -> %(wanted)s, %(count)d values do not convert, e.g. %(examples)s",
                    column.unconvertible) % {"column": column.column, "stored": column.stored, "wanted": column.wanted,
                                             "count": column.unconvertible, "examples": ", ".join(column.examples)})
            else:
                self.stdout.write(_("  %(column)s: %(stored)s -> %(wanted)s, every value converts")
                                  % {"column": column.column, "stored": column.stored, "wanted": column.wanted})
        if change.last_error:
            self.stdout.write(_("The last attempt failed: %(error)s") % {"error": change.last_error})
        if not apply:
            self.stdout.write(_("Nothing was changed; add --apply to migrate the table."))
            return
        if preview.unconvertible and not null_unconvertible:
            raise CommandError(ngettext(
                "%(count)d stored value does not convert; nothing was changed. Add --null-unconvertible to rebuild "
                "the table with it set to NULL, or change the pipeline's data types.",
                "%(count)d stored values do not convert; nothing was changed. Add --null-unconvertible to rebuild "
                "the table with them set to NULL, or change the pipeline's data types.",
                preview.unconvertible) % {"count": preview.unconvertible})
        with audit_context_set(AuditContext(user_agent="manage.py migrate_target_types")):
            try:
                result = type_change_apply(change=change, by="command", null_unconvertible=null_unconvertible)
            except TypeChangeRefused as exc:
                raise CommandError(str(exc)) from exc
            except ClickHouseError as exc:
                raise CommandError(_("The table was not migrated: %(error)s") % {"error": exc}) from exc
        self.stdout.write(self.style.SUCCESS(ngettext(
            "The table was migrated (%(method)s, %(rows)d row); the next run loads.",
            "The table was migrated (%(method)s, %(rows)d rows); the next run loads.", result.rows)
            % {"method": method_label(result.method), "rows": result.rows}))
