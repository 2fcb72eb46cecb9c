"""Messages that are stored now and read later, in the reader's language (not the writer's).

A run's error or a quarantined row's reason is written by a worker and read by people in their own language.
So it is kept as a `Message`: the English source string (the gettext msgid) and its parameters, rendered with
`gettext(msgid) % params` in whatever language is active when it is shown. Beside it the English text is still
written to the spec's text columns (pipeline_runs.error_message ...), readable by SQL and by older code.

Raise sites write `_msg("...")` where they wrote `_("...")`: makemessages picks `_msg` up (the project's
makemessages command adds the keyword), and `_msg("... %(n)d ...") % {"n": 3}` keeps the parameters instead
of formatting them in. A parameter may be a Message itself (an error quoting another error): it is rendered
in the same language. `str(message)` renders in the active language, so code that formats an exception's
text keeps working.
"""

from __future__ import annotations

import numbers
from decimal import Decimal
from typing import Any

from django.utils import translation
from django.utils.translation import gettext

# The language the text columns hold (the msgids are English).
SOURCE_LANGUAGE = "en"


class Message:
    """A translatable text with its parameters; renders in the active language."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, params: dict[str, Any] | None = None):
        self.msgid = msgid
        self.params = params

    def __mod__(self, params: dict[str, Any]) -> Message:
        return Message(self.msgid, dict(params))

    def render(self) -> str:
        text = gettext(self.msgid)
        if self.params is None:
            return text
        return text % {key: str(value) if isinstance(value, Message) else value
                       for key, value in self.params.items()}

    def english(self) -> str:
        """The text as the spec's columns keep it."""
        if translation.get_language() == SOURCE_LANGUAGE:  # many quarantine reasons: no switch per row
            return self.render()
        with translation.override(SOURCE_LANGUAGE):
            return self.render()

    def as_json(self) -> dict:
        return {"msgid": self.msgid, "params": _params_json(self.params)}

    @classmethod
    def from_json(cls, data: Any) -> Message | None:
        """The message stored by `as_json`; None for anything else (an older row, a damaged value)."""
        if not isinstance(data, dict) or not isinstance(data.get("msgid"), str):
            return None
        params = data.get("params")
        if params is not None and not isinstance(params, dict):
            return None
        return cls(data["msgid"], None if params is None else {
            key: cls.from_json(value) or value if isinstance(value, dict) else value
            for key, value in params.items()})

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        # A message also equals its text in the active language: code that compared texts keeps working.
        if isinstance(other, str):
            return self.render() == other
        return isinstance(other, Message) and (self.msgid, self.params) == (other.msgid, other.params)

    def __hash__(self) -> int:
        return hash(self.render())  # equal messages render alike; a message hashes as the text it equals


def _msg(msgid: str) -> Message:
    """Mark `msgid` for translation and keep it untranslated until it is shown (see the module's docstring)."""
    return Message(msgid)


def _params_json(params: dict | None) -> dict | None:
    if params is None:
        return None
    return {key: _plain(value) for key, value in params.items()}


def _plain(value: Any) -> Any:
    """A parameter as JSON keeps it: numbers and texts as they are, a message (or an error quoting one) as a
    message, anything else as its text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, numbers.Integral):  # numpy's and pyarrow's integers: %(n)d must still format them
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, Decimal):
        return float(value)
    message = message_of(value)
    return message.as_json() if message is not None else str(value)


def message_of(value: Any) -> Message | None:
    """The Message an exception (its first argument or its `message`) or a value carries; None for plain text."""
    if isinstance(value, Message):
        return value
    if isinstance(value, BaseException):
        for candidate in (getattr(value, "message", None), *value.args[:1]):
            if isinstance(candidate, Message):
                return candidate
    return None


def english_text(value: Any) -> str:
    """The text for the spec's columns: a Message in English, anything else as its text."""
    message = message_of(value)
    return message.english() if message is not None else str(value)


def stored_json(value: Any) -> dict | None:
    """What to store beside the English text: the message's msgid and params, None for a plain text."""
    message = message_of(value)
    return message.as_json() if message is not None else None


def shown(text: str, stored: Any) -> str:
    """A stored text in the viewer's language: rendered from its stored message, or the text as it was
    (rows written before messages were stored, or texts that never were translatable)."""
    message = Message.from_json(stored)
    if message is None:
        return text
    try:
        return message.render()
    except (KeyError, TypeError, ValueError):  # a catalogue whose placeholders do not fit: the stored text
        return text


# Two messages one after the other (a msgid no catalogue has: it stays as it is in every language).
_JOINED = "%(first)s %(rest)s"


def messages_join(messages: list[Message | str]) -> Message:
    """Several messages (or plain texts) as one, separated by a space, each rendered in the viewer's language."""
    if len(messages) == 1:
        return messages[0] if isinstance(messages[0], Message) else Message("%(text)s", {"text": messages[0]})
    return Message(_JOINED, {"first": messages[0], "rest": messages_join(messages[1:])})


class StoredErrorText:
    """Mixin for a model with `error_message` (the English text) and `execution_context` (the message stored
    beside it under "error"): `error_text` is the error in the reader's language, the stored text for older
    rows (pipeline runs and processing logs)."""

    @property
    def error_text(self) -> str:
        if not self.error_message:
            return ""
        return shown(self.error_message, (self.execution_context or {}).get("error"))
