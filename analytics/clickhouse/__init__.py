"""The only package that talks to ClickHouse. Import `get_target()` and use its methods."""

from analytics.clickhouse.client import ClickHouseError, ClickHouseTarget, get_target

__all__ = ["ClickHouseError", "ClickHouseTarget", "get_target"]
