"""SQL identifiers made from data: column names from file headers, table names from sources.

`sanitize_columns` runs once, right after extraction (docs/ENGINE.md), so configuration, staging tables, ClickHouse
tables and lineage all use the same names. The result is safe to quote in any of our databases, but the writers
still quote every identifier (`quote_identifier_pg`), which is why SQL reserved words such as `select` are kept.
"""

from __future__ import annotations

import re
import unicodedata

MAX_IDENTIFIER_LENGTH = 63  # PostgreSQL's NAMEDATALEN - 1; ClickHouse accepts longer names

# Russian, Ukrainian and Belarusian letters, lower case (names are lower-cased first). A practical
# transliteration in the spirit of GOST 7.79 system B without diacritics: «сумма» -> "summa".
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
}
_EXTRA = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
_TRANSLATE = str.maketrans({**_CYRILLIC, **_EXTRA})
_NOT_ALLOWED = re.compile(r"[^a-z0-9_]+")
_UNDERSCORES = re.compile(r"_+")


def _clean(name: object) -> str:
    """The sanitized form of one name without the positional fallback; "" when nothing usable is left."""
    text = "" if name is None else str(name)
    text = text.lower().translate(_TRANSLATE)
    # Latin letters with accents lose them ("café" -> "cafe"); Cyrillic was handled above, before NFKD
    # could split "й" into "и" + a combining breve.
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = _UNDERSCORES.sub("_", _NOT_ALLOWED.sub("_", text.lower()))
    # Leading "_" is reserved for the system columns (`_row_number`), so "_x" becomes "x".
    text = text.strip("_")
    if text[:1].isdigit():
        text = "c_" + text
    return text[:MAX_IDENTIFIER_LENGTH].rstrip("_")


def sanitize_identifier(name: str, *, position: int = 1) -> str:
    """One name as lower-case `[a-z0-9_]`, not starting with a digit or "_", at most 63 characters.

    A name with nothing usable left (blank, or only punctuation) becomes `column_<position>` (1-based).
    """
    return _clean(name) or f"column_{position}"


def sanitize_columns(names: list[str]) -> list[str]:
    """Sanitized, unique column names in the same order: duplicates get "_2", "_3", ...

    A column keeps its own sanitized name when it can: in ["a", "a", "a_2"] the third column keeps "a_2"
    and the second becomes "a_3".
    """
    bases = [sanitize_identifier(name, position=index) for index, name in enumerate(names, start=1)]
    result: list[str | None] = [None] * len(bases)
    taken: set[str] = set()
    for index, base in enumerate(bases):  # first occurrences keep their names
        if base not in taken:
            taken.add(base)
            result[index] = base
    next_suffix: dict[str, int] = {}
    for index, base in enumerate(bases):
        if result[index] is not None:
            continue
        suffix = next_suffix.get(base, 2)
        while True:
            tail = f"_{suffix}"
            candidate = base[: MAX_IDENTIFIER_LENGTH - len(tail)].rstrip("_") + tail
            suffix += 1
            if candidate not in taken:
                break
        next_suffix[base] = suffix
        taken.add(candidate)
        result[index] = candidate
    return result  # type: ignore[return-value]


def quote_identifier_pg(name: str) -> str:
    """`name` as a PostgreSQL quoted identifier: '"name"', with embedded quotes doubled."""
    if not name:
        raise ValueError("an identifier cannot be empty")
    if "\x00" in name:
        raise ValueError("an identifier cannot contain a NUL character")
    return '"' + name.replace('"', '""') + '"'
