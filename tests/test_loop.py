"""`curate loop` end to end on a tiny random-init Llama (transformers for training and eval, the
scripted generation fake for generate): two rounds, resume, kill -9 inside every step kind."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from generate_fakes import ScriptedBackend
from loop_fakes import judge_longer, loop_respond
from rich.console import Console

from curate.backends.registry import BackendSpec, register_backend, unregister_backend
from curate.loop.config import SPEC
from curate.loop.run import run_loop
from curate.loop.state import LoopStateError

pytestmark = pytest.mark.slow
LAUNCHER = Path(__file__).resolve().parent / "run_loop_killed.py"
STEPS = ("generate", "filter", "train", "eval")


def config_text(model: Path, heldout: Path) -> str:
    return f"""
loop: {{rounds: 2, heldout: {heldout}}}
generate: {{model: {model}, backend: fake, batch_size: 2}}
filter: {{toxicity: {{enabled: false}}}}
train:
  {{max_steps: 2, quantization: none, template: chatml, val_size: 0, batch_size: 2, grad_accum: 1,
   gradient_checkpointing: false, lora: {{r: 4}}, max_seq_len: 256, save_steps: 100, logging_steps: 1}}
eval: {{judge: {{enabled: true, backend: judge, model: scripted, max_examples: 4, max_new_tokens: 8}}}}
"""


@pytest.fixture(scope="module")
def fake() -> Iterator[None]:
    spec = BackendSpec(
        "fake", lambda o: ScriptedBackend(loop_respond, model=o.model), "scripted (tests)"
    )
    register_backend(spec, replace=True)
    judge = BackendSpec("judge", lambda o: ScriptedBackend(judge_longer, model=o.model), "judge")
    register_backend(judge, replace=True)
    yield
    unregister_backend("fake")
    unregister_backend("judge")


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_llama: Path,
    small_dataset: Callable[..., Path],
    fake: None,
) -> tuple[Path, Path]:
    """(config file, the uninterrupted run's DIR, moved aside so the killed runs use its path)."""
    tmp = tmp_path_factory.mktemp("loop")
    cfg_file = tmp / "loop.yaml"
    cfg_file.write_text(config_text(tiny_llama, small_dataset(tmp / "heldout.jsonl", repeat=1)))
    result = run_loop(SPEC.load(cfg_file)[0], tmp / "loop")
    assert result.stop_reason == "round limit reached: 2 of loop.rounds 2"
    (tmp / "loop").rename(tmp / "whole")
    return cfg_file, tmp / "whole"


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_rounds_end_to_end(setup: tuple[Path, Path]) -> None:
    cfg_file, whole = setup
    loop = whole.parent / "loop"  # the path it ran in (provenance names it)
    for k in (1, 2):
        for step in STEPS:
            assert (whole / f"rounds/00{k}/{step}/.done.json").is_file(), (k, step)
        assert json.loads((whole / f"rounds/00{k}/eval/eval.json").read_text())["loss"] > 0
    gen1, gen2 = (rows(whole / f"rounds/00{k}/generate/records.jsonl") for k in (1, 2))
    assert gen1 and gen2
    prov1, prov2 = gen1[0]["meta"]["generation"], gen2[0]["meta"]["generation"]
    # round 1: the base model, raw few-shot; round 2: round 1's adapter, prompts as chat turns
    assert prov1["adapter"] is None and prov1["prompt_format"] == "raw" and prov1["round"] == 1
    assert prov2["adapter"] == str(loop / "rounds/001/train/adapter")
    assert prov2["prompt_format"] == "chat:chatml" and prov2["round"] == 2
    assert prov2["run_id"] == prov1["run_id"] and prov2["parents"]
    # ids unique across rounds, each naming run and round
    ids = [r["id"] for r in gen1 + gen2]
    assert len(ids) == len(set(ids))
    assert all(
        i.startswith(f"gen-{prov1['run_id']}-r{1 if i in {r['id'] for r in gen1} else 2}-")
        for i in ids
    )
    # novelty against round 1: round 2's filter and generate saw round 1's records
    fcfg = (whole / "rounds/002/filter/config.yaml").read_text()
    assert str(loop / "rounds/001/filter/kept.jsonl") in fcfg
    first = {r["instruction"] for r in rows(whole / "rounds/001/filter/kept.jsonl")}
    assert not first & {r["instruction"] for r in rows(whole / "rounds/002/filter/kept.jsonl")}
    gcfg = (whole / "rounds/002/generate/config.yaml").read_text()
    assert str(loop / "rounds/001/generate") in gcfg
    # training: round 2 on both rounds' kept records
    train2 = json.loads((whole / "rounds/002/train/.done.json").read_text())
    assert train2["records"] == len(first) + len(rows(whole / "rounds/002/filter/kept.jsonl"))
    # the report
    table = list(csv.DictReader((whole / "rounds.csv").open()))
    assert [r["round"] for r in table] == ["1", "2"]
    assert int(table[1]["pool"]) == train2["records"] and float(table[1]["eval_loss"]) > 0
    assert train2["mode"] == "from_base" and train2["parent_adapter"] is None
    assert [(r["train_mode"], r["trained_from"]) for r in table] == [("from_base", "base")] * 2
    # the judge (scripted: the longer answer wins): each round against the round before it
    md = (whole / "loop.md").read_text()
    base = SPEC.load(cfg_file)[0].generate.model  # round 1's judge compares against the base
    for k, against in ((1, base), (2, str(loop / "rounds/001/train/adapter"))):
        j = json.loads((whole / f"rounds/00{k}/eval/eval.json").read_text())["judge"]
        assert j["against"] == against and j["judge"] and j["judgments"] == 2 * j["pairs"] > 0
        assert j["win_rate"] == pytest.approx((j["wins"] + j["ties"] / 2) / j["judgments"])
        assert float(table[k - 1]["win_rate"]) == pytest.approx(j["win_rate"], abs=1e-4)
        assert f"| {table[k - 1]['win_rate']} |" in md
    assert "round limit reached" in md and "| 2 |" in md
    for png in ("similarity.png", "rounds.png"):
        assert (whole / png).stat().st_size > 1000


def outputs(d: Path) -> dict[str, bytes]:
    """What a run must reproduce: records, verdicts, adapters, eval (timings left out)."""
    got = {}
    for k in (1, 2):
        r = d / f"rounds/00{k}"
        for name in ("generate/records.jsonl", "generate/rejected.jsonl", "generate/instructions.jsonl",
                     "filter/kept.jsonl", "filter/rejected.jsonl",
                     "train/adapter/adapter_model.safetensors"):  # fmt: skip
            got[f"{k}/{name}"] = (r / name).read_bytes()
        ev = json.loads((r / "eval/eval.json").read_text())
        ev.pop("loss_seconds")
        got[f"{k}/eval.json"] = json.dumps(ev, sort_keys=True).encode()
    return got


def test_kill_9_inside_each_step_then_rerun_equals_an_uninterrupted_run(
    setup: tuple[Path, Path],
) -> None:
    cfg_file, whole = setup
    loop = whole.parent / "loop"
    shutil.rmtree(loop, ignore_errors=True)
    # round 1 as the uninterrupted run left it, at the path it ran in: the kills are in round 2
    shutil.copytree(whole, loop)
    shutil.rmtree(loop / "rounds/002")
    # one process, one fork per kill: each child resumes the last and is killed inside the next step
    cmd = [sys.executable, str(LAUNCHER), "chain", ",".join(STEPS), "loop", str(cfg_file)]
    proc = subprocess.run([*cmd, "--out", str(loop)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-3000:])
    kills = json.loads(proc.stdout.strip().splitlines()[-1])
    # each step killed with its dir started and no done marker
    assert kills == [{"step": s, "signal": 9, "dir": True, "done": False} for s in STEPS], kills
    result = run_loop(SPEC.load(cfg_file)[0], loop)
    assert result.stop_reason == "round limit reached: 2 of loop.rounds 2"
    assert outputs(loop) == outputs(whole)
    # a finished loop rerun: every step skipped; a changed config of a made round: refused
    cfg = SPEC.load(cfg_file, sets=["train.lr=0.5"])[0]
    with pytest.raises(LoopStateError, match=r"train\.lr: 0\.0002 → 0\.5"):
        run_loop(cfg, loop)
    again = run_loop(SPEC.load(cfg_file, sets=["loop.rounds=2"])[0], loop)
    assert [r["train"]["seconds"] for r in again.rounds] == [
        r["train"]["seconds"] for r in result.rounds
    ]


def test_an_empty_round_stops_the_loop_with_its_reason(
    tmp_path: Path, tiny_llama: Path, small_dataset: Callable[..., Path]
) -> None:
    spec = BackendSpec("mute", lambda o: ScriptedBackend(lambda p, j, s: "", model=o.model), "-")
    register_backend(spec)
    try:
        text = config_text(tiny_llama, small_dataset(tmp_path / "h.jsonl", repeat=1))
        cfg_file = tmp_path / "c.yaml"
        cfg_file.write_text(text.replace("backend: fake", "backend: mute"))
        cfg = SPEC.load(cfg_file)[0]
        result = run_loop(cfg, tmp_path / "loop")
    finally:
        unregister_backend("mute")
    assert result.stop_reason == "empty round: no record generated in round 1"
    assert not (tmp_path / "loop/rounds/001/train").exists()
    assert "empty round" in (tmp_path / "loop/loop.md").read_text()


@pytest.mark.parametrize("name", ["loop-tiny.yaml", "loop-gpu.yaml"])
def test_shipped_loop_configs_load(name: str, project_root: Path) -> None:
    cfg, _ = SPEC.load(project_root / "curate/configs" / name)
    assert cfg.loop.heldout and cfg.generate.model and cfg.train.base_model


def test_stop_rules_in_order_of_precedence() -> None:
    from curate.loop.run import stop_reason

    def rnd(kept: int, loss: float) -> dict:
        return {"filter": {"kept": kept}, "eval": {"loss": loss}}

    cfg = SPEC.defaults()
    cfg.loop.rounds, cfg.loop.plateau_rounds, cfg.loop.plateau_delta = 10, 2, 0.1
    assert stop_reason(cfg, [rnd(5, 3.0)]) is None
    assert stop_reason(cfg, [rnd(5, 3.0), rnd(0, 2.0)]).startswith(
        "empty round: no record survived"
    )
    assert stop_reason(cfg, [rnd(5, 3.0), rnd(5, 2.5), rnd(5, 2.45)]) is None
    plateau = stop_reason(cfg, [rnd(5, 3.0), rnd(5, 2.5), rnd(5, 2.45), rnd(5, 2.42)])
    assert plateau == "eval plateau: no eval loss ≥ 0.1 below 2.5000 in the last 2 round(s)"
    cfg.loop.target_pool = 10
    assert stop_reason(cfg, [rnd(5, 3.0), rnd(5, 2.5)]).startswith("pool target reached: 10 kept")


def test_continue_mode_trains_round_1s_adapter_on_round_2s_new_records(
    setup: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """loop.train_mode continue: round 2 starts from round 1's adapter weights (the LoRA tensors
    before the first step equal round 1's saved ones) and trains on round 2's kept records only."""
    import torch
    from peft import get_peft_model_state_dict
    from safetensors.torch import load_file

    import train.recipe as recipe
    from curate.loop import steps
    from curate.loop.report import rows_of

    cfg_file, whole = setup
    cfg = SPEC.load(cfg_file, sets=["loop.train_mode=continue"])[0]
    before: dict[str, torch.Tensor] = {}
    real_add_lora = recipe.add_lora

    def spy(*a, **k):  # the model the trainer gets, before any step
        model = real_add_lora(*a, **k)
        before.update({n: t.detach().clone() for n, t in get_peft_model_state_dict(model).items()})
        return model

    monkeypatch.setattr(recipe, "add_lora", spy)
    rnd = steps.Round(whole, 2, "x")
    summary = steps.train_step(cfg, rnd, tmp_path / "train", Console(stderr=True))
    parent = whole / "rounds/001/train/adapter"
    round1 = load_file(str(parent / "adapter_model.safetensors"))
    assert before and set(before) == set(round1)
    assert all(torch.equal(before[n], round1[n]) for n in round1)
    trained = load_file(str(tmp_path / "train/adapter/adapter_model.safetensors"))
    assert any(not torch.equal(trained[n], round1[n]) for n in round1)  # and it trained
    kept2 = whole / "rounds/002/filter/kept.jsonl"
    assert summary["mode"] == "continue" and summary["parent_adapter"] == str(parent)
    assert summary["data"] == [str(kept2)] and summary["records"] == len(rows(kept2))
    assert (
        str(whole / "rounds/001/filter/kept.jsonl")
        not in (tmp_path / "train/config.yaml").read_text()
    )
    # loop.md / rounds.csv name the mode, the records trained on and the adapter started from
    r1 = json.loads((whole / "rounds/001/train/.done.json").read_text())
    done = [{"round": 1, "generate": {"kept": 0, "rejected": 0}, "filter": {"kept": 0, "rejected": 0}, "train": r1},
            {"round": 2, "generate": {"kept": 0, "rejected": 0}, "filter": {"kept": 0, "rejected": 0}, "train": summary}]  # fmt: skip
    table = rows_of(whole, done, [], 2)[0]
    assert [(r["train_mode"], r["trained_from"]) for r in table] == [
        ("from_base", "base"),
        ("continue", "rounds/001/train/adapter"),
    ]
    assert table[1]["trained_on"] == len(rows(kept2))
