"""ClickHouse lives outside the ORM: see analytics.clickhouse."""
