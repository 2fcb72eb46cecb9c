"""The issue's goals, each judged from the results: met, not met (with the measured ratio), or not measured."""

from __future__ import annotations

from dataclasses import dataclass

from bench.measure import Measurement
from bench.results import Results

RSS_LIMIT_MIB = 600.0


@dataclass
class Goal:
    name: str
    target: str
    measured: str
    met: bool | None  # None: not measured
    ratio: float | None = None

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT met", None: "not measured"}[self.met]


def ceiling_seconds(m: Measurement | None, inner_key: str | None) -> float | None:
    """A ceiling's time: what it measured inside the process when it can (stricter: no interpreter start-up)."""
    if m is None:
        return None
    inner = m.inner_seconds(inner_key) if inner_key else None
    return inner if inner is not None else m.seconds


def _why_missing(results: Results, *pairs) -> str:
    reasons = [f"{key}@{label}: {results.skipped(key, label) or 'not run'}" for key, label in pairs
               if results.measurement(key, label) is None]
    return "; ".join(reasons)


def goals_judge(results: Results, big_label: str = "100x") -> list[Goal]:
    m = results.measurement
    goals: list[Goal] = []
    etl10, psql10, chdb10 = m("etl_pg", "10x"), m("psql_copy", "10x"), m("chdb_file", "10x")
    chdb_s = ceiling_seconds(chdb10, "insert_seconds")
    if etl10 and psql10 and chdb_s:
        ceiling = psql10.seconds + chdb_s
        ratio = etl10.seconds / ceiling
        goals.append(Goal("Whole run near the ceiling (10x file)", "<= 1.5 x (psql \\copy + chDB file() insert)",
                          f"{etl10.seconds:.1f} s vs {psql10.seconds:.1f} + {chdb_s:.1f} = {ceiling:.1f} s",
                          ratio <= 1.5, ratio))
    else:
        goals.append(Goal("Whole run near the ceiling (10x file)", "<= 1.5 x (psql \\copy + chDB file() insert)",
                          _why_missing(results, ("etl_pg", "10x"), ("psql_copy", "10x"), ("chdb_file", "10x")),
                          None))
    arrow = m("dlt_arrow", "10x")
    if etl10 and arrow:
        ratio = arrow.seconds / etl10.seconds
        goals.append(Goal("Faster than dlt's fastest path (Arrow + CSV COPY, 10x file)", ">= 5 x faster",
                          f"dlt {arrow.seconds:.1f} s / this system {etl10.seconds:.1f} s", ratio >= 5, ratio))
    else:
        goals.append(Goal("Faster than dlt's fastest path", ">= 5 x faster",
                          _why_missing(results, ("etl_pg", "10x"), ("dlt_arrow", "10x")), None))
    for key, label in (("dlt_docs", "dlt's documented path"), ("django_bulk", "Django bulk_create"),
                       ("pandas_to_sql", "pandas to_sql")):
        other = m(key, "1x")
        if etl10 and other:
            ratio = etl10.rows_per_second / other.rows_per_second
            goals.append(Goal(f"Faster than {label}", ">= 50 x faster (rows/s; theirs on the 1x file)",
                              f"{etl10.rows_per_second:,.0f} vs {other.rows_per_second:,.0f} rows/s",
                              ratio >= 50, ratio))
        else:
            goals.append(Goal(f"Faster than {label}", ">= 50 x faster",
                              _why_missing(results, ("etl_pg", "10x"), (key, "1x")), None))
    etl1, etl100 = m("etl_pg", "1x"), m("etl_pg", big_label)
    if etl10:
        goals.append(Goal("Peak RSS of the run, 10x file", f"< {RSS_LIMIT_MIB:.0f} MiB",
                          f"{etl10.peak_rss_mib:.0f} MiB", etl10.peak_rss_mib < RSS_LIMIT_MIB,
                          etl10.peak_rss_mib / RSS_LIMIT_MIB))
    else:
        goals.append(Goal("Peak RSS of the run, 10x file", f"< {RSS_LIMIT_MIB:.0f} MiB",
                          _why_missing(results, ("etl_pg", "10x")), None))
    if etl100:
        goals.append(Goal(f"The {big_label} run finishes, peak RSS", f"finishes, < {RSS_LIMIT_MIB:.0f} MiB",
                          f"finished in {etl100.seconds:.0f} s, {etl100.peak_rss_mib:.0f} MiB",
                          etl100.peak_rss_mib < RSS_LIMIT_MIB, etl100.peak_rss_mib / RSS_LIMIT_MIB))
    else:
        reason = results.skipped("etl_pg", big_label) or "not run"
        goals.append(Goal(f"The {big_label} run finishes, peak RSS", f"finishes, < {RSS_LIMIT_MIB:.0f} MiB",
                          reason, False if reason.startswith("failed") else None))
    if etl1 and etl100:
        ratio = etl100.peak_rss_mib / etl1.peak_rss_mib
        goals.append(Goal(f"Constant memory: peak RSS {big_label} / 1x", "< 1.5",
                          f"{etl100.peak_rss_mib:.0f} / {etl1.peak_rss_mib:.0f} MiB", ratio < 1.5, ratio))
    else:
        goals.append(Goal(f"Constant memory: peak RSS {big_label} / 1x", "< 1.5",
                          _why_missing(results, ("etl_pg", "1x"), ("etl_pg", big_label)), None))
    emb10, sqlite10 = m("etl_embedded", "10x"), m("sqlite_import", "10x")
    sqlite_s = ceiling_seconds(sqlite10, "insert_seconds")
    if emb10 and sqlite_s and chdb_s:
        ceiling = sqlite_s + chdb_s
        ratio = emb10.seconds / ceiling
        goals.append(Goal("Embedded default near its ceiling (10x file)", "<= 2 x (SQLite import + chDB file())",
                          f"{emb10.seconds:.1f} s vs {sqlite_s:.1f} + {chdb_s:.1f} = {ceiling:.1f} s",
                          ratio <= 2, ratio))
    else:
        goals.append(Goal("Embedded default near its ceiling (10x file)", "<= 2 x (SQLite import + chDB file())",
                          _why_missing(results, ("etl_embedded", "10x"), ("sqlite_import", "10x"),
                                       ("chdb_file", "10x")), None))
    goals += _page_goals(results.section("pages"))
    goals.append(_workers_goal(results.section("workers")))
    return goals


def _page_goals(section: dict) -> list[Goal]:
    pages = section.get("pages")
    if not pages:
        status = section.get("status", "not run")
        return [Goal("Pages over a lot of data", "p95 server time under 150 ms (dashboards) / 250 ms (run list)",
                     status, False if status.startswith("failed") else None)]
    goals = []
    for url, page in pages.items():
        limit = 250.0 if "admin" in url else 150.0
        if page.get("status") == "measured":
            goals.append(Goal(f"Page {url}", f"p95 < {limit:.0f} ms", f"p95 {page['p95_ms']:.0f} ms "
                              f"(p50 {page['p50_ms']:.0f} ms, {page['requests']} requests)",
                              page["p95_ms"] < limit, page["p95_ms"] / limit))
        else:
            status = page.get("status", "?")
            goals.append(Goal(f"Page {url}", f"p95 < {limit:.0f} ms", status,
                              False if status.startswith("failed") else None))
    return goals


def _workers_goal(section: dict) -> Goal:
    name, target = "Split run, 1 -> 2 Celery workers", "speed-up shown, run committed once"
    runs = {r["workers"]: r for r in section.get("runs", [])}
    if section.get("status") != "measured" or set(runs) != {1, 2}:
        return Goal(name, target, section.get("status", "not run"), None)
    if any(r.get("status") != "success" for r in runs.values()):
        failed = "; ".join(f"{n} worker(s): {r.get('status')} {r.get('error', '')}" for n, r in runs.items())
        return Goal(name, target, failed[:400], False)
    speedup = runs[1]["seconds"] / runs[2]["seconds"]
    return Goal(name, target, f"{runs[1]['seconds']:.1f} s -> {runs[2]['seconds']:.1f} s (x{speedup:.2f})",
                speedup > 1.0, speedup)
