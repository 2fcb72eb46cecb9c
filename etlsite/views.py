"""Project-level views: the health check that load balancers and docker-compose poll."""

from django.http import HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from etlsite.health import OK, system_health


@never_cache
@require_GET
def health(request):
    """200 when the databases and the broker answer and no run waits without a worker; 503 saying why.

    No login: it reveals nothing but which part is down, never addresses or credentials.
    """
    report = system_health()
    return JsonResponse(report, status=200 if report["status"] == OK else 503)


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says: send them to the static file
    (its hashed name, so it is cached for long)."""
    return HttpResponseRedirect(static("site/favicon.ico"))
