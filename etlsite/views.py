"""Project-level views: the health check that load balancers and docker-compose poll."""

from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from analytics.clickhouse import ClickHouseError, get_target


@never_cache
@require_GET
def health(request):
    """200 when the metadata, staging and ClickHouse databases answer; 503 naming the one that does not.

    No login: it reveals nothing but which database is down, never addresses or credentials.
    """
    checks = {}
    for alias in ("default", "staging"):
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
            checks[alias] = "ok"
        except Exception:  # any driver error means "down" here; details go to the log, not the response
            checks[alias] = "unavailable"
    try:
        get_target().command("SELECT 1")
        checks["clickhouse"] = "ok"
    except ClickHouseError:
        checks["clickhouse"] = "unavailable"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", "checks": checks},
                        status=200 if healthy else 503)
