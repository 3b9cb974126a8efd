"""Near dedup: MinHash + LSH candidates, verified, clustered; one survivor per cluster.

Two passes with bounded memory: pass 1 streams the input in chunks, computing shingle sets and
signatures (in ``workers`` processes when asked) into temp-file arrays and holding the records in
a ``RecordSpill``; then candidates, verification and clusters run on the arrays (minhash.py,
dedup_clusters.py); pass 2 yields every record in input order with its verdict. The LSH candidate
threshold (``lsh_threshold``, default 0.5) sits below the decision ``threshold`` (0.7) so that pairs
just above the threshold are not missed; every candidate is verified before anything is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

import numpy as np

from curate.filters import minhash as mh
from curate.filters.dedup_clusters import Decisions, decide
from curate.filters.dedup_index import NearDedupIndex
from curate.filters.dedup_sketch import (
    Sketch,
    sketch_records,
    sketch_texts,
)
from curate.filters.dedup_store import ArrayLog, RecordSpill
from curate.filters.near_dedup_config import NearDedupConfig
from curate.filters.stage import Stage, StageContext
from curate.filters.verdict import KEEP, Verdict, drop
from curate.records import Record

__all__ = ["NearDedupConfig", "NearDedupIndex", "NearDedupStage"]


@dataclass
class _Pass1:
    """What pass 1 keeps per node (reference items first, then input records)."""

    ids: list[str] = field(default_factory=list)
    n_ref: int = 0
    char_docs: int = 0


class NearDedupStage(Stage):
    name = "near-dedup"

    def __init__(self, cfg: NearDedupConfig, ctx: StageContext | None = None) -> None:
        cfg.validate()
        super().__init__(cfg, ctx)
        self.workers = max(1, int(self.ctx.workers or 1))
        self._summary: dict[str, Any] = {}
        # The last run's verified duplicate pairs (i, j, jaccard), as input positions (0-based)
        self.pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def run(self, records: Iterable[Record]) -> Iterator[tuple[Record, Verdict]]:
        t0 = time.perf_counter()
        spill = RecordSpill(self.cfg.max_in_memory)
        sh_log, sig_log = ArrayLog(np.uint32), ArrayLog(np.uint32, (self.cfg.num_perm,))
        size_log, len_log = ArrayLog(np.int64), ArrayLog(np.int64)
        state = _Pass1()
        try:
            for source, chunk, sketch in self._sketches(records):
                if source == "reference":
                    state.n_ref += len(chunk)
                else:
                    spill.extend(chunk)
                state.ids.extend([rec.id for rec in chunk])
                state.char_docs += sketch.char_docs
                sh_log.append(sketch.shingles)
                sig_log.append(sketch.sig)
                size_log.append(sketch.sizes)
                lengths = [len(r.text()) for r in chunk] if self.cfg.keep == "longest" else []
                len_log.append(np.array(lengths or np.zeros(len(chunk)), dtype=np.int64))
            t1 = time.perf_counter()
            sizes = size_log.array()
            offsets = mh.offsets_of(sizes)
            pairs, figures = self._pairs(sh_log.array(), offsets, sig_log.array())
            lengths = len_log.array() if self.cfg.keep == "longest" else None
            decisions = decide(len(state.ids), state.n_ref, pairs, lengths)
            self.pairs = (pairs[0] - state.n_ref, pairs[1] - state.n_ref, pairs[2])
            t2 = time.perf_counter()
        finally:
            for log in (sh_log, sig_log, size_log, len_log):
                log.close()
        self._summarise(state, spill.count, decisions, figures, (t0, t1, t2))
        yield from self._verdicts(spill, state, decisions)
        self._summary["seconds"]["total"] = round(time.perf_counter() - t0, 3)

    # ------------------------------------------------------------ pass 1

    def _sketches(self, records: Iterable[Record]) -> Iterator[tuple[str, list[Record], Sketch]]:
        """(source, chunk, sketch) for the reference chunks, then the input chunks, in order."""
        spec, size = self.cfg.spec(), self.cfg.chunk_size
        sources = [("reference", iter(self.ctx.reference_records())), ("input", iter(records))]
        chunks = (
            (name, chunk)
            for name, it in sources
            for chunk in iter(lambda it=it: list(islice(it, size)), [])
        )
        if self.workers == 1:
            for name, chunk in chunks:
                yield name, chunk, sketch_records(chunk, spec)
                self._tick(name, chunk)
            return
        with ProcessPoolExecutor(self.workers) as pool:
            window: list[tuple[str, list[Record], Future[Sketch]]] = []
            for name, chunk in chunks:
                texts = [rec.text() for rec in chunk]  # send texts, not whole records
                flags = spec.char_flags(chunk)
                window.append((name, chunk, pool.submit(sketch_texts, texts, flags, spec)))
                if len(window) > 2 * self.workers:
                    name0, chunk0, fut = window.pop(0)
                    yield name0, chunk0, fut.result()
                    self._tick(name0, chunk0)
            for name0, chunk0, fut in window:
                yield name0, chunk0, fut.result()
                self._tick(name0, chunk0)

    def _tick(self, source: str, chunk: list[Record]) -> None:
        if self.ctx.progress is not None and source == "input":
            self.ctx.progress(len(chunk))

    # ------------------------------------------------------------ candidates → verified pairs

    def _pairs(
        self, shingles: np.ndarray, offsets: np.ndarray, sig: np.ndarray
    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], dict[str, Any]]:
        cfg = self.cfg
        bands, rows = cfg.band_params()
        keys = mh.band_keys(sig, bands, rows)
        i, j, capped = mh.candidate_pairs(keys, np.diff(offsets) > 0, cfg.max_bucket)
        if cfg.verify == "estimate":
            keep, jac = mh.prefilter(sig, i, j, cfg.threshold)
            checked = len(keep)
        else:
            keep, _ = mh.prefilter(sig, i, j, cfg.threshold - cfg.prefilter_margin, precise=False)
            jac = mh.exact_jaccard(shingles, offsets, i[keep], j[keep])
            checked = len(keep)
            ok = jac >= cfg.threshold
            keep, jac = keep[ok], jac[ok]
        figures = {
            "bands": bands,
            "rows": rows,
            "candidate_pairs": len(i),
            "verified_pairs_checked": checked,
            "duplicate_pairs": len(keep),
            "capped_buckets": capped,
        }
        return (i[keep], j[keep], jac), figures

    # ------------------------------------------------------------ pass 2

    def _verdicts(
        self, spill: RecordSpill, state: _Pass1, d: Decisions
    ) -> Iterator[tuple[Record, Verdict]]:
        survivors = d.survivor.tolist()  # plain ints: numpy scalar access per record is slow
        for node, rec in enumerate(spill, start=state.n_ref):
            survivor = survivors[node]
            if survivor == node:
                yield rec, KEEP
                continue
            evidence: dict[str, Any] = {
                "duplicate_of": state.ids[int(d.dup_of[node])],
                "jaccard": round(float(d.jaccard[node]), 4),
                "scope": "reference" if survivor < state.n_ref else "input",
            }
            if int(d.dup_of[node]) != survivor:
                evidence["survivor"] = state.ids[survivor]
            yield rec, drop("near-duplicate", stage=self.name, **evidence)

    def _summarise(
        self,
        state: _Pass1,
        n_input: int,
        d: Decisions,
        figures: dict[str, Any],
        times: tuple[float, float, float],
    ) -> None:
        inputs = np.arange(state.n_ref, len(state.ids))
        removed = d.survivor[inputs] != inputs
        by_ref = removed & (d.survivor[inputs] < state.n_ref)
        sizes = d.cluster_sizes
        self._summary = {
            "config": asdict(self.cfg),
            "records": n_input,
            "reference_records": state.n_ref,
            "removed": int(removed.sum()),
            "removed_by_scope": {
                "input": int((removed & ~by_ref).sum()),
                "reference": int(by_ref.sum()),
            },
            "char_shingled_records": state.char_docs,
            **figures,
            "clusters": int(sum(sizes.values())),
            "largest_cluster": max(sizes, default=0),
            "cluster_sizes": {str(k): v for k, v in sorted(sizes.items())},
            "workers": self.workers,
            "seconds": {
                "shingle_and_sign": round(times[1] - times[0], 3),
                "lsh_verify_cluster": round(times[2] - times[1], 3),
            },
        }

    def summary(self) -> dict[str, Any]:
        return self._summary
