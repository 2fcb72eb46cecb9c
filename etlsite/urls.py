from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from etlsite.views import health

urlpatterns = [
    path("health/", health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # The pages outside the admin: /, /upload/, /runs/, /quarantine/, /schema-changes/ (docs/WEB.md).
    path("", include("webui.urls")),
    # Dashboards, lineage and catalog (docs/DASHBOARDS.md).
    path("", include("dashboards.urls")),
]

# Under /api/ these answer in the API's JSON error format; elsewhere they are Django's pages.
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"
