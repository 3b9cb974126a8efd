"""The two whole-input stages on Ray Data: exact dedup and near dedup (the batch work is in
dedup_batches.py; this file wires it into datasets and decides on the driver).

Each returns the run's dataset with its drops applied (``batches.apply_drops``) and the stage's
meter. Only small things come to the driver: the exact duplicates, and the verified near-duplicate
pairs (with their ids) for the union-find; candidates are made distinct and verified inside Ray.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict
from typing import Any

import numpy as np

from curate.engines.batches import apply_drops
from curate.engines.dedup_batches import (
    band_batch,
    bucket_group,
    digest_batch,
    exact_group,
    exact_verdict,
    near_drops,
    sketch_batch,
    unique_pairs,
    verify_batch,
)
from curate.filters.stage import StageMeter

VERIFIED = ["i", "j", "jac", "len_i", "len_j", "id_i", "id_j"]


def _numpy(ds: Any, columns: list[str]) -> dict[str, np.ndarray]:
    """Columns of a (small) dataset on the driver, concatenated."""
    parts: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    for batch in ds.select_columns(columns).iter_batches(batch_format="numpy", batch_size=None):
        for c in columns:
            parts[c].append(np.asarray(batch[c]))
    return {c: np.concatenate(v) if v else np.zeros(0) for c, v in parts.items()}


def _apply(ds: Any, seqs: list[int], verdicts: list[bytes]) -> Any:
    order = np.argsort(np.array(seqs, dtype=np.int64), kind="stable")
    sorted_seqs = np.array(seqs, dtype=np.int64)[order]
    sorted_verdicts = [verdicts[k] for k in order.tolist()]
    return ds.map_batches(
        apply_drops,
        batch_format="pyarrow",
        fn_kwargs={"seqs": sorted_seqs, "verdicts": sorted_verdicts},
    ).materialize()


def _meter(name: str, records_in: int, reasons: Counter[str], seconds: float) -> StageMeter:
    meter = StageMeter(name)
    meter.records_in = records_in
    meter.rejected = reasons
    meter.kept = records_in - sum(reasons.values())
    meter.seconds = seconds
    return meter


def exact_dedup(ds: Any, cfg: Any, reference: dict[int, str], parts: int) -> tuple[Any, StageMeter]:
    t0 = time.perf_counter()
    longest = cfg.exact_dedup.keep == "longest"
    digests = ds.map_batches(
        digest_batch, batch_format="pyarrow", fn_kwargs={"parts": parts, "longest": longest}
    ).materialize()
    records_in = digests.count()
    columns = ["seq", "duplicate_of", "scope", "winner"]
    drops = digests.groupby("part", num_partitions=parts).map_groups(
        exact_group, batch_format="numpy", fn_kwargs={"reference": reference}
    )
    empty = {c: np.zeros(0, dtype=object if c == "duplicate_of" else np.int64) for c in columns}
    got = _numpy(drops, columns) if records_in else empty  # no rows: no schema to group by
    verdicts = [
        exact_verdict(str(dup), int(scope))
        for dup, scope in zip(got["duplicate_of"].tolist(), got["scope"].tolist(), strict=True)
    ]
    ds = _apply(ds, got["seq"].astype(np.int64).tolist(), verdicts)
    scope = got["scope"].astype(np.int8)
    meter = _meter("exact-dedup", records_in, Counter({"exact-duplicate": len(scope)}), 0.0)
    meter.seconds = time.perf_counter() - t0
    copies = Counter(got["winner"][scope == 0].tolist())  # survivor → dropped copies
    sizes = Counter(n + 1 for n in copies.values())
    meter.summary = {
        "config": asdict(cfg.exact_dedup),
        "records": records_in,
        "removed": len(scope),
        "removed_by_scope": {"input": int((scope == 0).sum()), "reference": int(scope.sum())},
        "duplicate_groups": sum(sizes.values()),
        "group_sizes": {str(k): v for k, v in sorted(sizes.items())},
    }
    if not len(scope):
        meter.rejected = Counter()
    return ds, meter


_NO_PAIRS = {k: np.zeros(0, dtype=np.int64) for k in [*VERIFIED, "counts", "checked", "capped"]}


def _candidates(sk: Any, nd: Any, parts: int) -> dict[str, np.ndarray]:
    """The verified duplicate pairs (plus one row of counts per verified batch): band keys
    partitioned by key, pairs per partition, made distinct, joined to both sides, verified."""
    bands, rows = nd.band_params()
    band_args = {"bands": bands, "rows": rows, "num_perm": nd.num_perm, "parts": parts}
    keys = sk.map_batches(band_batch, batch_format="pyarrow", fn_kwargs=band_args)
    pairs = keys.groupby("part", num_partitions=parts).map_groups(
        bucket_group, batch_format="numpy", fn_kwargs={"max_bucket": nd.max_bucket, "parts": parts}
    )
    pairs = pairs.groupby("part", num_partitions=parts).map_groups(
        unique_pairs, batch_format="numpy"
    )
    pairs = pairs.materialize()
    if pairs.count() == 0:  # a join needs rows to know its schema
        return _NO_PAIRS
    side = ["node", "sig", "sh", "length", "id"]
    left = sk.select_columns(side).rename_columns(
        dict(zip(side, ["i", "sig_i", "sh_i", "len_i", "id_i"], strict=True))
    )
    right = sk.select_columns(side).rename_columns(
        dict(zip(side, ["j", "sig_j", "sh_j", "len_j", "id_j"], strict=True))
    )
    joined = pairs.join(left, "inner", parts, on=("i",)).join(right, "inner", parts, on=("j",))
    checked = joined.map_batches(verify_batch, batch_format="pyarrow", fn_kwargs={"cfg": nd})
    return _numpy(checked, [*VERIFIED, "counts", "checked", "capped"])


def near_dedup(ds: Any, ref_ds: Any, n_ref: int, cfg: Any, parts: int) -> tuple[Any, StageMeter]:
    t0 = time.perf_counter()
    nd = cfg.near_dedup
    longest = nd.keep == "longest"
    bands, rows = nd.band_params()
    sketch_args = {"spec": nd.spec(), "n_ref": n_ref, "longest": longest}
    sources = [ds] if ref_ds is None else [ref_ds, ds]
    sketches = [
        s.map_batches(sketch_batch, batch_format="pyarrow", fn_kwargs=sketch_args) for s in sources
    ]
    sk = (sketches[0] if len(sketches) == 1 else sketches[0].union(sketches[1])).materialize()
    chars = _numpy(sk, ["char"])["char"]  # one pass: how many, and how many char-shingled
    n_nodes, char_docs = len(chars), int(chars.sum())
    got = _candidates(sk, nd, parts) if n_nodes > 1 else _NO_PAIRS
    t1 = time.perf_counter()
    dup = got["i"] >= 0  # the other rows count a batch's candidates
    verified = {k: np.asarray(got[k])[dup] for k in VERIFIED}
    for k in ("i", "j", "len_i", "len_j"):
        verified[k] = verified[k].astype(np.int64)
    seqs, verdicts, d, nodes = near_drops(verified, n_ref, longest)
    ds = _apply(ds, seqs, verdicts)
    records_in = n_nodes - n_ref
    meter = _meter(
        "near-dedup", records_in, Counter({"near-duplicate": len(seqs)}) if seqs else Counter(), 0.0
    )
    dense, d_ref = np.arange(len(nodes)), int(np.searchsorted(nodes, n_ref))
    by_ref = int(((d.survivor != dense) & (dense >= d_ref) & (d.survivor < d_ref)).sum())
    sizes = d.cluster_sizes
    t2 = time.perf_counter()
    meter.seconds = t2 - t0
    meter.summary = {
        "config": asdict(nd),
        "records": records_in,
        "reference_records": n_ref,
        "removed": len(seqs),
        "removed_by_scope": {"input": len(seqs) - by_ref, "reference": by_ref},
        "char_shingled_records": char_docs,
        "bands": bands,
        "rows": rows,
        "candidate_pairs": int(got["counts"].sum()),
        "verified_pairs_checked": int(got["checked"].sum()),
        "duplicate_pairs": int(dup.sum()),
        "capped_buckets": int(got["capped"].sum()),
        "clusters": int(sum(sizes.values())),
        "largest_cluster": max(sizes, default=0),
        "cluster_sizes": {str(k): v for k, v in sorted(sizes.items())},
        "engine": "ray",
        "seconds": {"in_ray": round(t1 - t0, 3), "union_find_on_driver": round(t2 - t1, 3)},
    }
    return ds, meter
