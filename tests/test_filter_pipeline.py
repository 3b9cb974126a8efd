"""The filter pipeline: nothing lost, nothing twice, deterministic, atomic, parse rejects kept."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest

from curate.filters import pipeline
from curate.filters.command import resolve_config
from curate.filters.config import FilterConfig, load_config
from curate.filters.pipeline import run_filter
from curate.filters.registry import STAGES
from curate.filters.stage import Stage
from curate.filters.verdict import KEEP

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
DEFECTS = str(SAMPLES / "defects.jsonl")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _cfg(**flags) -> FilterConfig:
    cfg = resolve_config([DEFECTS], None, {"lang": "en", **flags}, skip=["toxicity"])
    return cfg


def _assert_partition(out: Path, expected_inputs: int) -> tuple[list[dict], list[dict]]:
    kept, rejected = _lines(out / "kept.jsonl"), _lines(out / "rejected.jsonl")
    assert len(kept) + len(rejected) == expected_inputs
    sources = [r["meta"]["source"] for r in kept] + [
        r.get("meta", {}).get("source") or r["source"] for r in rejected
    ]
    assert len(set(sources)) == expected_inputs  # each input record exactly once
    stats = json.loads((out / "stats.json").read_text())
    assert stats["input"] == expected_inputs
    assert stats["kept"] == len(kept) and stats["rejected"] == len(rejected)
    assert sum(stats["rejected_by_reason"].values()) == len(rejected)
    return kept, rejected


def test_every_defects_record_is_kept_or_rejected_once(tmp_path: Path) -> None:
    run_filter([DEFECTS], tmp_path, _cfg())
    _, rejected = _assert_partition(tmp_path, 42)
    for row in rejected:
        assert set(row["reject"]) == {"stage", "reason", "evidence"} and row["reject"]["stage"]


def test_toolformer_real_data_invariant(tmp_path: Path, shared_data: Path) -> None:
    path = str(shared_data / "gpteacher" / "toolformer.json")
    cfg = resolve_config([path], None, {"workers": 2}, skip=["toxicity"])
    result = run_filter([path], tmp_path, cfg)
    _assert_partition(tmp_path, 7673)
    assert result.stats["rejected_by_reason"]["near-duplicate"] > 500  # toolformer is full of them


def test_reruns_are_byte_identical_also_from_the_written_config(tmp_path: Path) -> None:
    run_filter([DEFECTS], tmp_path / "a", _cfg())
    run_filter([DEFECTS], tmp_path / "b", _cfg())
    run_filter([DEFECTS], tmp_path / "c", load_config(tmp_path / "a" / "config.yaml"))
    run_filter([DEFECTS], tmp_path / "d", _cfg(workers=2))
    first = (tmp_path / "a" / "kept.jsonl").read_bytes()
    for other in "bcd":
        assert (tmp_path / other / "kept.jsonl").read_bytes() == first, other
    rejected = [sorted((tmp_path / d / "rejected.jsonl").read_text().splitlines()) for d in "ad"]
    assert rejected[0] == rejected[1]  # same rejects; with workers their order may interleave


def test_unparseable_lines_are_parse_rejects_with_file_line(tmp_path: Path) -> None:
    src = tmp_path / "broken.jsonl"
    good = Path(DEFECTS).read_text(encoding="utf-8").splitlines()[:3]
    src.write_text(
        "\n".join(
            [good[0], '{"instruction": "Explain tides", "output": ', good[1], "[1, 2]", good[2]]
        )
        + "\n"
    )
    cfg = resolve_config([str(src)], None, {"lang": "en"}, skip=["toxicity"])
    result = run_filter([str(src)], tmp_path / "out", cfg)
    _, rejected = _assert_partition(tmp_path / "out", 5)
    parse = [r for r in rejected if r["reject"]["stage"] == "parse"]
    assert [r["source"] for r in parse] == [f"{src}:2", f"{src}:4"]
    assert parse[0]["reject"]["evidence"]["source"] == f"{src}:2"
    assert "invalid JSON" in parse[0]["reject"]["evidence"]["error"]
    assert parse[0]["raw"].startswith('{"instruction": "Explain tides"')
    assert result.stats["rejected_by_stage"]["parse"] == 2


def test_to_parquet_writes_kept_parquet_too(tmp_path: Path) -> None:
    run_filter([DEFECTS], tmp_path, _cfg(to="parquet"))
    frame = pl.read_parquet(tmp_path / "kept.parquet")
    kept = _lines(tmp_path / "kept.jsonl")
    assert frame.height == len(kept) and frame["id"].to_list() == [r["id"] for r in kept]


def test_only_and_skip_choose_the_stages(tmp_path: Path) -> None:
    only = resolve_config([DEFECTS], None, {"lang": "en"}, only=["quality", "exact-dedup"])
    stats = run_filter([DEFECTS], tmp_path / "only", only).stats
    assert list(stats["stages"]) == ["exact-dedup", "quality"]
    assert {stats["reason_stage"][r] for r in stats["rejected_by_reason"]} == {
        "exact-dedup",
        "quality",
    }
    skip = resolve_config([DEFECTS], None, {"lang": "en"}, skip=["quality", "toxicity", "language"])
    stats = run_filter([DEFECTS], tmp_path / "skip", skip).stats
    assert list(stats["stages"]) == ["exact-dedup", "cleaned", "decontam", "near-dedup"]


class _Exploding(Stage):
    name = "quality"

    def run(self, records):
        for n, rec in enumerate(records):
            if n == 10:
                raise KeyboardInterrupt
            yield rec, KEEP


def test_an_interrupted_run_leaves_no_kept_jsonl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = dataclasses.replace(STAGES["quality"], stage=_Exploding)
    monkeypatch.setitem(STAGES, "quality", spec)
    with pytest.raises(KeyboardInterrupt):
        run_filter([DEFECTS], tmp_path, _cfg())
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_fast_kept_rows_equal_record_to_dict() -> None:
    from curate.io import read_records
    from curate.records import Record

    recs = [
        r
        for p in (str(SAMPLES / "sharegpt.json"), DEFECTS)
        for r in read_records(p)
        if isinstance(r, Record)
    ]
    assert any(r.messages for r in recs)
    for rec in recs:
        assert json.dumps(pipeline.record_row(rec)) == json.dumps(rec.to_dict())
