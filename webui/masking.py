"""Which values of a run's rows a viewer may not see: the pages' door to analytics.masking.

Fails closed there: when the catalog cannot be read, every value is hidden from people without the permission.
"""

from __future__ import annotations

from analytics.masking import MASK, RunMasker


def hidden_columns(user, *, target_table: str, staging_table: str = ""):
    """The column names (target, staging, and the source columns feeding sensitive ones) to hide from `user`."""
    return RunMasker(user).hidden(target_table=target_table, staging_table=staging_table)


def mask_value(value, column: str, hidden) -> object:
    return MASK if value is not None and column in hidden else value


def mask_rows(names: list[str], rows, hidden) -> list[list]:
    return [[mask_value(value, name, hidden) for name, value in zip(names, row, strict=False)] for row in rows]


def mask_reason(reason: str, value, column: str, hidden) -> str:
    """Validation reasons quote the failing value ('not a number: "x"'): hide it there too."""
    if value is None or column not in hidden or not reason:
        return reason
    return str(reason).replace(str(value), MASK)
