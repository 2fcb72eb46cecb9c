from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("dashboards/quality/", views.quality_dashboard, name="quality"),
    path("dashboards/business/", views.business_dashboard, name="business"),
    path("dashboards/runs/", views.runs_dashboard, name="runs"),
    path("dashboards/health/", views.health_dashboard, name="health"),
    path("lineage/", views.lineage_page, name="lineage"),
    path("catalog/", views.catalog_page, name="catalog"),
    path("catalog/edit/", views.catalog_edit_view, name="catalog-edit"),
    path("catalog/entry.json", views.catalog_entry_json, name="catalog-entry"),
]
