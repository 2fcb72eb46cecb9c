from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from etlsite.apidocs import redoc_bundle
from etlsite.language import switch_language
from etlsite.views import favicon, health

urlpatterns = [
    path("health/", health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("language/<str:code>/", switch_language, name="switch_language"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Both from this site's static files. Swagger UI's icons are data: images, and its script comes from
    # /api/docs/?script (the split view: no inline script). Redoc styles itself with <style> elements it
    # writes at run time (styled-components) and searches in a worker it starts from a blob: URL; those two
    # exceptions hold for its page only.
    path("api/docs/", csp_update({"img-src": ["data:"]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
         name="api-docs"),
    path("api/redoc/", csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"], "worker-src": ["blob:"]})(
        SpectacularRedocView.as_view(url_name="api-schema")), name="api-redoc"),
    path("api/redoc/redoc.standalone.js", redoc_bundle, name="api-redoc-bundle"),
    # The pages outside the admin: /, /upload/, /runs/, /quarantine/, /schema-changes/ (docs/WEB.md).
    path("", include("webui.urls")),
    # Dashboards, lineage and catalog (docs/DASHBOARDS.md).
    path("", include("dashboards.urls")),
]

# Under /api/ these answer in the API's JSON error format; elsewhere they are Django's pages.
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"
