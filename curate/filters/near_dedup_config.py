"""Near dedup's settings: shared by the stage (near_dedup.py) and the incremental index the
generate loop keeps (dedup_index.py), so neither imports the other."""

from __future__ import annotations

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
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"near-dedup: {message}")

    def band_params(self) -> tuple[int, int]:
        if self.bands:
            return self.bands, self.rows
        return mh.optimal_param(round(self.lsh_threshold, 4), self.num_perm)

    def spec(self) -> ShingleSpec:
        return ShingleSpec(
            self.shingle, self.ngram, self.char_ngram, self.lang, self.num_perm, self.seed
        )
