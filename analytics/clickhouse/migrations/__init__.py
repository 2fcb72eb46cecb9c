"""Numbered, append-only ClickHouse schema migrations.

Each module ``NNNN_name.py`` holds ``operations``: a list of SQL statements run in order against the target
database. ClickHouse DDL is not transactional, so every statement must be safe to run again
(``IF NOT EXISTS`` / ``IF EXISTS``): a migration interrupted half-way is simply applied again.
"""
