"""Per-record stages in worker processes: chunks of records out, (record, verdict) pairs back.

Consecutive stages that judge each record on its own (quality, language, decontam) run together
in a multiprocessing Pool; every worker builds its own stage instances once (in the pool's
initializer), chunks are submitted with at most two per worker in flight so the input is never
pulled in whole, and results come back in input order, so the output is the same for any number
of workers. A chunk travels as tuples of the record fields; only each record's verdict (and its
meta, where a stage changed it) comes back, the records themselves stay in this process.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from curate.filters.config import FilterConfig
from curate.filters.stats import StageMeter, StageProgress
from curate.filters.verdict import Verdict
from curate.records import Record, chunked

if TYPE_CHECKING:
    from curate.filters.pipeline import _Sink

# Stages that judge each record on its own: safe to run over chunks in worker processes.
PARALLEL_SAFE = frozenset({"quality", "language", "decontam"})


def in_pool(name: str, pool: Any) -> bool:
    return pool is not None and name in PARALLEL_SAFE


def start_pool(cfg: FilterConfig, names: list[str], make_stage: Callable[..., Any]) -> Any:
    group = [n for n in names if n in PARALLEL_SAFE]
    if cfg.workers <= 1 or not group:
        return None
    methods = multiprocessing.get_all_start_methods()
    fork = "fork" in methods
    if fork:
        _load_shared(group)
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    pool = ctx.Pool(cfg.workers, initializer=_init_worker, initargs=(cfg, group, make_stage))
    if fork:
        _release_shared()  # the workers keep sharing their inherited copy; this process needs none
    return pool


_WORKER_STAGES: dict[str, Any] = {}  # this worker process's own stage instances


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


def _init_worker(cfg: FilterConfig, names: list[str], make_stage: Callable[..., Any]) -> None:
    for n in names:
        _WORKER_STAGES[n] = make_stage(n, cfg)


# A record as sent to a worker: Record's fields in order (a tuple pickles ≈40% faster).
Row = tuple[str, str, str, str, Any, Any, dict[str, Any]]
# What comes back per record: its verdict (None = kept by every stage) and its meta when a stage
# changed it (language stores "lang_detected"), else None. The records themselves stay here.
Outcome = tuple[Verdict | None, dict[str, Any] | None]


def _row(rec: Record) -> Row:
    return (rec.id, rec.instruction, rec.input, rec.output, rec.messages, rec.lang, rec.meta)


def _run_chunk(rows: list[Row], names: list[str]) -> tuple[list[Outcome], dict[str, float]]:
    """Every record of the chunk through the stages in turn (a dropped record goes no further):
    its verdict from the first stage that dropped it, and its meta if a stage changed it."""
    chunk = [Record(*row) for row in rows]
    before = [dict(rec.meta) for rec in chunk]
    verdicts: list[Verdict | None] = [None] * len(chunk)
    alive = list(range(len(chunk)))
    seconds = {}
    for n in names:
        t = time.perf_counter()
        out = _WORKER_STAGES[n]([chunk[i] for i in alive])
        survivors = []
        for i, (rec, verdict) in zip(alive, out, strict=True):
            chunk[i] = rec
            if verdict.keep:
                survivors.append(i)
            else:
                verdicts[i] = verdict if verdict.stage else verdict._replace(stage=n)
        alive = survivors
        seconds[n] = time.perf_counter() - t
    outcomes = [
        (v, rec.meta if rec.meta != old else None)
        for v, rec, old in zip(verdicts, chunk, before, strict=True)
    ]
    return outcomes, seconds


def run_parallel(
    records: Iterator[Record],
    names: list[str],
    pool: Any,
    cfg: FilterConfig,
    sink: _Sink,
    meters: dict[str, StageMeter],
    bar: StageProgress,
) -> Iterator[Record]:
    """Chunks through the pool, at most 2 per worker in flight, results in input order."""
    pending: deque[Any] = deque()
    for m in names:
        meters[m].workers = cfg.workers
    for chunk in chunked(records, cfg.chunk_size):
        rows = [_row(rec) for rec in chunk]
        pending.append((chunk, pool.apply_async(_run_chunk, (rows, names))))
        if len(pending) >= 2 * cfg.workers:
            chunk0, result = pending.popleft()
            yield from _collect(chunk0, result.get(), names, sink, meters, bar)
    while pending:
        chunk0, result = pending.popleft()
        yield from _collect(chunk0, result.get(), names, sink, meters, bar)


def _collect(
    chunk: list[Record],
    result: tuple[list[Outcome], dict[str, float]],
    names: list[str],
    sink: _Sink,
    meters: dict[str, StageMeter],
    bar: StageProgress,
) -> Iterator[Record]:
    outcomes, seconds = result
    remaining = len(outcomes)
    dropped_by = Counter(v.stage for v, _ in outcomes if v is not None)
    for n in names:
        meters[n].seconds += seconds.get(n, 0.0)
        meters[n].records_in += remaining
        bar.advance(n, remaining)
        meters[n].kept += remaining - dropped_by[n]
        remaining -= dropped_by[n]
    for rec, (verdict, meta) in zip(chunk, outcomes, strict=True):
        if meta is not None:
            rec.meta = meta
        if verdict is None:
            yield rec
        else:
            sink.reject(rec, verdict)
