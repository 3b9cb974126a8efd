"""The contract every `curate filter` stage follows: a pure check, and a base class that does the rest.

A stage answers one question about records: keep, or drop with a reason and evidence (a
``Verdict``). It implements ``check(batch) -> [Verdict]``, one verdict per record of the batch, in
order. ``Stage`` owns everything around that: the enabled switch (a disabled stage keeps every
record untouched), batching (``batch_size`` records per ``check`` call), stamping the stage name
on every drop, and the counters (``self.meter``: records in, kept, dropped per reason).

Stages that must see the whole input before answering (the dedup stages: a record is a duplicate
of one that may come later) override ``run(records)`` instead of ``check``; the base class still
does the switch, the stamp and the counting.

What a stage may take from the run besides its config is explicit in ``StageContext``; a stage
is registered with one row in ``curate/filters/registry.py``.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from curate.filters.verdict import KEEP, Verdict
from curate.records import Record, chunked

Pairs = Iterator[tuple[Record, Verdict]]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass
class StageContext:
    """What the run hands a stage beyond its config section (never hidden keyword arguments)."""

    # records the input is compared with (--against; earlier rounds in `curate generate`): a
    # callable, because a stage may need them once per run and the set may grow between runs
    reference: Callable[[], Iterable[Record]] | None = None
    workers: int = 1  # processes a stage may use for its own parallel work (MinHash signatures)
    progress: Callable[[int], Any] | None = None  # a whole-input stage's first pass, in records
    log: Callable[[str], None] = _stderr  # one-line notes for the user (a fallback model …)

    def reference_records(self) -> Iterable[Record]:
        return self.reference() if self.reference is not None else ()


@dataclass
class StageMeter:
    """A stage's counters: the only place they are kept (merged from worker processes)."""

    name: str
    records_in: int = 0
    kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # reason → records dropped
    seconds: float = 0.0  # time in this stage alone (summed over workers when parallel)
    workers: int = 1
    summary: dict[str, Any] = field(default_factory=dict)
    # what a stage counts besides its verdicts ("redacted:email" → hits replaced), merged from
    # worker processes like the verdict counts (a worker stage's summary() is never asked)
    tally: Counter[str] = field(default_factory=Counter)

    def count(self, verdict: Verdict) -> None:
        self.records_in += 1
        if verdict.keep:
            self.kept += 1
        else:
            self.rejected[verdict.reason] += 1

    def take(self) -> tuple[int, int, Counter[str], Counter[str]]:
        """The counts so far, reset to zero (a worker process hands them over per chunk)."""
        counts = (self.records_in, self.kept, self.rejected, self.tally)
        self.records_in, self.kept, self.rejected, self.tally = 0, 0, Counter(), Counter()
        return counts

    def merge(self, counts: tuple[int, int, Counter[str], Counter[str]]) -> None:
        records_in, kept, rejected, tally = counts
        self.records_in += records_in
        self.kept += kept
        self.rejected.update(rejected)
        self.tally.update(tally)

    def to_dict(self) -> dict[str, Any]:
        rate = self.records_in / self.seconds if self.seconds > 0 else None
        return {
            "records_in": self.records_in,
            "kept": self.kept,
            "rejected": self.records_in - self.kept,
            "rejected_by_reason": dict(self.rejected.most_common()),
            "seconds": round(self.seconds, 3),
            "records_per_s": round(rate, 1) if rate else None,
            "workers": self.workers,
            **({"summary": self.summary} if self.summary else {}),
            **({"tally": dict(sorted(self.tally.items()))} if self.tally else {}),
        }


class Stage:
    """Base class: subclasses set ``name`` and implement ``check`` (or ``run``) and ``summary``."""

    name: ClassVar[str] = ""
    batch_size: int = 1  # records per check() call; a stage that batches sets it from its config

    def __init__(self, cfg: Any, ctx: StageContext | None = None) -> None:
        self.cfg = cfg
        self.ctx = ctx or StageContext()
        self.meter = StageMeter(self.name)

    @property
    def enabled(self) -> bool:
        return bool(getattr(self.cfg, "enabled", True))

    def check(self, batch: list[Record]) -> list[Verdict]:
        """One verdict per record of ``batch``, in order. A stage may add to ``rec.meta`` and may
        rewrite the record's text (pii redacts); both come back from worker processes."""
        raise NotImplementedError(f"{type(self).__name__} implements neither check nor run")

    def run(self, records: Iterable[Record]) -> Pairs:
        """(record, verdict) for every record, in input order: ``check`` over batches.

        Batches are pulled from upstream before any of their verdicts is out, so a stage that
        batches changes the order in which drops reach rejected.jsonl (not what is dropped)."""
        if self.batch_size == 1:
            check = self.check
            for rec in records:
                yield rec, check([rec])[0]
            return
        for batch in chunked(records, self.batch_size):
            yield from zip(batch, self.check(batch), strict=True)

    def summary(self) -> dict[str, Any]:
        """Figures of this stage's own (model used, index sizes …) for stats.json."""
        return {}

    def __call__(self, records: Iterable[Record]) -> Pairs:
        """Every record once, with its verdict; drops stamped with this stage's name, counted."""
        if not self.enabled:
            for rec in records:
                self.meter.count(KEEP)
                yield rec, KEEP
            return
        name, count = self.name, self.meter.count
        for rec, verdict in self.run(records):
            if not verdict.keep and verdict.stage != name:
                verdict = verdict._replace(stage=name)
            count(verdict)
            yield rec, verdict
