"""Near dedup's settings: shared by the stage (near_dedup.py) and the incremental index the
generate loop keeps (dedup_index.py), so neither imports the other."""

from __future__ import annotations

import os
from dataclasses import dataclass

from curate.config import option
from curate.filters import minhash as mh
from curate.filters.dedup_sketch import SHINGLE_MODES, ShingleSpec


@dataclass
class NearDedupConfig:
    enabled: bool = option(
        True,
        "Run this stage: keep one record of each cluster of near-duplicates (MinHash + LSH,"
        " candidates verified), drop the others (reason near-duplicate).",
    )
    threshold: float = option(
        0.7,
        "Jaccard similarity (0-1] of two records' shingle sets at or above which they are"
        " near-duplicates.",
        flag="--threshold",
    )
    shingle: str = option(
        "auto",
        "How a text is cut into shingles: word, char, or auto (char for languages written"
        " without spaces: zh, ja, th, ko, my, km, lo …; word otherwise).",
    )
    ngram: int = option(5, "Words per near-dedup shingle (word shingles).", flag="--ngram")
    char_ngram: int = option(5, "Characters per near-dedup shingle (char shingles).")
    lang: str | None = option(
        None, "Language of records that carry none, for shingle: auto; null: the run's lang."
    )
    num_perm: int = option(
        128, "MinHash permutations per signature: more is more precise and slower."
    )
    seed: int = option(1, "Seed of the MinHash permutations.")
    lsh_threshold: float = option(
        0.5,
        "Jaccard (0-1] the LSH bands are tuned for; below threshold so that pairs just above it"
        " are not missed.",
    )
    bands: int = option(0, "LSH bands; 0: bands and rows derived from lsh_threshold.")
    rows: int = option(
        0, "Signature rows per band (bands × rows <= num_perm); 0: derived, set with bands."
    )
    verify: str = option(
        "exact",
        "How candidate pairs are confirmed: exact (Jaccard of the shingle sets) or estimate"
        " (from the signatures, faster, approximate).",
    )
    prefilter_margin: float = option(
        0.1,
        "verify: exact computes the Jaccard only of pairs whose MinHash estimate is at least"
        " threshold minus this.",
    )
    keep: str = option(
        "first",
        "Which duplicate survives: first (in input order) or longest (most text).",
        flag="--keep",
    )
    max_bucket: int = option(
        1000,
        "An LSH bucket of more records is linked as a chain plus a star instead of every pair"
        " (bounds the work on huge clusters).",
    )
    chunk_size: int = option(2048, "Records sketched together (one task per worker process).")
    max_in_memory: int = option(
        100_000,
        "Records held in memory between the two passes; the rest spill to a temp file.",
    )
    memory_limit: str = option(
        "auto",
        "RAM for near-dedup's arrays (shingles, signatures, LSH bands): past it they spill to"
        " temp files, read back one band at a time (same verdicts, bounded memory). A size"
        " (512MB, 2GB), auto (1/8 of the machine's RAM, at most 512MB), none (never spill) or 0"
        " (always spill).",
        flag="--memory-limit",
    )

    def validate(self) -> None:
        """Raise ValueError naming the option at fault."""
        checks = [
            (0.0 < self.threshold <= 1.0, "threshold must be in (0, 1]"),
            (0.0 < self.lsh_threshold <= 1.0, "lsh_threshold must be in (0, 1]"),
            (self.shingle in SHINGLE_MODES, f"shingle must be one of {', '.join(SHINGLE_MODES)}"),
            (self.ngram >= 1 and self.char_ngram >= 1, "ngram and char_ngram must be >= 1"),
            (self.num_perm >= 2, "num_perm must be >= 2"),
            (self.verify in ("exact", "estimate"), "verify must be exact or estimate"),
            (self.keep in ("first", "longest"), "keep must be first or longest"),
            (self.bands * self.rows <= self.num_perm, "bands × rows must be <= num_perm"),
            ((self.bands > 0) == (self.rows > 0), "set both bands and rows, or neither"),
            (self.chunk_size >= 1 and self.max_in_memory >= 1, "chunk_size, max_in_memory >= 1"),
            (_parse_size(self.memory_limit) != -1, _SIZE_HELP),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"near-dedup: {message}")

    def memory_bytes(self) -> int | None:
        """``memory_limit`` in bytes; None: never spill."""
        return _parse_size(self.memory_limit)

    def band_params(self) -> tuple[int, int]:
        if self.bands:
            return self.bands, self.rows
        return mh.optimal_param(round(self.lsh_threshold, 4), self.num_perm)

    def spec(self) -> ShingleSpec:
        return ShingleSpec(
            self.shingle, self.ngram, self.char_ngram, self.lang, self.num_perm, self.seed
        )


_UNITS = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
_SIZE_HELP = "memory_limit must be a size (512MB, 2GB, 0), auto or none"
AUTO_CAP = 512 << 20


def _parse_size(text: object) -> int | None:
    """Bytes of a size like ``2GB``, ``512 MB``, ``0``; None for ``none``; -1 when malformed."""
    value = str(text).strip().upper().replace(" ", "").removesuffix("IB").removesuffix("I")
    if value == "NONE":
        return None
    if value == "AUTO":
        return min(AUTO_CAP, _physical_memory() // 8)
    number = value.rstrip("KMGTB")
    unit = value[len(number) :]
    if unit and not unit.endswith("B"):
        unit += "B"
    try:
        amount = float(number)
    except ValueError:
        return -1
    if unit not in _UNITS or amount < 0:
        return -1
    return int(amount * _UNITS[unit])


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30
