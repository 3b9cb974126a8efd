"""Per-record stages in worker processes: chunks of records out, (record, verdict) pairs back.

Consecutive stages that judge each record on its own (quality, language, decontam) run together
in a multiprocessing Pool; every worker builds its own stage instances once (in the pool's
initializer), chunks are submitted with at most two per worker in flight so the input is never
pulled in whole, and results come back in input order, so the output is the same for any number
of workers.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from curate.filters.config import FilterConfig
from curate.filters.stats import StageMeter, StageProgress
from curate.filters.verdict import KEEP, Verdict
from curate.records import Record

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
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ctx.Pool(cfg.workers, initializer=_init_worker, initargs=(cfg, group, make_stage))


_WORKER_STAGES: dict[str, Any] = {}  # this worker process's own stage instances


def _init_worker(cfg: FilterConfig, names: list[str], make_stage: Callable[..., Any]) -> None:
    for n in names:
        _WORKER_STAGES[n] = make_stage(n, cfg)


def _run_chunk(
    chunk: list[Record], names: list[str]
) -> tuple[list[tuple[Record, Verdict]], dict[str, float]]:
    """Every record of the chunk with its verdict (the first stage that dropped it, else KEEP)."""
    verdicts: list[Verdict] = [KEEP] * len(chunk)
    alive = list(range(len(chunk)))
    seconds = {}
    for n in names:
        t = time.perf_counter()
        out = list(_WORKER_STAGES[n]([chunk[i] for i in alive]))
        survivors = []
        for i, (rec, verdict) in zip(alive, out, strict=True):
            chunk[i] = rec
            if verdict.keep:
                survivors.append(i)
            else:
                verdicts[i] = verdict if verdict.stage else verdict._replace(stage=n)
        alive = survivors
        seconds[n] = time.perf_counter() - t
    return list(zip(chunk, verdicts, strict=True)), seconds


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
    for chunk in _chunks(records, cfg.chunk_size):
        pending.append(pool.apply_async(_run_chunk, (chunk, names)))
        if len(pending) >= 2 * cfg.workers:
            yield from _collect(pending.popleft().get(), names, sink, meters, bar)
    while pending:
        yield from _collect(pending.popleft().get(), names, sink, meters, bar)


def _collect(
    result: tuple[list[tuple[Record, Verdict]], dict[str, float]],
    names: list[str],
    sink: _Sink,
    meters: dict[str, StageMeter],
    bar: StageProgress,
) -> Iterator[Record]:
    pairs, seconds = result
    remaining = len(pairs)
    for n in names:
        meters[n].seconds += seconds.get(n, 0.0)
        meters[n].records_in += remaining
        bar.advance(n, remaining)
        dropped = sum(1 for _, v in pairs if not v.keep and v.stage == n)
        meters[n].kept += remaining - dropped
        remaining -= dropped
    for rec, verdict in pairs:
        if verdict.keep:
            yield rec
        else:
            sink.reject(rec, verdict)


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for rec in records:
        chunk.append(rec)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
