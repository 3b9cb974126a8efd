"""Who a dropped record names as its duplicate, found without the full list of verified pairs.

The rule (dedup_clusters.py) names the survivor when the record and its survivor are a verified
pair, else the record's most similar verified neighbour (ties: the first). The clusters come from
dedup_candidates.py, which skips pairs already joined, so that list is not at hand; instead, per
dropped record: (1) is (record, survivor) a candidate pair (a shared band key, under the same
``max_bucket`` rule) that passes the check? — one pair per record, read from the band files;
(2) only for the records where it is not, every candidate pair of the record is checked and the
best kept. Same answers as the full list, at a cost linear in the dropped records plus (2).
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
    valid = np.flatnonzero(arrays.sizes.array() > 0)
    candidate = np.zeros(len(x), dtype=bool)
    for k in range(len(arrays.keys)):
        keys = arrays.band(k)
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
    for lo in range(0, len(rest), REST_BLOCK):  # in blocks: their candidate lists stay small
        block = rest[lo : lo + REST_BLOCK]
        src, dst, sim = _best_neighbours(block, arrays, valid, linker, max_bucket, n)
        dup_of[src], jaccard[src] = dst, sim
    return dup_of, jaccard, len(rest)


REST_BLOCK = 4096  # records whose candidates are scanned together


def _jaccards(linker: Linker, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Jaccard of each pair (i < j) by the verifier's rule, from the checks already made where
    there is one; -1 for a pair the screen drops."""
    codes = linker.checked.code(i, j)
    found, jac = linker.checked.lookup(codes)
    todo = np.flatnonzero(~found)
    pos, fresh = linker.verifier.check(i[todo], j[todo])
    jac[todo[pos]] = fresh
    if linker.verifier.exact:  # the next block may ask again
        linker.checked.add(codes[todo[pos]], fresh)
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
    rest: np.ndarray,
    arrays: DedupArrays,
    valid: np.ndarray,
    linker: Linker,
    max_bucket: int,
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each record of ``rest``: its most similar verified neighbour (ties: the first)."""
    found: list[np.ndarray] = []
    for k in range(len(arrays.keys)):
        b = _buckets(arrays, k)
        p = _positions(b, n)[rest]
        p = p[p >= 0]
        if len(p) == 0:
            continue
        start, size = b.start[p], b.size[p]
        whole = (size <= max_bucket) | (p == start) if max_bucket > 0 else np.ones(len(p), bool)
        count = np.where(whole, size, 0)
        mates = [np.repeat(start, count) + mh.ragged_arange(count)]
        src = [np.repeat(p, count)]
        part = np.flatnonzero(~whole)  # capped, not first: the first member and the neighbours
        for other in (start[part], p[part] - 1, p[part] + 1):
            inside = (other >= start[part]) & (other < start[part] + size[part])
            mates.append(other[inside])
            src.append(p[part][inside])
        a, c = b.members[np.concatenate(src)], b.members[np.concatenate(mates)]
        a, c = a[a != c], c[a != c]
        found.append(mh.sorted_unique(linker.checked.code(np.minimum(a, c), np.maximum(a, c))))
    codes = mh.sorted_unique(np.concatenate(found))
    i = (codes // linker.checked.n).astype(np.int64)
    j = (codes % linker.checked.n).astype(np.int64)
    jac = _jaccards(linker, i, j)
    ok = linker.verifier.confirmed(jac)
    i, j, jac = i[ok], j[ok], jac[ok]
    in_rest = np.zeros(n, dtype=bool)
    in_rest[rest] = True
    a = np.r_[i[in_rest[i]], j[in_rest[j]]]  # each side that asked, to the other
    c = np.r_[j[in_rest[i]], i[in_rest[j]]]
    sim = np.r_[jac[in_rest[i]], jac[in_rest[j]]]
    pick = np.lexsort((c, -sim, a))
    first = pick[np.r_[True, a[pick][1:] != a[pick][:-1]]] if len(pick) else pick
    return a[first], c[first], sim[first]
