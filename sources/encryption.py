"""Secrets in connection_config are encrypted at rest.

Every value its connector declares a secret (sources.secrets.SecretRules: `SECRET_KEYS`, every API header
and parameter not listed as public; keys no connector knows by their name) and every string with a secret
written into it (a URL's user info, ``password=...``) is stored as ``enc:v1:<Fernet token>``; the
rest of the configuration stays readable JSON, so lookups on ``file_path`` and the like keep working and a
database dump shows where a source points but not how it logs in.

Keys come from ETL_SECRETS_KEY: one or more Fernet keys, comma-separated. The first encrypts; all decrypt,
so a key is rotated by putting the new one first and re-saving the sources (`manage.py rotate_secrets`). The
embedded default generates a key once under var/ like the Django secret key; production sets it.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from sources.secrets import SecretRules, value_is_set

logger = logging.getLogger(__name__)

PREFIX = "enc:v1:"


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.ETL_SECRETS_KEYS))


def is_encrypted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def encrypt_value(value: Any) -> str:
    if is_encrypted(value):
        return value
    token = cipher().encrypt(json.dumps(value, ensure_ascii=False).encode())
    return PREFIX + token.decode()


def decrypt_value(value: str) -> Any:
    """The plain value; an undecryptable token (the key was replaced, not rotated) stays as it is, so saving
    the source again cannot overwrite the stored secret with something else, and the connection fails with
    the source's own authentication error."""
    try:
        return json.loads(cipher().decrypt(value[len(PREFIX):].encode()))
    except (InvalidToken, ValueError):
        logger.error("a secret of a data source cannot be decrypted with the keys in ETL_SECRETS_KEY; "
                     "was the key replaced instead of rotated?")
        return value


def _encrypt(value: Any, rules: SecretRules, path: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {key: (encrypt_value(item) if rules.is_secret((*path, str(key))) and value_is_set(item)
                      else _encrypt(item, rules, (*path, str(key)))) for key, item in value.items()}
    if isinstance(value, list):
        return [_encrypt(item, rules, path) for item in value]
    if isinstance(value, str) and not is_encrypted(value) and rules.mask_text(path, value) != value:
        return encrypt_value(value)  # a text with a secret inside (a URL with a password) is hidden whole
    return value


def encrypt_config(config: Any, source_type: str | None = None) -> Any:
    """`config` with every secret encrypted: by the connector's declaration when `source_type` is given, by
    the keys' names otherwise (sources.secrets.SecretRules)."""
    return _encrypt(config, SecretRules(source_type, config), ())


def decrypt_config(config: Any) -> Any:
    if isinstance(config, dict):
        return {key: decrypt_config(item) for key, item in config.items()}
    if isinstance(config, list):
        return [decrypt_config(item) for item in config]
    if is_encrypted(config):
        value = decrypt_value(config)
        # An object encrypted whole under an older declaration may hold values encrypted on their own.
        return decrypt_config(value) if isinstance(value, (dict, list)) else value
    return config


def undecryptable(config: Any) -> int:
    """How many secrets of a (decrypted) configuration are still tokens: encrypted with a key that is gone."""
    if isinstance(config, dict):
        return sum(undecryptable(item) for item in config.values())
    if isinstance(config, list):
        return sum(undecryptable(item) for item in config)
    return int(is_encrypted(config))
