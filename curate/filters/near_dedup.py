"""Near dedup: MinHash + LSH candidates, verified, clustered; one survivor per cluster.

Two passes with bounded memory: pass 1 streams the input in chunks, computing shingle sets,
screening signatures and LSH band keys (in ``workers`` processes when asked) into arrays that
spill to temp files past ``memory_limit`` (dedup_arrays.py), holding the records in a
``RecordSpill``; then, one band at a time, the buckets are linked into clusters by a union-find over
int arrays, checking only the pairs that can still join two clusters (dedup_candidates.py), each
dropped record's evidence is found (dedup_evidence.py), and pass 2 yields every record in input
order with its verdict. The LSH candidate threshold (``lsh_threshold``, default 0.5) sits below
the decision ``threshold`` (0.7) so that pairs just above the threshold are not missed; every
pair is verified before it joins two clusters.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

import numpy as np

from curate.filters.dedup_arrays import (
    ChunkSketch,
    DedupArrays,
    Verifier,
    full_signatures,
    sketch_chunk,
)
from curate.filters.dedup_candidates import Buckets, Linker, link_band
from curate.filters.dedup_clusters import Decisions, cluster_sizes, survivors
from curate.filters.dedup_evidence import name_duplicates
from curate.filters.dedup_index import NearDedupIndex
from curate.filters.dedup_store import IdStore, RecordSpill, SpillBudget
from curate.filters.dedup_unionfind import UnionFind
from curate.filters.near_dedup_config import NearDedupConfig
from curate.filters.stage import Stage, StageContext
from curate.filters.verdict import KEEP, Verdict, drop
from curate.records import Record

__all__ = ["NearDedupConfig", "NearDedupIndex", "NearDedupStage"]

PASS2_BLOCK = 1 << 16  # survivors turned into Python ints at a time in pass 2


@dataclass
class _Pass1:
    """What pass 1 keeps per node (reference items first, then input records)."""

    ids: IdStore = field(default_factory=IdStore)
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
        cfg = self.cfg
        spill = RecordSpill(cfg.max_in_memory)
        bands = cfg.band_params()
        arrays = DedupArrays(
            SpillBudget(cfg.memory_bytes()), cfg.num_perm, bands[0], self._full_signatures()
        )
        state = _Pass1()
        try:
            for source, chunk, sketch in self._sketches(records, bands):
                if source == "reference":
                    state.n_ref += len(chunk)
                else:
                    spill.extend(chunk)
                state.ids.extend(rec.id for rec in chunk)
                state.char_docs += sketch.char_docs
                lengths = None
                if cfg.keep == "longest":
                    lengths = np.array([len(r.text()) for r in chunk], dtype=np.int64)
                arrays.append(sketch, lengths)
            t1 = time.perf_counter()
            decisions, figures = self._cluster(arrays, len(state.ids), state.n_ref)
            t2 = time.perf_counter()
        finally:
            arrays.close()
        self._summarise(state, spill.count, decisions, figures, (t0, t1, t2))
        yield from self._verdicts(spill, state, decisions)
        self._summary["seconds"]["total"] = round(time.perf_counter() - t0, 3)

    def _full_signatures(self) -> bool:
        return full_signatures(self.cfg.num_perm, self.cfg.verify)

    # ------------------------------------------------------------ pass 1

    def _sketches(
        self, records: Iterable[Record], bands: tuple[int, int]
    ) -> Iterator[tuple[str, list[Record], ChunkSketch]]:
        """(source, chunk, sketch) for the reference chunks, then the input chunks, in order."""
        spec, size, full = self.cfg.spec(), self.cfg.chunk_size, self._full_signatures()
        sources = [("reference", iter(self.ctx.reference_records())), ("input", iter(records))]
        chunks = (
            (name, chunk)
            for name, it in sources
            for chunk in iter(lambda it=it: list(islice(it, size)), [])
        )
        if self.workers == 1:
            for name, chunk in chunks:
                texts = [rec.text() for rec in chunk]
                yield name, chunk, sketch_chunk(texts, spec.char_flags(chunk), spec, bands, full)
                self._tick(name, chunk)
            return
        with ProcessPoolExecutor(self.workers) as pool:
            window: list[tuple[str, list[Record], Future[ChunkSketch]]] = []
            for name, chunk in chunks:
                texts = [rec.text() for rec in chunk]  # send texts, not whole records
                flags = spec.char_flags(chunk)
                window.append(
                    (name, chunk, pool.submit(sketch_chunk, texts, flags, spec, bands, full))
                )
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

    # ------------------------------------------------------------ bands → clusters → evidence

    def _cluster(
        self, arrays: DedupArrays, n_nodes: int, n_ref: int
    ) -> tuple[Decisions, dict[str, Any]]:
        cfg = self.cfg
        offsets = arrays.offsets()
        verifier = Verifier(
            arrays, offsets, cfg.threshold, cfg.prefilter_margin, cfg.verify == "exact"
        )
        uf = UnionFind(n_nodes)
        linker = Linker(uf, verifier)
        capped, capped_bands = self._link_bands(arrays, offsets, linker)
        linked = (verifier.screened, verifier.checked)
        labels = uf.labels()
        lengths = arrays.lengths.array() if cfg.keep == "longest" else None
        survivor = survivors(labels, n_ref, lengths)
        inputs = np.arange(n_ref, n_nodes)
        dup_of, jaccard, scanned = name_duplicates(
            survivor, inputs, arrays, linker, cfg.max_bucket, capped_bands
        )
        edges = [np.concatenate(col) for col in zip(*linker.edges, strict=True)] or [
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.float32),
        ]
        self.pairs = (edges[0] - n_ref, edges[1] - n_ref, edges[2])
        bands, rows = cfg.band_params()
        figures = {
            "bands": bands,
            "rows": rows,
            "candidate_pairs": linker.candidates,
            "candidate_pairs_skipped_joined": linker.skipped_joined,
            "candidate_pairs_skipped_checked": linker.skipped_checked,
            "candidate_pairs_screened": linked[0],
            "verified_pairs_checked": linked[1],
            "duplicate_pairs": len(edges[0]),
            "evidence_pairs_checked": verifier.checked - linked[1],
            "evidence_records_scanned": scanned,
            "capped_buckets": capped,
            "spilled_to_disk": arrays.spilled,
        }
        return Decisions(survivor, dup_of, jaccard, cluster_sizes(labels)), figures

    def _link_bands(
        self, arrays: DedupArrays, offsets: np.ndarray, linker: Linker
    ) -> tuple[int, set[int]]:
        """Link every band's buckets; the number of capped buckets and the bands that had one."""
        valid = np.flatnonzero(np.diff(offsets) > 0)
        capped, capped_bands = 0, set()
        for k in range(len(arrays.keys)):
            buckets = Buckets.of(arrays.band(k), valid)
            arrays.bucket_members[k].append(buckets.members)
            arrays.bucket_sizes[k].append(buckets.sizes())
            n_capped = link_band(buckets, linker, self.cfg.max_bucket)
            capped += n_capped
            if n_capped:
                capped_bands.add(k)
        return capped, capped_bands

    # ------------------------------------------------------------ pass 2

    def _verdicts(
        self, spill: RecordSpill, state: _Pass1, d: Decisions
    ) -> Iterator[tuple[Record, Verdict]]:
        survivors: list[int] = []  # plain ints (numpy scalar access per record is slow), a block
        base = state.n_ref  # at a time (a list of every node would cost ~36 bytes a record)
        for node, rec in enumerate(spill, start=state.n_ref):
            if node - base >= len(survivors):
                base = node
                survivors = d.survivor[node : node + PASS2_BLOCK].tolist()
            survivor = survivors[node - base]
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
