"""/api/v1/ routes."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from api.views import clickhouse
from api.views.metadata import AnalysisResultViewSet, DataSourceViewSet, PipelineRunViewSet, PipelineViewSet
from api.views.staging import FileMetadataViewSet, ProcessingLogViewSet, QuarantinedRowViewSet, StagingTableViewSet
from api.views.token import obtain_auth_token

app_name = "api"

router = DefaultRouter()
router.register("sources", DataSourceViewSet, basename="source")
router.register("pipelines", PipelineViewSet, basename="pipeline")
router.register("runs", PipelineRunViewSet, basename="run")
router.register("analysis-results", AnalysisResultViewSet, basename="analysis-result")
router.register("files", FileMetadataViewSet, basename="file")
router.register("staging-tables", StagingTableViewSet, basename="staging-table")
router.register("processing-logs", ProcessingLogViewSet, basename="processing-log")
router.register("quarantined-rows", QuarantinedRowViewSet, basename="quarantined-row")

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="token"),
    path("quality-metrics/", clickhouse.QualityMetricsView.as_view(), name="quality-metrics"),
    path("business-metrics/", clickhouse.BusinessMetricsView.as_view(), name="business-metrics"),
    path("lineage/", clickhouse.LineageView.as_view(), name="lineage"),
    path("catalog/", clickhouse.CatalogListView.as_view(), name="catalog"),
    path("catalog/<uuid:entry_id>/", clickhouse.CatalogEntryView.as_view(), name="catalog-entry"),
    path("audit-log/", clickhouse.AuditLogView.as_view(), name="audit-log"),
    *router.urls,
]
