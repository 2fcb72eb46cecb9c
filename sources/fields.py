from django.db import models

from sources.encryption import decrypt_config, encrypt_config


class SealedConfig(dict):
    """A configuration already encrypted by its source type's rules: get_prep_value stores it as it is."""


class EncryptedConfigField(models.JSONField):
    """A JSON object whose secrets are encrypted in the database and plain in Python (sources.encryption).

    Saving a model instance encrypts by the rules of its `source_type` (the connector's declaration); a value
    given without an instance (a queryset update, a lookup) by the keys' names, unless it is a SealedConfig.
    """

    def pre_save(self, model_instance, add):
        value = super().pre_save(model_instance, add)
        return sealed(value, getattr(model_instance, "source_type", None))

    def get_prep_value(self, value):
        if isinstance(value, SealedConfig):
            return super().get_prep_value(dict(value))
        return super().get_prep_value(encrypt_config(value))

    def from_db_value(self, value, expression, connection):
        return decrypt_config(super().from_db_value(value, expression, connection))


def sealed(config, source_type: str | None):
    """`config` encrypted for storage by the rules of `source_type`, for queryset updates and migrations."""
    encrypted = encrypt_config(config, source_type)
    return SealedConfig(encrypted) if isinstance(encrypted, dict) else encrypted
