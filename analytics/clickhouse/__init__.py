"""The only package that talks to ClickHouse. Import `get_target()` and use its methods.

The names are loaded on first use, so that `python -m analytics.clickhouse.server` (the embedded ClickHouse
process) starts without Django's settings.
"""

__all__ = ["ClickHouseError", "ClickHouseTarget", "get_target"]


def __getattr__(name: str):
    if name in __all__:
        from analytics.clickhouse import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
