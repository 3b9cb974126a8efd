"""Is a new instruction novel? MinHash near-duplicate lookup against the pool and the batch.

Self-Instruct compared every new instruction with every pooled one by ROUGE-L, which grows
quadratically; here each instruction is one LSH query into ``curate filter``'s incremental index
(bench/generate.py measures the difference).
"""

from __future__ import annotations

from collections.abc import Iterable

from curate.filters.near_dedup import NearDedupConfig, NearDedupIndex
from curate.filters.verdict import KEEP, Verdict, drop
from curate.generate.config import NoveltyConfig
from curate.records import Record


class Novelty:
    def __init__(self, cfg: NoveltyConfig, reference: Iterable[Record] = ()):
        self.cfg = cfg
        self.index = NearDedupIndex(
            NearDedupConfig(threshold=cfg.threshold, ngram=cfg.ngram, num_perm=cfg.num_perm)
        )
        self.add([_instruction_only(r) for r in reference])

    def add(self, records: list[Record]) -> None:
        if records:
            self.index.add(records)

    def check(self, rec: Record) -> Verdict:
        """Drop when a near-duplicate is already indexed; otherwise index ``rec`` (the batch counts)."""
        probe = _instruction_only(rec)
        hit = self.index.query(probe)
        if hit is not None:
            duplicate_of, jaccard = hit
            return drop(
                "near-duplicate",
                "novelty",
                duplicate_of=duplicate_of,
                jaccard=round(float(jaccard), 4),
            )
        self.index.add([probe])
        return KEEP


def _instruction_only(rec: Record) -> Record:
    return Record(id=rec.id, instruction=rec.instruction)
