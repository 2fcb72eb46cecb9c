from django.contrib import admin
from django.urls import include, path

from etlsite.views import health

urlpatterns = [
    path("health/", health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # The pages outside the admin: /, /upload/, /runs/, /quarantine/, /schema-changes/ (docs/WEB.md).
    path("", include("webui.urls")),
    # Dashboards, lineage and catalog (docs/DASHBOARDS.md).
    path("", include("dashboards.urls")),
]
