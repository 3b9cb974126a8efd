"""Quality heuristics on the planted defects, the project's seed tasks and real third-party data."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from curate.filters.quality import QualityConfig, QualityStage, check_instruction, check_record
from curate.io import read_records
from curate.records import Record

QUALITY_REASONS = {
    "empty-output",
    "refusal",
    "instruction-too-short",
    "bad-start",
    "echo",
    "repetition",
    "truncated",
}


def _records(path: Path) -> list[Record]:
    return [r for r in read_records(str(path)) if isinstance(r, Record)]


def test_planted_defects_caught_and_clean_records_pass(project_data: Path) -> None:
    expected = json.loads((project_data / "samples/defects.expected.json").read_text())
    stage = QualityStage(QualityConfig())
    got = {rec.id: v for rec, v in stage(_records(project_data / "samples/defects.jsonl"))}
    for rid, reason in expected.items():
        if reason in QUALITY_REASONS or reason.startswith("blacklist:"):
            assert got[rid].reason == reason, rid
            assert got[rid].stage == "quality"
    clean = [rid for rid in got if rid.startswith("clean-")]
    assert len(clean) == 24
    assert all(got[rid].keep for rid in clean), [(r, got[r]) for r in clean if not got[r].keep]
    assert got["blacklist-1"].evidence == {"word": "draw"}
    assert stage.meter.rejected["empty-output"] == 3


@pytest.mark.parametrize(
    "path",
    [
        "seed_tasks.jsonl",
        "samples/bactrian-x/es.json",
        "samples/dolly.jsonl",
        "samples/sharegpt.json",
        "samples/chatml.jsonl",
        "samples/alpaca.json",
    ],
)
def test_project_samples_have_no_false_positives(project_data: Path, path: str) -> None:
    bad = [
        (r.id, v)
        for r in _records(project_data / path)
        if not (v := check_record(r, QualityConfig())).keep
    ]
    assert bad == []


def test_real_data_rates_stay_small(shared_data: Path) -> None:
    recs = _records(shared_data / "gsm8k/gsm_8k_train.json")
    verdicts = [check_record(r, QualityConfig()) for r in recs]
    reasons = [v.reason for v in verdicts if not v.keep]
    # gsm8k is clean math: no refusals, echoes or loops; blacklist ("go to", "video") and
    # digit starts are self-instruct's rules and do fire.
    assert not {"refusal", "echo", "repetition", "empty-output"} & set(reasons)
    assert len(reasons) / len(recs) < 0.06
    assert reasons.count("truncated") < 10


def test_blacklist_first_word_by_position_in_singular_form() -> None:
    cfg = QualityConfig()
    v = check_instruction("Write a song about maps and then plot some graphs of sales.", cfg)
    assert (v.reason, v.evidence) == ("blacklist:map", {"word": "map"})
    assert (
        check_instruction("Please Go  To the store and buy milk.", cfg).reason == "blacklist:go to"
    )
    assert check_instruction(
        "Summarize the profile of this mapping company.", cfg
    ).keep  # whole words only
    assert check_instruction("Write a song about maps today.", QualityConfig(blacklist=False)).keep


def test_instruction_length_and_start() -> None:
    cfg = QualityConfig()
    assert check_instruction("Summarize this.", cfg).reason == "instruction-too-short"
    assert check_instruction(" ".join(["word"] * 151), cfg).reason == "instruction-too-long"
    assert check_instruction("¿Qué es la fotosíntesis y por qué importa?", cfg).keep
    assert check_instruction("¡Escribe un poema corto sobre el mar!", cfg).keep
    assert check_instruction(
        "写一首关于秋天的短诗，描写落叶和凉风。", cfg
    ).keep  # Chinese words counted
    assert check_instruction("...and explain why the sky is blue", cfg).reason == "bad-start"
    assert check_instruction("3 families shared a rental for a week.", cfg).reason == "bad-start"
    assert check_instruction(
        "3 families shared a rental for a week.", QualityConfig(allow_digit_start=True)
    ).keep
    assert check_instruction("¿123 es un número primo o no?", cfg).reason == "bad-start"


def _rec(
    output: str, instruction: str = "Explain how tides work in a few sentences.", **kw
) -> Record:
    return Record(id="r", instruction=instruction, output=output, **kw)


def test_output_heuristics() -> None:
    cfg = QualityConfig()
    for empty in ("", "   ", "N/A", "<nooutput>", "None", "...", "-"):
        assert check_record(_rec(empty), cfg).reason == "empty-output", empty
    assert check_record(_rec("😌😊"), cfg).keep  # emoji is content
    assert check_record(_rec("I’m sorry, but I can’t help with that."), cfg).reason == "refusal"
    ai = "As an AI language model in 2100, I reason over vast knowledge with care and precision."
    assert check_record(_rec(ai), cfg).reason == "refusal"
    assert check_record(
        _rec(ai, "Pretend to be an AI language model in 2100 and describe yourself."), cfg
    ).keep
    assert (
        check_record(_rec("Sure: explain how tides work in a few sentences!"), cfg).reason == "echo"
    )
    same = Record(
        id="r",
        instruction="Fix the grammar of the sentence.",
        input="She go home.",
        output="She go home.",
    )
    assert check_record(same, cfg).reason == "echo"
    cut = "Tides rise and fall because the Moon pulls on the oceans, and the Sun adds a smaller pull, so the"
    assert check_record(_rec(cut), cfg).reason == "truncated"
    assert check_record(
        _rec(
            cut,
        ),
        QualityConfig(truncated=False),
    ).keep
    signoff = "Thank you for all your help with the garden this summer, it made a real difference.\n\nWarm wishes,\nThe Okafor family"
    assert check_record(_rec(signoff), cfg).keep
    loop = " ".join(["the tide comes in and the tide goes out again and again"] * 8)
    assert check_record(_rec(loop), cfg).reason == "repetition"


def test_missing_context_and_multi_turn() -> None:
    cfg = QualityConfig()
    rec = Record(
        id="d",
        instruction="Who founded the company described in the passage?",
        output="Ada Lovelace.",
        meta={"category": "closed_qa"},
    )
    assert check_record(rec, cfg).reason == "missing-context"
    rec.input = "The company was founded by Ada Lovelace in 1843."
    assert check_record(rec, cfg).keep
    msgs = [
        {"role": "user", "content": "Give me a tip for sleeping better at night."},
        {"role": "assistant", "content": "Keep a regular bedtime, even on weekends."},
        {"role": "user", "content": "And another one about screens?"},
        {"role": "assistant", "content": "I'm sorry, but I cannot help with that."},
    ]
    v = check_record(Record.from_messages("m", msgs), cfg)
    assert (v.reason, v.evidence["turn"]) == ("refusal", 3)


def test_stage_streams_in_order_and_pickles(project_data: Path) -> None:
    stage = pickle.loads(pickle.dumps(QualityStage(QualityConfig())))
    recs = _records(project_data / "samples/defects.jsonl")
    out = list(stage(iter(recs)))
    assert [r.id for r, _ in out] == [r.id for r in recs]
    assert list(QualityStage(QualityConfig(enabled=False))(recs))[3][1].keep


def test_truncated_under_the_human_profile_needs_a_dangling_last_word(project_data: Path) -> None:
    from curate.filters.config import FilterConfig
    from curate.filters.profiles import apply_profile

    human, generated = FilterConfig(), FilterConfig()
    apply_profile(human, "human")
    apply_profile(generated, "generated")
    assert human.quality.truncated_dangling_only and not generated.quality.truncated_dangling_only
    # people's text without a final full stop (gsm8k, GPTeacher roleplay, user_oriented, as found)
    look_alikes = [
        "Madeline needs 1200+400+200+60+200 = $2060 to pay all of her bills.\nShe will need to"
        " work $2060/$15 per hour = 137.33 hours.\nShe will need to work 138 hours to pay all of"
        " her bills",
        "120 credits / 3 credits is 40.\n40 credits/ 8 semester = 5 classes per semester.\nMaddy"
        " needs to take 5 classes per semester",
        "I ask that you treat me with the same dignity and respect you offer your fellow people."
        " Let us work together in mutual understanding. With respect and hope, Your AI companion",
        "melody, rhythm, counterpoint, harmony, form, tonal systems, scales, tuning, intervals,"
        " consonance, dissonance, durational proportions, the acoustics of pitch systems,"
        " composition, performance, orchestration, improvisation, electronic sound production",
    ]
    for text in look_alikes:
        assert check_record(_rec(text), human.quality).keep, text
        assert check_record(_rec(text), generated.quality).reason == "truncated", text
    planted = next(
        r for r in _records(project_data / "samples/defects.jsonl") if r.id == "truncated-1"
    )
    for cfg in (human, generated):
        verdict = check_record(planted, cfg.quality)
        assert verdict.reason == "truncated" and verdict.evidence["dangling"] == "the"
