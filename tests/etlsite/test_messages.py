"""etlsite.messages: a text stored untranslated with its parameters renders in the language active when read."""

import json
import subprocess

from django.utils import translation

from etlsite.messages import Message, _msg, english_text, message_of, messages_join, shown, stored_json
from pipelines.engine.errors import RunError
from sources.connectors.base import ConnectorError

NOT_A_NUMBER = _msg('not a number: "%(value)s"')


def test_a_message_renders_in_the_active_language_and_keeps_english_for_storage():
    message = NOT_A_NUMBER % {"value": "NA"}
    with translation.override("ru"):
        assert str(message) == 'не число: "NA"'
        assert message.english() == english_text(message) == 'not a number: "NA"'
    with translation.override("en"):
        assert str(message) == 'not a number: "NA"'
        assert message == 'not a number: "NA"' and {message} == {'not a number: "NA"'}  # reads as its text


def test_a_message_goes_through_json_with_messages_among_its_parameters():
    inner = NOT_A_NUMBER % {"value": "x"}
    outer = _msg("Internal error: %(error)s") % {"error": inner}
    joined = messages_join([outer, "plain text", inner])
    stored = json.loads(json.dumps(stored_json(joined)))
    assert Message.from_json(stored) == joined
    with translation.override("ru"):
        assert shown("English text", stored) == str(joined)
        assert 'не число: "x"' in shown("English text", stored) and "plain text" in shown("English text", stored)


def test_an_exception_carries_its_message_and_still_reads_as_text():
    message = _msg("Reference data is empty.")
    assert message_of(RunError(message)) is message
    error = ConnectorError(message, permanent=True)
    assert message_of(error) is message and isinstance(error.message, str)
    assert message_of(RunError("a plain text")) is None and stored_json(RunError("x")) is None
    with translation.override("en"):
        assert str(RunError(message)) == "Reference data is empty."


def test_a_stored_text_without_a_message_or_with_a_damaged_one_is_shown_as_it_was():
    assert shown("as stored", None) == "as stored"
    assert shown("as stored", {"msgid": 3}) == "as stored"
    assert shown("as stored", {"msgid": "%(missing)s", "params": {}}) == "as stored"  # placeholders do not fit


def test_makemessages_collects_the_msg_marker(tmp_path):
    from django.core.management import get_commands

    assert get_commands()["makemessages"] == "etlsite"
    from etlsite.management.commands.makemessages import Command

    assert "--keyword=_msg" in Command.xgettext_options
    source = tmp_path / "sample.py"
    source.write_text('from etlsite.messages import _msg\nM = _msg("A sample text")\n')
    out = subprocess.run(["xgettext", "-L", "Python", "-o", "-", *Command.xgettext_options, str(source)],
                         capture_output=True, text=True, check=True).stdout
    assert 'msgid "A sample text"' in out


def test_numbers_of_any_kind_keep_formatting_after_storage():
    import numpy as np

    message = _msg("Reference data has more than %(max)d rows.") % {"max": np.int64(5)}
    stored = json.loads(json.dumps(stored_json(message)))
    with translation.override("en"):
        assert shown("stored", stored) == "Reference data has more than 5 rows."
