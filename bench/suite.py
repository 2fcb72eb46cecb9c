"""The whole benchmark, section by section, in one sitting: data, the side-by-side rounds on the 10x file,
the 1x file, the alternatives, the 100x file, worker scale-out, pages, then the report."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

from bench import postgres
from bench.config import PYTHON, ROOT, BenchConfig
from bench.contenders.registry import invocation, pipeline_name
from bench.data import DataFile, flights_zip, free_bytes, write_base, write_repeated
from bench.machine import load_average, machine_describe
from bench.measure import ContenderFailed, Measurement, failure_summary, run_once
from bench.modes import MODES, mode_env, mode_reset, mode_start, mode_stop, staging_tables_drop, var_dir
from bench.results import Results

SIDE_BY_SIDE = ("psql_copy", "chdb_file", "etl_pg", "etl_embedded", "pyarrow_read")
SIZES = ("psql_copy", "chdb_file", "etl_pg", "etl_embedded")


class Bench:
    def __init__(self, cfg: BenchConfig, results: Results | None = None):
        self.cfg = cfg
        self.results = results or Results(cfg.results_path)
        self.log = cfg.var_dir / "bench.log"
        self.started = time.monotonic()
        self.files: dict[str, DataFile] = {}
        # A single run slower than this is not repeated (the figure is then one run, and says so).
        self.repeat_cap = float(os.environ.get("BENCH_REPEAT_CAP_SECONDS", "240"))

    def say(self, message: str) -> None:
        minutes, seconds = divmod(int(time.monotonic() - self.started), 60)
        print(f"[bench {minutes:02d}:{seconds:02d}] {message}", flush=True)

    # --- measuring -------------------------------------------------------------------------------------

    def rounds(self, keys, data: DataFile, runs: int, *, timeout: float = 3600, note: str = "") -> None:
        """`runs` rounds of every contender in `keys` on `data`, interleaved so that each is measured beside
        the others under the same machine load, each round starting one contender later (no contender always
        follows the same one); medians go to the results."""
        samples: dict[str, list] = {key: [] for key in keys}
        failed: set[str] = set()
        capped: set[str] = set()
        for number in range(runs):
            shift = number % len(keys)
            for key in (*keys[shift:], *keys[:shift]):
                if key in failed or key in capped:
                    continue
                if samples[key] and samples[key][-1].seconds > self.repeat_cap:
                    capped.add(key)
                    continue
                sample = self._one(key, data, timeout=timeout)
                if sample is None:
                    failed.add(key)
                    continue
                samples[key].append(sample)
                self.say(f"{key} @{data.label} run {number + 1}: {sample.seconds:.2f} s, "
                         f"{sample.peak_rss_mib:.0f} MiB {sample.inner or ''}")
        for key in keys:
            if samples[key]:
                notes = [note] if note else []
                if key in capped:
                    notes.append(f"{len(samples[key])} of {runs} runs: one run takes over {self.repeat_cap:.0f} s, "
                                 "so it was not repeated")
                self.results.add(Measurement(key, data.label, data.rows, samples[key], "; ".join(notes)))

    def _one(self, key: str, data: DataFile, *, timeout: float):
        inv = invocation(self.cfg, key, data)
        try:
            if inv.before:
                inv.before()
            # What the contender before wrote (chDB's table, a run's staging) reaches the disk now, untimed,
            # not during this one's COPYs and commits.
            os.sync()
            server = self._clickhouse_of(key)
            # A peak that could not be reset would be the sitting's, not this run's: then none is reported.
            per_run = bool(server) and server.peak_reset()
            sample = run_once(inv.argv, env=inv.env, cwd=inv.cwd or ROOT, timeout=timeout, log=self.log,
                              parse=inv.parse)
            if per_run and server.peak_rss_mib() is not None:
                sample.inner["clickhouse_peak_rss_mib"] = round(server.peak_rss_mib())
            return sample
        except (ContenderFailed, OSError, RuntimeError) as exc:
            self.say(f"{key} @{data.label} FAILED: {exc}")
            self.results.skip(key, data.label, f"failed: {failure_summary(str(exc))}")
            return None
        except Exception as exc:  # e.g. the database refused the untimed preparation: recorded, bench goes on
            self.say(f"{key} @{data.label} FAILED in preparation: {exc!r}")
            self.results.skip(key, data.label, f"failed: {failure_summary(repr(exc))}")
            return None

    def _clickhouse_of(self, key: str):
        """The ClickHouse process a run of this system talks to (its peak is reported beside the worker's)."""
        from bench.server import server_for

        mode = key.removeprefix("etl_")
        return server_for(var_dir(self.cfg, mode)) if key.startswith("etl_") and mode in MODES else None

    # --- sections --------------------------------------------------------------------------------------

    def prepare(self, *, fresh: bool = True) -> None:
        """Data files, roles and the pipelines under test. `fresh` (a whole sitting) starts every mode from
        empty databases; a section re-run keeps what the sitting made (the pages need its loaded table)."""
        cfg = self.cfg
        meta = machine_describe(cfg)
        meta.update(started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), quick=cfg.quick,
                    load_average_start=load_average(), repeats=cfg.repeats, slow_repeats=cfg.slow_repeats,
                    knobs={k: v for k, v in sorted(os.environ.items()) if k.startswith("BENCH_")})
        if self.results.data["meta"].get("started_at"):  # a section re-run: the sitting began earlier
            earlier = self.results.data["meta"]
            # The sitting's tree and knobs stay those of its runs; the re-run's are recorded beside them.
            meta.update(started_at=earlier["started_at"], load_average_start=earlier.get("load_average_start"),
                        sections_rerun_at=meta["started_at"], sections_rerun_commit=meta.get("commit"),
                        commit=earlier.get("commit", meta.get("commit")), knobs=earlier.get("knobs", meta["knobs"]),
                        notes=earlier.get("notes", []))
        self.results.data["meta"] = meta
        self.say(f"machine: {meta['cores']} cores, {meta['ram_gib']} GiB, load {meta['load_average_start']}")
        base = write_base(flights_zip(), cfg.data_dir / "flights_1x.csv", rows=cfg.base_rows)
        ten = write_repeated(base, cfg.data_dir / "flights_10x.csv", times=10)
        self.files = {"1x": base, "10x": ten}
        for f in (base, ten):
            self.results.data["files"][f.label] = {"rows": f.rows, "bytes": f.size_bytes, "path": str(f.path)}
        self.results.save()
        self.say(f"data: 1x {base.rows:,} rows {base.size_bytes / 1e6:.0f} MB; 10x {ten.rows:,} rows "
                 f"{ten.size_bytes / 1e6:.0f} MB")
        postgres.roles_ensure(cfg)
        postgres.database_recreate(cfg, postgres.CONTENDERS_DB, postgres.CONTENDERS_ROLE[0])
        for mode in MODES:
            if fresh or not var_dir(cfg, mode).exists():
                mode_reset(cfg, mode)
            else:
                mode_start(cfg, mode)
            for f in (base, ten):
                self.pipeline_setup(mode, f, migrate=f is base)

    def pipeline_setup(self, mode: str, data: DataFile, *, migrate: bool = False, parts: int | None = None,
                       name: str | None = None) -> None:
        argv = [PYTHON, "-m", "bench.flights_pipeline", "--name", name or pipeline_name(data),
                "--file", str(data.path.resolve())]
        if parts:
            argv += ["--parts", str(parts)]
        if not migrate:
            argv.append("--no-migrate")
        run_once(argv, env=mode_env(self.cfg, mode), cwd=ROOT, timeout=600, log=self.log)

    def side_by_side(self) -> None:
        from bench.contenders.registry import before_tree

        self.say("side by side on the 10x file")
        # With BENCH_BEFORE_TREE, the earlier commit's run is measured in the same rounds (before/after).
        before = ("etl_pg_before",) if before_tree() else ()
        self.rounds(SIDE_BY_SIDE + before, self.files["10x"], self.cfg.repeats)

    def small_file(self) -> None:
        self.say("the 1x file")
        self.rounds(SIZES, self.files["1x"], self.cfg.repeats)

    def alternatives(self) -> None:
        self.say("what users would otherwise pick")
        self.rounds(("dlt_arrow",), self.files["10x"], int(os.environ.get("BENCH_ARROW_REPEATS", "2")))
        # The slow ones are compared by rows per second; on a loaded machine a slice of the 1x file keeps
        # the sitting within its time (BENCH_SLOW_ROWS), and the report says so.
        base = self.files["1x"]
        slow_rows = int(os.environ.get("BENCH_SLOW_ROWS", "0"))
        note = ""
        if 0 < slow_rows < base.rows:
            base = write_base(flights_zip(), self.cfg.data_dir / "flights_slow.csv", rows=slow_rows)
            base = DataFile(base.path, base.rows, base.size_bytes, 1)
            note = f"on the first {base.rows:,} rows of the 1x file (BENCH_SLOW_ROWS), compared by rows per second"
        self.rounds(("dlt_docs", "django_bulk", "pandas_to_sql"), base, self.cfg.slow_repeats, note=note)

    def hundred(self) -> None:
        """The 100x file, generated here and deleted afterwards: does the run finish, in constant memory?"""
        cfg = self.cfg
        ten = self.files["10x"]
        need = ten.size_bytes * 10
        free = free_bytes(cfg.data_dir)
        label = f"{ten.multiplier * 10}x"
        # The PostgreSQL staging table of the run takes about twice the CSV; ask for room for both and more.
        if free < need * 4:
            self.results.skip("etl_pg", label, f"not run: {free / 1e9:.1f} GB free, about {need * 4 / 1e9:.1f} GB "
                              "needed (the file and its staging table)")
            return
        budget = float(os.environ.get("BENCH_100X_MAX_SECONDS", "1500"))
        etl10 = self.results.measurement("etl_pg", ten.label)
        if etl10 is None:
            self.results.skip("etl_pg", label, "not run: the 10x run did not succeed")
            return
        projected = etl10.seconds * 10
        if projected > budget:
            self.results.skip("etl_pg", label, f"not run: projected {projected / 60:.0f} min from the 10x run's "
                              f"throughput, over the bench's budget of {budget / 60:.0f} min for it")
            return
        big = write_repeated(ten, cfg.data_dir / f"flights_{label}.csv", times=10)
        self.results.data["files"][big.label] = {"rows": big.rows, "bytes": big.size_bytes,
                                                 "path": str(big.path), "deleted_after_use": True}
        self.say(f"data: {big.label} {big.rows:,} rows {big.size_bytes / 1e9:.1f} GB")
        try:
            # Both modes: the embedded default must also finish the big file in constant memory.
            for mode in MODES:
                self.pipeline_setup(mode, big)
                self.rounds((f"etl_{mode}",), big, 1, timeout=max(budget * 1.5, 600))
                staging_tables_drop(cfg, mode)
            if os.environ.get("BENCH_100X_CEILINGS", "1") != "0":
                self.rounds(("psql_copy", "chdb_file"), big, 1, timeout=1200)
        finally:
            big.path.unlink(missing_ok=True)

    def small_runs(self) -> None:
        from bench.small_runs import small_runs_section

        self.say("small runs through the API and beat (embedded default)")
        self.results.section("small_runs", small_runs_section(self))

    def profile(self) -> None:
        from bench.profile import profile_section

        self.say("stage by stage: the 10x run under py-spy (PostgreSQL mode)")
        self.results.section("profile", profile_section(self))

    def many_pipelines(self) -> None:
        from bench.many_pipelines import many_pipelines_section

        self.say("many pipelines at once (embedded default)")
        self.results.section("many_pipelines", many_pipelines_section(self))

    def workers(self) -> None:
        from bench.workers import workers_section

        self.say("scale-out: 1 then 2 Celery workers")
        self.results.section("workers", workers_section(self))

    def pages(self) -> None:
        from bench.pages import pages_section

        # The same pages in both modes; in the embedded default also while a 10x run loads beside them.
        self.say("pages over a lot of data (PostgreSQL mode)")
        self.results.section("pages", pages_section(self, "pg"))
        self.say("pages over a lot of data (embedded default, then while a 10x run loads)")
        self.results.section("pages_embedded", pages_section(self, "embedded", under_load=True))

    def finish(self) -> None:
        meta = self.results.data["meta"]
        finished = datetime.now(timezone.utc)
        started = datetime.fromisoformat(meta["started_at"])
        meta.update(finished_at=finished.isoformat(timespec="seconds"), load_average_end=load_average(),
                    total_minutes=round((finished - started).total_seconds() / 60, 1))
        self.stop_servers()
        self.results.save()

    def stop_servers(self) -> None:
        """Stop what the sitting started (also when a section or the preparation broke off)."""
        from bench.server import server_for

        meta = self.results.data["meta"]
        for mode in MODES:
            try:
                mode_stop(self.cfg, mode)  # first: it reads the mode's environment, which starts ClickHouse
            except Exception as exc:  # noqa: BLE001 - the other mode's servers must still be stopped
                self.say(f"stopping the {mode} mode's stack failed: {exc!r}")
            server = server_for(var_dir(self.cfg, mode))
            if server.peak_rss_mib() is not None:
                meta.setdefault("clickhouse_peak_rss_mib", {})[mode] = round(server.peak_rss_mib())
            server.stop()
