"""Decontamination against the Self-Instruct human-evaluation set."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from curate.filters.decontam import DecontamConfig, DecontamStage
from curate.io import InputError, read_records
from curate.records import Record


@pytest.fixture(scope="module")
def eval_set(shared_data: Path) -> str:
    return str(shared_data / "self-instruct/user_oriented_instructions.jsonl")


def test_planted_copy_caught_seed_tasks_clean(eval_set: str, project_data: Path) -> None:
    item = next(
        r for r in read_records(eval_set) if isinstance(r, Record) and len(r.output.split()) > 30
    )
    planted = Record(
        id="planted",
        instruction="Answer the following carefully.",
        output="Here is some context first. " + item.output.upper() + " And that is all.",
    )
    seeds = [
        r for r in read_records(str(project_data / "seed_tasks.jsonl")) if isinstance(r, Record)
    ]
    stage = DecontamStage(DecontamConfig(eval_sets=[eval_set]))
    out = list(stage([*seeds, planted]))
    rejected = [(r.id, v) for r, v in out if not v.keep]
    assert [rid for rid, _ in rejected] == ["planted"]
    ev = rejected[0][1].evidence
    assert (
        ev["eval_file"] == eval_set and ev["eval_id"] == item.id and len(ev["ngram"].split()) == 13
    )
    assert stage.summary()["contaminated"] == 1


def test_short_eval_item_matches_whole(tmp_path: Path) -> None:
    ev = tmp_path / "eval.jsonl"
    ev.write_text(
        '{"id": "q1", "instruction": "Name the capital of Peru.", "input": "", "output": "Lima"}\n'
    )
    stage = DecontamStage(DecontamConfig(eval_sets=[str(ev)]))
    hit = Record(id="a", instruction="Quiz: name the capital of Peru! Lima", output="Correct.")
    miss = Record(id="b", instruction="Name the capital of Chile.", output="Santiago")
    verdicts = [v for _, v in stage([hit, miss])]
    assert (
        verdicts[0].reason == "contaminated"
        and verdicts[0].evidence["ngram"] == "name the capital of peru lima"
    )
    assert verdicts[1].keep


def test_missing_eval_set_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--eval-set .*nope\.jsonl"):
        DecontamStage(DecontamConfig(eval_sets=[str(tmp_path / "nope.jsonl")]))


def test_no_eval_sets_keeps_everything_and_stage_pickles(eval_set: str) -> None:
    rec = Record(id="r", instruction="Write a haiku about rain.", output="Rain on the roof.")
    assert all(v.keep for _, v in DecontamStage(DecontamConfig())([rec]))
    stage = DecontamStage(DecontamConfig(eval_sets=[eval_set]))
    assert stage.index.index  # built, then dropped on pickling and rebuilt in the other process
    clone = pickle.loads(pickle.dumps(stage))
    assert clone._index is None and len(clone.index.index) == len(stage.index.index)
