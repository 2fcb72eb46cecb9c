"""The run engine: one pipeline run from its source to ClickHouse. See docs/ENGINE.md."""
