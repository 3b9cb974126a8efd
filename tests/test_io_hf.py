"""Hugging Face datasets: save_to_disk directories in Dolly and Bactrian-X shape (hub ids use the same path)."""

from __future__ import annotations

from pathlib import Path

import datasets

from curate.io import Reject, read_records


def test_dolly_save_to_disk(tmp_path: Path) -> None:
    rows = {
        "instruction": ["When was the Eiffel Tower finished?", "Name three primary colours."],
        "context": ["The Eiffel Tower was completed in 1889 for the World's Fair.", ""],
        "response": ["It was finished in 1889.", "Red, yellow and blue."],
        "category": ["closed_qa", "open_qa"],
    }
    datasets.Dataset.from_dict(rows).save_to_disk(tmp_path / "dolly")
    recs = list(read_records(str(tmp_path / "dolly")))
    assert [r.input for r in recs] == rows["context"]  # type: ignore[union-attr]
    assert [r.meta["category"] for r in recs] == rows["category"]  # type: ignore[union-attr]
    assert recs[0].meta["source"].endswith("dolly:1")  # type: ignore[union-attr]


def test_bactrian_save_to_disk_dict_with_splits(tmp_path: Path) -> None:
    train = {
        "instruction": ["¿Cuál es la capital de Francia?"],
        "input": [""],
        "output": ["La capital de Francia es París."],
        "id": ["es-1"],
    }
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_dict(train)})
    dd.save_to_disk(
        tmp_path / "es"
    )  # a directory named after its language, like a Bactrian-X split
    (rec,) = list(read_records(str(tmp_path / "es")))
    assert not isinstance(rec, Reject)
    assert (rec.id, rec.lang, rec.output) == ("es-1", "es", "La capital de Francia es París.")
    assert "[train]" in rec.meta["source"]
