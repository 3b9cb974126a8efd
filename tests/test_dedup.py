"""Exact and near dedup stages on the planted-defects sample and small real texts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate.filters import exact_dedup, near_dedup
from curate.filters.dedup_store import RecordSpill
from curate.filters.exact_dedup import ExactDedupConfig, ExactDedupStage, text_digest
from curate.filters.near_dedup import NearDedupConfig, NearDedupIndex, NearDedupStage
from curate.filters.stage import StageContext
from curate.io import read_records
from curate.records import Record
from curate.text import normalize


@pytest.fixture(scope="module")
def defects(project_data: Path) -> list[Record]:
    return list(read_records(str(project_data / "samples" / "defects.jsonl")))


@pytest.fixture(scope="module")
def expected(project_data: Path) -> dict[str, str]:
    return json.loads((project_data / "samples" / "defects.expected.json").read_text())


@pytest.fixture
def spills(monkeypatch: pytest.MonkeyPatch) -> list[RecordSpill]:
    """Every RecordSpill the dedup stages create, kept to check that records really went to disk."""
    made: list[RecordSpill] = []

    class Recorded(RecordSpill):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    for module in (exact_dedup, near_dedup):
        monkeypatch.setattr(module, "RecordSpill", Recorded)
    return made


def _dropped(stage, records) -> dict[str, dict]:
    out = list(stage(records))
    assert [r.id for r, _ in out] == [r.id for r in records]  # every record once, in order
    return {r.id: dict(v.evidence, reason=v.reason, stage=v.stage) for r, v in out if not v.keep}


def test_normalize_folds_case_space_and_unicode_punctuation() -> None:
    assert normalize("  Hello,\tWORLD!! ") == normalize("hello world") == "hello world"
    assert normalize("¡Hola, MUNDO! ¿Qué tal?") == "hola mundo qué tal"
    assert normalize("ＡＢＣ１２３") == "abc123"  # NFKC full-width
    assert normalize("你好，世界。") == "你好 世界"
    assert normalize("नमस्ते, दुनिया।") == "नमस्ते दुनिया"  # vowel signs kept, danda folded
    assert normalize("Straße") == normalize("STRASSE")  # casefold, not lower
    a = Record("a", "Say  hi!", output="Hi.")
    b = Record("b", "say hi", output="hi")
    c = Record("c", "say", input="hi", output="hi")
    assert text_digest(a) == text_digest(b) != text_digest(c)  # fields stay apart


def test_exact_dedup_catches_planted_exact_duplicates(defects, expected) -> None:
    stage = ExactDedupStage(ExactDedupConfig())
    dropped = _dropped(stage, defects)
    assert set(dropped) == {k for k, v in expected.items() if v == "exact-duplicate"}
    assert dropped["exact-dup-1"]["duplicate_of"] == "clean-02"
    assert dropped["exact-dup-2"] == {
        "duplicate_of": "clean-11",
        "scope": "input",
        "reason": "exact-duplicate",
        "stage": "exact-dedup",
    }
    assert stage.summary()["removed"] == 2


def test_exact_dedup_keep_longest_and_reference(spills: list[RecordSpill]) -> None:
    recs = [
        Record("short", "Name a fruit", output="Apple"),
        Record("long", "NAME a fruit!", output="apple."),
    ]
    want = {
        "short": {
            "duplicate_of": "long",
            "scope": "input",
            "reason": "exact-duplicate",
            "stage": "exact-dedup",
        }
    }
    assert _dropped(ExactDedupStage(ExactDedupConfig(keep="longest")), recs) == want
    assert [s.spilled for s in spills] == [0]  # the default keeps both in memory
    spilling = ExactDedupConfig(keep="longest", max_in_memory=1)
    assert _dropped(ExactDedupStage(spilling), recs) == want
    assert spills[1].spilled == 2  # both records went through the temp file
    ref = [Record("ref-1", "name a fruit", output="APPLE")]
    dropped = _dropped(
        ExactDedupStage(ExactDedupConfig(), StageContext(reference=lambda: ref)), recs
    )
    assert {k: v["scope"] for k, v in dropped.items()} == {
        "short": "reference",
        "long": "reference",
    }


def test_near_dedup_catches_planted_near_duplicates(defects, expected) -> None:
    stage = NearDedupStage(NearDedupConfig())
    dropped = _dropped(stage, defects)
    assert dropped["near-dup-1"]["duplicate_of"] == "clean-03"
    assert dropped["near-dup-2"]["duplicate_of"] == "clean-07"
    for rid in ("near-dup-1", "near-dup-2"):
        assert dropped[rid]["reason"] == expected[rid] == "near-duplicate"
        assert dropped[rid]["scope"] == "input" and 0.7 <= dropped[rid]["jaccard"] < 1.0
    # exact duplicates are near duplicates too (Jaccard 1); nothing else is touched
    assert set(dropped) == {"near-dup-1", "near-dup-2", "exact-dup-1", "exact-dup-2"}
    summary = stage.summary()
    assert summary["removed"] == 4 and summary["cluster_sizes"] == {"2": 4}
    json.dumps(summary)


def test_near_dedup_is_deterministic_and_estimate_mode_agrees(defects) -> None:
    runs = [
        [(r.id, v) for r, v in NearDedupStage(NearDedupConfig())(defects)],
        [(r.id, v) for r, v in NearDedupStage(NearDedupConfig())(defects)],
    ]
    assert runs[0] == runs[1]
    est = _dropped(NearDedupStage(NearDedupConfig(verify="estimate")), defects)
    assert set(est) == {"near-dup-1", "near-dup-2", "exact-dup-1", "exact-dup-2"}


def test_near_dedup_keep_longest(defects) -> None:
    dropped = _dropped(NearDedupStage(NearDedupConfig(keep="longest")), defects)
    # the near-dup copies are longer ("heavily" > "deeply", "modest yet" > "small but")
    assert dropped["clean-03"]["duplicate_of"] == "near-dup-1"
    assert dropped["clean-07"]["duplicate_of"] == "near-dup-2"
    assert "near-dup-1" not in dropped and dropped["exact-dup-2"]["duplicate_of"] == "clean-11"


def test_near_dedup_against_reference(defects) -> None:
    by_id = {r.id: r for r in defects}
    reference = [by_id["clean-03"], by_id["clean-07"]]
    inputs = [r for r in defects if r.id not in ("clean-03", "clean-07")]
    stage = NearDedupStage(NearDedupConfig(), StageContext(reference=lambda: reference))
    out = list(stage(inputs))
    assert [r.id for r, _ in out] == [r.id for r in inputs]  # reference items are never output
    dropped = {r.id: v.evidence for r, v in out if not v.keep}
    assert dropped["near-dup-1"]["scope"] == dropped["near-dup-2"]["scope"] == "reference"
    assert dropped["near-dup-1"]["duplicate_of"] == "clean-03"
    assert stage.summary()["removed_by_scope"] == {"input": 2, "reference": 2}


def test_char_shingles_for_languages_without_spaces() -> None:
    zh = "机器学习是人工智能的一个重要分支，它让计算机能够从大量数据中自动学习规律并做出预测。"
    ja = "東京は日本の首都であり、世界で最も人口の多い都市圏の一つとして知られています。"
    recs = [
        Record("zh-1", zh, lang="zh"),
        Record("zh-2", zh.replace("重要", "主要"), lang="zh-CN"),
        Record("ja-1", ja, lang="ja"),
        Record("ja-2", ja.replace("知られています", "知られる"), lang="ja"),
    ]
    stage = NearDedupStage(NearDedupConfig())
    dropped = _dropped(stage, recs)
    assert dropped["zh-2"]["duplicate_of"] == "zh-1" and dropped["ja-2"]["duplicate_of"] == "ja-1"
    assert stage.summary()["char_shingled_records"] == 4
    # as words, each sentence is one or two "words": the one-character edit hides the copy
    assert _dropped(NearDedupStage(NearDedupConfig(shingle="word")), recs) == {}
    # a configured lang decides for records without one
    plain = [Record(r.id, r.instruction) for r in recs]
    assert set(_dropped(NearDedupStage(NearDedupConfig(lang="zh")), plain)) == {"zh-2", "ja-2"}


def test_spill_and_workers_yield_every_record_once(
    shared_data: Path, spills: list[RecordSpill]
) -> None:
    path = shared_data / "gpteacher" / "toolformer.json"
    records = [r for _, r in zip(range(1500), read_records(str(path)), strict=False)]
    ref = NearDedupStage(NearDedupConfig())
    expect = [(r.id, v) for r, v in ref(records)]
    assert sum(not v.keep for _, v in expect) > 10  # real near-duplicates in toolformer
    cfg = NearDedupConfig(chunk_size=200, max_in_memory=300)
    spilled = [(r.id, v) for r, v in NearDedupStage(cfg, StageContext(workers=2))(iter(records))]
    assert spills[0].spilled == 0 and spills[1].spilled > 300  # pass 2 read records from disk
    assert spilled == expect


def test_incremental_index(defects) -> None:
    by_id = {r.id: r for r in defects}
    pool = [r for r in defects if r.id.startswith("clean-")]
    index = NearDedupIndex(NearDedupConfig(), pool[:5])  # clean-01 … clean-05
    assert len(index) == 5
    match = index.query(by_id["near-dup-1"])
    assert match is not None and match[0] == "clean-03" and 0.7 <= match[1] < 1
    assert index.query(by_id["near-dup-2"]) is None  # clean-07 not in the pool yet
    index.add(pool[5:])  # next round: the pool grows without a rebuild
    assert index.query_many([by_id["near-dup-2"], by_id["refusal-1"], Record("e", "")]) == [
        (("clean-07", index.query(by_id["near-dup-2"])[1])),
        None,
        None,
    ]


def test_bad_config_is_one_clear_line() -> None:
    with pytest.raises(ValueError, match="near-dedup: verify must be exact or estimate"):
        NearDedupStage(NearDedupConfig(verify="fuzzy"))
    with pytest.raises(ValueError, match="exact-dedup: keep must be first or longest"):
        ExactDedupStage(ExactDedupConfig(keep="last"))
