"""The ClickHouse SQL that code outside `analytics` needs (the pages, the run page, the alerts), as named functions.

Everything outside `analytics` asks these functions for rows and never writes SQL of its own (a test over
the sources, tests/analytics/test_sql_lives_in_analytics.py, keeps it so). Values are always bound
``{name:Type}`` parameters; the few names formatted into a text (tables, columns, a chosen bucket) are either
constants of this package or pass `identifier()`.

- `timing`: the runner of the dashboards' queries (each named, timed for the health page);
- `spec`: the specification's monitoring queries, verbatim, and how filters narrow them;
- `quality`, `business`, `catalog`, `health`, `lineage`: the reads of those pages (and of the run page
  and the alerts);
- `run_rows`: `replace_run_rows`, the one way a run's analysis rows are (re)written.
"""
