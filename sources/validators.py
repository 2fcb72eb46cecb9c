"""Checks of a source's connection_config that need no connector (shape only)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def validate_connection_config(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError(_("The connection configuration must be a JSON object, e.g. {\"file_path\": \"...\"}."))
    for key in value:
        if not isinstance(key, str) or not key.strip():
            raise ValidationError(_("Connection configuration keys must be non-empty strings."))
