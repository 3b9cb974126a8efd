"""Exact dedup on normalised text: same words after case, space and punctuation folding.

Each field (instruction, input, output; or every chat turn) is normalised (curate.text.normalize:
NFKC, casefold, Unicode punctuation → space, whitespace collapsed) and the fields are hashed
together to a 128-bit xxh3 digest: the stage holds one digest and one id per distinct text, never
the texts. ``keep: first`` streams; ``keep: longest`` holds the records in a RecordSpill for a
second pass. A record equal to a reference item is dropped with scope "reference".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import xxhash

from curate.config import option
from curate.filters.dedup_store import RecordSpill
from curate.filters.dedup_text import record_fields
from curate.filters.stage import Stage, StageContext
from curate.filters.verdict import KEEP, Verdict, drop
from curate.records import Record
from curate.text import normalize

FIELD_SEP = "\x1f"  # fields stay apart: "a b" + "" never equals "a" + "b"


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


def text_digest(rec: Record) -> int:
    """128-bit digest of the record's normalised fields."""
    joined = FIELD_SEP.join(normalize(part) for part in record_fields(rec))
    return xxhash.xxh3_128_intdigest(joined.encode("utf-8"))


class ExactDedupStage(Stage):
    name = "exact-dedup"

    def __init__(self, cfg: ExactDedupConfig, ctx: StageContext | None = None) -> None:
        cfg.validate()
        super().__init__(cfg, ctx)
        self._counts: Counter[str] = Counter()
        self._dups: Counter[int] = Counter()  # digest → dropped copies (duplicates only)

    def _reference_digests(self) -> dict[int, str]:
        seen: dict[int, str] = {}
        for rec in self.ctx.reference_records():
            seen.setdefault(text_digest(rec), rec.id)
        return seen

    def run(self, records: Iterable[Record]) -> Iterator[tuple[Record, Verdict]]:
        reference = self._reference_digests()
        if self.cfg.keep == "longest":
            yield from self._longest(records, reference)
            return
        first: dict[int, str] = {}
        for rec in records:
            digest = text_digest(rec)
            yield rec, self._verdict(rec, digest, reference, first)

    def _verdict(
        self, rec: Record, digest: int, reference: dict[int, str], kept: dict[int, str]
    ) -> Verdict:
        self._counts["records"] += 1
        if digest in reference:
            self._counts["reference"] += 1
            return drop(
                "exact-duplicate", self.name, duplicate_of=reference[digest], scope="reference"
            )
        survivor = kept.get(digest)
        if survivor is None:
            kept[digest] = rec.id
            return KEEP
        self._dups[digest] += 1
        self._counts["input"] += 1
        return drop("exact-duplicate", self.name, duplicate_of=survivor, scope="input")

    def _longest(
        self, records: Iterable[Record], reference: dict[int, str]
    ) -> Iterator[tuple[Record, Verdict]]:
        """Pass 1 finds the longest (then first) record per digest; pass 2 answers in order."""
        spill = RecordSpill(self.cfg.max_in_memory)
        best: dict[int, tuple[int, int, str]] = {}  # digest → (-length, position, id)
        for pos, rec in enumerate(records):
            spill.extend([rec])
            digest = text_digest(rec)
            cand = (-len(rec.text()), pos, rec.id)
            if digest not in best or cand < best[digest]:
                best[digest] = cand
        winners = {digest: (pos, rid) for digest, (_, pos, rid) in best.items()}
        for pos, rec in enumerate(spill):
            digest = text_digest(rec)
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
                self._dups[digest] += 1
                yield rec, drop("exact-duplicate", self.name, duplicate_of=win_id, scope="input")

    def summary(self) -> dict[str, Any]:
        sizes = Counter(n + 1 for n in self._dups.values())
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
