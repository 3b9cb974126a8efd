"""`curate filter --engine ray`: the same stages on Ray Data, for a corpus that outgrows one machine.

One dataset carries the run (batches.py: seq, kind, row, dead). The input is parsed by the local
readers (curate.io: the same ids, sources and parse rejects) and handed to Ray in 2-4 blocks per
cluster CPU (ray_read.py); runs of
per-record stages become one ``map_batches`` each (``parallel.run_rows``, the local workers'
function); exact and near dedup run as partitioned Ray steps with the decisions on the driver
(ray_dedup.py). Then the driver streams the rows back in input order and writes kept.jsonl,
rejected.jsonl, stats.json, report.md and config.yaml with the local engine's writers.

kept.jsonl is byte-identical to the local engine's; rejected.jsonl holds the same lines in input
order (the local engine writes each drop when its stage makes it), equal after a stable sort by id.

Ray: with ``ray_address`` unset a private single-machine Ray is started for the run, bound to
127.0.0.1 (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``: without it a single-node Ray listens on every
interface), with a small object store (it spills to disk beyond), and shut down after; never
``ray stop``, which ends every Ray process on the machine. Ray is imported only here, when it runs.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curate.engines.batches import PARSE_REJECT, PICKLE, RECORD, item_table, judge_batch
from curate.engines.ray_dedup import exact_dedup, near_dedup
from curate.filters.config import FilterConfig, kept_name, resolved
from curate.filters.exact_dedup import text_digest
from curate.filters.pipeline import (
    FilterResult,
    _finish,
    _kept_records,
    _reference_records,
    _Sink,
    record_row,
)
from curate.filters.registry import STAGES
from curate.filters.stage import StageMeter
from curate.filters.stats import RunStats
from curate.io import AtomicFile, Reject, read_records, write_records
from curate.jsonout import dumps
from curate.records import Record

OBJECT_STORE_MB = int(os.environ.get("CURATE_RAY_OBJECT_STORE_MB", "512"))
WHOLE_INPUT = {"exact-dedup", "near-dedup"}  # run as partitioned Ray steps (ray_dedup.py)


def _import_ray(private: bool) -> Any:
    if private:  # read when Ray is imported: a single-node Ray on 127.0.0.1 only
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ValueError("--engine ray needs Ray Data: pip install 'instructforge[ray]'") from None
    return ray


@contextmanager
def ray_session(address: str | None, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray for one run: joins ``address``, or starts a private local one (127.0.0.1) and stops
    exactly that one afterwards. A Ray already initialised in this process is used as it is."""
    ray = _import_ray(private=not address)
    started = False
    if not ray.is_initialized():
        kw: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
        if address:
            ray.init(address=address, **kw)
        else:
            ray.init(
                address="local",
                num_cpus=num_cpus,
                include_dashboard=False,
                object_store_memory=OBJECT_STORE_MB << 20,
                _node_ip_address="127.0.0.1",
                **kw,
            )
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True  # rows come back in input order
        ctx.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # "progress bars disabled" …
        yield ray
    finally:
        if started:
            ray.shutdown()


def run_filter_ray(
    inputs: list[str], out_dir: str | Path, cfg: FilterConfig, *, progress: bool = False
) -> FilterResult:
    """``pipeline.run_filter`` on Ray: the same outputs (rejected.jsonl in input order)."""
    cfg = resolved(cfg, inputs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with ray_session(cfg.ray_address) as ray:
        cpus = ray.cluster_resources().get("CPU", 1)
        parts = max(2, 2 * int(cpus))
        stats = RunStats(cfg.examples_per_reason)
        t_read = time.perf_counter()
        ds = _read(ray, inputs, cfg, cpus)
        stats.seconds["setup"] = t_read - started
        stats.seconds["read_and_parse"] = time.perf_counter() - t_read
        ds, meters, counts_cols = _stages(ray, ds, cfg, parts)
        _write(ds, out, stats, meters, counts_cols)
    if cfg.to:
        write_records(out / kept_name(cfg.to), _kept_records(out / "kept.jsonl"), cfg.to)
    return _finish(out, cfg, stats, meters, time.perf_counter() - started)


def _read(ray: Any, inputs: list[str], cfg: FilterConfig, cpus: float) -> Any:
    """Every input item (a record, or a line that did not parse), in input order, parsed here
    and put into the object store as it goes; read by Ray in ``read_blocks(cpus)`` blocks
    (ray_read.py: ``override_num_blocks``, 2-4x the CPUs)."""
    from curate.engines.ray_read import PUT_ROWS, ParsedItems, read_blocks

    refs, rows, seqs, kinds, blobs = [], [], [], [], []
    seq = 0
    for path in inputs:
        for item in read_records(path, lang=cfg.lang, strict=cfg.strict):
            seqs.append(seq)
            seq += 1
            if isinstance(item, Reject):
                kinds.append(PARSE_REJECT)
                blobs.append(pickle.dumps(item, PICKLE))
            else:
                kinds.append(RECORD)
                blobs.append(pickle.dumps(_row(item), PICKLE))
            if len(seqs) == PUT_ROWS:
                refs.append(ray.put(item_table(seqs, kinds, blobs)))
                rows.append(len(seqs))
                seqs, kinds, blobs = [], [], []
    if seqs:
        refs.append(ray.put(item_table(seqs, kinds, blobs)))
        rows.append(len(seqs))
    if not refs:  # nothing to read: an empty table that keeps the columns
        return ray.data.from_arrow(item_table([], [], []))
    blocks = read_blocks(cpus)
    return ray.data.read_datasource(ParsedItems(refs, rows), override_num_blocks=blocks)


def _row(rec: Record) -> tuple:
    return (rec.id, rec.instruction, rec.input, rec.output, rec.messages, rec.lang, rec.meta)


def _stages(ray: Any, ds: Any, cfg: FilterConfig, parts: int) -> tuple[Any, dict, list[str]]:
    """Each run of per-record stages as one map_batches, each dedup stage as Ray steps."""
    meters: dict[str, StageMeter] = {}
    counts_cols: list[str] = []
    groups: list[list[str]] = []
    for name in cfg.enabled_stages():
        if name not in WHOLE_INPUT and groups and groups[-1][0] not in WHOLE_INPUT:
            groups[-1].append(name)
        else:
            groups.append([name])
    cfg_blob = pickle.dumps(cfg, PICKLE)
    for group in groups:
        name = group[0]
        if name in WHOLE_INPUT:
            ds = ds.materialize()  # read twice (decide, then apply): computed once
        if name == "exact-dedup":
            ds, meters[name] = exact_dedup(ds, cfg, _reference_digests(cfg), parts)
        elif name == "near-dedup":
            ref_ds, n_ref = _reference(ray, cfg)
            ds, meters[name] = near_dedup(ds, ref_ds, n_ref, cfg, parts)
        else:
            col = f"counts_{len(counts_cols)}"
            counts_cols.append(col)
            for n in group:
                meters[n] = StageMeter(n, workers=parts // 2)
            kw = {"names": group, "cfg_blob": cfg_blob, "counts_col": col}
            ds = ds.map_batches(judge_batch, batch_format="pyarrow", fn_kwargs=kw)
    return ds, meters, counts_cols


def _reference_digests(cfg: FilterConfig) -> dict[int, str]:
    seen: dict[int, str] = {}
    for rec in _reference_records(cfg.against) if cfg.against else ():
        seen.setdefault(text_digest(rec), rec.id)
    return seen


def _reference(ray: Any, cfg: FilterConfig) -> tuple[Any, int]:
    """--against items as a dataset of their own, numbered before the input (seq < 0)."""
    rows = [_row(rec) for rec in _reference_records(cfg.against)] if cfg.against else []
    if not rows:
        return None, 0
    n = len(rows)
    blobs = [pickle.dumps(r, PICKLE) for r in rows]
    table = item_table(list(range(-n, 0)), [RECORD] * n, blobs)
    return ray.data.from_arrow(table), n


def _write(ds: Any, out: Path, stats: RunStats, meters: dict, counts_cols: list[str]) -> None:
    """Rows back in input order: kept.jsonl, rejected.jsonl (the local writers), the counts."""
    kept_file, rejected_file = AtomicFile(out / "kept.jsonl"), AtomicFile(out / "rejected.jsonl")
    sink = _Sink(rejected_file, stats)
    try:
        for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
            cols = batch.to_pydict()
            for kind, blob, dead in zip(cols["kind"], cols["row"], cols["dead"], strict=True):
                if kind == PARSE_REJECT:
                    sink.parse_reject(pickle.loads(blob))
                    continue
                rec = Record(*pickle.loads(blob))
                if dead is not None:
                    sink.reject(rec, pickle.loads(dead))
                else:
                    kept_file.write(dumps(record_row(rec), ensure_ascii=False) + "\n")
                    stats.add_kept(rec)
            for col in counts_cols:
                for blob in cols[col]:
                    if blob is not None:
                        _merge(meters, pickle.loads(blob))
        rejected_file.commit()
        kept_file.commit()
    except BaseException:
        kept_file.abort()
        rejected_file.abort()
        raise


def _merge(meters: dict[str, StageMeter], figures: tuple) -> None:
    counts, seconds, summaries = figures
    for n, c in counts.items():
        meters[n].merge(c)
        meters[n].seconds += seconds[n]
    for n, s in summaries.items():
        if not STAGES[n].per_record:  # as the local engine: a worker stage's summary is not asked
            meters[n].summary = s
