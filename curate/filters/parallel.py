"""Per-record stages in worker processes: chunks of records out, verdicts and counts back.

Consecutive stages that judge each record on its own (``per_record`` in the registry) run
together in a multiprocessing Pool; every worker builds its own stage instances once (in the
pool's initializer), chunks are submitted with at most two per worker in flight so the input is
never pulled in whole, and results come back in input order, so the output is the same for any
number of workers. A chunk travels as tuples of the record fields; only each record's verdict
(and its meta, and its text fields, where a stage changed them: language stores
``lang_detected``, pii redacts) comes back with the stages' counts, the records themselves stay
in this process. In the runner, a ``WorkerPool`` stands in for its stages.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from curate.filters.stage import Stage, StageMeter
from curate.filters.verdict import Verdict
from curate.records import Record, chunked

MakeStage = Callable[[str], Stage]  # stage name → a new stage (picklable: a module function)


class WorkerPool:
    """A group of consecutive per-record stages, run over chunks in ``workers`` processes."""

    def __init__(
        self, names: list[str], make_stage: MakeStage, workers: int, chunk_size: int
    ) -> None:
        self.names = names
        self.chunk_size = chunk_size
        self.workers = workers
        self.meters = {n: StageMeter(n, workers=workers) for n in names}
        methods = multiprocessing.get_all_start_methods()
        fork = "fork" in methods
        if fork:
            _load_shared(names)
        ctx = multiprocessing.get_context("fork" if fork else "spawn")
        self.pool = ctx.Pool(workers, initializer=_init_worker, initargs=(names, make_stage))
        if fork:
            _release_shared()  # the workers keep sharing their inherited copy; this one needs none

    def run(self, records: Iterable[Record], sink: Any, progress: Any) -> Iterator[Record]:
        """Chunks through the pool, at most 2 per worker in flight, results in input order."""
        pending: deque[Any] = deque()
        for chunk in chunked(records, self.chunk_size):
            rows = [_row(rec) for rec in chunk]
            pending.append((chunk, self.pool.apply_async(_run_chunk, (rows, self.names))))
            if len(pending) >= 2 * self.workers:
                chunk0, result = pending.popleft()
                yield from self._collect(chunk0, result.get(), sink, progress)
        while pending:
            chunk0, result = pending.popleft()
            yield from self._collect(chunk0, result.get(), sink, progress)

    def _collect(
        self, chunk: list[Record], result: ChunkResult, sink: Any, progress: Any
    ) -> Iterator[Record]:
        outcomes, counts, seconds = result
        for n in self.names:
            self.meters[n].merge(counts[n])
            self.meters[n].seconds += seconds[n]
            progress.advance(n, counts[n][0])
        for rec, (verdict, meta, fields) in zip(chunk, outcomes, strict=True):
            if meta is not None:
                rec.meta = meta
            if fields is not None:
                rec.instruction, rec.input, rec.output, rec.messages, rec.lang = fields
            if verdict is None:
                yield rec
            else:
                sink.reject(rec, verdict)

    def close(self) -> None:
        self.pool.terminate()


_WORKER_STAGES: dict[str, Stage] = {}  # this worker process's own stage instances


def _load_shared(names: list[str]) -> None:
    """Load read-only model arrays here, before forking, so that the workers share one physical
    copy: the language model's ≈100 MB of tables are read at random, and one copy in the CPU
    cache instead of one per worker cut the workers' CPU time by about a fifth on 2 cores."""
    if "language" in names:
        from curate.filters.language_batch import batch_langid

        batch_langid()


def _release_shared() -> None:
    from curate.filters.language_batch import batch_langid

    batch_langid.cache_clear()


def _init_worker(names: list[str], make_stage: MakeStage) -> None:
    for n in names:
        _WORKER_STAGES[n] = make_stage(n)


# A record as sent to a worker: Record's fields in order (a tuple pickles ≈40% faster).
Row = tuple[str, str, str, str, Any, Any, dict[str, Any]]
# A record's fields besides id and meta: instruction, input, output, messages, lang.
Fields = tuple[str, str, str, Any, Any]
# What comes back per record: its verdict (None = kept by every stage), its meta when a stage
# changed it (language stores "lang_detected"), else None, and its fields when a stage rewrote
# them (pii redacts), else None. The records themselves stay here.
Outcome = tuple[Verdict | None, dict[str, Any] | None, Fields | None]
# Per chunk: the outcomes, each stage's counts (records in, kept, per reason) and its seconds.
ChunkResult = tuple[list[Outcome], dict[str, Any], dict[str, float]]


def _row(rec: Record) -> Row:
    return (rec.id, rec.instruction, rec.input, rec.output, rec.messages, rec.lang, rec.meta)


def _fields(rec: Record) -> Fields:
    """The record's fields (its turns copied: a stage may rewrite a turn in place)."""
    messages = None if rec.messages is None else [dict(m) for m in rec.messages]
    return (rec.instruction, rec.input, rec.output, messages, rec.lang)


def _run_chunk(rows: list[Row], names: list[str]) -> ChunkResult:
    return run_rows(rows, names, _WORKER_STAGES)


def run_rows(rows: list[Row], names: list[str], stages: dict[str, Stage]) -> ChunkResult:
    """Every record of the chunk through the stages in turn (a dropped record goes no further):
    its verdict from the first stage that dropped it, its meta and fields if a stage changed them.
    The one per-batch function of the per-record stages: worker processes here and Ray's
    map_batches (curate/engines/ray_batches.py) both call it."""
    chunk = [Record(*row) for row in rows]
    before = [dict(rec.meta) for rec in chunk]
    fields_before = [_fields(rec) for rec in chunk]
    verdicts: list[Verdict | None] = [None] * len(chunk)
    alive = list(range(len(chunk)))
    counts, seconds = {}, {}
    for n in names:
        t = time.perf_counter()
        stage = stages[n]
        survivors = []
        for i, (rec, verdict) in zip(alive, stage([chunk[i] for i in alive]), strict=True):
            chunk[i] = rec
            if verdict.keep:
                survivors.append(i)
            else:
                verdicts[i] = verdict
        alive = survivors
        counts[n] = stage.meter.take()
        seconds[n] = time.perf_counter() - t
    outcomes: list[Outcome] = []
    for v, rec, old, old_fields in zip(verdicts, chunk, before, fields_before, strict=True):
        fields = (rec.instruction, rec.input, rec.output, rec.messages, rec.lang)
        meta = rec.meta if rec.meta != old else None
        outcomes.append((v, meta, fields if fields != old_fields else None))
    return outcomes, counts, seconds
