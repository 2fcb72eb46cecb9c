from django.db import models

from sources.encryption import decrypt_config, encrypt_config


class EncryptedConfigField(models.JSONField):
    """A JSON object whose secrets are encrypted in the database and plain in Python (sources.encryption)."""

    def get_prep_value(self, value):
        return super().get_prep_value(encrypt_config(value))

    def from_db_value(self, value, expression, connection):
        return decrypt_config(super().from_db_value(value, expression, connection))
