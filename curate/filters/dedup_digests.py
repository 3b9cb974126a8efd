"""128-bit text digests → int64 values in sorted numpy runs: what exact dedup remembers per text.

A Python dict of int digest → id costs ~200 bytes an entry; here an entry is 24 bytes (the
digest's high and low halves and a value), looked up a batch at a time with ``searchsorted``.
New digests arrive as one sorted run per batch; runs are merged whenever the older one is not at
least twice the newer, so there are O(log n) runs and each digest is re-sorted O(log n) times
(the scheme of dedup_candidates.Checked).
"""

from __future__ import annotations

import numpy as np

Run = tuple[np.ndarray, np.ndarray, np.ndarray]  # hi, lo (uint64, sorted by hi then lo), value


def split(digests: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The high and low 64 bits of each 16-byte big-endian digest, as native uint64 arrays."""
    both = np.frombuffer(b"".join(digests), dtype=">u8").reshape(-1, 2).astype(np.uint64)
    return both[:, 0].copy(), both[:, 1].copy()


class DigestIndex:
    def __init__(self) -> None:
        self.runs: list[Run] = []

    def __len__(self) -> int:
        return sum(len(run[0]) for run in self.runs)

    def lookup(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """The value stored for each digest, -1 where there is none."""
        out = np.full(len(hi), -1, dtype=np.int64)
        for run_hi, run_lo, run_val in self.runs:
            pos = np.searchsorted(run_hi, hi).clip(max=len(run_hi) - 1)
            same_hi = run_hi[pos] == hi
            hit = same_hi & (run_lo[pos] == lo)
            out[hit] = run_val[pos[hit]]
            for k in np.flatnonzero(same_hi & ~hit):  # two digests sharing 64 bits: ~never
                p = int(pos[k]) + 1
                while p < len(run_hi) and run_hi[p] == hi[k]:
                    if run_lo[p] == lo[k]:
                        out[k] = run_val[p]
                        break
                    p += 1
        return out

    def add(self, hi: np.ndarray, lo: np.ndarray, values: np.ndarray) -> None:
        """Remember digests not in the index yet (distinct) with their values."""
        if len(hi) == 0:
            return
        self.runs.append(_sorted((hi, lo, np.asarray(values, dtype=np.int64))))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            newer, older = self.runs.pop(), self.runs.pop()
            merged = tuple(np.concatenate(cols) for cols in zip(older, newer, strict=True))
            self.runs.append(_sorted(merged))


def _sorted(run: tuple[np.ndarray, ...]) -> Run:
    hi, lo, values = run
    order = np.lexsort((lo, hi))
    return hi[order], lo[order], values[order]
