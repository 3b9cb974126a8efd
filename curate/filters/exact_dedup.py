"""Exact dedup on normalised text: same words after case, space and punctuation folding.

Each field (instruction, input, output; or every chat turn) is normalised (curate.text.normalize:
NFKC, casefold, Unicode punctuation → space, whitespace collapsed) and the fields are hashed
together to a 128-bit xxh3 digest: the stage holds one digest and one id per distinct text, never
the texts, in compact arrays (dedup_digests.DigestIndex, dedup_store.IdStore: ~45 bytes a text).
``keep: first`` streams, a batch of records at a time; ``keep: longest`` holds the records in a
RecordSpill for a second pass. A record equal to a reference item is dropped with scope
"reference".
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from typing import Any

import numpy as np
import xxhash

from curate.config import option
from curate.filters.dedup_digests import DigestIndex, split
from curate.filters.dedup_store import IdStore, RecordSpill
from curate.filters.dedup_text import record_fields
from curate.filters.stage import Stage, StageContext
from curate.filters.verdict import KEEP, Verdict, drop
from curate.records import Record
from curate.text import normalize

FIELD_SEP = "\x1f"  # fields stay apart: "a b" + "" never equals "a" + "b"
BATCH = 4096  # records looked up together (keep: first)


@dataclass
class ExactDedupConfig:
    enabled: bool = option(
        True,
        "Run this stage: drop a record whose text equals another's or an --against item's,"
        " ignoring case, spacing and punctuation (reason exact-duplicate).",
    )
    # longest needs a second pass over the input
    keep: str = option(
        "first",
        "Which duplicate survives: first (in input order) or longest (most text).",
        flag="--keep",
    )
    max_in_memory: int = option(
        100_000,
        "keep: longest only: records held in memory between the two passes; the rest spill to a"
        " temp file.",
    )

    def validate(self) -> None:
        if self.keep not in ("first", "longest"):
            raise ValueError("exact-dedup: keep must be first or longest")


def digest_bytes(rec: Record) -> bytes:
    """128-bit digest of the record's normalised fields (16 bytes, big-endian)."""
    joined = FIELD_SEP.join(normalize(part) for part in record_fields(rec))
    return xxhash.xxh3_128_digest(joined.encode("utf-8"))


def text_digest(rec: Record) -> int:
    """``digest_bytes`` as an int."""
    return int.from_bytes(digest_bytes(rec), "big")


class ExactDedupStage(Stage):
    name = "exact-dedup"

    def __init__(self, cfg: ExactDedupConfig, ctx: StageContext | None = None) -> None:
        cfg.validate()
        super().__init__(cfg, ctx)
        self._counts: Counter[str] = Counter()
        self._dup_of = array("q")  # per dropped copy (scope input): its survivor's position

    def _reference_digests(self) -> dict[bytes, str]:
        seen: dict[bytes, str] = {}
        for rec in self.ctx.reference_records():
            seen.setdefault(digest_bytes(rec), rec.id)
        return seen

    def run(self, records: Iterable[Record]) -> Iterator[tuple[Record, Verdict]]:
        reference = self._reference_digests()
        if self.cfg.keep == "longest":
            yield from self._longest(records, reference)
            return
        index, ids = DigestIndex(), IdStore()  # digest → position of its first record; ids
        it = iter(records)
        while batch := list(islice(it, BATCH)):
            digests = [digest_bytes(rec) for rec in batch]
            yield from zip(batch, self._batch(batch, digests, reference, index, ids), strict=True)

    def _batch(
        self,
        batch: list[Record],
        digests: list[bytes],
        reference: dict[bytes, str],
        index: DigestIndex,
        ids: IdStore,
    ) -> list[Verdict]:
        """One verdict per record of ``batch``: the first of each text is kept, later ones name it."""
        hi, lo = split(digests)
        earlier = index.lookup(hi, lo).tolist()
        new: dict[bytes, int] = {}  # digests first seen in this batch → their position
        fresh: list[int] = []  # their places in the batch
        verdicts: list[Verdict] = []
        for k, (rec, digest) in enumerate(zip(batch, digests, strict=True)):
            self._counts["records"] += 1
            if digest in reference:
                self._counts["reference"] += 1
                verdicts.append(
                    drop(
                        "exact-duplicate",
                        self.name,
                        duplicate_of=reference[digest],
                        scope="reference",
                    )
                )
                continue
            pos = earlier[k] if earlier[k] >= 0 else new.get(digest, -1)
            if pos < 0:
                new[digest] = len(ids)
                fresh.append(k)
                ids.extend([rec.id])
                verdicts.append(KEEP)
                continue
            self._dup_of.append(pos)
            self._counts["input"] += 1
            verdicts.append(
                drop("exact-duplicate", self.name, duplicate_of=ids[pos], scope="input")
            )
        if fresh:
            index.add(hi[fresh], lo[fresh], np.fromiter(new.values(), np.int64, len(new)))
        return verdicts

    def _longest(
        self, records: Iterable[Record], reference: dict[int, str]
    ) -> Iterator[tuple[Record, Verdict]]:
        """Pass 1 finds the longest (then first) record per digest; pass 2 answers in order."""
        spill = RecordSpill(self.cfg.max_in_memory)
        best: dict[bytes, tuple[int, int, str]] = {}  # digest → (-length, position, id)
        for pos, rec in enumerate(records):
            spill.extend([rec])
            digest = digest_bytes(rec)
            cand = (-len(rec.text()), pos, rec.id)
            if digest not in best or cand < best[digest]:
                best[digest] = cand
        winners = {digest: (pos, rid) for digest, (_, pos, rid) in best.items()}
        for pos, rec in enumerate(spill):
            digest = digest_bytes(rec)
            self._counts["records"] += 1
            win_pos, win_id = winners[digest]
            if digest in reference:
                self._counts["reference"] += 1
                yield (
                    rec,
                    drop(
                        "exact-duplicate",
                        self.name,
                        duplicate_of=reference[digest],
                        scope="reference",
                    ),
                )
            elif pos == win_pos:
                yield rec, KEEP
            else:
                self._counts["input"] += 1
                self._dup_of.append(win_pos)
                yield rec, drop("exact-duplicate", self.name, duplicate_of=win_id, scope="input")

    def summary(self) -> dict[str, Any]:
        copies = np.bincount(np.frombuffer(self._dup_of, dtype=np.int64)) if self._dup_of else []
        sizes = Counter(int(n) + 1 for n in copies if n)
        return {
            "config": asdict(self.cfg),
            "records": self._counts["records"],
            "removed": self._counts["input"] + self._counts["reference"],
            "removed_by_scope": {
                "input": self._counts["input"],
                "reference": self._counts["reference"],
            },
            "duplicate_groups": sum(sizes.values()),
            "group_sizes": {str(k): v for k, v in sorted(sizes.items())},
        }
