"""The contract every connector keeps (docs/ENGINE.md): config check, connection test, Arrow batches, description."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pyarrow as pa
from django.utils.translation import gettext as _

DEFAULT_BATCH_ROWS = 65_536


class ConnectorError(Exception):
    """A problem reading a source, with a message fit for the user.

    `permanent` says whether trying again can help: a malformed file or a wrong setting is permanent (retrying
    wastes the retries), a file that is not there yet or a network failure is not.
    """

    def __init__(self, message, permanent: bool):
        super().__init__(message)  # a str, or an etlsite.messages.Message: the run stores it untranslated
        self.message = str(message)
        self.permanent = permanent


@dataclass
class ConnectionCheck:
    ok: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def _matches(pattern: str, path: tuple[str, ...]) -> bool:
    steps = pattern.split(".")
    return len(steps) == len(path) and all(step in ("*", str(key)) for step, key in zip(steps, path, strict=True))


def _where(value: Any) -> Any:
    """A destination value as compared: a URL by its origin (scheme, host, port), a list item by item."""
    if isinstance(value, list):
        return [_where(item) for item in value]
    if isinstance(value, str):
        value = value.strip()
        if "://" in value:
            try:
                parts = urlsplit(value)
                return (parts.scheme.lower(), parts.hostname or "", parts.port)
            except ValueError:
                return value
    return value


class Connector(abc.ABC):
    """Reads one source as a stream of `pyarrow.RecordBatch`es of at most `batch_rows` rows each."""

    kind: ClassVar[str]
    KEYS: ClassVar[tuple[str, ...]] = ()
    # The configuration keys whose values are secrets, as dotted paths ("password", "auth.token"); "*" stands
    # for any key of an object ("headers.*"). The one declaration that encryption at rest, masking, the audit
    # log and the scrubbing of messages read (sources.secrets); only keys a connector does not know are
    # judged by their name.
    SECRET_KEYS: ClassVar[tuple[str, ...]] = ()
    # The keys that say where the source points (and how the connection there is protected): a stored
    # secret is not kept when one of them changes, it must be typed again (sources.secrets.secrets_merge).
    DESTINATION_KEYS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def secret_key(cls, path: tuple[str, ...], config: dict) -> bool | None:
        """Whether the value at `path` of `config` is a secret; None for a key this connector does not know."""
        if any(_matches(pattern, path) for pattern in cls.SECRET_KEYS):
            return True
        if len(path) == 1 and path[0] in cls.KEYS:
            return False
        return None

    @classmethod
    def text_secrets(cls, path: tuple[str, ...], text: str, config: dict) -> list[tuple[int, int]]:
        """Spans of secrets written inside the text at `path` (beyond passwords in URLs, which every text
        is searched for): the API connector's query values in its url."""
        return []

    @classmethod
    def secret_forms(cls, config: dict) -> list[str]:
        """Other forms the secrets take on the wire (a Basic credential), so messages echoing them are scrubbed."""
        return []

    @classmethod
    def destination(cls, config: dict) -> dict[str, Any]:
        """Where the source points, comparable between two configurations."""
        return {key: _where(config.get(key)) for key in cls.DESTINATION_KEYS}

    def __init__(self, config: dict):
        errors = self.config_errors(config)
        if errors:
            raise ConnectorError("; ".join(errors), permanent=True)
        self.config = dict(config)

    @classmethod
    def config_errors(cls, config: Any) -> list[str]:
        """Everything wrong with `config`, one specific message per problem naming the key; [] when it is fine."""
        if not isinstance(config, dict):
            return [_("The connection configuration must be a JSON object.")]
        return []

    @classmethod
    def server_paths(cls, config: Any) -> dict[str, str]:
        """The configuration's values that name files on this server ({key: path or glob}), which
        sources.fileroots judges; {} for a connector that opens none."""
        return {}

    @staticmethod
    def unknown_key_errors(config: dict, known: Iterable[str], kind: str) -> list[str]:
        """A typo in a key ("delimeter") is named, with the keys this connector knows."""
        known = tuple(known)
        unknown = sorted(str(key) for key in config if key not in known)
        if not unknown:
            return []
        return [_("Unknown key(s) %(keys)s; the %(kind)s connector knows: %(known)s.")
                % {"keys": ", ".join(unknown), "kind": kind, "known": ", ".join(known)}]

    @abc.abstractmethod
    def test_connection(self) -> ConnectionCheck:
        """Whether the source can be read; never raises for a problem the user can fix, it reports it."""

    @abc.abstractmethod
    def read_batches(self, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The source's rows in order, in batches of at most `batch_rows` rows."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """What was detected or used while reading (format, encoding, delimiter, files...), JSON-serializable."""
