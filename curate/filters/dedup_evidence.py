"""Who a dropped record names as its duplicate, found without the full list of verified pairs.

The rule (dedup_clusters.py) names the survivor when the record and its survivor are a verified
pair, else the record's most similar verified neighbour (ties: the first). The clusters come from
dedup_candidates.py, which skips pairs already joined, so that list is not at hand; instead, per
dropped record: (1) is (record, survivor) a candidate pair (a shared band key, under the same
``max_bucket`` rule) that passes the check? — one pair per record, read from the band files;
(2) only for the records where it is not, every candidate pair of the record is checked and the
best kept, band by band in blocks of bounded size. Same answers as the full list, at a cost
linear in the dropped records plus (2).
"""

from __future__ import annotations

import numpy as np

from curate.filters import minhash as mh
from curate.filters.dedup_arrays import DedupArrays
from curate.filters.dedup_candidates import Buckets, Linker


def name_duplicates(
    survivor: np.ndarray,
    nodes: np.ndarray,
    arrays: DedupArrays,
    linker: Linker,
    max_bucket: int,
    capped_bands: set[int],
) -> tuple[np.ndarray, np.ndarray, int]:
    """(dup_of, jaccard) per node (-1 / 0 for survivors and nodes not asked about), and how many
    records needed the scan of all their candidates."""
    n = len(survivor)
    dup_of = np.full(n, -1, dtype=np.int64)
    jaccard = np.zeros(n, dtype=np.float32)
    x = nodes[survivor[nodes] != nodes]
    if len(x) == 0:
        return dup_of, jaccard, 0
    s = survivor[x]
    candidate = np.zeros(len(x), dtype=bool)
    for k in range(len(arrays.keys)):
        keys = arrays.keys[k].array()  # read where needed, not copied whole
        same = keys[x] == keys[s]
        if k in capped_bands and same.any():
            same &= _allowed(_buckets(arrays, k), x, s, max_bucket, n)
        candidate |= same
    q = np.flatnonzero(candidate)
    jac = _jaccards(linker, np.minimum(x[q], s[q]), np.maximum(x[q], s[q]))
    ok = linker.verifier.confirmed(jac)
    dup_of[x[q[ok]]] = s[q[ok]]
    jaccard[x[q[ok]]] = jac[ok]
    rest = x[dup_of[x] < 0]
    if len(rest):
        best, sim = _best_neighbours(rest, arrays, linker, max_bucket, n)
        found = best >= 0
        dup_of[rest[found]], jaccard[rest[found]] = best[found], sim[found]
    return dup_of, jaccard, len(rest)


CANDIDATE_BLOCK = 1 << 18  # candidate pairs checked together: bounds the scan's memory


def _jaccards(linker: Linker, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Jaccard of each pair (i < j) by the verifier's rule, from the checks already made where
    there is one; -1 for a pair the screen drops."""
    codes = linker.checked.code(i, j)
    found, jac = linker.checked.lookup(codes)
    todo = np.flatnonzero(~found)
    pos, fresh = linker.verifier.check(i[todo], j[todo])
    jac[todo[pos]] = fresh
    linker.checked.add(codes[todo[pos]], fresh)  # the next band or block may ask again
    return jac


def _buckets(arrays: DedupArrays, k: int) -> Buckets:
    """Band k's buckets as the linking step wrote them (no second sort)."""
    return Buckets.from_sizes(arrays.bucket_members[k].array(), arrays.bucket_sizes[k].array())


def _positions(buckets: Buckets, n: int) -> np.ndarray:
    pos = np.full(n, -1, dtype=np.int64)
    pos[buckets.members] = np.arange(len(buckets.members))
    return pos


def _allowed(b: Buckets, x: np.ndarray, s: np.ndarray, max_bucket: int, n: int) -> np.ndarray:
    """Whether (x, s), known to share the key, is a candidate: in a capped bucket only the chain
    (neighbours in order) and the star (the first member with each) are."""
    pos = _positions(b, n)
    px, ps = pos[x], pos[s]
    ok = np.zeros(len(x), dtype=bool)
    live = (px >= 0) & (ps >= 0)
    px, ps = px[live], ps[live]
    small = b.size[px] <= max_bucket
    first = (px == b.start[px]) | (ps == b.start[ps])
    ok[live] = small | first | (np.abs(px - ps) == 1)
    return ok


def _best_neighbours(
    rest: np.ndarray, arrays: DedupArrays, linker: Linker, max_bucket: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each record of ``rest`` (sorted): its most similar verified neighbour (ties: the
    first), -1 where it has none, and the Jaccard. Band by band, in blocks of at most
    ``CANDIDATE_BLOCK`` candidate pairs, keeping a running best per record: memory stays flat
    however large the buckets (a pair colliding in several bands is answered from ``Checked``
    after its first check)."""
    best = np.full(len(rest), -1, dtype=np.int64)
    best_sim = np.full(len(rest), -1.0, dtype=np.float32)
    for k in range(len(arrays.keys)):
        b = _buckets(arrays, k)
        p = _positions(b, n)[rest]
        slots = np.flatnonzero(p >= 0)
        if len(slots) == 0:
            continue
        p = p[slots]
        start, size = b.start[p], b.size[p]
        whole = (size <= max_bucket) | (p == start) if max_bucket > 0 else np.ones(len(p), bool)
        cost = np.where(whole, size, 3)  # a capped bucket: the first member and two neighbours
        ends = np.cumsum(cost)
        lo = 0
        while lo < len(p):
            hi = max(lo + 1, int(np.searchsorted(ends, ends[lo] - cost[lo] + CANDIDATE_BLOCK)))
            part = slice(lo, hi)
            a, c = _candidates(b, p[part], start[part], size[part], whole[part])
            slot = np.searchsorted(rest, a)
            _keep_best(slot, c, _pair_jaccards(linker, a, c), best, best_sim, linker)
            lo = hi
    return best, best_sim


def _candidates(
    b: Buckets, p: np.ndarray, start: np.ndarray, size: np.ndarray, whole: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(record, candidate) node pairs of the members at positions ``p`` of band ``b``: every
    other member of an uncapped bucket; in a capped one (not its first member) the first member
    and the neighbours in order."""
    count = np.where(whole, size, 0)
    mates = [np.repeat(start, count) + mh.ragged_arange(count)]
    src = [np.repeat(p, count)]
    part = np.flatnonzero(~whole)
    for other in (start[part], p[part] - 1, p[part] + 1):
        inside = (other >= start[part]) & (other < start[part] + size[part])
        mates.append(other[inside])
        src.append(p[part][inside])
    a, c = b.members[np.concatenate(src)], b.members[np.concatenate(mates)]
    return a[a != c], c[a != c]


def _pair_jaccards(linker: Linker, a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The verifier's Jaccard of each pair (a, c), each distinct pair computed once."""
    codes = linker.checked.code(np.minimum(a, c), np.maximum(a, c))
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    first = np.ones(len(codes), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    unique = ordered[first]
    inverse = np.empty(len(codes), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    i = (unique // linker.checked.n).astype(np.int64)
    j = (unique % linker.checked.n).astype(np.int64)
    return _jaccards(linker, i, j)[inverse]


def _keep_best(
    slot: np.ndarray,
    c: np.ndarray,
    jac: np.ndarray,
    best: np.ndarray,
    best_sim: np.ndarray,
    linker: Linker,
) -> None:
    """Fold verified pairs (record slot, candidate c) into the running best: the highest
    Jaccard, ties the smallest candidate."""
    ok = linker.verifier.confirmed(jac)
    slot, c, jac = slot[ok], c[ok], jac[ok]
    if len(slot) == 0:
        return
    pick = np.lexsort((c, -jac, slot))
    first = pick[np.r_[True, slot[pick][1:] != slot[pick][:-1]]]
    slot, c, jac = slot[first], c[first], jac[first]
    had = best[slot]
    better = (had < 0) | (jac > best_sim[slot]) | ((jac == best_sim[slot]) & (c < had))
    best[slot[better]], best_sim[slot[better]] = c[better], jac[better]
