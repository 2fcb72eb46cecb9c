"""`stack start|stop|status|wait`: the embedded PostgreSQL, Valkey and ClickHouse process under var/."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from etlsite import stack


class Command(BaseCommand):
    help = _("Start, stop or show the embedded servers (PostgreSQL, Valkey, the ClickHouse process) under var/. "
             "A server whose *_HOST (or CELERY_BROKER_URL) is set is external and left alone.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status", "wait"])
        parser.add_argument("pieces", nargs="*", metavar="piece",
                            help=_("Only these: postgres, valkey, clickhouse (default: all)."))
        parser.add_argument("--timeout", type=float, default=stack.START_SECONDS,
                            help=_("wait: seconds to wait for every server to answer."))

    def handle(self, *args, action, pieces, timeout, **options):
        try:
            if action == "start":
                started = stack.start(pieces)
                self._status(pieces)
                self.stdout.write(_("Started: %(names)s") % {"names": ", ".join(started) or _("none (all running)")})
            elif action == "stop":
                stopped = stack.stop(pieces)
                self.stdout.write(_("Stopped: %(names)s") % {"names": ", ".join(stopped) or _("none (none running)")})
            elif action == "status":
                self._status(pieces)
            else:
                missing = stack.wait(timeout)
                if missing:
                    raise CommandError(_("Not answering after %(seconds)s s: %(names)s")
                                       % {"seconds": timeout, "names": ", ".join(missing)})
                self._status(pieces)
        except (stack.StackError, ValueError) as exc:
            raise CommandError(str(exc)) from exc

    def _status(self, pieces):
        labels = {"running": _("running"), "stopped": _("stopped"), "external": _("external")}
        for state in stack.status():
            if not pieces or state.name in pieces:
                self.stdout.write(f"{state.name:<11} {labels[state.state]:<9} {state.detail}")
