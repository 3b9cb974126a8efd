"""`train eval`: loss as training computes it, per example; pairwise judging in both orders; --tasks."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from curate.backends.base import Completion, SamplingParams
from curate.io import read_records
from train.cli import app
from train.config import load_config
from train.eval import evaluate_loss, examples_of, load_scorer
from train.eval_judge import pairwise, parse_verdict
from train.recipe import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, tiny_llama: Path, small_dataset: Callable[..., Path]
) -> tuple[Path, Path]:
    """(adapter dir, held-out data): 2 steps on the tiny Llama, plain weights, chatml."""
    tmp = tmp_path_factory.mktemp("eval")
    data = small_dataset(tmp / "data.jsonl", repeat=1)
    flags = [
        "--model", str(tiny_llama), "--out", str(tmp / "run"), "--data", str(data),
        "--max-steps", "2", "--quantization", "none", "--template", "chatml", "--val-size", "0",
        "--batch-size", "2", "--grad-accum", "1", "--no-gradient-checkpointing", "--lr", "1e-2",
        "--lora.r", "4", "--save-steps", "100", "--seed", "0",
    ]  # fmt: skip
    result = run(load_config(None, flags))
    return result.adapter, data


def test_loss_equals_the_training_loss_of_the_same_batch(trained: tuple[Path, Path]) -> None:
    """One batch: evaluate_loss's token-weighted loss is what the trainer's compute_loss gives."""
    from transformers import TrainingArguments

    from train.packing import Collator, single
    from train.trainer import LoraTrainer, TokenMeter

    adapter, data = trained
    records = [r for r in read_records(str(data))]
    result = evaluate_loss(adapter, data, batch_size=len(records))
    scorer = load_scorer(adapter)
    assert scorer.template == "chatml" and scorer.completion_only
    examples, _, _ = examples_of(scorer, records)
    batch = Collator(scorer.tokenizer.pad_token_id, packed=False)(single(examples))
    args = TrainingArguments(output_dir=str(adapter.parent / "t"), report_to="none", use_cpu=True)
    trainer = LoraTrainer(model=scorer.model, args=args, meter=TokenMeter())
    with torch.no_grad():
        expected = float(trainer.compute_loss(scorer.model, batch))
    assert result.loss == pytest.approx(expected, rel=1e-5)
    assert result.perplexity == pytest.approx(math.exp(expected), rel=1e-5)
    assert result.examples == len(records) and result.adapter == str(adapter)
    # masking as training: only the reply tokens count
    assert result.tokens == sum(sum(1 for t in e.labels[1:] if t != -100) for e in examples)
    # the per-example losses, weighted by tokens, make up the whole; batching does not matter
    per = result.per_example
    assert [p.id for p in per] == [r.id for r in records]
    weighted = sum(p.loss * p.tokens for p in per) / sum(p.tokens for p in per)
    assert weighted == pytest.approx(result.loss, rel=1e-6)
    small = evaluate_loss(adapter, records, batch_size=2)
    assert small.loss == pytest.approx(result.loss, rel=1e-5)


def test_cli_writes_eval_json_for_an_adapter_and_a_base(
    trained: tuple[Path, Path], tiny_llama: Path, tmp_path: Path
) -> None:
    adapter, data = trained
    runner = CliRunner()
    res = runner.invoke(
        app, ["eval", str(adapter), "--data", str(data), "--out", str(tmp_path / "a")]
    )
    assert res.exit_code == 0, res.output
    got = json.loads((tmp_path / "a" / "eval.json").read_text())
    assert got["template"] == "chatml" and got["examples"] == len(got["per_example"]) > 0
    assert {"id", "loss", "perplexity", "tokens"} <= set(got["per_example"][0])
    res = runner.invoke(
        app, ["eval", str(tiny_llama), "--data", str(data), "--out", str(tmp_path / "b")]
    )
    assert res.exit_code == 0, res.output
    base = json.loads((tmp_path / "b" / "eval.json").read_text())
    assert base["adapter"] is None and base["template"] == "alpaca"


def test_tasks_without_lm_eval_is_one_clear_line(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    import importlib.util

    if importlib.util.find_spec("lm_eval") is not None:
        pytest.fail("lm_eval is installed here: this test checks the message without it")
    adapter, data = trained
    res = CliRunner().invoke(
        app,
        ["eval", str(adapter), "--data", str(data), "--tasks", "hellaswag", "--out", str(tmp_path)],
    )
    assert res.exit_code == 1
    assert "lm-evaluation-harness" in res.output and ".[eval]" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "eval.json").exists()


class Judge:
    """A scripted judge: answers every prompt with ``pick(prompt)``."""

    name, model, adapter = "scripted", "judge", None

    def __init__(self, pick: Callable[[str], str]):
        self.pick = pick
        self.prompts: list[str] = []

    def complete(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        self.prompts += prompts
        return [[Completion(self.pick(p), "stop")] for p in prompts]

    def close(self) -> None:
        pass


def test_a_judge_that_always_prefers_position_a_gives_fifty_percent() -> None:
    from curate.records import Record

    recs = [Record(f"r{i}", f"Say {i}.") for i in range(5)]
    mine, theirs = [f"good {i}" for i in range(5)], [f"bad {i}" for i in range(5)]
    judge = Judge(lambda p: " A")
    res = pairwise(recs, mine, theirs, judge)
    assert (res.pairs, res.judgments, res.wins, res.losses, res.ties) == (5, 10, 5, 5, 0)
    assert res.win_rate == 0.5 and res.consistent == 0
    assert len(judge.prompts) == 10  # each pair in both orders
    assert "Answer A:\ngood 0" in judge.prompts[0] and "Answer A:\nbad 0" in judge.prompts[1]
    # a judge that reads the answers: "good" wins in both orders
    fair = pairwise(recs, mine, theirs, Judge(lambda p: "A" if "Answer A:\ngood" in p else "B"))
    assert fair.win_rate == 1.0 and fair.consistent == 5
    ties = pairwise(recs, mine, theirs, Judge(lambda p: "Tie."))
    assert ties.win_rate == 0.5 and ties.ties == 10
    garbled = pairwise(recs[:1], mine[:1], theirs[:1], Judge(lambda p: "???"))
    assert garbled.unparsed == 2 and garbled.win_rate == 0.5


def test_verdicts_and_the_judge_prompt_render_exactly() -> None:
    from curate.records import Record
    from train.eval_judge import judge_prompt

    assert [parse_verdict(t) for t in (" A", "b.", "Tie", "neither", "Answer: B")] == [
        "A", "B", "tie", None, "B",
    ]  # fmt: skip
    text = judge_prompt("eval/pairwise.txt", Record("x", "Add 2 and 3."), "5", "6")
    assert text.endswith("### Answer A:\n5\n\n### Answer B:\n6\n\nReply with exactly one word: "
                         "A if answer A is better, B if answer B is better, tie if they are equally good.\nVerdict:")  # fmt: skip
    assert "### Input:\n<noinput>\n" in text
