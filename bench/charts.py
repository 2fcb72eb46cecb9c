"""The report's two charts (PNG, matplotlib's non-interactive backend): throughput and peak memory by file size."""

from __future__ import annotations

from pathlib import Path

from bench.contenders.registry import CONTENDERS
from bench.results import Results

STYLES = {"system": "-", "ceiling": "--", "alternative": ":", "reference": "-."}


def _series(results: Results, labels: list[str]):
    for key, contender in CONTENDERS.items():
        points = [(i, results.measurement(key, label)) for i, label in enumerate(labels)]
        points = [(i, m) for i, m in points if m is not None]
        if points:
            yield contender, points


def charts_write(results: Results, labels: list[str], directory: Path) -> dict[str, Path]:
    """Both charts as PNG under `directory`; {} when matplotlib (requirements-bench.txt) is not installed."""
    try:
        import matplotlib
    except ImportError:
        return {}

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, title, value, unit in (
        ("throughput", "Throughput by file size", lambda m: m.rows_per_second, "rows per second (log scale)"),
        ("memory", "Peak RSS by file size", lambda m: m.peak_rss_mib, "peak RSS, MiB (log scale)"),
    ):
        fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
        for contender, points in _series(results, labels):
            xs = [i for i, _ in points]
            ys = [value(m) for _, m in points]
            ax.plot(xs, ys, STYLES.get(contender.group, "-"), marker="o", label=contender.label,
                    linewidth=2.4 if contender.group == "system" else 1.4)
        if name == "memory":
            ax.axhline(600, color="red", linewidth=1, alpha=0.6)
            ax.annotate("goal: 600 MiB", (0, 600), textcoords="offset points", xytext=(4, 4), color="red",
                        fontsize=8)
        ax.set_xticks(range(len(labels)), [f"{label} file" for label in labels])
        ax.set_yscale("log")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.25)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7.5, loc="center left", bbox_to_anchor=(1.01, 0.5))
        fig.tight_layout()
        path = directory / f"{name}.png"
        fig.savefig(path)
        plt.close(fig)
        written[name] = path
    return written


def profile_chart_write(section: dict, directory: Path) -> Path | None:
    """The profiled run: cores used by the worker, PostgreSQL and ClickHouse over time (stacked), and the CPU
    seconds of each process by stage (the worker's split by stage, the databases' as one bar each)."""
    try:
        import matplotlib
    except ImportError:
        return None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timeline = section.get("timeline") or []
    stages = section.get("worker_cpu_by_stage") or {}
    totals = section.get("cpu_totals") or {}
    if not timeline:
        return None
    groups = [name for name in ("worker", "PostgreSQL", "ClickHouse") if name in timeline[0]]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 8), dpi=110, gridspec_kw={"height_ratios": [3, 2]})
    xs = [p["t"] for p in timeline]
    top.stackplot(xs, *[[p[name] for p in timeline] for name in groups], labels=groups, alpha=0.8)
    top.axhline(section.get("cores") or 2, color="red", linewidth=1, alpha=0.6)
    top.set_xlabel("seconds since the run started")
    top.set_ylabel("CPU cores in use")
    top.set_title(f"The {section.get('file', '10x')} run, stage by stage: CPU by process over time")
    top.legend(loc="upper right", fontsize=8)
    top.grid(True, alpha=0.25)
    left = 0.0
    for stage, seconds in stages.items():
        if seconds:
            bottom.barh("worker", seconds, left=left, label=stage)
            left += seconds
    for name in groups[1:]:
        bottom.barh(name, totals.get(name, 0.0), color="grey")
    bottom.set_xlabel("CPU seconds (the worker's by stage)")
    bottom.legend(fontsize=7.5, loc="center left", bbox_to_anchor=(1.01, 0.5))
    bottom.grid(True, axis="x", alpha=0.25)
    fig.tight_layout()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "profile.png"
    fig.savefig(path)
    plt.close(fig)
    return path
