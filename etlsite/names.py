"""Names people give things (sources, pipelines): one line of visible text.

A name is shown in lists, logs, downloads and e-mails. Control characters (NUL, tab, line breaks), the Unicode
line separators, text-direction overrides (which make "gpj.exe" read "exe.jpg") and lone surrogates would
break those or mislead the reader, and a name of nothing but blanks or invisible characters names nothing.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Cc: control characters; Cs: lone surrogates; Zl/Zp: line and paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cs", "Zl", "Zp"}
# Bidirectional embeddings, overrides, isolates and marks (Unicode's Bidi_Control property).
_BIDI_CONTROLS = {"\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}


def _visible(char: str) -> bool:
    return not char.isspace() and unicodedata.category(char) not in ("Cf", "Zs", "Mn")


def validate_display_name(value: str) -> None:
    """Raises ValidationError (translated) unless `value` is a name a person can read on one line."""
    for position, char in enumerate(value, start=1):
        if unicodedata.category(char) in _REFUSED_CATEGORIES or char in _BIDI_CONTROLS:
            raise ValidationError(
                _("The name contains an invisible control character (U+%(code)04X at position %(position)d): "
                  "tabs, line breaks and text-direction marks are not allowed in names.")
                % {"code": ord(char), "position": position}, code="control_character")
    if value and not any(_visible(char) for char in value):
        raise ValidationError(_("The name must contain at least one visible character."), code="invisible")
