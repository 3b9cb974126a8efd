"""One runner for a list of stages: records in, kept records out, every drop handed to a sink.

``Run`` chains the stages datatrove-style: each stage is a generator of ``(record, verdict)``;
a dropped record goes to ``sink.reject`` at once and never reaches a later stage. Consecutive
stages that judge each record on its own can run in worker processes (``parallel.WorkerPool``:
the pool stands in for those stages in the chain). ``curate filter`` streams the input through
``Run.stream``; ``curate generate`` filters each round with ``Run.each_stage`` (stage after stage
over the whole round, so a round's drops are grouped by stage).

Each stage's time is measured inclusive of everything upstream and then the upstream part is
subtracted, so ``stage.meter.seconds`` is that stage's own time even though the stages are lazy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from curate.filters.stage import Stage, StageMeter
from curate.filters.verdict import Verdict
from curate.records import Record

ADVANCE_EVERY = 500  # records between progress-bar updates


class Sink(Protocol):
    """Where dropped records go (rejected.jsonl and the run's figures, or a round's output)."""

    def reject(self, rec: Record, verdict: Verdict) -> None: ...


class Progress(Protocol):
    def advance(self, stage: str, n: int) -> None: ...


class _NoProgress:
    def advance(self, stage: str, n: int) -> None:
        pass


class Run:
    """Stages in order (a ``WorkerPool`` may stand for a group of per-record stages)."""

    def __init__(self, stages: list[Any], sink: Sink, progress: Progress | None = None) -> None:
        self.stages = stages
        self.sink = sink
        self.progress = progress or _NoProgress()

    @property
    def meters(self) -> dict[str, StageMeter]:
        out: dict[str, StageMeter] = {}
        for step in self.stages:
            out.update(step.meters if hasattr(step, "meters") else {step.name: step.meter})
        return out

    def stream(self, records: Iterable[Record]) -> Iterator[Record]:
        """The records every stage kept, lazily, in input order."""
        upstream = Clock()
        stream: Iterator[Record] = upstream.wrap(records)
        for step in self.stages:
            clock = Clock()
            if hasattr(step, "meters"):  # a worker pool times its stages itself
                stream = clock.wrap(step.run(stream, self.sink, self.progress))
            else:
                stream = clock.wrap(self._divert(step, stream))
                clock.upstream, clock.meter = upstream, step.meter
            upstream = clock
        return stream

    def each_stage(self, records: list[Record]) -> list[Record]:
        """Stage after stage over all of ``records``: each sees everything the one before kept."""
        current = records
        for step in self.stages:
            current = list(self._divert(step, current))
        return current

    def _divert(self, stage: Stage, records: Iterable[Record]) -> Iterator[Record]:
        n, advance, reject = 0, self.progress.advance, self.sink.reject
        for rec, verdict in stage(records):
            n += 1
            if n % ADVANCE_EVERY == 0:
                advance(stage.name, ADVANCE_EVERY)
            if verdict.keep:
                yield rec
            else:
                reject(rec, verdict)
        advance(stage.name, n % ADVANCE_EVERY)


class Clock:
    """Inclusive time spent producing items of an iterator (its own work and everything upstream);
    with ``upstream`` and ``meter`` set, the difference is that stage's own time."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.upstream: Clock | None = None
        self.meter: StageMeter | None = None

    def wrap(self, it: Iterable[Record]) -> Iterator[Record]:
        it = iter(it)
        clock: Callable[[], float] = time.perf_counter
        while True:
            t = clock()
            try:
                item = next(it)
            except StopIteration:
                self._add(clock() - t)
                return
            self._add(clock() - t)
            yield item

    def _add(self, dt: float) -> None:
        self.seconds += dt
        if self.meter is not None and self.upstream is not None:
            self.meter.seconds = self.seconds - self.upstream.seconds
