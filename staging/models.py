"""Models of the staging database. Cross-database references (pipeline_run_id) are plain integers."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from etlsite.messages import StoredErrorText
from etlsite.models import TimestampedModel


class StagingSourceType(models.TextChoices):
    CSV = "csv", _("CSV")
    JSON = "json", _("JSON")
    DATABASE = "database", _("Database")
    API = "api", _("API")


class FileStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    PROCESSING = "processing", _("Processing")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")
    DELETED = "deleted", _("Deleted")


class OperationType(models.TextChoices):
    LOAD = "load", _("Load")
    TRANSFORM = "transform", _("Transform")
    VALIDATE = "validate", _("Validate")
    EXPORT = "export", _("Export")


class ProcessingStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class StagingTable(TimestampedModel):
    """A table of the staging database holding staged rows (table `staging_tables`)."""

    table_name = models.CharField(_("table name"), max_length=63)
    schema_name = models.CharField(_("schema name"), max_length=63, blank=True, default="")
    source_type = models.CharField(_("source type"), max_length=20, choices=StagingSourceType.choices)
    source_config = models.JSONField(_("source configuration"), default=dict, blank=True)
    row_count = models.BigIntegerField(_("row count"), default=0)
    column_count = models.IntegerField(_("column count"), default=0)
    file_size_bytes = models.BigIntegerField(_("file size, bytes"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, db_index=True)
    pipeline_run_id = models.BigIntegerField(_("pipeline run id"), null=True, blank=True, db_index=True)

    class Meta:
        db_table = "staging_tables"
        verbose_name = _("staging table")
        verbose_name_plural = _("staging tables")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["schema_name", "table_name"], name="staging_tables_name_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.schema_name}.{self.table_name}" if self.schema_name else self.table_name


class FileMetadata(TimestampedModel):
    """An uploaded or picked-up file (table `file_metadata`)."""

    filename = models.CharField(_("file name"), max_length=255)
    original_filename = models.CharField(_("original file name"), max_length=255)
    file_path = models.CharField(_("file path"), max_length=1024)
    file_size = models.BigIntegerField(_("file size, bytes"), default=0)
    file_hash = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    mime_type = models.CharField(_("MIME type"), max_length=255, blank=True, default="")
    encoding = models.CharField(_("encoding"), max_length=50, blank=True, default="")
    status = models.CharField(_("status"), max_length=20, choices=FileStatus.choices, default=FileStatus.UPLOADED)
    uploaded_by = models.CharField(_("uploaded by"), max_length=150, blank=True, default="")
    processing_started_at = models.DateTimeField(_("processing started at"), null=True, blank=True)
    processing_finished_at = models.DateTimeField(_("processing finished at"), null=True, blank=True)
    error_message = models.TextField(_("error message"), blank=True, default="")
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    pipeline_run_id = models.BigIntegerField(_("pipeline run id"), null=True, blank=True, db_index=True)

    class Meta:
        db_table = "file_metadata"
        verbose_name = _("file")
        verbose_name_plural = _("files")
        ordering = ["-created_at"]
        # Without it a user sees and uses only the files they uploaded (staging.ownership).
        permissions = [("access_all_uploads", _("Can see and use every user's uploaded files"))]
        indexes = [models.Index(fields=["status", "-created_at"], name="file_metadata_status_idx")]

    def __str__(self) -> str:
        return self.original_filename


class ProcessingLog(StoredErrorText, TimestampedModel):
    """One operation on a staged table: load, transform, validate or export (table `processing_logs`)."""

    table_name = models.CharField(_("table name"), max_length=255)
    operation_type = models.CharField(_("operation"), max_length=20, choices=OperationType.choices)
    status = models.CharField(_("status"), max_length=20, choices=ProcessingStatus.choices,
                              default=ProcessingStatus.PENDING)
    records_processed = models.BigIntegerField(_("records processed"), default=0)
    records_success = models.BigIntegerField(_("records succeeded"), default=0)
    records_failed = models.BigIntegerField(_("records failed"), default=0)
    processing_time_seconds = models.FloatField(_("processing time, seconds"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error_message = models.TextField(_("error message"), blank=True, default="")
    execution_context = models.JSONField(_("execution context"), default=dict, blank=True)
    pipeline_run_id = models.BigIntegerField(_("pipeline run id"), null=True, blank=True, db_index=True)

    class Meta:
        db_table = "processing_logs"
        verbose_name = _("processing log")
        verbose_name_plural = _("processing logs")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["table_name", "-created_at"], name="processing_logs_table_idx"),
            models.Index(fields=["status", "-created_at"], name="processing_logs_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_operation_type_display()} {self.table_name}"


# The quarantine model lives beside its store; importing it here registers it with the app.
from staging.quarantine import QuarantinedRow, QuarantineStatus  # noqa: E402, F401
