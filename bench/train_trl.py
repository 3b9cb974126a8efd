"""bench/train.py, part 3: our trainer beside trl's SFTTrainer, in one process, steps interleaved.

Each trainer gets its own copy of the same model (same initial weights: 4-bit NF4 + LoRA r=16, fp32
compute on CPU), its own optimizer and its own data loader over the same tokenized examples (labels
-100 on the prompt: completion-only loss), and makes one pass. Steps are interleaved: the trainer
furthest behind in its pass goes next, so load that comes and goes on a shared machine lands on all
of them alike and the ratios hold even when the absolute figures do not. A step is what the trainer
does in ``train()``: the loader's next batch (collation included), ``training_step`` (its own loss
and metrics), ``optimizer.step``; only the first step of each is left out (first-call setup).

- ours: our packed rows, 2 per step, as one padding-free row with ``segment_sdpa`` (Σ len² attention);
- trl packing: ``SFTConfig(packing=True)`` (bfd, hence padding-free: one row of 2 packed rows whose
  position ids restart per example; trl passes ``use_cache=False`` and transformers then builds a
  block-diagonal mask from the position ids for sdpa: correct, but full attention over the row);
- trl padding: ``SFTConfig(packing=False)``, 8 examples per step padded to the longest, sdpa.
trl's SFTConfig defaults that would change the arithmetic rather than the trainer are set as ours:
no gradient checkpointing, fp32 (its bf16 default), the same learning rate.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from train.model import add_lora, load_base
from train.packing import Collator, pack


def trl_missing() -> str | None:
    """Why the trl rows cannot run here, or None."""
    try:
        import trl  # noqa: F401
    except ImportError:
        return "trl is not installed (pip install trl)"
    return None


def _trainers(model_dir: Path, examples: list, tok: Any, tmp: Path, cfg: Any, max_len: int) -> list:
    from datasets import Dataset
    from transformers import TrainingArguments
    from trl import SFTConfig, SFTTrainer

    from train.trainer import LoraTrainer, TokenMeter

    def model(attn: str) -> Any:
        torch.manual_seed(0)
        return add_lora(load_base(str(model_dir), "4bit", torch.float32, attn), cfg, quantized=True)

    common: dict[str, Any] = dict(
        learning_rate=1e-3, seed=0, report_to="none", disable_tqdm=True, use_cpu=True,
        save_strategy="no", logging_steps=10**9, bf16=False, gradient_checkpointing=False,
    )  # fmt: skip
    ours = LoraTrainer(
        model=model("segment_sdpa"),
        args=TrainingArguments(
            output_dir=str(tmp / "ours"),
            per_device_train_batch_size=2,
            remove_unused_columns=False,
            label_names=["labels"],
            **common,
        ),  # fmt: skip
        train_dataset=pack(examples, max_len),
        data_collator=Collator(tok.pad_token_id, packed=True, padding_free=True),
        meter=TokenMeter(),
    )
    data = Dataset.from_list([{"input_ids": e.input_ids, "labels": e.labels} for e in examples])

    def sft(name: str, **kw: Any) -> Any:
        args = SFTConfig(output_dir=str(tmp / name), max_length=max_len, **kw, **common)
        return SFTTrainer(model=model("sdpa"), args=args, train_dataset=data, processing_class=tok)

    return [
        ("ours: packed, segment attention (2 rows/step as 1 padding-free row)", ours),
        ("trl SFTTrainer packing=True (bfd, padding-free, 2 rows/step)", sft("pack", packing=True, per_device_train_batch_size=2)),
        ("trl SFTTrainer padding (8/step, to the longest)", sft("pad", per_device_train_batch_size=8)),
    ]  # fmt: skip


def _step(trainer: Any, batch: dict) -> tuple[int, float, int]:
    """One optimizer step; returns real tokens, loss, label tokens."""
    if "num_tokens" in batch:  # our collator counts real tokens itself
        real = int(batch["num_tokens"])
    elif "attention_mask" in batch:
        real = int(batch["attention_mask"].sum())
    else:  # padding-free: one row, no pad
        real = batch["input_ids"].numel()
    n = int((batch["labels"][:, 1:] != -100).sum())
    loss = trainer.training_step(trainer.model, batch)
    trainer.optimizer.step()
    trainer.optimizer.zero_grad()
    return real, float(loss), n


def versus_trl(
    model_dir: Path, examples: list, tok: Any, tmp: Path, cfg: Any, max_len: int
) -> list[tuple[str, dict]]:
    """One pass per trainer, steps interleaved; a loader of one batch gives no timed step (raise --n)."""
    runs = []
    for name, trainer in _trainers(model_dir, examples, tok, tmp, cfg, max_len):
        trainer.create_optimizer()
        trainer.current_gradient_accumulation_steps = 1  # train() sets it per step
        loader = trainer.get_train_dataloader()
        it = iter(loader)
        _step(trainer, next(it))  # untimed: first-call setup
        runs.append({"name": name, "trainer": trainer, "it": it, "left": len(loader) - 1,
                     "steps": len(loader) - 1, "seconds": 0.0, "real": 0, "loss": 0.0, "n": 0})  # fmt: skip
    while any(r["left"] for r in runs):
        r = min((r for r in runs if r["left"]), key=lambda r: 1 - r["left"] / r["steps"])
        start = time.perf_counter()
        real, loss, n = _step(r["trainer"], next(r["it"]))
        r["seconds"] += time.perf_counter() - start
        r["left"] -= 1
        r["real"] += real
        r["loss"] += loss * n
        r["n"] += n
    return [
        (r["name"], {"steps": r["steps"], "real_tokens": r["real"], "seconds": r["seconds"],
                     "tokens_per_s": r["real"] / max(r["seconds"], 1e-9),
                     "loss": r["loss"] / max(r["n"], 1)})
        for r in runs
    ]  # fmt: skip


def print_table(rows: list[tuple[str, dict]], header: str) -> None:
    ours = rows[0][1]["tokens_per_s"]
    print(f"\n{header}")
    print(
        "| trainer | timed steps | real tokens | seconds | effective tok/s | vs ours | ours is × | loss |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        tps = r["tokens_per_s"]
        print(f"| {name} | {r['steps']} | {r['real_tokens']:,} | {r['seconds']:.1f} | {tps:,.0f} | "
              f"{tps / ours:.2f}× | {ours / tps:.2f}× | {r['loss']:.4f} |")  # fmt: skip
