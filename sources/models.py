from django.db import models
from django.utils.translation import gettext_lazy as _

from etlsite.models import SoftDeleteModel, TimestampedModel
from sources.fields import EncryptedConfigField
from sources.validators import validate_connection_config


class SourceType(models.TextChoices):
    FILE = "file", _("File")
    DATABASE = "database", _("Database")
    API = "api", _("API")
    KAFKA = "kafka", _("Kafka")
    S3 = "s3", _("S3")
    HDFS = "hdfs", _("HDFS")


class DataSource(SoftDeleteModel, TimestampedModel):
    """Where a pipeline reads from (table `data_sources` of the metadata database)."""

    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True, default="")
    source_type = models.CharField(_("source type"), max_length=20, choices=SourceType.choices)
    # Secrets encrypted at rest (sources.encryption); the rest stays queryable JSON.
    connection_config = EncryptedConfigField(
        _("connection configuration"), default=dict, blank=True, validators=[validate_connection_config],
        help_text=_('JSON object, e.g. {"file_path": "/data/sales_2024.csv", "delimiter": ",", "encoding": "utf-8"}'),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        db_table = "data_sources"
        verbose_name = _("data source")
        verbose_name_plural = _("data sources")
        ordering = ["name"]
        constraints = [
            # Names identify sources to people; a deleted source frees its name.
            models.UniqueConstraint(fields=["name"], condition=models.Q(is_deleted=False),
                                    name="data_sources_name_alive_uniq"),
        ]
        indexes = [models.Index(fields=["source_type", "is_active"], name="data_sources_type_active_idx")]
        # Pointing a source at files on the server outside the upload folder (ETL_FILE_ROOTS): administrators'
        # by default; editors upload files instead (sources/services.py).
        permissions = [("read_server_files", _("Can read files on the server"))]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A readable name (etlsite.names); the connector of this source type checks its configuration, key by
        key (admin, API, forms)."""
        from django.core.exceptions import ValidationError

        from etlsite.names import validate_display_name
        from sources.connectors import CONNECTORS, connector_config_errors

        super().clean()
        errors = {}
        try:
            validate_display_name(self.name or "")
        except ValidationError as exc:
            errors["name"] = exc.messages
        if isinstance(self.connection_config, dict) and self.source_type in CONNECTORS:
            config_errors = connector_config_errors(self.source_type, self.connection_config)
            if config_errors:
                errors["connection_config"] = config_errors
        if errors:
            raise ValidationError(errors)
