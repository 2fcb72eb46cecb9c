"""Which values of a run's rows a viewer may not see: the pages' one door to analytics.masking.

Fails closed: when the catalog cannot be read, every value is hidden from people without the permission.
"""

from __future__ import annotations

import logging

from analytics.masking import MASK, can_view_sensitive, sensitive_columns

logger = logging.getLogger(__name__)


class _All(frozenset):
    def __contains__(self, item) -> bool:
        return True


EVERY_COLUMN = _All()


def hidden_columns(user, *, target_table: str, staging_table: str = "") -> frozenset | set:
    if can_view_sensitive(user):
        return set()
    from analytics.clickhouse import ClickHouseError, get_target

    try:
        target = get_target()
        hidden = sensitive_columns(target, target_table)
        if staging_table:
            hidden |= sensitive_columns(target, staging_table)
    except ClickHouseError:
        logger.warning("masking: the catalog is unreadable; hiding every value of %s", target_table)
        return EVERY_COLUMN
    return hidden


def mask_value(value, column: str, hidden) -> object:
    return MASK if value is not None and column in hidden else value


def mask_rows(names: list[str], rows, hidden) -> list[list]:
    return [[mask_value(value, name, hidden) for name, value in zip(names, row, strict=False)] for row in rows]


def mask_reason(reason: str, value, column: str, hidden) -> str:
    """Validation reasons quote the failing value ('not a number: "x"'): hide it there too."""
    if value is None or column not in hidden or not reason:
        return reason
    return str(reason).replace(str(value), MASK)
