"""`train run`, top to bottom: setup → model → train loop → save.

Every check a user can fail (config, model dir, data, max_seq_len) runs in setup, before any model
weights load. The loop is transformers' Trainer with our collator (see train/trainer.py for why not
trl's SFTTrainer); checkpoints go to output_dir/checkpoints, each checked before it is called good
(train/guard.py), and ``resume: true`` continues from the last good one.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from transformers.trainer_callback import PrinterCallback

from curate.io import AtomicFile
from train.adapter import save_adapter
from train.attention import takes_padding_free
from train.config import ConfigError, TrainConfig
from train.data import TrainingData, build
from train.guard import REJECTED, NanGuard, NonFinite, last_good_checkpoint, stop_message
from train.model import add_lora, compute_dtype, load_base, load_tokenizer
from train.packing import Collator, Row, pack, single
from train.plots import plot_loss
from train.trainer import LoraTrainer, MetricsLog, TokenMeter, read_metrics, truncate_metrics

METRICS = "metrics.jsonl"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class RunError(RuntimeError):
    """A run that cannot go on: one line for the user."""


@dataclass
class RunResult:
    steps: int
    train_loss: float | None
    eval_loss: float | None
    adapter: Path
    tokens_per_s: float
    model: Any = field(
        default=None, repr=False
    )  # the trained PeftModel, for callers that go on using it


def check_base_model(name: str) -> None:
    """A local model dir must hold config.json; anything else must look like a hub id."""
    p = Path(name).expanduser()
    if p.exists():
        if not (p / "config.json").is_file():
            raise ConfigError(f"base_model: {name}: no config.json in this directory (not a model)")
    elif not _HUB_ID.match(name) or name.startswith((".", "/", "~")):
        raise ConfigError(f"base_model: {name}: no such model directory")


def training_args(cfg: TrainConfig, out: Path, dtype: torch.dtype, has_val: bool) -> Any:
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        learning_rate=cfg.lr,
        lr_scheduler_type=cfg.scheduler,
        warmup_steps=cfg.warmup,
        logging_steps=cfg.logging_steps,
        eval_strategy="steps" if has_val else "no",
        eval_steps=cfg.eval_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        seed=cfg.seed,
        data_seed=cfg.seed,
        bf16=dtype == torch.bfloat16,
        fp16=dtype == torch.float16,
        report_to=cfg.report_to or "none",
        disable_tqdm=True,
        remove_unused_columns=False,  # our rows are not a datasets.Dataset
        label_names=["labels"],
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
    )


@dataclass
class Prepared:
    """What setup hands the loop: checked data as rows, the tokenizer, where to resume from."""

    out: Path
    tokenizer: Any
    train_rows: list[Row]
    val_rows: list[Row]
    resume_from: Path | None


def prepare_output(cfg: TrainConfig, out: Path, console: Console) -> Path | None:
    """Create output_dir, pick the checkpoint to resume from, write config.yaml, reset metrics."""
    out.mkdir(parents=True, exist_ok=True)
    resume_from = last_good_checkpoint(out / "checkpoints") if cfg.resume else None
    if cfg.resume and resume_from is None:
        console.print(f"resume: no good checkpoint in {out / 'checkpoints'}; starting from step 0")
    stale = sorted((out / "checkpoints").glob("checkpoint-*")) if resume_from is None else []
    if stale:  # a fresh run must not leave an earlier run's checkpoints for a resume to pick up
        console.print(
            f"note: removing {len(stale)} checkpoints of an earlier run (resume: true continues one)"
        )
        for path in stale:
            shutil.rmtree(path)
    if resume_from is None:
        shutil.rmtree(out / REJECTED, ignore_errors=True)
    with AtomicFile(out / "config.yaml") as f:
        f.write(cfg.to_yaml())
    if resume_from is not None:
        truncate_metrics(out / METRICS, int(resume_from.name.rpartition("-")[2]))
        console.print(f"resume: continuing from {resume_from}")
    else:
        (out / METRICS).unlink(missing_ok=True)
    return resume_from


def check_output(cfg: TrainConfig, out: Path) -> None:
    """An output_dir holding an earlier run (checkpoints, metrics.jsonl) is continued with resume
    or replaced with overwrite, never deleted unasked."""
    if out.exists() and not out.is_dir():
        raise RunError(f"output_dir {out}: exists and is not a directory; choose another")
    if cfg.resume or cfg.overwrite or not out.is_dir():
        return
    earlier = [
        name
        for name, present in (
            ("checkpoints", any((out / "checkpoints").glob("checkpoint-*"))),
            (METRICS, (out / METRICS).exists()),
            ("adapter", (out / "adapter").exists()),
        )
        if present
    ]
    if earlier:
        raise RunError(
            f"output_dir {out}: holds an earlier run ({', '.join(earlier)}); continue it with "
            "--resume true, replace it with --overwrite true, or choose another output_dir"
        )


def setup(cfg: TrainConfig, console: Console) -> Prepared:
    """Everything that can fail on bad input, before any weights load."""
    out = Path(cfg.output_dir)
    check_output(cfg, out)
    check_base_model(cfg.base_model)
    resume_from = prepare_output(cfg, out, console)
    try:
        tokenizer = load_tokenizer(cfg.base_model)
    except OSError as e:
        raise ConfigError(
            f"base_model: cannot load {cfg.base_model!r}: {str(e).splitlines()[0]}"
        ) from None
    data: TrainingData = build(cfg, tokenizer)
    rows = pack if cfg.packing else (lambda ex, _: single(ex))
    train_rows, val_rows = rows(data.train, cfg.max_seq_len), rows(data.val, cfg.max_seq_len)
    console.print(
        f"data: {data.records:,} records → {len(data.train):,} train / {len(data.val):,} val examples"
        + (f" in {len(train_rows):,} packed sequences" if cfg.packing else "")
    )
    for note in data.notes:
        console.print(f"[yellow]note:[/] {note}")
    return Prepared(out, tokenizer, train_rows, val_rows, resume_from)


def run(
    cfg: TrainConfig, console: Console | None = None, start_from: Path | None = None
) -> RunResult:
    """``start_from``: a saved adapter to go on training instead of a fresh LoRA (curate loop)."""
    console = console or Console(stderr=True)
    # ---- setup: config, model dir, data, max_seq_len: all checked before any weights load ----
    prep = setup(cfg, console)
    out, tokenizer = prep.out, prep.tokenizer

    # ---- model: base (4-bit / 8-bit / plain) + LoRA ----
    torch.manual_seed(cfg.seed)
    dtype = compute_dtype(cfg.dtype)
    model = load_base(cfg.base_model, cfg.quantization, dtype, cfg.attn_implementation)
    model = add_lora(model, cfg, quantized=cfg.quantization != "none", start_from=start_from)

    # ---- train loop: transformers' Trainer, our collator (padding-free row or 4D mask when packing) ----
    meter = TokenMeter()
    log = MetricsLog(out / METRICS, meter, console)
    additive = dtype if cfg.attn_implementation == "eager" else None
    # packed rows: one padding-free row where the attention honours segments, else a 4D mask
    padding_free = cfg.packing and takes_padding_free(model)
    collate = Collator(tokenizer.pad_token_id, cfg.packing, additive, padding_free)
    # checks the weights after each step and a fixed probe batch before each save (NaN guard)
    guard = NanGuard(prep.train_rows[: cfg.batch_size], collate, cfg.lr, console)
    trainer = LoraTrainer(
        model=model,
        args=training_args(cfg, out, dtype, has_val=bool(prep.val_rows)),
        train_dataset=prep.train_rows,
        eval_dataset=prep.val_rows or None,
        data_collator=collate,
        callbacks=[log, guard],
        meter=meter,
    )
    trainer.remove_callback(PrinterCallback)  # MetricsLog prints the logs
    try:
        trainer.train(resume_from_checkpoint=str(prep.resume_from) if prep.resume_from else None)
    except NonFinite as e:
        raise RunError(stop_message(e, out / "checkpoints")) from None
    finally:
        log.close()

    # ---- save: verified adapter, loss plot, summary ----
    save_adapter(model, tokenizer, cfg, out / "adapter")
    rows_logged = read_metrics(out / METRICS)
    plot_loss(rows_logged, out / "loss.png")
    return summarise(rows_logged, trainer.state.global_step, out / "adapter", model)


def summarise(rows: list[dict[str, Any]], steps: int, adapter: Path, model: Any) -> RunResult:
    losses = [r["loss"] for r in rows if r.get("loss") is not None]
    evals = [r["eval_loss"] for r in rows if r.get("eval_loss") is not None]
    tps = [r["tokens_per_s"] for r in rows if r.get("tokens_per_s")]
    return RunResult(
        steps=steps,
        train_loss=losses[-1] if losses else None,
        eval_loss=evals[-1] if evals else None,
        adapter=adapter,
        tokens_per_s=sum(tps) / len(tps) if tps else 0.0,
        model=model,
    )
