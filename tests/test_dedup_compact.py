"""The compact holding areas of the dedup stages: ids as packed bytes, digests in sorted runs."""

from __future__ import annotations

import random

import numpy as np

from curate.filters.dedup_digests import DigestIndex, split
from curate.filters.dedup_store import IdStore
from curate.filters.exact_dedup import ExactDedupConfig, ExactDedupStage
from curate.records import Record


def test_id_store_gives_back_every_id_as_it_was() -> None:
    ids = ["a", "", "syn-12", "日本語-1", "emoji-🙂", "lone-\ud800-surrogate", "x" * 300]
    store = IdStore()
    store.extend(ids[:3])
    store.extend(iter(ids[3:]))
    assert len(store) == len(ids)
    assert [store[i] for i in range(len(ids))] == ids


def _digest(hi: int, lo: int) -> bytes:
    return hi.to_bytes(8, "big") + lo.to_bytes(8, "big")


def test_digest_index_matches_a_dict_over_many_batches() -> None:
    rng = random.Random(0)
    pool = [rng.getrandbits(128).to_bytes(16, "big") for _ in range(3000)]
    index, truth = DigestIndex(), {}
    for _ in range(40):
        batch = [rng.choice(pool) for _ in range(200)]
        hi, lo = split(batch)
        got = index.lookup(hi, lo).tolist()
        assert got == [truth.get(d, -1) for d in batch]
        fresh = list(dict.fromkeys(d for d in batch if d not in truth))
        for d in fresh:
            truth[d] = len(truth)
        fhi, flo = split(fresh) if fresh else (np.zeros(0, np.uint64), np.zeros(0, np.uint64))
        index.add(fhi, flo, np.array([truth[d] for d in fresh], dtype=np.int64))
    assert len(index) == len(truth)
    assert len(index.runs) <= 12  # merged: a few runs, not one per batch


def test_digests_sharing_their_high_half_are_told_apart() -> None:
    same_hi = [_digest(7, lo) for lo in (5, 1, 9)]
    index = DigestIndex()
    index.add(*split(same_hi), np.array([10, 11, 12]))
    index.add(*split([_digest(3, 1)]), np.array([13]))
    probe = [*same_hi, _digest(7, 2), _digest(3, 1), _digest(8, 5)]
    assert index.lookup(*split(probe)).tolist() == [10, 11, 12, -1, 13, -1]


def test_exact_dedup_names_the_first_copy_across_batches(monkeypatch) -> None:
    monkeypatch.setattr("curate.filters.exact_dedup.BATCH", 3)
    texts = ["a", "b", "a", "c", "B", "d", "a", "c", "e"]
    recs = [Record(instruction=t, output="o", id=f"r{i}") for i, t in enumerate(texts)]
    stage = ExactDedupStage(ExactDedupConfig())
    got = [(r.id, v.keep, v.evidence.get("duplicate_of")) for r, v in stage.run(recs)]
    assert got == [
        ("r0", True, None),
        ("r1", True, None),
        ("r2", False, "r0"),
        ("r3", True, None),
        ("r4", False, "r1"),
        ("r5", True, None),
        ("r6", False, "r0"),
        ("r7", False, "r3"),
        ("r8", True, None),
    ]
    assert stage.summary()["group_sizes"] == {"2": 2, "3": 1}


def test_read_ranges_same_in_memory_and_spilled() -> None:
    from curate.filters.dedup_store import ArrayLog

    rng = np.random.default_rng(3)
    flat = rng.integers(0, 1 << 32, 1000, dtype=np.uint64).astype(np.uint32)
    rows = rng.integers(0, 1 << 60, (50, 4), dtype=np.uint64)
    starts = np.array([0, 5, 9, 9, 40, 41, 500, 998])
    ends = np.array([5, 9, 9, 12, 41, 44, 777, 1000])  # touching and empty ranges too
    want = np.concatenate([flat[a:b] for a, b in zip(starts, ends, strict=True)])
    picks = np.array([1, 2, 3, 17, 49])
    for spilled in (False, True):
        log, wide = ArrayLog(np.uint32), ArrayLog(np.uint64, (4,))
        if not spilled:
            log, wide = (
                ArrayLog(np.uint32, budget=_NoBudget()),
                ArrayLog(np.uint64, (4,), _NoBudget()),
            )
        for part in np.array_split(flat, 7):
            log.append(part)
        wide.append(rows)
        assert log.on_disk is spilled
        assert np.array_equal(log.read_ranges(starts, ends), want)
        assert np.array_equal(wide.read_ranges(picks, picks + 1), rows[picks])
        log.close()
        wide.close()


class _NoBudget:
    def grew(self, nbytes: int) -> None:
        pass
