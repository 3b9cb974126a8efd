"""An incremental near-duplicate index: add records round by round, ask whether a new one is novel.

The generate loop keeps its instruction pool here: ``query`` a candidate against the pool, ``add``
what it keeps, without rebuilding anything. Same shingles, signatures and bands as the stage;
candidates are verified (exact Jaccard by default) before a match is reported.

>>> index = NearDedupIndex(NearDedupConfig())
>>> index.add(pool_records)
>>> index.query(new_record)          # → ("pool-17", 0.82) or None
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from curate.filters import minhash as mh
from curate.filters.dedup_sketch import Sketch, sketch_records
from curate.filters.near_dedup_config import NearDedupConfig
from curate.records import Record


class NearDedupIndex:
    def __init__(self, cfg: NearDedupConfig, records: Iterable[Record] = ()) -> None:
        cfg.validate()
        self.cfg = cfg
        self.spec = cfg.spec()
        self.bands, self.rows = cfg.band_params()
        self._tables: list[dict[int, list[int]]] = [{} for _ in range(self.bands)]
        self._ids: list[str] = []
        self._shingles: list[np.ndarray] = []
        self._sigs: list[np.ndarray] = []
        self.add(records)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, records: Iterable[Record]) -> None:
        """Index records (their ids name them in later matches)."""
        batch = list(records)
        if not batch:
            return
        sketch = sketch_records(batch, self.spec)
        keys = mh.band_keys(sketch.sig, self.bands, self.rows).tolist()
        for k, rec in enumerate(batch):
            node = len(self._ids)
            self._ids.append(rec.id)
            self._shingles.append(sketch.shingles[sketch.offsets[k] : sketch.offsets[k + 1]])
            self._sigs.append(sketch.sig[k])
            if sketch.offsets[k + 1] > sketch.offsets[k]:  # an empty text never matches
                for table, key in zip(self._tables, keys[k], strict=True):
                    table.setdefault(key, []).append(node)

    def query(self, record: Record) -> tuple[str, float] | None:
        """The indexed record ``record`` near-duplicates (highest Jaccard, then first added), or None."""
        return self.query_many([record])[0]

    def query_many(self, records: list[Record]) -> list[tuple[str, float] | None]:
        """``query`` for a batch (one vectorised sketch); records are not added."""
        if not records:
            return []
        sketch = sketch_records(records, self.spec)
        keys = mh.band_keys(sketch.sig, self.bands, self.rows).tolist()
        return [self._best(sketch, k, keys[k]) for k in range(len(records))]

    def _best(self, sketch: Sketch, k: int, keys: list[int]) -> tuple[str, float] | None:
        mine = sketch.shingles[sketch.offsets[k] : sketch.offsets[k + 1]]
        if len(mine) == 0:
            return None
        found = sorted(
            {n for table, key in zip(self._tables, keys, strict=True) for n in table.get(key, ())}
        )
        best: tuple[str, float] | None = None
        for node in found:
            if self.cfg.verify == "estimate":
                jac = float(np.mean(self._sigs[node] == sketch.sig[k]))
            else:
                theirs = self._shingles[node]
                inter = len(np.intersect1d(mine, theirs, assume_unique=True))
                jac = inter / (len(mine) + len(theirs) - inter)
            if jac >= self.cfg.threshold and (best is None or jac > best[1]):
                best = (self._ids[node], round(jac, 4))
        return best
