"""How a run's rows meet the rows already in its target table: a pipeline's `write_mode`.

* ``append`` (the default): the run's rows are added (analytics.loading's ATTACH PARTITION commit).
* ``replace``: the run's rows become the table's whole content. The run loads into its temporary table as
  any run does; the commit swaps the two tables in one ``EXCHANGE TABLES`` (an Atomic database, ClickHouse's
  default) or one multi-table ``RENAME`` (older database engines), then drops the old content. A run that
  fails before the swap leaves the old content; readers see the old table or the new one, never an empty one.
* ``merge`` on ``merge_key``: the newest row per key wins. Within the run, the last row of a key in file
  order stays (`run_repeats_remove`, before the counts are reconciled: the others count as removed); at the
  commit the run's rows are attached first and only then are the older rows with the same keys deleted
  (`older_versions_delete`). Attaching first means a failure between the two steps leaves both versions of
  a key for a moment (the run fails; its retry removes its own rows and commits again), never a key with
  no row at all. Afterwards the table holds one row per key of the run, so readers need no FINAL.

Neither replace nor merge runs on a cluster yet: the temporary table lives on one node, the target on all.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from analytics.clickhouse.client import ClickHouseError, quote_identifier

APPEND, REPLACE, MERGE = "append", "replace", "merge"
_ROW_NUMBER = "_row_number"
_RUN_ID = "_pipeline_run_id"


def write_mode_check(target, *, mode: str, merge_key: tuple[str, ...]) -> None:
    """Refuse what this target cannot do (permanent errors: a retry would only repeat them)."""
    if mode not in (APPEND, REPLACE, MERGE):
        raise ClickHouseError(_("Unknown write mode %(mode)s.") % {"mode": mode})
    if mode == MERGE and not merge_key:
        raise ClickHouseError(_("write_mode merge needs a merge_key."))
    if mode != APPEND and target.cluster:
        raise ClickHouseError(_("write_mode %(mode)s is not available on a ClickHouse cluster yet; use append.")
                              % {"mode": mode})


def _key(merge_key: tuple[str, ...]) -> str:
    return ", ".join(quote_identifier(column) for column in merge_key)


def run_repeats_remove(target, *, temp_table: str, merge_key: tuple[str, ...]) -> int:
    """Delete from a run's temporary table every row whose key comes again later in the run; how many."""
    temp = quote_identifier(temp_table)
    last = f"SELECT max({_ROW_NUMBER}) FROM {temp} GROUP BY {_key(merge_key)}"
    where = f"{_ROW_NUMBER} NOT IN ({last})"
    count = int(target.command(f"SELECT count() FROM {temp} WHERE {where}"))
    if count:
        target.command(f"ALTER TABLE {temp} DELETE WHERE {where} SETTINGS mutations_sync = 2")
    return count


def older_versions_delete(target, *, table: str, temp_table: str, run_id: int,
                          merge_key: tuple[str, ...]) -> int:
    """Delete the target's rows of other runs whose key the run (its temporary table) holds; how many."""
    key = _key(merge_key)
    where = (f"{_RUN_ID} != {{run:UInt64}} AND ({key}) IN (SELECT {key} FROM {quote_identifier(temp_table)})")
    params = {"run": int(run_id)}
    count = int(target.command(f"SELECT count() FROM {quote_identifier(table)} WHERE {where}", params))
    if count:
        # Synchronous: when the commit returns, readers without FINAL see one row per key.
        try:
            target.command(f"ALTER TABLE {quote_identifier(table)} DELETE WHERE {where} "
                           "SETTINGS mutations_sync = 2", params)
        except ClickHouseError as exc:
            # The run's rows stay: rolling them back could lose keys whose old rows the (server-side, still
            # running) mutation already deleted. Two rows for a key is the lesser harm, and the retry fixes it.
            raise ClickHouseError(
                _("The run's rows are in %(table)s, but the %(count)d older rows with the same keys could not be "
                  "removed, so those keys have two rows until the run is retried or the next merge commits: "
                  "%(error)s") % {"table": table, "count": count, "error": exc},
                code=exc.code, transient=exc.transient) from exc
    return count


def table_swap(client, *, database: str, table: str, temp_table: str) -> int:
    """Make the temporary table the target and the target the temporary table, atomically; returns the
    number of rows the target held before (the temporary table holds them now, to be dropped)."""
    target, temp = quote_identifier(table), quote_identifier(temp_table)
    replaced = int(client.command(f"SELECT count() FROM {target}"))
    engine = client.command("SELECT engine FROM system.databases WHERE name = {db:String}",
                            parameters={"db": database})
    if engine == "Atomic":
        client.command(f"EXCHANGE TABLES {temp} AND {target}")
    else:
        # One RENAME statement renames its tables under one lock: readers never find the name missing.
        old = quote_identifier(f"{temp_table}_old"[:200])
        client.command(f"DROP TABLE IF EXISTS {old}")
        client.command(f"RENAME TABLE {target} TO {old}, {temp} TO {target}, {old} TO {temp}")
    return replaced
