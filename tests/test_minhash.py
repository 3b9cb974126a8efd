"""The vectorised MinHash + LSH path agrees with datasketch, the reference implementation."""

from __future__ import annotations

import functools
import itertools
import random

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from datasketch.lsh import _optimal_param
from test_text import TRICKY as TEXT_TRICKY

from curate.filters import minhash as mh
from curate.filters.dedup_sketch import ShingleSpec, sketch_texts
from curate.filters.dedup_text import WORD_BYTE, word_bytes
from curate.io import read_records
from curate.text import char_shingles, folded_words, word_shingles


def _hashed(shingles: list[tuple[str, ...]], hasher) -> list[tuple[int, ...]]:
    """Token-hash tuples of curate.text's shingles, as datasketch will see them (pure Python)."""
    hasher = functools.cache(hasher)
    return [tuple(map(hasher, s)) for s in shingles]


def _datasketch(shingles: list[tuple[int, ...]], num_perm: int = 128, seed: int = 1) -> MinHash:
    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=mh.shingle_hash32)
    m.update_batch(shingles)
    return m


@pytest.fixture(scope="module")
def toolformer_texts(shared_data) -> list[str]:
    path = shared_data / "gpteacher" / "toolformer.json"
    return [r.text() for r in itertools.islice(read_records(str(path)), 800)]


def test_permutations_are_datasketch_s() -> None:
    a, b = mh.permutations(128, seed=7)
    ref = MinHash(num_perm=128, seed=7).permutations
    assert np.array_equal(a, ref[0]) and np.array_equal(b, ref[1])


def test_word_signatures_equal_datasketch_hashvalues(project_data, toolformer_texts) -> None:
    texts = [r.text() for r in read_records(str(project_data / "samples" / "defects.jsonl"))]
    texts += toolformer_texts[:150] + ["", "two words"]  # empty and shorter-than-n texts too
    sk = sketch_texts(texts, [False] * len(texts), ShingleSpec())
    for k, text in enumerate(texts):
        shingles = _hashed(word_shingles(text, 5), mh.word_hash)
        ref = _datasketch(shingles)
        assert np.array_equal(sk.sig[k], ref.hashvalues), k
        mine = sk.shingles[sk.offsets[k] : sk.offsets[k + 1]]
        assert mine.tolist() == sorted({mh.shingle_hash32(s) for s in shingles})


TRICKY = [*TEXT_TRICKY, "ein " + "a" * 300 + " zwei"]  # and a word longer than a hash block


def test_word_hashes_split_and_hash_like_the_reference(monkeypatch, shared_data) -> None:
    """The byte-level word split equals ``folded_words`` (NFKC, casefold, Unicode punctuation) and the
    vectorised hash equals ``word_hash``, on tricky text and on 3,000 real texts."""
    texts = TRICKY + [
        r.text()
        for r in itertools.islice(
            read_records(str(shared_data / "gpteacher" / "roleplay.json")), 3000
        )
    ]
    assert sum(not t.isascii() for t in texts) > 20  # the non-ASCII path runs on real text
    monkeypatch.setattr(mh, "_POWER_BLOCK", 4096)  # many blocks, and documents longer than one
    data, starts = word_bytes(texts)
    hashes, offsets = mh.word_hashes(data, starts, WORD_BYTE)
    reference: dict[str, int] = {}
    for k, text in enumerate(texts):
        expect = [reference.setdefault(w, mh.word_hash(w)) for w in folded_words(text)]
        assert hashes[offsets[k] : offsets[k + 1]].tolist() == expect, k


def test_char_signatures_equal_datasketch_hashvalues() -> None:
    texts = [
        "机器学习是人工智能的一个分支，它使计算机能够从数据中学习。",
        "日本語の文章です。",
        "猫",
    ]
    sk = sketch_texts(texts, [True] * len(texts), ShingleSpec(char_ngram=3, num_perm=64, seed=3))
    for k, text in enumerate(texts):
        ref = _datasketch(_hashed(char_shingles(text, 3), mh.char_hash), num_perm=64, seed=3)
        assert np.array_equal(sk.sig[k], ref.hashvalues)


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.85])
def test_band_params_equal_datasketch(threshold: float) -> None:
    assert mh.optimal_param(threshold, 128) == _optimal_param(threshold, 128, 0.5, 0.5)
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    assert mh.optimal_param(threshold, 128) == (lsh.b, lsh.r)


@pytest.mark.parametrize("threshold", [0.5, 0.7])
def test_lsh_candidates_equal_datasketch(toolformer_texts, threshold: float) -> None:
    texts = toolformer_texts
    sk = sketch_texts(texts, [False] * len(texts), ShingleSpec())
    bands, rows = mh.optimal_param(threshold, 128)
    i, j, capped = mh.candidate_pairs(mh.band_keys(sk.sig, bands, rows))
    ours = set(zip(i.tolist(), j.tolist(), strict=True))

    lsh = MinHashLSH(num_perm=128, params=(bands, rows))
    minhashes = [_datasketch(_hashed(word_shingles(t, 5), mh.word_hash)) for t in texts]
    with lsh.insertion_session() as session:
        for k, m in enumerate(minhashes):
            session.insert(k, m)
    theirs = {
        (min(k, o), max(k, o)) for k, m in enumerate(minhashes) for o in lsh.query(m) if o != k
    }
    assert capped == 0 and len(ours) > 100  # real candidates, not an empty agreement
    assert ours == theirs


def test_big_bucket_is_capped_to_chain_and_star() -> None:
    keys = np.zeros((50, 2), dtype=np.uint64)  # everyone shares every band
    i, j, capped = mh.candidate_pairs(keys, max_bucket=10)
    assert capped == 2
    pairs = set(zip(i.tolist(), j.tolist(), strict=True))
    assert len(pairs) == 49 + 48  # star (0, k) + chain (k-1, k), (0, 1) counted once
    assert all(a < b for a, b in pairs)


def test_exact_and_estimated_jaccard(toolformer_texts) -> None:
    sk = sketch_texts(toolformer_texts, [False] * len(toolformer_texts), ShingleSpec())
    rng = random.Random(0)
    n = len(toolformer_texts)
    pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(400)] + [(0, 0), (3, 4)]
    i, j = (np.array(x) for x in zip(*pairs, strict=True))
    exact = mh.exact_jaccard(sk.shingles, sk.offsets, i, j)
    assert np.array_equal(exact, mh.exact_jaccard(sk.shingles, sk.offsets, i, j, budget=999))
    est = mh.estimated_jaccard(sk.sig, i, j)
    for (a, b), e, s in zip(pairs, exact, est, strict=True):
        sa = set(sk.shingles[sk.offsets[a] : sk.offsets[a + 1]].tolist())
        sb = set(sk.shingles[sk.offsets[b] : sk.offsets[b + 1]].tolist())
        assert e == pytest.approx(len(sa & sb) / len(sa | sb), abs=1e-6)
        ref_a = MinHash(num_perm=128, hashvalues=sk.sig[a], scheme="affine32")
        ref_b = MinHash(num_perm=128, hashvalues=sk.sig[b], scheme="affine32")
        assert s == pytest.approx(ref_a.jaccard(ref_b), abs=1e-6)


def test_prefilter_screens_like_the_full_estimate(toolformer_texts) -> None:
    sk = sketch_texts(toolformer_texts, [False] * len(toolformer_texts), ShingleSpec())
    i, j, _ = mh.candidate_pairs(mh.band_keys(sk.sig, *mh.optimal_param(0.3, 128)))
    full = mh.estimated_jaccard(sk.sig, i, j)
    coarse = mh.byte_jaccard(mh.low_bytes(sk.sig), i, j)
    assert len(i) > 1000 and np.abs(coarse - full).max() < 0.05
    keep, est = mh.prefilter(sk.sig, i, j, 0.6)
    assert keep.tolist() == np.flatnonzero(full >= 0.6).tolist() and np.array_equal(est, full[keep])


def test_exact_jaccard_with_empty_sets_and_small_batches() -> None:
    shingles = np.array([1, 2, 3, 2, 3, 4, 9], dtype=np.uint32)
    offsets = np.array([0, 3, 3, 6, 7, 7])  # {1,2,3}, {}, {2,3,4}, {9}, {}
    i, j = np.array([0, 0, 1, 2, 3, 1, 4]), np.array([2, 1, 2, 0, 3, 4, 0])
    expect = [0.5, 0.0, 0.0, 0.5, 1.0, 0.0, 0.0]
    for budget in (1, 4, 1 << 18):
        got = mh.exact_jaccard(shingles, offsets, i, j, budget=budget)
        assert got.tolist() == pytest.approx(expect)
