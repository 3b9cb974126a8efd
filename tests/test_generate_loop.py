"""The generate loop with a scripted backend (unit tests of the loop logic only: the real
backends are exercised end to end in test_generate_backends_e2e.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from generate_fakes import SEED_INSTRUCTION, TOPICS, ScriptedBackend, respond

from curate.backends.base import SamplingParams
from curate.generate.config import GenerateConfig, run_id_of
from curate.generate.loop import run_generate
from curate.generate.state import RunDirError


def config(**kw) -> GenerateConfig:
    cfg = GenerateConfig(
        model="scripted", backend="transformers", batch_size=2, rounds=3, target=1000
    )
    cfg.filters = ["exact-dedup", "quality"]
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def run(cfg: GenerateConfig, out: Path, backend: ScriptedBackend | None = None):
    backend = backend or ScriptedBackend(respond)
    return run_generate(cfg, out, lambda _cfg: backend), backend


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_item_is_kept_or_rejected_with_a_reason(tmp_path: Path) -> None:
    result, backend = run(config(rounds=2), tmp_path)
    kept, rejected, pool = (
        rows(tmp_path / f) for f in ("records.jsonl", "rejected.jsonl", "instructions.jsonl")
    )
    ids = [r["id"] for r in kept + rejected]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"gen-[0-9a-f]{8}-r[12]-\d+(#\d+)?", i) for i in ids)
    # each instruction list item: rejected at step 2, or pooled with at least one instance item
    for p in pool:
        assert any(i.startswith(p["id"] + "#") for i in ids)
    assert all(r["reject"]["stage"] and r["reject"]["reason"] for r in rejected)
    reasons = {(r["reject"]["stage"], r["reject"]["reason"]) for r in rejected}
    assert reasons == {
        ("parse", "empty-item"),
        ("quality", "blacklist:draw"),
        ("novelty", "near-duplicate"),
    }
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["kept"] == len(kept) == 8  # 2 rounds × 2 prompts × 2 good instructions
    assert stats["rejected"] == len(rejected) == 12
    assert stats["instructions_parsed"] == 16 and stats["instructions_pooled"] == len(pool) == 8
    assert sum(stats["rejected_by_reason"].values()) == len(rejected)
    assert result.stop_reason.startswith("round limit reached: 2 of --rounds 2")
    # each step of a round is one call: instructions, classify, instances
    assert len(backend.calls) == 6 and [len(p) for p, _ in backend.calls[:3]] == [2, 4, 4]


def test_provenance_on_every_record(tmp_path: Path) -> None:
    run(config(rounds=1), tmp_path)
    kept = rows(tmp_path / "records.jsonl")
    clf = [r for r in kept if r["meta"]["generation"]["is_classification"]]
    assert clf and clf[0]["output"] == "happy" and clf[0]["input"].startswith("The sun")
    for rec in kept:
        g = rec["meta"]["generation"]
        assert g["round"] == 1 and g["backend"] == "fake" and g["model"] == "scripted"
        assert g["template"] == "self-instruct" and len(g["template_sha256"]) == 64
        assert len(g["prompt_ids"]) == 6 and all(
            i.startswith("seed_task_") for i in g["prompt_ids"]
        )
        assert g["sampling"]["temperature"] == 1.0 and g["finish_reason"] == "stop"
        assert g["instruction_id"] == rec["id"].split("#")[0]
        assert g["instance_prompt"].startswith("self_instruct/instances_")
        assert g["instance_sampling"]["max_tokens"] == 256


def test_novelty_rejects_name_the_pool_item(tmp_path: Path) -> None:
    run(config(rounds=1), tmp_path)
    novelty = [r for r in rows(tmp_path / "rejected.jsonl") if r["reject"]["stage"] == "novelty"]
    assert novelty and all(r["instruction"] == SEED_INSTRUCTION for r in novelty)
    assert novelty[0]["reject"]["evidence"] == {"duplicate_of": "seed_task_0#0", "jaccard": 1.0}


def test_batch_duplicates_are_not_novel(tmp_path: Path) -> None:
    def same(prompt: str, j: int, params: SamplingParams) -> str:
        if prompt.startswith("Below is a numbered list"):
            return " Explain the rules of a card game called Kipple to a child."
        return respond(prompt, j, params)

    run(config(rounds=1), tmp_path, ScriptedBackend(same))
    novelty = [r for r in rows(tmp_path / "rejected.jsonl") if r["reject"]["stage"] == "novelty"]
    first = f"gen-{run_id_of(config(rounds=1))}-r1-1"  # the run id: a hash of the settings
    assert len(novelty) == 1 and novelty[0]["reject"]["evidence"]["duplicate_of"] == first


def test_stops_at_target(tmp_path: Path) -> None:
    result, _ = run(config(target=5, rounds=10), tmp_path)
    assert result.counters["rounds"] == 2 and result.counters["kept"] == 8
    assert result.stop_reason == "target reached: 8 kept ≥ --target 5"
    again, backend = run(config(target=5, rounds=10), tmp_path)  # already done: no model call
    assert again.stop_reason.startswith("target reached") and backend.calls == []


def test_resume_after_a_crash_mid_round_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    run(config(), whole)
    with pytest.raises(RuntimeError, match="scripted failure"):
        run(config(), crashed, ScriptedBackend(respond, fail_on_call=5))  # round 2, classify step
    assert json.loads((crashed / "state.json").read_text())["rounds_done"] == 1
    result, _ = run(config(), crashed)
    assert not result.recovery
    for name in ("records.jsonl", "rejected.jsonl", "instructions.jsonl"):
        assert (crashed / name).read_bytes() == (whole / name).read_bytes()


def test_uncommitted_tail_is_set_aside_and_reported(tmp_path: Path) -> None:
    run(config(rounds=1), tmp_path)
    with (tmp_path / "records.jsonl").open("a") as f:
        f.write('{"id": "gen-r2-1", "instruction": "x"}\n{"id": "gen-r2-2", "instr')
    result, _ = run(config(rounds=2), tmp_path)
    assert (
        result.recovery.set_aside["records.jsonl"] == 1
        and result.recovery.partial["records.jsonl"] > 0
    )
    assert "records.jsonl: 1 line(s) of the unfinished round" in result.recovery.describe()
    assert (
        (tmp_path / "uncommitted" / "records.jsonl.round2")
        .read_text()
        .startswith('{"id": "gen-r2-1"')
    )
    ids = [r["id"] for r in rows(tmp_path / "records.jsonl")]
    assert len(ids) == len(set(ids)) == 8
    assert (
        json.loads((tmp_path / "stats.json").read_text())["recovered"]["set_aside"]["records.jsonl"]
        == 1
    )


def test_a_log_shorter_than_committed_is_refused_in_generate_and_translate(
    tmp_path: Path,
) -> None:
    from curate.translate.state import TranslateState
    from curate.translate.state import start_or_resume as translate_resume

    run(config(rounds=1), tmp_path / "gen")
    (tmp_path / "gen" / "records.jsonl").write_text("")
    with pytest.raises(
        RunDirError,
        match=r"records\.jsonl: holds 0 bytes but state\.json committed \d+: the file was "
        r"changed outside curate; restore it or choose a new --out$",
    ):
        run(config(rounds=2), tmp_path / "gen")
    out = tmp_path / "tr"
    state, _ = translate_resume(out, {"k": 1})
    assert isinstance(state, TranslateState)
    (out / "es.jsonl").write_text("{}\n")
    state.sizes["es.jsonl"], state.done["es"] = 9, 1
    (out / "state.json").write_text(json.dumps(state.__dict__))
    with pytest.raises(
        RunDirError,
        match=r"es\.jsonl: holds 3 bytes but state\.json committed 9: changed outside curate; "
        r"restore it or choose a new --out$",
    ):
        translate_resume(out, {"k": 1})


def test_resume_refuses_other_options(tmp_path: Path) -> None:
    run(config(rounds=1), tmp_path)
    with pytest.raises(
        RunDirError, match="template='self-instruct', this run has template='alpaca'"
    ):
        run(config(rounds=2, template="alpaca"), tmp_path)
    (tmp_path / "state.json").unlink()
    with pytest.raises(RunDirError, match="no state.json"):
        run(config(rounds=2), tmp_path)


def test_alpaca_template(tmp_path: Path) -> None:
    def alpaca(prompt: str, j: int, params: SamplingParams) -> str:
        n = int(prompt.rsplit("\n", 1)[-1].split(".")[0])
        s = TOPICS[len(prompt) % 7] + " " + TOPICS[7 + len(prompt) % 5]
        return (
            f" Give a synonym for the word {s}.\n{n}. Input:\nquick\n{n}. Output:\nfast\n###\n"
            f"{n + 1}. Instruction: Sort the letters of the name {s} alphabetically.\n{n + 1}. Input:\ncab\n"
            f"{n + 1}. Output:\nabc\n###\n{n + 2}. Instruction: Missing output {s}\n"
        )

    run(config(rounds=1, template="alpaca"), tmp_path, ScriptedBackend(alpaca))
    kept, rejected = rows(tmp_path / "records.jsonl"), rows(tmp_path / "rejected.jsonl")
    assert len(kept) == 4 and kept[0]["input"] == "quick" and kept[0]["output"] == "fast"
    assert [r["reject"]["reason"] for r in rejected] == ["missing-output", "missing-output"]
    assert "Missing output" in rejected[0]["reject"]["evidence"]["raw"]
    assert len(rows(tmp_path / "instructions.jsonl")) == 4


def test_structured_instances_use_the_schema(tmp_path: Path) -> None:
    backend = ScriptedBackend(respond)
    run(config(rounds=1, structured=True, backend="vllm"), tmp_path, backend)
    instance_call = backend.calls[2][1]
    assert instance_call.json_schema is not None and instance_call.json_schema["required"] == [
        "input",
        "output",
    ]
    kept = rows(tmp_path / "records.jsonl")
    assert kept and all(r["output"] == "A plain answer." for r in kept)


def test_a_model_whose_context_fits_no_prompt_stops_with_advice(tmp_path: Path) -> None:
    from curate.backends.base import PROMPT_TOO_LONG, Completion
    from curate.filters.config import ConfigError

    backend = ScriptedBackend(lambda p, j, params: Completion("", PROMPT_TOO_LONG, 900, 0))
    with pytest.raises(
        ConfigError, match="every instruction-generation prompt is longer than the model's"
    ):
        run(config(rounds=1), tmp_path, backend)
    assert json.loads((tmp_path / "state.json").read_text())["rounds_done"] == 0


def test_prompts_too_long_for_instances_are_rejected_not_fatal(tmp_path: Path) -> None:
    from curate.backends.base import PROMPT_TOO_LONG, Completion

    def some_too_long(prompt: str, j: int, params: SamplingParams):
        if prompt.rsplit("\n", 1)[-1] == "Input:":
            return Completion("", PROMPT_TOO_LONG, 700, 0)
        return respond(prompt, j, params)

    run(config(rounds=1), tmp_path, ScriptedBackend(some_too_long))
    too_long = [r for r in rows(tmp_path / "rejected.jsonl") if r["reject"]["stage"] == "prompt"]
    assert too_long and all(
        r["reject"]["reason"] == "too-long" and r["id"].endswith("#0") for r in too_long
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([], "0 answers for 2 prompts"),
        ([[], []], "no completion for prompt 0"),
        (None, "NoneType answers for 2 prompts"),
        ("texts", "2 completions with text"),
    ],
)
def test_a_backend_answer_of_the_wrong_shape_is_one_clear_error(answer, message: str) -> None:
    """The steps index samples[0] and read .text: a backend's bad answer must not reach them."""
    from curate.backends.base import BackendError, Completion
    from curate.generate.round import RoundOutput, timed_complete

    if answer == "texts":
        answer = [[Completion("a", "stop")], [Completion(None, "stop"), Completion("b", "stop")]]  # type: ignore[arg-type]

    class Broken:
        name = "broken"

        def complete(self, prompts: list[str], params: SamplingParams) -> object:
            return answer

    with pytest.raises(BackendError, match=re.escape(message)):
        timed_complete(Broken(), ["p", "q"], SamplingParams(n=2), RoundOutput())  # type: ignore[arg-type]


def test_rounds_run_the_cleaned_stage_with_the_generated_profile() -> None:
    """A model's output leaks its prompt template and merges tasks more than people do: the
    rounds check what `curate filter --profile generated` checks, so a later audit agrees."""
    from curate.generate.stages import make_stages
    from curate.records import Record

    cfg = GenerateConfig(model="scripted", backend="transformers")
    assert cfg.filters == ["exact-dedup", "quality", "cleaned", "toxicity"]
    cfg.filters = ["exact-dedup", "quality", "cleaned"]  # toxicity: tested on its own
    _, stages = make_stages(cfg, [])
    cleaned = stages[-1]
    assert cleaned.name == "cleaned" and cleaned.cfg.fix == []  # generated: reject, not repair
    leak = Record(id="a", instruction="Name a fruit.", input="", output="Output: Apple.")
    placeholder = Record(id="b", instruction="Name three colours.", input="N/A", output="Red.")
    fine = Record(id="c", instruction="Name a fruit.", input="", output="An apple.")
    verdicts = cleaned.check([leak, placeholder, fine])
    assert [(v.keep, v.reason) for v in verdicts] == [
        (False, "template-leak"),
        (False, "placeholder-input"),
        (True, ""),
    ]
