"""The contract every connector keeps (docs/ENGINE.md): config check, connection test, Arrow batches, description."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
from django.utils.translation import gettext as _

DEFAULT_BATCH_ROWS = 65_536


class ConnectorError(Exception):
    """A problem reading a source, with a message fit for the user.

    `permanent` says whether trying again can help: a malformed file or a wrong setting is permanent (retrying
    wastes the retries), a file that is not there yet or a network failure is not.
    """

    def __init__(self, message: str, permanent: bool):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass
class ConnectionCheck:
    ok: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


class Connector(abc.ABC):
    """Reads one source as a stream of `pyarrow.RecordBatch`es of at most `batch_rows` rows each."""

    kind: ClassVar[str]

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
