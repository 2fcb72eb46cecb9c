from django.db import models
from django.utils.translation import gettext_lazy as _

from etlsite.messages import StoredErrorText
from etlsite.models import SoftDeleteModel, TimestampedModel
from pipelines.config import PipelineConfig
from pipelines.targets import target_table_name
from pipelines.validators import validate_configuration, validate_cron, validate_tags


class PipelineStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")
    DEPRECATED = "deprecated", _("Deprecated")


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCESS = "success", _("Success")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class AnalysisType(models.TextChoices):
    DATA_QUALITY = "data_quality", _("Data quality")
    ANOMALY_DETECTION = "anomaly_detection", _("Anomaly detection")
    SCHEMA_DRIFT = "schema_drift", _("Schema drift")
    BUSINESS_METRICS = "business_metrics", _("Business metrics")


class AlertLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Pipeline(SoftDeleteModel, TimestampedModel):
    """What to do with a source's data and when (table `pipelines`)."""

    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True, default="")
    data_source = models.ForeignKey(
        "sources.DataSource", on_delete=models.PROTECT, related_name="pipelines", verbose_name=_("data source")
    )
    status = models.CharField(_("status"), max_length=20, choices=PipelineStatus.choices,
                              default=PipelineStatus.DRAFT)
    configuration = models.JSONField(_("configuration"), default=dict, blank=True,
                                     validators=[validate_configuration])
    schedule_cron = models.CharField(_("schedule (cron)"), max_length=100, blank=True, default="",
                                     validators=[validate_cron],
                                     help_text=_("minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\""))
    max_retries = models.PositiveSmallIntegerField(_("max retries"), default=3)
    timeout_seconds = models.PositiveIntegerField(_("timeout, seconds"), default=3600)
    tags = models.JSONField(_("tags"), default=list, blank=True, validators=[validate_tags])

    class Meta:
        db_table = "pipelines"
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name"], condition=models.Q(is_deleted=False),
                                    name="pipelines_name_alive_uniq"),
        ]
        indexes = [models.Index(fields=["status"], name="pipelines_status_idx")]
        # Given to no group by default (pipelines.targets: a target table belongs to the pipelines loading it).
        permissions = [("load_shared_target", _("Can load into a table another pipeline loads"))]

    def __str__(self) -> str:
        return self.name

    @property
    def config(self) -> PipelineConfig:
        """The configuration read with a run's defaults (pipelines.config; judged on save by its validator)."""
        return PipelineConfig.read(self.configuration)

    @property
    def target_table(self) -> str:
        """The ClickHouse table this pipeline loads into (configuration.target.table, or else its name)."""
        return target_table_name(self)

    def clean(self) -> None:
        """A readable name (etlsite.names) and a target table a pipeline may load into (pipelines.targets),
        checked wherever the model is validated (admin, API, forms)."""
        from django.core.exceptions import ValidationError

        from etlsite.names import validate_display_name
        from pipelines.targets import merge_key_errors, shared_target_errors, target_table_errors

        super().clean()
        try:
            validate_display_name(self.name or "")
        except ValidationError as exc:
            raise ValidationError({"name": exc.messages}) from exc
        errors = target_table_errors(self) or shared_target_errors(self) or merge_key_errors(self)
        if errors:
            raise ValidationError(errors)


class PipelineRun(StoredErrorText, TimestampedModel):
    """One execution of a pipeline (table `pipeline_runs`)."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="runs",
                                 verbose_name=_("pipeline"))
    status = models.CharField(_("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.PENDING)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    duration_seconds = models.FloatField(_("duration, seconds"), null=True, blank=True)
    records_processed = models.BigIntegerField(_("records processed"), default=0)
    records_failed = models.BigIntegerField(_("records failed"), default=0)
    error_message = models.TextField(_("error message"), blank=True, default="")
    execution_context = models.JSONField(_("execution context"), default=dict, blank=True)
    retry_count = models.PositiveIntegerField(_("retry count"), default=0)
    triggered_by = models.CharField(_("triggered by"), max_length=150, blank=True, default="")

    class Meta:
        db_table = "pipeline_runs"
        verbose_name = _("pipeline run")
        verbose_name_plural = _("pipeline runs")
        ordering = ["-created_at"]
        indexes = [
            # "latest runs" (the specification's monitoring query) and the admin list, overall and per pipeline
            models.Index(fields=["-created_at"], name="pipeline_runs_created_idx"),
            models.Index(fields=["pipeline", "-created_at"], name="pipeline_runs_pipe_created_idx"),
            models.Index(fields=["status", "-created_at"], name="pipeline_runs_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline_id}#{self.pk} {self.get_status_display()}"


class AnalysisResult(TimestampedModel):
    """What the analysis of a run found (table `analysis_results`)."""

    pipeline_run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="analysis_results",
                                     verbose_name=_("pipeline run"))
    analysis_type = models.CharField(_("analysis type"), max_length=50, choices=AnalysisType.choices)
    result_data = models.JSONField(_("result data"), default=dict, blank=True)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    recommendations = models.JSONField(_("recommendations"), default=list, blank=True)
    is_alert = models.BooleanField(_("needs attention"), default=False)
    alert_level = models.CharField(_("alert level"), max_length=20, choices=AlertLevel.choices, blank=True,
                                   default="")

    class Meta:
        db_table = "analysis_results"
        verbose_name = _("analysis result")
        verbose_name_plural = _("analysis results")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["is_alert", "-created_at"], name="analysis_results_alert_idx"),
            models.Index(fields=["analysis_type", "-created_at"], name="analysis_results_type_idx"),
        ]

    @property
    def recommendation_texts(self) -> list[str]:
        """The recommendations in the reader's language (stored as codes: analytics.recommendations)."""
        from analytics.recommendations import recommendation_texts

        return recommendation_texts(self.recommendations)

    def __str__(self) -> str:
        return _("%(type)s / run %(run)s") % {"type": self.get_analysis_type_display(), "run": self.pipeline_run_id}


class SchemaChangeStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    APPLIED = "applied", _("Applied")


class SchemaChangeKind(models.TextChoices):
    COLUMNS = "columns", _("Source columns")
    TYPES = "types", _("Target column types")


class SchemaChange(TimestampedModel):
    """A change that waits for a person: a source's columns held by the pipeline's policy ("approve"), or
    (kind "types") the target table's column types that the data no longer has, to be migrated
    (pipelines.type_changes). `diff` of a type change: {"table", "retyped": [{"column", "from", "to"}]}."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="schema_changes",
                                 verbose_name=_("pipeline"))
    pipeline_run = models.ForeignKey(PipelineRun, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="schema_changes", verbose_name=_("detected in run"))
    diff = models.JSONField(_("column diff"), default=dict)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, db_index=True)
    status = models.CharField(_("status"), max_length=20, choices=SchemaChangeStatus.choices,
                              default=SchemaChangeStatus.PENDING)
    decided_by = models.CharField(_("decided by"), max_length=150, blank=True, default="")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=SchemaChangeKind.choices,
                            default=SchemaChangeKind.COLUMNS)
    last_error = models.TextField(_("last error"), blank=True, default="")
    result = models.JSONField(_("result"), default=dict, blank=True)

    class Meta:
        db_table = "schema_changes"
        verbose_name = _("schema change")
        verbose_name_plural = _("schema changes")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "fingerprint"], name="schema_changes_pipeline_fp_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline_id}: {self.get_status_display()}"


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class AlertCondition(models.TextChoices):
    RUN_FAILED = "run_failed", _("Run failed")
    QUALITY = "quality", _("Low data quality")
    ANOMALY = "anomaly", _("Anomaly")
    SCHEMA_DRIFT = "schema_drift", _("Schema drift")
    NO_NEW_DATA = "no_new_data", _("No new data")


class Alert(TimestampedModel):
    """An open (or resolved) alert condition of a pipeline: notified once when it opens, once when it recovers."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="alerts",
                                 verbose_name=_("pipeline"))
    condition = models.CharField(_("condition"), max_length=50, choices=AlertCondition.choices)
    status = models.CharField(_("status"), max_length=20, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    opened_at = models.DateTimeField(_("opened at"))
    last_notified_at = models.DateTimeField(_("last notified at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    last_run = models.ForeignKey(PipelineRun, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+", verbose_name=_("last run"))
    occurrences = models.PositiveIntegerField(_("occurrences"), default=1)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        db_table = "alerts"
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "condition"], condition=models.Q(status="open"),
                                    name="alerts_one_open_per_condition"),
        ]
        indexes = [models.Index(fields=["status", "-opened_at"], name="alerts_status_idx")]

    def __str__(self) -> str:
        return f"{self.pipeline_id}: {self.get_condition_display()} ({self.get_status_display()})"
