"""The NaN guard (train/guard.py): a run that blows up stops at the step that broke the weights and
names only a checkpoint that was checked; resuming from it with a lower lr trains on."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from train.config import load_config
from train.guard import REJECTED, VALIDATED, NonFinite, last_good_checkpoint, stop_message
from train.recipe import RunError, RunResult, run

pytestmark = pytest.mark.slow


def train(base: Path, out: Path, data: Path, *extra: str) -> RunResult:
    flags = [
        "--base_model", str(base), "--output_dir", str(out), "--data", str(data),
        "--max_steps", "4", "--scheduler", "constant_with_warmup", "--warmup", "2",
        "--batch_size", "4", "--grad_accum", "1", "--logging_steps", "1", "--save_steps", "1",
        "--save_total_limit", "10", "--val_size", "0", "--max_seq_len", "256",
        "--no-gradient_checkpointing", "--lora.dropout", "0", "--seed", "0", *extra,
    ]  # fmt: skip
    return run(load_config(None, flags))


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def adapter_logits(base: Path, adapter: Path, texts: list[str]) -> list[torch.Tensor]:
    from peft import PeftModel
    from transformers import AutoTokenizer

    from train.model import load_base

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = PeftModel.from_pretrained(load_base(str(base), "4bit", torch.float32), str(adapter))
    model.eval()
    with torch.no_grad():
        return [model(**tokenizer(t, return_tensors="pt")).logits for t in texts]


def test_blow_up_names_a_checked_checkpoint_and_resume_with_lower_lr_trains_on(
    tmp_path: Path,
    tiny_llama: Path,
    small_dataset: Callable[..., Path],
    answers: dict[str, str],
) -> None:
    """Warmup makes step 1 a no-op (lr 0) and step 2 a 5e29 update: before the guard the run
    stopped at step 3 naming checkpoint-2 (5e29 weights, NaN on every example), and resuming
    from it with --lr 1e-3 still ran at 5e29 (the checkpoint's scheduler)."""
    out, data = tmp_path / "out", small_dataset(tmp_path / "data.jsonl", repeat=2)
    with pytest.raises(RunError) as e:
        train(tiny_llama, out, data, "--lr", "1e30")
    message = str(e.value)
    assert "\n" not in message
    assert "became nan at step 2" in message, message
    assert f"Last good checkpoint: {out / 'checkpoints' / 'checkpoint-1'} " in message, message
    assert "resume: true" in message
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-1"]
    assert not (out / "adapter").exists()

    good = out / "checkpoints" / "checkpoint-1"
    mark = json.loads((good / VALIDATED).read_text())
    assert mark["step"] == 1 and math.isfinite(mark["probe_loss"]) and mark["probe_examples"] > 0
    from safetensors.torch import load_file

    weights = load_file(str(good / "adapter_model.safetensors"))
    assert all(w.isfinite().all() and w.abs().max() < 10 for w in weights.values())
    texts = [f"{q} {a}" for q, a in answers.items()]
    assert all(lg.isfinite().all() for lg in adapter_logits(tiny_llama, good, texts))

    resumed = train(tiny_llama, out, data, "--lr", "1e-3", "--resume", "true")
    rows = metrics(out)
    assert resumed.steps == 4 and [r["step"] for r in rows] == [1, 2, 3, 4]
    assert all(math.isfinite(r["loss"]) for r in rows)
    assert rows[1]["lr"] == pytest.approx(5e-4)  # the configured lr, half-way through warmup
    assert rows[-1]["loss"] < rows[0]["loss"]  # it learns
    checkpoints = sorted((out / "checkpoints").iterdir())
    assert [p.name for p in checkpoints] == [f"checkpoint-{i}" for i in range(1, 5)]
    for p in checkpoints[1:]:  # a normal run marks every checkpoint it checked
        mark = json.loads((p / VALIDATED).read_text())
        assert mark["step"] == int(p.name.split("-")[1]) and math.isfinite(mark["probe_loss"])
    assert last_good_checkpoint(out / "checkpoints") == out / "checkpoints" / "checkpoint-4"
    assert all(lg.isfinite().all() for lg in adapter_logits(tiny_llama, resumed.adapter, texts))


def test_blow_up_at_the_first_step_leaves_no_good_checkpoint(
    tmp_path: Path, tiny_llama: Path, small_dataset: Callable[..., Path]
) -> None:
    """The issue's case (lr 1e30 from step 1): it used to name checkpoint-1, its weights at 1e30."""
    out = tmp_path / "out"
    with pytest.raises(RunError) as e:
        train(
            tiny_llama,
            out,
            small_dataset(tmp_path / "data.jsonl", repeat=2),
            "--lr",
            "1e30",
            "--scheduler",
            "constant",
            "--warmup",
            "0",
        )
    message = str(e.value)
    assert "became nan at step 1" in message and "\n" not in message, message
    assert "No checkpoint passed the check: lower lr and start again" in message
    assert not list((out / "checkpoints").glob("checkpoint-*"))
    assert not (out / "adapter").exists()


def checkpoint(directory: Path, step: int, validated: bool = True) -> Path:
    path = directory / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "trainer_state.json").write_text("{}")
    if validated:
        (path / VALIDATED).write_text(json.dumps({"step": step, "probe_loss": 2.5}))
    return path


def test_a_nan_training_loss_rejects_the_checkpoint_it_came_from(tmp_path: Path) -> None:
    """A loss at step 3 comes from the weights after step 2: checkpoint-2 passed the probe but is
    not good; it is moved out of checkpoints/ so that neither resume nor the message picks it."""
    checkpoints = tmp_path / "checkpoints"
    checkpoint(checkpoints, 1)
    checkpoint(checkpoints, 2)
    assert last_good_checkpoint(checkpoints) == checkpoints / "checkpoint-2"
    message = stop_message(NonFinite("loss", math.nan, 3, 2), checkpoints)
    assert message.startswith("loss became nan at step 3; stopped. checkpoint-2 gives it")
    assert f"Last good checkpoint: {checkpoints / 'checkpoint-1'} " in message
    assert "probe loss 2.5" in message
    assert [p.name for p in checkpoints.iterdir()] == ["checkpoint-1"]
    assert (tmp_path / REJECTED / "checkpoint-2" / VALIDATED).is_file()


def test_only_checked_complete_checkpoints_count_as_good(tmp_path: Path) -> None:
    checkpoint(tmp_path, 1)
    checkpoint(tmp_path, 2, validated=False)  # e.g. killed between the save and the check
    (tmp_path / "checkpoint-3").mkdir()  # cut before trainer_state.json
    (tmp_path / "checkpoint-4.bad").mkdir()
    assert last_good_checkpoint(tmp_path) == tmp_path / "checkpoint-1"
    assert last_good_checkpoint(tmp_path / "none") is None
