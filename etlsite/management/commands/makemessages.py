"""makemessages that also collects `_msg("...")`: the messages stored untranslated and rendered when shown
(etlsite.messages)."""

from django.core.management.commands.makemessages import Command as MakeMessages


class Command(MakeMessages):
    xgettext_options = [*MakeMessages.xgettext_options, "--keyword=_msg"]
