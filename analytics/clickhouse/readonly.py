"""The one guard for SQL that people type to look at the target (`clickhouse_query`): read statements only.

The server's `readonly` setting refuses writes and DDL, but not SYSTEM statements (STOP MERGES, STOP TTL
MERGES, STOP MOVES...) or KILL QUERY: those would change how the server runs. So the statement's first word
must be one that reads, and there must be one statement; the caller also sends readonly=1.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

READ_STATEMENTS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS")
READONLY_SETTINGS = {"readonly": 1}
# What may hold a ";" or a word that is not the statement's: strings, quoted names, comments.
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`(?:[^`\\]|\\.)*`|--[^\n]*|#[^\n]*|/\*.*?\*/",
                     re.DOTALL)
_FIRST_WORD = re.compile(r"[\s(]*([A-Za-z]+)")


def read_only_error(sql: str) -> str | None:
    """Why `sql` is not a single read statement, or None when it is."""
    bare = _QUOTED.sub(" ", sql if isinstance(sql, str) else "").strip().rstrip(";").strip()
    if not bare:
        return _("The query is empty.")
    if ";" in bare:
        return _("Give one statement: a \";\" separates statements.")
    match = _FIRST_WORD.match(bare)
    word = match.group(1).upper() if match else ""
    if word not in READ_STATEMENTS:
        return _("Only read statements may run here (%(allowed)s); %(word)s was refused.") % {
            "allowed": ", ".join(READ_STATEMENTS), "word": word or _("this statement")}
    return None
