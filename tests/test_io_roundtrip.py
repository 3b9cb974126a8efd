"""Every format reads into Record and writes back without losing a field, on real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate.convert import convert
from curate.io import Reject, read_records, write_records
from curate.records import Record


def records_of(path: Path | str, fmt: str | None = None) -> list[Record]:
    items = list(read_records(str(path), fmt))
    assert not [i for i in items if isinstance(i, Reject)]
    return items  # type: ignore[return-value]


def test_toolformer_chatml_sharegpt_parquet_alpaca(shared_data: Path, tmp_path: Path) -> None:
    """7,673 real records → ChatML JSONL → ShareGPT → Parquet → Alpaca JSON: same records, field for field."""
    src = shared_data / "gpteacher" / "toolformer.json"
    original = json.loads(src.read_text())
    chain = [
        (tmp_path / "a.chatml.jsonl", "chatml"),
        (tmp_path / "b.sharegpt.json", "sharegpt"),
        (tmp_path / "c.parquet", None),
        (tmp_path / "d.alpaca.json", "alpaca"),
    ]
    current = str(src)
    for out, to in chain:
        result = convert(current, str(out), to=to)
        assert (result.converted, result.rejected) == (7673, 0)
        current = str(out)
    back = json.loads((tmp_path / "d.alpaca.json").read_text())
    assert len(back) == len(original) == 7673
    for before, after in zip(original, back, strict=True):
        for (
            key,
            value,
        ) in before.items():  # instruction, input, output, and toolformer's example_input
            assert after.get(key, after.get("meta", {}).get(key)) == value
    # the intermediate files really are in their formats
    first_chatml = json.loads((tmp_path / "a.chatml.jsonl").read_text().splitlines()[0])
    assert [m["role"] for m in first_chatml["messages"]] == ["user", "assistant"]
    assert (
        json.loads((tmp_path / "b.sharegpt.json").read_text())[0]["conversations"][0]["from"]
        == "human"
    )


def test_seed_tasks_one_record_per_instance_and_back(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "self-instruct" / "seed_tasks.jsonl"
    tasks = [json.loads(line) for line in src.read_text().splitlines()]
    recs = records_of(src)
    assert len(tasks) == 175
    assert len(recs) == sum(len(t["instances"]) for t in tasks)
    assert recs[0].meta["name"] == tasks[0]["name"]
    write_records(tmp_path / "r.parquet", recs, to="chatml")
    write_records(tmp_path / "r.alpaca.json", records_of(tmp_path / "r.parquet"), to="alpaca")
    write_records(tmp_path / "back.jsonl", records_of(tmp_path / "r.alpaca.json"), to="seed")
    back = [json.loads(line) for line in (tmp_path / "back.jsonl").read_text().splitlines()]
    assert len(back) == 175
    for before, after in zip(tasks, back, strict=True):
        after.pop("meta", None)  # provenance (source file:line) travels in meta
        assert after == before


@pytest.mark.parametrize("to", ["alpaca", "dolly", "sharegpt", "chatml", "record"])
@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".parquet", ".csv"])
def test_every_sample_round_trips_through_every_format(
    project_data: Path, tmp_path: Path, to: str, suffix: str
) -> None:
    samples = sorted((project_data / "samples").glob("*.json*")) + [
        project_data / "samples/bactrian-x/es.json"
    ]
    samples = [p for p in samples if not p.name.endswith(".expected.json")]
    for sample in samples:
        recs = records_of(sample)
        out = tmp_path / f"{sample.stem}{suffix}"
        write_records(out, recs, to=to)
        back = records_of(out)
        assert [r.to_dict() | {"meta": {}} for r in back] == [
            r.to_dict() | {"meta": {}} for r in recs
        ], sample
        assert [r.meta for r in back] == [r.meta for r in recs], sample


def test_multi_turn_kept_whole(project_data: Path) -> None:
    convs = records_of(project_data / "samples" / "sharegpt.json")
    multi = [r for r in convs if r.messages is not None]
    assert multi and all(len(r.messages or []) >= 3 for r in multi)
    rec = multi[0]
    assert rec.instruction == next(m["content"] for m in rec.messages or [] if m["role"] == "user")


def test_dolly_context_maps_to_input(project_data: Path) -> None:
    recs = records_of(project_data / "samples" / "dolly.jsonl")
    raw = [
        json.loads(line)
        for line in (project_data / "samples" / "dolly.jsonl").read_text().splitlines()
    ]
    assert [r.input for r in recs] == [d["context"] for d in raw]
    assert [r.meta["category"] for r in recs] == [d["category"] for d in raw]


def test_bactrian_language_from_file_name_or_flag(project_data: Path, tmp_path: Path) -> None:
    es = project_data / "samples" / "bactrian-x" / "es.json"
    assert {r.lang for r in records_of(es)} == {"es"}
    assert records_of(es)[0].id == json.loads(es.read_text())[0]["id"]
    other = tmp_path / "spanish_set.json"
    other.write_text(es.read_text())
    assert {r.lang for r in records_of(other)} == {None}
    assert {r.lang for r in read_records(str(other), lang="es")} == {"es"}  # type: ignore[union-attr]


def test_explicit_from_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        json.dumps({"instruction": "Name a colour.", "context": "", "response": "Blue."}) + "\n"
    )
    (rec,) = records_of(path)
    assert rec.output == "Blue."
    (rec,) = list(read_records(str(path), "alpaca"))
    assert isinstance(rec, Reject) and rec.field == "output"
