"""What near dedup keeps per record between its passes, as flat arrays (in RAM or spilled to disk).

Pass 1 appends, per chunk: the sorted shingle hashes (``shingles`` + ``sizes``), the screening
signature (the low bytes of the minima packed 8 to a uint64, or the full signature for
``verify: estimate``), one uint64 LSH key per band in a file of its own (so that a band is read
alone), and the text lengths for ``keep: longest``. Every log lives under one ``SpillBudget``:
past ``memory_limit`` they all move to temp files, which ``Screen`` / ``ShingleSets`` map back
per pass and let go afterwards, so the resident set stays what one pass touches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curate.filters import minhash as mh
from curate.filters.dedup_sketch import ShingleSpec, sketch_texts
from curate.filters.dedup_store import ArrayLog, SpillBudget


@dataclass
class ChunkSketch:
    """One chunk's share of the logs (what a worker process sends back)."""

    shingles: np.ndarray  # uint32, sorted and distinct per document, flat
    sizes: np.ndarray  # int64 shingles per document
    screen: np.ndarray  # packed low bytes (documents × width/8 uint64) or full signatures
    keys: np.ndarray  # (documents × bands) uint64
    char_docs: int = 0


def full_signatures(num_perm: int, verify: str) -> bool:
    """Whether screening needs the whole signature (estimate mode, or too few minima to pack)."""
    return verify == "estimate" or num_perm < 8


def sketch_chunk(
    texts: list[str], char_flags: list[bool], spec: ShingleSpec, bands: tuple[int, int], full: bool
) -> ChunkSketch:
    """Shingles, screening signature and band keys of a chunk of texts (what a worker runs)."""
    sk = sketch_texts(texts, char_flags, spec)
    return compact(sk.shingles, sk.offsets, sk.sig, bands, full, sk.char_docs)


def compact(
    shingles: np.ndarray,
    offsets: np.ndarray,
    sig: np.ndarray,
    bands: tuple[int, int],
    full: bool,
    char_docs: int,
) -> ChunkSketch:
    keys = mh.band_keys(sig, *bands)
    screen = sig if full else mh.low_bytes(sig)
    return ChunkSketch(shingles, np.diff(offsets), screen, keys, char_docs)


class DedupArrays:
    def __init__(self, budget: SpillBudget, num_perm: int, bands: int, full: bool) -> None:
        self.budget = budget
        self.full = full
        width = num_perm if full else num_perm // 8
        self.shingles = budget.log(np.uint32)
        self.sizes = budget.log(np.int64)
        self.screen = budget.log(np.uint32 if full else np.uint64, (width,))
        self.keys = [budget.log(np.uint64) for _ in range(bands)]
        self.lengths = budget.log(np.int64)
        # per band, written once its keys are sorted: the members of buckets of 2+ (in key,
        # record order) and the bucket sizes, for the evidence step to read instead of sorting
        self.bucket_members = [budget.log(np.int64) for _ in range(bands)]
        self.bucket_sizes = [budget.log(np.int64) for _ in range(bands)]

    def append(self, chunk: ChunkSketch, lengths: np.ndarray | None) -> None:
        self.shingles.append(chunk.shingles)
        self.sizes.append(chunk.sizes)
        self.screen.append(chunk.screen)
        for k, log in enumerate(self.keys):
            log.append(chunk.keys[:, k])
        if lengths is not None:
            self.lengths.append(lengths)

    @property
    def spilled(self) -> bool:
        return self.budget.spilled

    def offsets(self) -> np.ndarray:
        return mh.offsets_of(self.sizes.array())

    def band(self, k: int) -> np.ndarray:
        return np.array(self.keys[k].array())  # a private copy: the band is sorted and indexed

    def close(self) -> None:
        self.budget.close()


VERIFY_BLOCK = 16384  # pairs checked together (rows read together when spilled)


class Verifier:
    """Screens pairs on their signatures, then confirms them (exact Jaccard by default).

    The rule is the one every pair gets, wherever it is checked: screened at ``threshold -
    prefilter_margin`` on the packed low bytes then exact Jaccard >= ``threshold`` (``verify:
    exact``), or the signature estimate >= ``threshold`` (``verify: estimate``). Pairs go in
    blocks of ``VERIFY_BLOCK``; when the arrays are spilled, each block reads just the rows its
    pairs need (``ArrayLog.read_ranges``), so the resident set never holds the files.
    """

    def __init__(
        self, arrays: DedupArrays, offsets: np.ndarray, threshold: float, margin: float, exact: bool
    ) -> None:
        self.arrays = arrays
        self.offsets = offsets
        self.threshold, self.margin, self.exact = threshold, margin, exact
        self.screened = 0  # pairs screened on signatures
        self.checked = 0  # pairs whose exact Jaccard was computed (or estimate, verify: estimate)

    def check(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (into i, j) of the pairs that passed the screen, and their Jaccard (float32);
        a pair is confirmed where that Jaccard is >= ``threshold`` (``confirmed``)."""
        keep, est = self.screen(i, j)
        if not self.exact:
            return keep, est
        return keep, self.jaccard(i[keep], j[keep])

    def screen(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the pairs that pass the signature screen (and the estimate)."""
        self.screened += len(i)
        if len(i) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        keeps, ests = [], []
        for lo in range(0, len(i), VERIFY_BLOCK):
            keep, est = self._screen(i[lo : lo + VERIFY_BLOCK], j[lo : lo + VERIFY_BLOCK])
            keeps.append(keep + lo)
            ests.append(est)
        keep, est = np.concatenate(keeps), np.concatenate(ests)
        if not self.exact:
            self.checked += len(keep)
        return keep, est

    def _screen(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        log = self.arrays.screen
        if log.on_disk:  # read the block's rows only
            rows, i, j = _local(i, j)
            screen = log.read_ranges(rows, rows + 1)
        else:
            screen = log.array()
        if not self.exact:
            return mh.prefilter(screen, i, j, self.threshold)
        cut = self.threshold - self.margin
        if self.arrays.full:  # fewer than 8 minima: screened on the full estimate
            return mh.prefilter(screen, i, j, cut, precise=False)
        return _byte_screen(screen, i, j, cut)

    def jaccard(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Exact Jaccard of screened pairs (verify: exact)."""
        self.checked += len(i)
        out = np.empty(len(i), dtype=np.float32)
        log = self.arrays.shingles
        for lo in range(0, len(i), VERIFY_BLOCK):
            a, b = i[lo : lo + VERIFY_BLOCK], j[lo : lo + VERIFY_BLOCK]
            if not log.on_disk:
                out[lo : lo + len(a)] = mh.exact_jaccard(log.array(), self.offsets, a, b)
                continue
            rows, a, b = _local(a, b)  # read the block's shingle sets only
            starts, ends = self.offsets[rows], self.offsets[rows + 1]
            offsets = np.r_[0, np.cumsum(ends - starts)]
            shingles = log.read_ranges(starts, ends)
            out[lo : lo + len(a)] = mh.exact_jaccard(shingles, offsets, a, b)
        return out

    def confirmed(self, jac: np.ndarray) -> np.ndarray:
        return jac >= self.threshold


def _local(i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of the pairs (sorted), and each side as a position among them."""
    rows = mh.sorted_unique(np.r_[i, j])
    return rows, np.searchsorted(rows, i), np.searchsorted(rows, j)


def _byte_screen(
    screen: np.ndarray, i: np.ndarray, j: np.ndarray, cut: float
) -> tuple[np.ndarray, np.ndarray]:
    """``minhash.prefilter(sig, i, j, cut, precise=False)`` on already packed low bytes."""
    est = mh.byte_jaccard(screen, i, j)
    keep = np.flatnonzero(est >= cut)
    return keep, est[keep]


__all__ = ["ArrayLog", "ChunkSketch", "DedupArrays", "Verifier", "full_signatures", "sketch_chunk"]
