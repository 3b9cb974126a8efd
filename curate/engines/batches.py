"""The per-record stages over one batch of rows, as Arrow tables: what Ray's map_batches calls.

Nothing here imports Ray. A batch is a pyarrow Table with one row per input item: ``seq`` (its
position in the input, which fixes every order), ``kind`` (a record, or a line that did not
parse), ``row`` (the record's fields, pickled as the local worker processes send them) and
``dead`` (the pickled Verdict of the stage that dropped it; null while it is alive). A stage
judges only the live rows and passes the others through untouched, so one table carries the
whole run and the writer sees every item once, in input order.

The stage code is the local engine's: ``parallel.run_rows`` is the function the local worker
processes run over their chunks (quality, pii, language, decontam; toxicity too, which judges
each record on its own, in batches).
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pyarrow as pa

from curate.filters.parallel import run_rows
from curate.filters.stage import Stage

RECORD, PARSE_REJECT = 0, 1  # ``kind``: a Record, or a curate.io.Reject (a line that did not parse)
PICKLE = pickle.HIGHEST_PROTOCOL

# one set of stage instances per worker process and (config, stages): models load once
_STAGES: dict[tuple[bytes, tuple[str, ...]], dict[str, Stage]] = {}


def item_table(seqs: list[int], kinds: list[int], blobs: list[bytes]) -> pa.Table:
    """Read items as a table: every one alive (``dead`` null)."""
    return pa.table(
        {
            "seq": pa.array(seqs, pa.int64()),
            "kind": pa.array(kinds, pa.int8()),
            "row": pa.array(blobs, pa.binary()),
            "dead": pa.nulls(len(seqs), pa.binary()),
        }
    )


def alive(batch: pa.Table) -> np.ndarray:
    """Positions of the rows that are records no stage has dropped yet."""
    kind = batch.column("kind").to_numpy(zero_copy_only=False)
    live = batch.column("dead").is_null().to_numpy(zero_copy_only=False)
    return np.flatnonzero((kind == RECORD) & live)


def live_rows(batch: pa.Table) -> tuple[np.ndarray, list[tuple]]:
    """The live rows' positions and their record fields (``parallel.Row`` tuples)."""
    pos = alive(batch)
    blobs = batch.column("row").take(pa.array(pos, pa.int64())).to_pylist()
    return pos, [pickle.loads(b) for b in blobs]


def judge_batch(batch: pa.Table, names: list[str], cfg_blob: bytes, counts_col: str) -> pa.Table:
    """Consecutive per-record stages over the live rows of ``batch`` (``parallel.run_rows``).

    Drops fill ``dead``; a record a stage changed (meta, redacted text) gets its new fields;
    the stages' counts and seconds (and summaries) ride in ``counts_col`` of the first row."""
    key = (cfg_blob, tuple(names))
    stages = _STAGES.get(key)
    if stages is None:
        from curate.filters.pipeline import make_stage

        cfg = pickle.loads(cfg_blob)
        stages = _STAGES[key] = {n: make_stage(n, cfg) for n in names}
    pos, rows = live_rows(batch)
    outcomes, counts, seconds = run_rows(rows, names, stages) if rows else ([], {}, {})
    blobs = batch.column("row").to_pylist()
    dead = batch.column("dead").to_pylist()
    for p, row, (verdict, meta, fields) in zip(pos.tolist(), rows, outcomes, strict=True):
        if meta is not None or fields is not None:
            new = fields if fields is not None else row[1:6]
            blobs[p] = pickle.dumps((row[0], *new, meta if meta is not None else row[6]), PICKLE)
        if verdict is not None:
            dead[p] = pickle.dumps(verdict, PICKLE)
    summaries = {n: s.summary() for n, s in stages.items()} if rows else {}
    figures = [None] * batch.num_rows
    if batch.num_rows:
        figures[0] = pickle.dumps((counts, seconds, summaries), PICKLE)
    return _replace(batch, row=blobs, dead=dead, **{counts_col: figures})


def apply_drops(batch: pa.Table, seqs: np.ndarray, verdicts: list[bytes]) -> pa.Table:
    """Mark the rows whose ``seq`` is in ``seqs`` (sorted) dropped with the matching verdict."""
    if not len(seqs) or not batch.num_rows:
        return batch
    seq = batch.column("seq").to_numpy()
    at = np.minimum(np.searchsorted(seqs, seq), len(seqs) - 1)
    hit = np.flatnonzero(seqs[at] == seq)
    if not len(hit):
        return batch
    dead = batch.column("dead").to_pylist()
    for p in hit.tolist():
        dead[p] = verdicts[int(at[p])]
    return _replace(batch, dead=dead)


def _replace(batch: pa.Table, **columns: list[Any]) -> pa.Table:
    for name, values in columns.items():
        array = pa.array(values, pa.binary())
        if name in batch.column_names:
            batch = batch.set_column(batch.column_names.index(name), name, array)
        else:
            batch = batch.append_column(name, array)
    return batch
