"""Messages that are stored or shown never carry the secret values of the source they are about.

A remote API may echo a request's headers in its error body, a driver may quote its connection string: the
key a secret was stored under says nothing about where its value turns up. So each text written to a run's
error message and execution context, to processing_logs, to an alert or a connection check's message has
every secret value of the source (as sources.secrets finds them, plus their URL-encoded and base64 forms)
replaced by the placeholder. `scrub_for_run` and `scrub_for_source` are called where those are written:
pipelines.services (run results, progress, parts), staging.services (processing logs, file errors),
pipelines.alerts and sources.services (connection checks).
"""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import quote, quote_plus

from sources.secrets import PLACEHOLDER, secret_values

logger = logging.getLogger(__name__)

# Shorter values are not replaced: they would garble every message ("a", "1"), and hide nothing worth it.
MIN_SECRET_LENGTH = 4


def _forms(value: str) -> list[str]:
    return [value, quote(value, safe=""), quote_plus(value), base64.b64encode(value.encode()).decode()]


def secret_forms(values: list[str]) -> tuple[str, ...]:
    """The strings to replace, longest first (so a value is replaced before a part of it)."""
    forms = {form for value in values if len(value) >= MIN_SECRET_LENGTH for form in _forms(value)}
    return tuple(sorted((form for form in forms if len(form) >= MIN_SECRET_LENGTH), key=len, reverse=True))


def scrub(value: Any, secrets: tuple[str, ...] | list[str]) -> Any:
    """`value` (a text, or the texts in a JSON-like value) with each of `secrets` replaced by the placeholder."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, PLACEHOLDER)
        return value
    if isinstance(value, dict):
        return {key: scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(item, secrets) for item in value]
    return value


def source_secrets(source) -> tuple[str, ...]:
    """The texts to hide in messages about `source` (a DataSource, or None)."""
    if source is None:
        return ()
    return secret_forms(secret_values(source.connection_config or {}, source.source_type))


def scrub_for_source(value: Any, source) -> Any:
    return scrub(value, source_secrets(source))


def run_secrets(*, run=None, run_id: int | None = None) -> tuple[str, ...]:
    """The texts to hide in what is written about a run; kept on the run object for its later writes."""
    cached = getattr(run, "_scrub_secrets", None)
    if cached is not None:
        return cached
    from sources.models import DataSource

    run_id = run.pk if run is not None else run_id
    if run_id is None:
        return ()
    # Through the relations' reverse names, so that sources (and the connectors, which scrub with this module)
    # import nothing of pipelines, the app above them.
    source = DataSource.all_objects.filter(pipelines__runs__pk=run_id).first()
    secrets = source_secrets(source)
    if run is not None:
        run._scrub_secrets = secrets
    return secrets


def scrub_for_run(value: Any, *, run=None, run_id: int | None = None) -> Any:
    """`value` without the secrets of the run's source. Fails closed: if they cannot be read, a text is
    reduced to the placeholder rather than written as it is."""
    try:
        secrets = run_secrets(run=run, run_id=run_id)
    except Exception:  # noqa: BLE001 - whatever broke, the message must not go out unscrubbed
        logger.exception("could not read the secrets of run %s to scrub a message", run_id or getattr(run, "pk", None))
        return PLACEHOLDER if isinstance(value, str) and value else value
    return scrub(value, secrets)
