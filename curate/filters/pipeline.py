"""`curate filter`'s pipeline: read → stage → stage → … → kept.jsonl, every drop to rejected.jsonl.

Stages are generators chained datatrove-style: a stage yields ``(record, verdict)`` for every record
it receives; a dropped record is written to rejected.jsonl at once and never reaches later stages.
With ``workers > 1`` consecutive per-record stages (quality, language, decontam) run in worker
processes over chunks of records, results collected in input order, with a bounded number of
chunks in flight so the input is never held whole. Outputs are written to temp files and renamed
when the run ends.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.filters.config import FilterConfig, dump_config, resolved
from curate.filters.parallel import in_pool, run_parallel, start_pool
from curate.filters.stats import PARSE_REASON, PARSE_STAGE, RunStats, StageMeter, StageProgress
from curate.filters.verdict import Verdict, rejected_row
from curate.io import AtomicFile, Reject, read_records, write_records
from curate.records import Record


@dataclass
class FilterResult:
    out_dir: Path
    stats: dict[str, Any]

    @property
    def report_path(self) -> Path:
        return self.out_dir / "report.md"


class _Sink:
    """Where dropped records go: rejected.jsonl and the running figures."""

    def __init__(self, rejected: AtomicFile, stats: RunStats):
        self.file = rejected.file
        self.stats = stats

    def reject(self, rec: Record, verdict: Verdict) -> None:
        self.file.write(json.dumps(rejected_row(rec, verdict), ensure_ascii=False) + "\n")
        self.stats.add_rejected(rec, verdict)

    def parse_reject(self, item: Reject) -> None:
        row = {
            "id": "",
            "source": item.source,
            "raw": item.raw,
            "reject": {
                "stage": PARSE_STAGE,
                "reason": PARSE_REASON,
                "evidence": {"source": item.source, "field": item.field, "error": item.error},
            },
        }
        self.file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.stats.add_parse_reject(item)


def run_filter(
    inputs: list[str], out_dir: str | Path, cfg: FilterConfig, *, progress: bool = False
) -> FilterResult:
    """Filter ``inputs`` into ``out_dir``; paths in ``cfg`` are assumed checked (command.check_paths)."""
    cfg = resolved(cfg, inputs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = cfg.enabled_stages()
    stats = RunStats(cfg.examples_per_reason)
    meters = {n: StageMeter(n) for n in names}
    started = time.perf_counter()
    # forked before any model or thread exists in this process
    pool = start_pool(cfg, names, make_stage)
    kept_file, rejected_file = AtomicFile(out / "kept.jsonl"), AtomicFile(out / "rejected.jsonl")
    try:
        with StageProgress(names, enabled=progress) as bar:
            sink = _Sink(rejected_file, stats)
            stages = {
                n: make_stage(n, cfg, workers=cfg.workers, progress=bar.callback(n))
                for n in names
                if not in_pool(n, pool)
            }
            stats.seconds["setup"] = time.perf_counter() - started
            reading = _Clock()
            source = reading.wrap(_source(inputs, cfg, sink, bar))
            stream = _chain(source, names, stages, pool, cfg, sink, meters, bar)
            for rec in stream:
                kept_file.file.write(json.dumps(record_row(rec), ensure_ascii=False) + "\n")
                stats.add_kept(rec)
            stats.seconds["read_and_parse"] = reading.seconds
            for n, stage in stages.items():
                meters[n].summary = _summary(stage)
    except BaseException:
        kept_file.abort()
        rejected_file.abort()
        raise
    finally:
        if pool is not None:
            pool.terminate()
    rejected_file.commit()
    kept_file.commit()
    if cfg.to:
        write_records(out / kept_name(cfg.to), _kept_records(out / "kept.jsonl"), cfg.to)
    result = _finish(out, cfg, stats, meters, time.perf_counter() - started)
    return result


def record_row(rec: Record) -> dict[str, Any]:
    """rec.to_dict() without dataclasses.asdict's deep copy (5x faster; same keys, same order)."""
    row: dict[str, Any] = {"id": rec.id, "instruction": rec.instruction, "input": rec.input}
    row["output"] = rec.output
    if rec.messages is not None:
        row["messages"] = rec.messages
    if rec.lang is not None:
        row["lang"] = rec.lang
    row["meta"] = rec.meta
    return row


def kept_name(to: str) -> str:
    key = to.lower()
    return f"kept.{key}" if key in ("jsonl", "json", "parquet", "csv") else f"kept.{key}.json"


def _kept_records(path: Path) -> Iterator[Record]:
    for item in read_records(str(path), "record"):
        if isinstance(item, Record):
            yield item


def _finish(
    out: Path, cfg: FilterConfig, stats: RunStats, meters: dict[str, StageMeter], wall: float
) -> FilterResult:
    from curate.report import write_report

    figures = stats.to_dict()
    figures["stages"] = {n: m.to_dict() for n, m in meters.items()}
    figures["order"] = list(meters)
    figures["wall_seconds"] = round(wall, 2)
    figures["seconds_outside_stages"] = {k: round(v, 2) for k, v in stats.seconds.items()}
    figures["records_per_s"] = round(stats.inputs / wall, 1) if wall > 0 else None
    figures["workers"] = cfg.workers
    figures["lang"] = cfg.lang
    tox = meters.get("toxicity")
    figures["toxicity_model"] = tox.summary.get("model") if tox else "skipped"
    with AtomicFile(out / "config.yaml") as f:
        f.write(dump_config(cfg))
    with AtomicFile(out / "stats.json") as f:
        f.write(json.dumps(figures, ensure_ascii=False, indent=2) + "\n")
    write_report(out, figures)
    return FilterResult(out, figures)


def _summary(stage: Any) -> dict[str, Any]:
    summary = getattr(stage, "summary", None)
    return dict(summary()) if callable(summary) else {}


# ---------------------------------------------------------------- stages

_STAGE_CLASSES = {
    "exact-dedup": ("curate.filters.exact_dedup", "ExactDedupStage"),
    "quality": ("curate.filters.quality", "QualityStage"),
    "language": ("curate.filters.language", "LanguageStage"),
    "decontam": ("curate.filters.decontam", "DecontamStage"),
    "near-dedup": ("curate.filters.near_dedup", "NearDedupStage"),
    "toxicity": ("curate.filters.toxicity", "ToxicityStage"),
}


def make_stage(
    name: str, cfg: FilterConfig, *, workers: int = 1, progress: Callable[[int], Any] | None = None
) -> Any:
    """The stage object for ``name`` (imported lazily: toxicity pulls in torch)."""
    module, cls_name = _STAGE_CLASSES[name]
    cls = getattr(importlib.import_module(module), cls_name)
    runtime: dict[str, Any] = {}
    if name in ("exact-dedup", "near-dedup") and cfg.against:
        runtime["reference"] = _reference_records(cfg.against)
    if name == "near-dedup":
        runtime["workers"] = workers
        if progress is not None:
            runtime["progress"] = progress
    if name == "toxicity":
        runtime["progress"] = False  # the pipeline draws one bar per stage
        runtime["log"] = _warn
    return cls(cfg.stage_config(name), **runtime)


def _warn(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[yellow]warning:[/] {message}")


def _reference_records(paths: list[str]) -> Iterator[Record]:
    for path in paths:
        for item in read_records(path):
            if isinstance(item, Record):
                yield item


# ---------------------------------------------------------------- chaining


def _source(
    inputs: list[str], cfg: FilterConfig, sink: _Sink, bar: StageProgress
) -> Iterator[Record]:
    """Records of every input in turn; malformed ones go straight to rejected.jsonl."""
    n = 0
    for path in inputs:
        for item in read_records(path, lang=cfg.lang, strict=cfg.strict):
            n += 1
            if n % 1000 == 0:
                bar.advance("read", 1000)
            if isinstance(item, Reject):
                sink.parse_reject(item)
            else:
                yield item
    bar.advance("read", n % 1000)


def _chain(
    records: Iterator[Record],
    names: list[str],
    stages: dict[str, Any],
    pool: Any,
    cfg: FilterConfig,
    sink: _Sink,
    meters: dict[str, StageMeter],
    bar: StageProgress,
) -> Iterator[Record]:
    """Chain the stages; each one's own time is its inclusive time minus its upstream's."""
    upstream = _Clock()
    stream: Iterator[Record] = upstream.wrap(records)
    i = 0
    while i < len(names):
        if in_pool(names[i], pool):
            group = [names[i]]
            while i + 1 < len(names) and in_pool(names[i + 1], pool):
                i += 1
                group.append(names[i])
            stream = run_parallel(stream, group, pool, cfg, sink, meters, bar)
            clock = _Clock()
            stream = clock.wrap(stream)
        else:
            clock = _Clock()
            stream = clock.wrap(
                _divert(names[i], stages[names[i]](stream), sink, meters[names[i]], bar)
            )
            clock.upstream, clock.meter = upstream, meters[names[i]]
        upstream = clock
        i += 1
    return stream


class _Clock:
    """Inclusive time spent producing items of an iterator (its own work and everything upstream)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.upstream: _Clock | None = None
        self.meter: StageMeter | None = None

    def wrap(self, it: Iterable[Record]) -> Iterator[Record]:
        it = iter(it)
        clock = time.perf_counter
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


def _divert(
    name: str,
    pairs: Iterable[tuple[Record, Verdict]],
    sink: _Sink,
    meter: StageMeter,
    bar: StageProgress,
) -> Iterator[Record]:
    n = 0
    for rec, verdict in pairs:
        n += 1
        if n % 500 == 0:
            bar.advance(name, 500)
            meter.records_in = n
        if verdict.keep:
            meter.kept += 1
            yield rec
        else:
            sink.reject(rec, verdict if verdict.stage else verdict._replace(stage=name))
    meter.records_in = n
    bar.advance(name, n % 500)
