"""MinHash + LSH near-duplicate detection, vectorised with numpy, in one file.

The steps, each a function below:

1. **shingles** — a record's normalised words (or characters, for languages written without
   spaces) are hashed once each to 64 bits; word n-grams are combined from those hashes with
   numpy (``Σ token_j · C_j`` then a 64-bit finaliser), giving one 32-bit hash per distinct shingle.
   A text shorter than n tokens is one shingle of all its tokens.
2. **signatures** — datasketch's ``affine32`` scheme, reproduced exactly: each shingle hash h is
   pre-mixed with the MurmurHash3 32-bit finaliser, permuted as ``a_k·h + b_k mod 2^32`` with
   datasketch's own ``a``/``b`` (``numpy.random.RandomState(seed)``), and the minimum per record and
   permutation kept. ``MinHash(num_perm, seed, hashfunc=shingle_hash32)`` gives the same hashvalues
   (tests/test_minhash.py).
3. **bands** — ``b`` bands of ``r`` rows chosen like datasketch's ``MinHashLSH`` (minimise the
   weighted false-positive + false-negative area under the S-curve); each band becomes a 64-bit key.
4. **candidates** — records sharing a band key, found by sorting the keys (no hash tables); the same
   pairs as ``MinHashLSH.query`` (tested). A bucket larger than ``max_bucket`` is linked as a chain
   plus a star on its first member, so a pathological bucket cannot blow up quadratically.
5. **verify** — the Jaccard of candidate pairs, estimated from signatures (share of equal
   minima) and, by default, computed exactly on the shingle-hash sets with one sort per batch.
6. **clusters** — connected components of the verified pairs (union-find, via scipy's csgraph).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import xxhash
from scipy.integrate import quad
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

U32 = np.uint32
U64 = np.uint64
MASK64 = (1 << 64) - 1
MAX_HASH32 = U32(0xFFFFFFFF)


# ---------------------------------------------------------------- hashing primitives


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


# One odd multiplier per n-gram position, plus one for the shingle's length.
_POS_MULT = [_splitmix64(j) | 1 for j in range(64)]
_LEN_MULT = _splitmix64(1000) | 1


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser (a bijection that avalanches every bit)."""
    h = h ^ (h >> U64(33))
    h = h * U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> U64(33))
    h = h * U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> U64(33))


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, as datasketch's affine32 scheme applies it."""
    h = h ^ (h >> U32(16))
    h = h * U32(0x85EBCA6B)
    h = h ^ (h >> U32(13))
    h = h * U32(0xC2B2AE35)
    return h ^ (h >> U32(16))


def _fmix64_int(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK64
    return h ^ (h >> 33)


def word_hash(word: str) -> int:
    return xxhash.xxh3_64_intdigest(word.encode("utf-8"))


def char_hash(char: str) -> int:
    return _fmix64_int(ord(char) + 0x9E3779B97F4A7C15 & MASK64)


def shingle_hash32(token_hashes: tuple[int, ...] | list[int]) -> int:
    """The 32-bit hash of one shingle from its tokens' 64-bit hashes (pure-Python reference)."""
    acc = len(token_hashes) * _LEN_MULT
    for j, t in enumerate(token_hashes):
        acc += t * _POS_MULT[j]
    return _fmix64_int(acc & MASK64) >> 32


# ---------------------------------------------------------------- 1. shingles


def word_token_hashes(docs: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Flat uint64 token hashes and offsets (len(docs)+1) for lists of words.

    Each distinct word is hashed once per call; the rest is a C-level dict lookup per token.
    """
    flat = [w for doc in docs for w in doc]
    table = {w: word_hash(w) for w in dict.fromkeys(flat)}
    hashes = np.fromiter(map(table.__getitem__, flat), dtype=U64, count=len(flat))
    return hashes, offsets_of([len(doc) for doc in docs])


def char_token_hashes(docs: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Flat uint64 hashes of every character (code point) of each string, and offsets."""
    cps = np.frombuffer("".join(docs).encode("utf-32-le"), dtype=U32).astype(U64)
    hashes = fmix64(cps + U64(0x9E3779B97F4A7C15))
    return hashes, offsets_of([len(doc) for doc in docs])


def offsets_of(lengths: list[int] | np.ndarray) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` for integers by sort + mask (numpy 2.3's ``unique`` is ~20× slower here)."""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def ragged_arange(counts: np.ndarray) -> np.ndarray:
    """[0..c0-1, 0..c1-1, ...] for counts c."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


def ngram_hashes(tokens: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct 32-bit shingle hashes per document, flat, with offsets.

    The n-grams of each document's token hashes (never crossing documents); a document with
    0 < m < n tokens has one shingle of its m tokens; an empty one has none.
    """
    m = np.diff(offsets)
    full = m >= n
    # n-grams at every position of the flat token array (slices, no gathers), then the valid ones
    span = max(len(tokens) - n + 1, 0)
    acc = np.full(span, U64(n * _LEN_MULT & MASK64), dtype=U64)
    for j in range(n):
        acc += tokens[j : j + span] * U64(_POS_MULT[j])
    count = np.where(full, m - n + 1, 0)
    doc = [np.repeat(np.arange(len(m), dtype=np.int64), count)]
    combined = [acc[np.repeat(offsets[:-1], count) + ragged_arange(count)]]
    short = np.flatnonzero((m > 0) & ~full)
    if len(short):  # one shingle of all m < n tokens
        doc.append(short)
        combined.append(_short_shingles(tokens, offsets[short], m[short]))
    h32 = fmix64(np.concatenate(combined)) >> U64(32)
    keyed = sorted_unique(
        (np.concatenate(doc).astype(U64) << U64(32)) | h32
    )  # by (doc, hash), distinct
    per_doc = np.bincount((keyed >> U64(32)).astype(np.int64), minlength=len(m))
    return (keyed & U64(0xFFFFFFFF)).astype(U32), offsets_of(per_doc)


def _short_shingles(tokens: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    acc = lengths.astype(U64) * U64(_LEN_MULT)
    for j in range(int(lengths.max())):
        has = lengths > j
        acc[has] += tokens[starts[has] + j] * U64(_POS_MULT[j])
    return acc


# ---------------------------------------------------------------- 2. signatures


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters (a odd, b), bit for bit."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=U32) * U32(2) + U32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint64).astype(U32)
    return a, b


def signatures(
    shingles: np.ndarray, offsets: np.ndarray, num_perm: int = 128, seed: int = 1
) -> np.ndarray:
    """(documents × num_perm) uint32 MinHash signatures; an empty document gets all 0xFFFFFFFF.

    Computed as (perms × shingles) blocks so that the per-document minimum runs along contiguous
    memory (``np.minimum.reduceat`` on the last axis: ~5× faster than the transposed layout).
    """
    a, b = permutations(num_perm, seed)
    n_docs = len(offsets) - 1
    sig = np.full((num_perm, n_docs), MAX_HASH32, dtype=U32)
    counts = np.diff(offsets)
    mixed = fmix32(shingles)
    block = 1 << 16  # shingles per block: the (perms × shingles) matrix stays ~32 MB
    lo = 0
    while lo < n_docs:
        hi = int(np.searchsorted(offsets, offsets[lo] + block, side="right")) - 1
        hi = min(max(hi, lo + 1), n_docs)
        nonempty = np.flatnonzero(counts[lo:hi]) + lo
        if len(nonempty):
            s0, s1 = int(offsets[lo]), int(offsets[hi])
            perm = np.multiply.outer(a, mixed[s0:s1])
            perm += b[:, None]
            sig[:, nonempty] = np.minimum.reduceat(perm, offsets[nonempty] - s0, axis=1)
        lo = hi
    return np.ascontiguousarray(sig.T)


# ---------------------------------------------------------------- 3. bands


def _fp_area(threshold: float, b: int, r: int) -> float:
    return quad(lambda s: 1 - (1 - s ** float(r)) ** float(b), 0.0, threshold)[0]


def _fn_area(threshold: float, b: int, r: int) -> float:
    return quad(lambda s: 1 - (1 - (1 - s ** float(r)) ** float(b)), threshold, 1.0)[0]


@lru_cache(maxsize=64)
def optimal_param(
    threshold: float, num_perm: int, weights: tuple[float, float] = (0.5, 0.5)
) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false-positive + false-negative areas.

    The same grid search as datasketch's ``MinHashLSH`` (``lsh._optimal_param``).
    """
    best, opt = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            err = weights[0] * _fp_area(threshold, b, r) + weights[1] * _fn_area(threshold, b, r)
            if err < best:
                best, opt = err, (b, r)
    return opt


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(documents × bands) uint64 keys; two documents share a key iff (bar 2^-64) the band is equal."""
    keys = np.zeros((sig.shape[0], bands), dtype=U64)
    for k in range(bands):
        acc = np.full(sig.shape[0], U64(_splitmix64(k)), dtype=U64)
        for c in range(k * rows, (k + 1) * rows):
            acc = fmix64(acc ^ sig[:, c].astype(U64))
        keys[:, k] = acc
    return keys


# ---------------------------------------------------------------- 4. candidates


def candidate_pairs(
    keys: np.ndarray, valid: np.ndarray | None = None, max_bucket: int = 0
) -> tuple[np.ndarray, np.ndarray, int]:
    """Distinct pairs (i < j) of documents that share a band key in any band.

    ``valid`` masks out documents that must never be candidates (empty texts). With
    ``max_bucket`` > 0, a bucket of more members is linked as chain + star instead of all pairs.
    Returns (i, j, number of capped buckets).
    """
    n = keys.shape[0]
    docs = np.arange(n, dtype=np.int64) if valid is None else np.flatnonzero(valid)
    codes, capped = [], 0
    for k in range(keys.shape[1]):
        col = keys[docs, k]
        order = np.argsort(col, kind="stable")
        members, sorted_keys = docs[order], col[order]
        new = np.ones(len(members), dtype=bool)
        new[1:] = sorted_keys[1:] != sorted_keys[:-1]
        group = np.cumsum(new) - 1
        size = np.bincount(group)[group]
        codes_k, capped_k = _bucket_pairs(members, group, size, n, max_bucket)
        codes.append(codes_k)
        capped += capped_k
    if not codes:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    unique = sorted_unique(np.concatenate(codes))
    return unique // n, unique % n, capped


def _bucket_pairs(
    members: np.ndarray, group: np.ndarray, size: np.ndarray, n: int, max_bucket: int
) -> tuple[np.ndarray, int]:
    """Pair codes i*n+j (i < j) of one band's buckets.

    Members are sorted by key, then by document order (stable sort), so within a bucket the left
    member of every pair is the earlier document.
    """
    group_start = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    rank = np.arange(len(members)) - group_start[group]
    big = (size > max_bucket) if max_bucket > 0 else np.zeros(len(members), dtype=bool)
    count = np.where(big, 0, size - 1 - rank)
    left = np.repeat(np.arange(len(members)), count)
    right = left + 1 + ragged_arange(count)
    parts = [members[left] * n + members[right]]
    if big.any():  # chain (each to the next) + star (first to each)
        pos = np.flatnonzero(big & (rank > 0))
        first = group_start[group[pos]]
        parts.append(members[pos - 1] * n + members[pos])
        parts.append(members[first] * n + members[pos])
    capped = len(np.unique(group[big]))
    return np.concatenate(parts), capped


# ---------------------------------------------------------------- 5. verify


def estimated_jaccard(
    sig: np.ndarray, i: np.ndarray, j: np.ndarray, batch: int = 65536
) -> np.ndarray:
    """Share of equal signature minima for each pair (datasketch's ``MinHash.jaccard``)."""
    out = np.empty(len(i), dtype=np.float32)
    for s in range(0, len(i), batch):
        eq = sig[i[s : s + batch]] == sig[j[s : s + batch]]
        out[s : s + batch] = np.count_nonzero(eq, axis=1) / sig.shape[1]
    return out


def prefilter(sig: np.ndarray, i: np.ndarray, j: np.ndarray, cut: float) -> np.ndarray:
    """Indices of the pairs whose estimated Jaccard is >= ``cut``, and those estimates.

    A coarse pass on the low 8 bits of the first 64 minima (a quarter of the memory traffic per
    column; a chance match adds (1 - J)/256) drops the clearly dissimilar pairs first: at 0.2 below
    ``cut`` a pair at ``cut`` + 0.1 is lost with probability ~1e-5. The full comparison runs on few.
    """
    coarse = 64
    if sig.shape[1] >= 2 * coarse:
        head = (sig[:, :coarse] & U32(0xFF)).astype(np.uint8)
        keep = np.flatnonzero(estimated_jaccard(head, i, j) >= cut - 0.2)
    else:
        keep = np.arange(len(i))
    est = estimated_jaccard(sig, i[keep], j[keep])
    ok = est >= cut
    return keep[ok], est[ok]


def exact_jaccard(
    shingles: np.ndarray, offsets: np.ndarray, i: np.ndarray, j: np.ndarray, batch: int = 32768
) -> np.ndarray:
    """Exact Jaccard of the shingle-hash sets of each pair (one sort per batch of pairs)."""
    out = np.empty(len(i), dtype=np.float32)
    for s in range(0, len(i), batch):
        out[s : s + batch] = _exact_batch(shingles, offsets, i[s : s + batch], j[s : s + batch])
    return out


def _exact_batch(
    shingles: np.ndarray, offsets: np.ndarray, i: np.ndarray, j: np.ndarray
) -> np.ndarray:
    """Keys (pair << 32 | hash) are already sorted per side, so one searchsorted counts the overlap."""
    len_i, len_j = offsets[i + 1] - offsets[i], offsets[j + 1] - offsets[j]
    pair = np.arange(len(i), dtype=U64)
    side_i = _keyed(shingles, offsets[i], len_i, pair)
    side_j = _keyed(shingles, offsets[j], len_j, pair)
    pos = np.minimum(np.searchsorted(side_j, side_i), max(len(side_j) - 1, 0))
    hit = side_j[pos] == side_i if len(side_j) else np.zeros(len(side_i), dtype=bool)
    inter = np.bincount((side_i[hit] >> U64(32)).astype(np.int64), minlength=len(i))
    union = len_i + len_j - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def _keyed(
    shingles: np.ndarray, starts: np.ndarray, lengths: np.ndarray, pair: np.ndarray
) -> np.ndarray:
    values = shingles[np.repeat(starts, lengths) + ragged_arange(lengths)].astype(U64)
    return (np.repeat(pair, lengths) << U64(32)) | values


# ---------------------------------------------------------------- 6. clusters


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected-component label per document for the edges (i, j)."""
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    return connected_components(graph, directed=False)[1]
