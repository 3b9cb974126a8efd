"""The dedup stages as functions over batches and partitions (no Ray here; ray_dedup.py runs them).

Exact dedup: ``digest_batch`` hashes each live record (``exact_dedup.text_digest``, the local
stage's digest); rows are partitioned by digest, and ``exact_group`` decides each partition: the
first (or longest, then first) record of a digest survives, a digest an --against item has is
dropped whole, exactly the local stage's rules.

Near dedup, the local stage's steps (minhash.py, dedup_clusters.py) cut at the shuffles:
``sketch_batch`` (shingles and signature per record, ``dedup_sketch.sketch_records``) →
``band_batch`` (LSH band keys as int64: uint64 keys >= 2^63 do not sort as Arrow int64) →
partitioned by key, ``bucket_group`` pairs each partition's buckets with ``minhash.candidate_pairs``
(numpy, per band; never a per-key groupby) → joined to both sides' sketches, ``verify_batch``
screens and verifies each pair as the local stage does → ``near_drops`` clusters the verified
pairs with ``dedup_clusters.decide`` on the driver. Nodes are ``seq + n_ref`` (reference items
first, then input order), so "first seen" is the same node order as the local stage's.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.engines.batches import PICKLE, live_rows
from curate.filters import minhash as mh
from curate.filters.dedup_clusters import Decisions, decide
from curate.filters.dedup_sketch import ShingleSpec, sketch_records
from curate.filters.exact_dedup import text_digest
from curate.filters.verdict import drop
from curate.records import Record

U64_MASK = (1 << 64) - 1


def _int64(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.uint64).view(np.int64)


# ---------------------------------------------------------------- exact dedup


def digest_batch(batch: pa.Table, parts: int, longest: bool) -> pa.Table:
    """seq, id, 128-bit digest (hi, lo as int64), length and partition of every live record."""
    pos, rows = live_rows(batch)
    recs = [Record(*row) for row in rows]
    digests = [text_digest(rec) for rec in recs]
    hi = np.array([d >> 64 for d in digests], dtype=np.uint64)
    lo = np.array([d & U64_MASK for d in digests], dtype=np.uint64)
    lengths = [len(rec.text()) for rec in recs] if longest else [0] * len(recs)
    return pa.table(
        {
            "seq": batch.column("seq").take(pa.array(pos, pa.int64())),
            "id": pa.array([rec.id for rec in recs], pa.string()),
            "hi": _int64(hi),
            "lo": _int64(lo),
            "length": np.array(lengths, dtype=np.int64),
            "part": (hi % np.uint64(parts)).astype(np.int64),
        }
    )


def exact_group(group: dict[str, np.ndarray], reference: dict[int, str]) -> dict[str, Any]:
    """One partition's drops: seq, duplicate_of, scope (1: reference), and the survivor's seq."""
    seq, hi, lo = group["seq"], group["hi"], group["lo"]
    ids, length = group["id"], group["length"]
    order = np.lexsort((seq, -length, lo, hi))
    hi_o, lo_o = hi[order], lo[order]
    new = np.r_[True, (hi_o[1:] != hi_o[:-1]) | (lo_o[1:] != lo_o[:-1])]
    winner = order[np.flatnonzero(new)[np.cumsum(new) - 1]]  # per sorted row: its group's first
    out: dict[str, list[Any]] = {"seq": [], "duplicate_of": [], "scope": [], "winner": []}
    for k, w in zip(order.tolist(), winner.tolist(), strict=True):
        digest = (int(hi[k]) & U64_MASK) << 64 | (int(lo[k]) & U64_MASK)
        ref = reference.get(digest) if reference else None
        if ref is None and k == w:
            continue
        out["seq"].append(int(seq[k]))
        out["duplicate_of"].append(ref if ref is not None else str(ids[w]))
        out["scope"].append(1 if ref is not None else 0)
        out["winner"].append(-1 if ref is not None else int(seq[w]))
    return {
        "seq": np.array(out["seq"], dtype=np.int64),
        "duplicate_of": np.array(out["duplicate_of"], dtype=object),
        "scope": np.array(out["scope"], dtype=np.int8),
        "winner": np.array(out["winner"], dtype=np.int64),
    }


def exact_verdict(duplicate_of: str, scope: int) -> bytes:
    where = "reference" if scope else "input"
    return pickle.dumps(
        drop("exact-duplicate", "exact-dedup", duplicate_of=duplicate_of, scope=where), PICKLE
    )


# ---------------------------------------------------------------- near dedup


def sketch_batch(batch: pa.Table, spec: ShingleSpec, n_ref: int, longest: bool) -> pa.Table:
    """Per live record: node, id, signature and sorted shingle hashes (bytes), text length, and
    whether it was shingled by characters."""
    pos, rows = live_rows(batch)
    recs = [Record(*row) for row in rows]
    sk = sketch_records(recs, spec)
    sizes = np.diff(sk.offsets)
    shingles = [
        sk.shingles[a:b].tobytes() for a, b in zip(sk.offsets[:-1], sk.offsets[1:], strict=True)
    ]
    return pa.table(
        {
            "node": batch.column("seq").take(pa.array(pos, pa.int64())).to_numpy() + n_ref,
            "id": pa.array([rec.id for rec in recs], pa.string()),
            "sig": pa.array([row.tobytes() for row in sk.sig], pa.binary()),
            "sh": pa.array(shingles, pa.binary()),
            "size": sizes.astype(np.int64),
            "length": np.array([len(r.text()) if longest else 0 for r in recs], dtype=np.int64),
            "char": np.array(spec.char_flags(recs), dtype=np.int8),
        }
    )


def _sig(blobs: list[bytes], num_perm: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, num_perm), dtype=np.uint32)
    return np.frombuffer(b"".join(blobs), dtype=np.uint32).reshape(len(blobs), num_perm)


def band_batch(batch: pa.Table, bands: int, rows: int, num_perm: int, parts: int) -> pa.Table:
    """One row per (record, band) of the records with shingles: node, band, key (int64), part."""
    valid = batch.column("size").to_numpy() > 0
    node = batch.column("node").to_numpy()[valid]
    sig = _sig(batch.column("sig").filter(pa.array(valid)).to_pylist(), num_perm)
    keys = mh.band_keys(sig, bands, rows)  # (records × bands) uint64
    return pa.table(
        {
            "node": np.repeat(node, bands),
            "band": np.tile(np.arange(bands, dtype=np.int16), len(node)),
            "key": _int64(keys.ravel()),
            "part": (keys.ravel() % np.uint64(parts)).astype(np.int64),
        }
    )


def bucket_group(
    group: dict[str, np.ndarray], max_bucket: int, parts: int
) -> dict[str, np.ndarray]:
    """Candidate pairs (i < j, as nodes) of one partition's buckets, band by band, as
    ``minhash.candidate_pairs`` pairs one band's; with the pair's partition for ``unique_pairs``
    and the capped buckets counted in the first row."""
    order = np.lexsort((group["node"], group["key"], group["band"]))
    band, key, node = group["band"][order], group["key"][order], group["node"][order]
    starts = np.flatnonzero(np.r_[True, band[1:] != band[:-1]])
    ends = np.r_[starts[1:], len(band)]
    i_parts, j_parts, capped = [], [], 0
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        li, lj, c = mh.candidate_pairs(key[a:b, None], None, max_bucket)
        i_parts.append(node[a:b][li])
        j_parts.append(node[a:b][lj])
        capped += c
    i = np.concatenate(i_parts).astype(np.int64) if i_parts else np.zeros(0, np.int64)
    j = np.concatenate(j_parts).astype(np.int64) if j_parts else np.zeros(0, np.int64)
    counts = np.zeros(len(i), dtype=np.int64)
    if len(i):
        counts[0] = capped
    mixed = mh.fmix64(i.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) ^ j.astype(np.uint64))
    return {"i": i, "j": j, "capped": counts, "part": (mixed % np.uint64(parts)).astype(np.int64)}


def unique_pairs(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A partition's distinct pairs (a pair shares buckets in several bands); the capped count
    summed into the first row."""
    i, j = group["i"], group["j"]
    n = int(j.max(initial=0)) + 1
    code = np.unique(i * n + j)
    capped = np.zeros(len(code), dtype=np.int64)
    if len(code):
        capped[0] = int(group["capped"].sum())
    return {"i": code // n, "j": code % n, "capped": capped}


def verify_batch(batch: pa.Table, cfg: Any) -> pa.Table:
    """Each candidate pair screened and verified as the local stage does (its ``_pairs``); the
    duplicates come out, with one more row (i = -1) that counts the batch's candidates, the pairs
    checked and the capped buckets."""
    m = batch.num_rows
    sig = _sig(batch.column("sig_i").to_pylist() + batch.column("sig_j").to_pylist(), cfg.num_perm)
    blobs = batch.column("sh_i").to_pylist() + batch.column("sh_j").to_pylist()
    shingles = np.frombuffer(b"".join(blobs), dtype=np.uint32)
    offsets = mh.offsets_of([len(b) // 4 for b in blobs])
    li, lj = np.arange(m, dtype=np.int64), np.arange(m, 2 * m, dtype=np.int64)
    if cfg.verify == "estimate":
        dup, jac = mh.prefilter(sig, li, lj, cfg.threshold)
        checked = len(dup)
    else:
        keep, _ = mh.prefilter(sig, li, lj, cfg.threshold - cfg.prefilter_margin, precise=False)
        jac = mh.exact_jaccard(shingles, offsets, li[keep], lj[keep])
        checked = len(keep)
        ok = jac >= cfg.threshold
        dup, jac = keep[ok], jac[ok]
    take = pa.array(dup, pa.int64())
    capped = int(pc.sum(batch.column("capped")).as_py() or 0)
    return pa.table(
        {
            "i": np.r_[batch.column("i").take(take).to_numpy(), -1],
            "j": np.r_[batch.column("j").take(take).to_numpy(), -1],
            "jac": np.r_[np.asarray(jac, dtype=np.float64), 0.0],
            "len_i": np.r_[batch.column("len_i").take(take).to_numpy(), 0],
            "len_j": np.r_[batch.column("len_j").take(take).to_numpy(), 0],
            "id_i": pa.array([*batch.column("id_i").take(take).to_pylist(), ""], pa.string()),
            "id_j": pa.array([*batch.column("id_j").take(take).to_pylist(), ""], pa.string()),
            "counts": np.r_[np.zeros(len(dup), np.int64), m],
            "checked": np.r_[np.zeros(len(dup), np.int64), checked],
            "capped": np.r_[np.zeros(len(dup), np.int64), capped],
        }
    )


def near_drops(
    pairs: dict[str, np.ndarray], n_ref: int, longest: bool
) -> tuple[list[int], list[bytes], Decisions, np.ndarray]:
    """Clusters of the verified pairs (``dedup_clusters.decide``, over the nodes that have a pair
    only: a node without one is a cluster of one, kept) → each dropped input record's seq and
    pickled verdict, as the local stage's evidence; and the decisions with their nodes."""
    i, j = pairs["i"], pairs["j"]
    if not len(i):
        return (
            [],
            [],
            Decisions(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32), {}),
            np.zeros(0, np.int64),
        )
    nodes = np.unique(np.r_[i, j])
    di, dj = np.searchsorted(nodes, i), np.searchsorted(nodes, j)
    ids = np.empty(len(nodes), dtype=object)
    ids[di], ids[dj] = pairs["id_i"], pairs["id_j"]
    lengths = None
    if longest:
        lengths = np.zeros(len(nodes), dtype=np.int64)
        lengths[di], lengths[dj] = pairs["len_i"], pairs["len_j"]
    d_ref = int(np.searchsorted(nodes, n_ref))
    d = decide(len(nodes), d_ref, (di, dj, pairs["jac"]), lengths)
    dense = np.arange(len(nodes))
    dropped = np.flatnonzero((d.survivor != dense) & (dense >= d_ref))  # a reference: not output
    ids = ids.tolist()
    survivors, dups = d.survivor[dropped].tolist(), d.dup_of[dropped].tolist()
    sims = [round(x, 4) for x in d.jaccard[dropped].astype(np.float64).tolist()]  # as local
    seqs = (nodes[dropped] - n_ref).tolist()
    verdicts = []
    for survivor, dup_of, sim in zip(survivors, dups, sims, strict=True):
        evidence: dict[str, Any] = {
            "duplicate_of": ids[dup_of],
            "jaccard": sim,
            "scope": "reference" if survivor < d_ref else "input",
        }
        if dup_of != survivor:
            evidence["survivor"] = ids[survivor]
        verdicts.append(
            pickle.dumps(drop("near-duplicate", stage="near-dedup", **evidence), PICKLE)
        )
    return seqs, verdicts, d, nodes
