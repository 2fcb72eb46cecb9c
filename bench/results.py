"""The benchmark's results, kept in var/bench/results.json as sections finish (a report can be re-written
from them without re-measuring: `python -m bench report`)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.measure import Measurement, Sample


class Results:
    def __init__(self, path: Path, data: dict | None = None):
        self.path = path
        self.data = data or {"meta": {}, "files": {}, "measurements": {}, "skipped": {}, "sections": {}}

    @classmethod
    def load(cls, path: Path) -> Results:
        return cls(path, json.loads(path.read_text()))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=1, default=str))

    def add(self, m: Measurement) -> None:
        self.data["measurements"][f"{m.name}@{m.file_label}"] = m.as_dict()
        self.data["skipped"].pop(f"{m.name}@{m.file_label}", None)
        self.save()

    def skip(self, key: str, label: str, reason: str) -> None:
        self.data["skipped"][f"{key}@{label}"] = reason
        self.save()

    def measurement(self, key: str, label: str) -> Measurement | None:
        raw = self.data["measurements"].get(f"{key}@{label}")
        if raw is None:
            return None
        return Measurement(name=raw["name"], file_label=raw["file_label"], rows=raw["rows"],
                           samples=[Sample(**s) for s in raw["samples"]], note=raw.get("note", ""))

    def skipped(self, key: str, label: str) -> str | None:
        return self.data["skipped"].get(f"{key}@{label}")

    def section(self, name: str, value: dict | None = None) -> dict:
        if value is not None:
            self.data["sections"][name] = value
            self.save()
        return self.data["sections"].get(name, {})
