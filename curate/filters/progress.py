"""`curate filter`'s progress on stderr: a row per stage (records seen, records/s) under a read row
that knows how far through the input it is (percent and ETA).

Records stream through every stage, so how far the reader is through the input is how far the
run is, until near-dedup: its first pass reads everything before it yields (its own row), and its
second pass then gives verdicts, with the stages after it streaming along: its row shows the
percent of pass 1 done and the ETA of the rest. The
input's size is its line count (a text file: JSONL, a JSON array, CSV; counted once at the start,
about 1 s per GB), and the reader's position the line of the last record's ``file:line``. For an
input with no lines to count (Parquet, a datasets directory, a hub id) the read row shows counts
only. A no-op when disabled (tests, --quiet).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TEXT_SUFFIXES = (".json", ".jsonl", ".csv", ".txt")
PASS_1 = "dedup pass 1"  # near-dedup's first pass (12 characters: the rows fit 80 columns)


def count_lines(path: Path, block: int = 1 << 20) -> int:
    """Lines in ``path`` (a last line without a newline counts)."""
    n, last = 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(block):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


class InputPosition:
    """Where the reader is, as a fraction of all input lines (None when unknown)."""

    def __init__(self, inputs: list[str]):
        self.lines: dict[str, int] = {}
        for path in inputs:
            p = Path(path)
            if p.suffix.lower() in TEXT_SUFFIXES and p.is_file():
                self.lines[path] = count_lines(p)
        self.known = len(self.lines) == len(inputs) and sum(self.lines.values()) > 0
        self.total = sum(self.lines.values())
        self.before = {p: sum(list(self.lines.values())[:i]) for i, p in enumerate(self.lines)}

    def fraction(self, source: str | None) -> float | None:
        if source == StageProgress.END:
            return 1.0
        if not self.known or not source:
            return None
        path, _, line = source.rpartition(":")
        if path not in self.lines or not line.isdigit():
            return None
        return min(1.0, (self.before[path] + int(line)) / self.total)


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class StageProgress:
    """A rich progress row per stage on stderr; a no-op when disabled."""

    END = "<end of input>"  # ``where`` of the reader's last advance

    def __init__(self, stages: list[str], enabled: bool = True, inputs: list[str] | None = None):
        self.enabled = enabled
        self.stages = stages
        self.inputs = inputs or []
        self.tasks: dict[str, Any] = {}
        self.progress: Any = None
        self.position: InputPosition | None = None
        self.started = time.perf_counter()
        self.first: dict[str, float] = {}  # when each row saw its first records

    def __enter__(self) -> StageProgress:
        if not self.enabled:
            return self
        from rich.console import Console
        from rich.progress import Progress, TextColumn, TimeElapsedColumn

        self.position = InputPosition(self.inputs)
        total = f" of {self.position.total:,} lines" if self.position.known else ""
        self.progress = Progress(
            TextColumn("{task.description:>12}"),
            TextColumn("{task.fields[count]:>9} records"),
            TextColumn("[cyan]{task.fields[rate]:>9}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"),
            console=Console(stderr=True),
        )
        for name in ["read", *self.stages]:
            self.tasks[name] = self.progress.add_task(
                name, total=None, count="0", rate="", left=total if name == "read" else ""
            )
        self.started = time.perf_counter()
        self.progress.start()
        return self

    def advance(self, stage: str, n: int, where: str | None = None) -> None:
        """``n`` more records through ``stage``; ``where`` the last one's ``file:line`` (read)."""
        if self.progress is None or not n:
            return
        task_id = self.tasks[stage]
        self.progress.advance(task_id, n)
        task = self.progress.tasks[task_id]
        fields: dict[str, Any] = {"count": f"{int(task.completed):,}"}
        if task.speed:
            fields["rate"] = f"{task.speed:,.0f}/s"
        now = time.perf_counter()
        since = self.first.setdefault(stage, now - 1e-3)
        done, what = None, ""
        if stage == "read" and self.position and where:
            done, since, what = self.position.fraction(where), self.started, "of input"
        elif stage == "near-dedup" and PASS_1 in self.tasks:
            # pass 2 gives verdicts for what pass 1 read: the stages after it stream with it
            first = self.progress.tasks[self.tasks[PASS_1]].completed
            done, what = (task.completed / first if first else None), "of pass 1"
        if done:
            left = (now - since) * (1 - done) / done
            fields["left"] = f"{100 * done:3.0f}% {what} ETA {_clock(left)}"
        self.progress.update(task_id, **fields)

    def callback(self, stage: str) -> Callable[[int], None] | None:
        """For a stage that reads everything before it yields (near-dedup): its first pass."""
        if stage != "near-dedup" or self.progress is None:
            return None
        first_pass = PASS_1
        self.tasks[first_pass] = self.progress.add_task(
            first_pass, total=None, count="0", rate="", left=""
        )
        return lambda n: self.advance(first_pass, n)

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()
