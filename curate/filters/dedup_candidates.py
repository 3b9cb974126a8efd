"""LSH buckets → clusters, one band at a time, verifying only the pairs that can still join two clusters.

The clusters are the connected components of the *verified* candidate pairs (records that share a
band key and pass the check of ``Verifier``); a candidate pair whose records are already in one
cluster can never change them, so it is not checked. Per band (its keys read alone from the band
file, sorted, records grouped into buckets):

1. a bucket of more than ``max_bucket`` records is linked as chain + star (each to the next, the
   first to each), as before: those pairs, less the already joined ones, are checked;
2. any other bucket gets up to ``PIVOT_ROUNDS`` pivots: its first record not yet joined to an
   earlier pivot is checked against every record of the bucket it is not joined to;
3. then every pair of the bucket's other records that are still in different clusters is checked.

Step 3 makes the result exact (every candidate pair is checked or already joined: the same
components as checking all pairs), steps 1–2 make it cheap where duplicates are dense: a bucket
of m copies costs m - 1 checks in its first band and none in the next ones, where all pairs cost
m(m-1)/2 per band. Every pair checked is remembered (``Checked``) with its Jaccard, so a pair
colliding in several bands is checked once, and the evidence step reuses the answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from curate.filters import minhash as mh
from curate.filters.dedup_arrays import Verifier
from curate.filters.dedup_unionfind import UnionFind

PIVOT_ROUNDS = 4


@dataclass
class Buckets:
    """One band's records in (key, record) order, buckets of two or more only."""

    members: np.ndarray  # node ids, sorted by (key, node)
    start: np.ndarray  # per member: position of its bucket's first member
    size: np.ndarray  # per member: its bucket's size

    @classmethod
    def of(cls, keys: np.ndarray, nodes: np.ndarray) -> Buckets:
        col = keys[nodes]
        order = np.argsort(col, kind="stable")
        members, col = nodes[order], col[order]
        new = np.ones(len(members), dtype=bool)
        new[1:] = col[1:] != col[:-1]
        starts = np.flatnonzero(new)
        sizes = np.diff(np.r_[starts, len(members)])
        keep = np.repeat(sizes, sizes) >= 2
        members = members[keep]
        return cls.from_sizes(members, sizes[sizes >= 2])

    @classmethod
    def from_sizes(cls, members: np.ndarray, sizes: np.ndarray) -> Buckets:
        return cls(members, np.repeat(np.cumsum(sizes) - sizes, sizes), np.repeat(sizes, sizes))

    def sizes(self) -> np.ndarray:
        """One size per bucket."""
        return self.size[np.flatnonzero(self.rank == 0)]

    @property
    def rank(self) -> np.ndarray:
        return np.arange(len(self.members)) - self.start


class Checked:
    """Every pair that passed the screen, with its Jaccard (exact, or the estimate), as sorted runs
    of pair codes (i * n + j, i < j), merged so that each run is at least twice the next (a few
    runs, each pair re-sorted O(log) times). The pairs the screen drops are not kept (most
    candidates; screening one again is cheap)."""

    def __init__(self, n: int) -> None:
        self.n = np.uint64(max(n, 1))
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def code(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return i.astype(np.uint64) * self.n + j.astype(np.uint64)

    def add(self, codes: np.ndarray, jac: np.ndarray) -> None:
        if len(codes) == 0:
            return
        self.runs.append((codes, jac.astype(np.float32)))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            (c1, j1), (c2, j2) = self.runs.pop(), self.runs.pop()
            self.runs.append((np.r_[c2, c1], np.r_[j2, j1]))
        codes, jac = self.runs[-1]
        order = np.argsort(codes, kind="stable")
        self.runs[-1] = (codes[order], jac[order])

    def lookup(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found, jaccard) per code."""
        found = np.zeros(len(codes), dtype=bool)
        jac = np.full(len(codes), -1.0, dtype=np.float32)
        for run_codes, run_jac in self.runs:
            pos = np.searchsorted(run_codes, codes)
            pos[pos == len(run_codes)] = 0
            hit = run_codes[pos] == codes
            found |= hit
            jac[hit] = run_jac[pos[hit]]
        return found, jac

    def __len__(self) -> int:
        return sum(len(r[0]) for r in self.runs)


@dataclass
class Linker:
    """Checks pairs with ``verify`` and joins the confirmed ones in ``uf``; keeps the edges."""

    uf: UnionFind
    verifier: Verifier
    edges: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    checked: Checked | None = None
    candidates: int = 0  # pairs offered (before the already-joined ones are skipped)
    skipped_joined: int = 0
    skipped_checked: int = 0

    def __post_init__(self) -> None:
        if self.checked is None:
            self.checked = Checked(len(self.uf))

    def link(self, a: np.ndarray, b: np.ndarray) -> None:
        self.candidates += len(a)
        apart = self.uf.find(a) != self.uf.find(b)
        self.skipped_joined += len(a) - int(apart.sum())
        i, j = np.minimum(a[apart], b[apart]), np.maximum(a[apart], b[apart])
        pos, jac = self.verifier.screen(i, j)
        codes = self.checked.code(i[pos], j[pos])
        if self.verifier.exact:  # a pair checked in an earlier band failed then
            seen, _ = self.checked.lookup(codes)
            self.skipped_checked += int(seen.sum())
            pos, codes = pos[~seen], codes[~seen]
            jac = self.verifier.jaccard(i[pos], j[pos])
            self.checked.add(codes, jac)
        ok = self.verifier.confirmed(jac)
        if ok.any():
            i, j, jac = i[pos[ok]], j[pos[ok]], jac[ok]
            self.edges.append((i, j, jac))
            self.uf.union(i, j)


def link_band(buckets: Buckets, linker: Linker, max_bucket: int) -> int:
    """Check what one band's buckets can still join; returns the number of capped buckets."""
    if len(buckets.members) == 0:
        return 0
    members, start, size = buckets.members, buckets.start, buckets.size
    big = size > max_bucket if max_bucket > 0 else np.zeros(len(members), dtype=bool)
    rank = buckets.rank
    if big.any():  # chain (each to the next) + star (the first to each)
        pos = np.flatnonzero(big & (rank > 0))
        linker.link(np.r_[members[pos - 1], members[start[pos]]], np.r_[members[pos], members[pos]])
    small = ~big
    members, start, rank = members[small], start[small], rank[small]
    start = np.arange(len(members)) - rank  # positions within the kept members
    pivot = np.zeros(len(members), dtype=bool)
    for _ in range(PIVOT_ROUNDS):
        if not _pivot_round(members, start, pivot, linker):
            return int(len(np.unique(buckets.start[big])))
    _cross_groups(members, start, pivot, linker)
    return int(len(np.unique(buckets.start[big])))


def _pivot_round(members: np.ndarray, start: np.ndarray, pivot: np.ndarray, linker: Linker) -> bool:
    """One new pivot per bucket that still has a record not joined to any of its pivots."""
    roots = linker.uf.find(members)
    bucket = start
    covered = np.zeros(len(members), dtype=bool)
    if pivot.any():  # records whose root is the root of a pivot of their bucket
        n = np.uint64(len(linker.uf))
        pcodes = np.sort(bucket[pivot].astype(np.uint64) * n + roots[pivot].astype(np.uint64))
        codes = bucket.astype(np.uint64) * n + roots.astype(np.uint64)
        pos = np.searchsorted(pcodes, codes).clip(max=len(pcodes) - 1)
        covered = pcodes[pos] == codes
    eligible = ~pivot & ~covered
    if not eligible.any():
        return False
    pos = np.flatnonzero(eligible)
    first = pos[np.r_[True, bucket[pos][1:] != bucket[pos][:-1]]]  # first eligible per bucket
    # a bucket whose only eligible record is alone among non-pivots has nothing left to check
    pivot_at = np.full(len(members), -1, dtype=np.int64)
    pivot_at[bucket[first]] = first
    new_pivot = pivot_at[bucket]
    partner = (new_pivot >= 0) & ~pivot & (np.arange(len(members)) != new_pivot)
    pivot[first] = True
    if not partner.any():
        return bool(eligible.sum() > len(first))
    q = np.flatnonzero(partner)
    linker.link(members[new_pivot[q]], members[q])
    return True


def _cross_groups(
    members: np.ndarray, start: np.ndarray, pivot: np.ndarray, linker: Linker
) -> None:
    """Every pair of non-pivot records of a bucket that are still in different clusters."""
    rest = np.flatnonzero(~pivot)
    if len(rest) < 2:
        return
    bucket, roots = start[rest], linker.uf.find(members[rest])
    order = np.lexsort((members[rest], roots, bucket))
    nodes, bucket, roots = members[rest][order], bucket[order], roots[order]
    new_bucket = np.r_[True, bucket[1:] != bucket[:-1]]
    new_group = new_bucket | np.r_[True, roots[1:] != roots[:-1]]
    bucket_end = _run_end(new_bucket)
    group_end = _run_end(new_group)
    count = bucket_end - group_end  # partners: the records after my group, within my bucket
    if not count.any():
        return
    left = np.repeat(np.arange(len(nodes)), count)
    right = np.repeat(group_end, count) + mh.ragged_arange(count)
    linker.link(nodes[left], nodes[right])


def _run_end(new: np.ndarray) -> np.ndarray:
    """Per position: the end (exclusive) of the run it belongs to (runs start where ``new``)."""
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(new)]
    return np.repeat(ends, np.diff(np.r_[starts, len(new)]))
