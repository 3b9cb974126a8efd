"""Near dedup at scale: the spill path, the linear candidate step and the union-find arrays.

The reference for every verdict is the all-pairs algorithm the stage used before (every
candidate pair of every band screened and verified, components, then the survivor / most similar
neighbour rule), rebuilt here from minhash.py's own functions.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from curate.filters import dedup_arrays, dedup_evidence
from curate.filters import minhash as mh
from curate.filters.dedup_clusters import decide
from curate.filters.dedup_sketch import sketch_records
from curate.filters.dedup_unionfind import UnionFind
from curate.filters.near_dedup import NearDedupConfig, NearDedupStage
from curate.filters.stage import StageContext
from curate.io import read_records
from curate.records import Record


def _verdicts(stage: NearDedupStage, records: list[Record]) -> list[tuple[str, bool, dict]]:
    return [(r.id, v.keep, v.evidence) for r, v in stage(iter(records))]


def _all_pairs_verdicts(cfg: NearDedupConfig, records: list[Record]) -> list[tuple]:
    """What the stage answered before: every candidate pair verified, then ``decide``."""
    sk = sketch_records(records, cfg.spec())
    keys = mh.band_keys(sk.sig, *cfg.band_params())
    i, j, _ = mh.candidate_pairs(keys, np.diff(sk.offsets) > 0, cfg.max_bucket)
    keep, _ = mh.prefilter(sk.sig, i, j, cfg.threshold - cfg.prefilter_margin, precise=False)
    jac = mh.exact_jaccard(sk.shingles, sk.offsets, i[keep], j[keep])
    ok = jac >= cfg.threshold
    lengths = np.array([len(r.text()) for r in records]) if cfg.keep == "longest" else None
    d = decide(len(records), 0, (i[keep][ok], j[keep][ok], jac[ok]), lengths)
    out = []
    for node, rec in enumerate(records):
        if d.survivor[node] == node:
            out.append((rec.id, True, {}))
            continue
        ev = {
            "duplicate_of": records[int(d.dup_of[node])].id,
            "jaccard": round(float(d.jaccard[node]), 4),
            "scope": "input",
        }
        if int(d.dup_of[node]) != d.survivor[node]:
            ev["survivor"] = records[int(d.survivor[node])].id
        out.append((rec.id, False, ev))
    return out


def _mixed(shared_data: Path, n: int = 2500, seed: int = 3) -> list[Record]:
    """Real records plus lightly edited copies: chains, dense clusters and near misses."""
    path = shared_data / "gpteacher" / "toolformer.json"
    base = [r for _, r in zip(range(600), read_records(str(path)), strict=False)]
    rng = random.Random(seed)
    out = list(base)
    while len(out) < n:
        src = rng.choice(out[: max(len(out) // 2, 50)])
        words = src.output.split()
        for _ in range(rng.randint(0, 4)):
            if words:
                words[rng.randrange(len(words))] = rng.choice(["alpha", "beta", "gamma", "x"])
        out.append(Record(f"copy-{len(out)}", src.instruction, src.input, " ".join(words)))
    return out


@pytest.mark.parametrize(
    "options",
    [{}, {"keep": "longest"}, {"max_bucket": 6}, {"threshold": 0.85, "lsh_threshold": 0.6}],
)
def test_same_verdicts_as_all_pairs_in_memory_and_spilled(
    shared_data: Path, options, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _mixed(shared_data, n=1800)
    want = _all_pairs_verdicts(NearDedupConfig(**options), records)
    assert sum(not keep for _, keep, _ in want) > 300
    assert any("survivor" in ev for _, _, ev in want)  # some are named through a neighbour
    for limit, spilled in (("none", False), ("0", True)):
        if spilled:  # and the evidence scan and the checks in many small blocks
            monkeypatch.setattr(dedup_evidence, "CANDIDATE_BLOCK", 5)
            monkeypatch.setattr(dedup_arrays, "VERIFY_BLOCK", 7)
        stage = NearDedupStage(NearDedupConfig(memory_limit=limit, chunk_size=300, **options))
        assert _verdicts(stage, records) == want
        assert stage.summary()["spilled_to_disk"] is spilled


def test_spill_with_workers_and_a_reference_set(shared_data: Path) -> None:
    records = _mixed(shared_data, n=1500, seed=5)
    ref, inputs = records[:400], records[400:]
    runs = []
    for limit, workers in (("none", 1), ("1KB", 2)):
        ctx = StageContext(reference=lambda: ref, workers=workers)
        cfg = NearDedupConfig(memory_limit=limit, chunk_size=200, max_in_memory=300)
        stage = NearDedupStage(cfg, ctx)
        runs.append(_verdicts(stage, inputs))
        assert stage.summary()["removed_by_scope"]["reference"] > 50
    assert runs[0] == runs[1]


def test_dense_cluster_costs_linear_checks() -> None:
    """m copies of one text (one word changed each): all pairs would be m(m-1)/2 per band."""
    words = [f"w{k}" for k in range(120)]
    m = 1500
    records = []
    for c in range(m):
        text = list(words)
        text[c % 120] = f"edit{c}"
        records.append(Record(f"r{c}", "Summarise the text below.", " ".join(text)))
    stage = NearDedupStage(NearDedupConfig(max_bucket=0))  # no cap: only the linking bounds it
    dropped = [r for r, v in stage(records) if not v.keep]
    s = stage.summary()
    assert len(dropped) == m - 1 and s["largest_cluster"] == m
    assert s["verified_pairs_checked"] <= 2 * m  # all pairs: over 1.1 million
    assert s["candidate_pairs"] <= s["bands"] * m
    cfg = NearDedupConfig(max_bucket=0)
    sk = sketch_records(records, cfg.spec())
    keys = mh.band_keys(sk.sig, *cfg.band_params())
    sizes = np.concatenate([np.unique(col, return_counts=True)[1] for col in keys.T])
    every = int((sizes * (sizes - 1) // 2).sum())  # the pairs sharing a band, over the bands
    assert every > 100 * s["verified_pairs_checked"]


def test_union_find_arrays_match_connected_components() -> None:
    rng = np.random.default_rng(7)
    n = 5000
    for edges in (0, 10, 2000, 6000):
        i, j = rng.integers(0, n, edges), rng.integers(0, n, edges)
        uf = UnionFind(n)
        for part in np.array_split(np.arange(edges), 4):  # in batches, like the bands
            uf.union(i[part], j[part])
        labels = uf.labels()
        graph = coo_matrix((np.ones(edges, np.int8), (i, j)), shape=(n, n))
        ref = connected_components(graph, directed=False)[1]
        # same partition; each component named by its smallest node
        assert len(np.unique(labels)) == len(np.unique(ref))
        pairs = np.unique(np.c_[labels, ref], axis=0)
        assert len(pairs) == len(np.unique(ref))
        first = np.full(n, n)
        np.minimum.at(first, ref, np.arange(n))
        assert np.array_equal(labels, first[ref])
        assert labels.dtype == np.int64


def test_memory_limit_values_and_temp_files_closed(shared_data: Path) -> None:
    assert NearDedupConfig(memory_limit="2GB").memory_bytes() == 2 << 30
    assert NearDedupConfig(memory_limit="none").memory_bytes() is None
    assert 0 < NearDedupConfig().memory_bytes() <= 512 << 20  # auto
    with pytest.raises(ValueError, match="memory_limit"):
        NearDedupConfig(memory_limit="lots").validate()
    records = _mixed(shared_data, n=800)
    fds = len(os.listdir("/proc/self/fd"))
    stage = NearDedupStage(NearDedupConfig(memory_limit="0"))
    assert sum(not v.keep for _, v in stage(records)) > 100
    assert len(os.listdir("/proc/self/fd")) == fds  # every spill file closed (and so deleted)

    def broken():  # the input fails half way (a bad disk, a killed reader)
        yield from records[:400]
        raise OSError("input went away")

    with pytest.raises(OSError, match="went away"):
        list(NearDedupStage(NearDedupConfig(memory_limit="0", chunk_size=100))(broken()))
    assert len(os.listdir("/proc/self/fd")) == fds
