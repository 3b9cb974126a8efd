"""The NaN guard: a run stops at the first non-finite loss or weights, and names as good only a
checkpoint that was checked.

Why a check of its own: the loss the trainer sees at step s comes from the weights *before* the
update of step s, so a checkpoint saved right after a bad update was never run at all (lr 1e30:
checkpoint-2 held 5e29 weights, NaN on every example, and was called good). So:

- after every optimizer step the trainable (LoRA) parameters must be finite;
- before every save, and before the final adapter, a fixed probe batch (the first rows of the
  training data, chosen once) must give a finite loss; the checkpoint then gets ``validated.json``;
- a non-finite training loss at step s condemns the weights of step s-1: a checkpoint of that step
  is moved to ``checkpoints-rejected/``.

``resume: true`` continues from the newest validated checkpoint only, with the configured lr (the
checkpoint's scheduler would otherwise restore the lr that broke the run).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from transformers import TrainerCallback

from curate.io import AtomicFile
from curate.jsonout import dumps
from train.packing import Collator, Row

VALIDATED = "validated.json"
REJECTED = "checkpoints-rejected"  # beside checkpoints/: the Trainer's rotation never sees it
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")


class NonFinite(RuntimeError):
    """``what`` became ``value`` at ``step``; the weights of steps >= ``first_bad`` are not good."""

    def __init__(self, what: str, value: float, step: int, first_bad: int):
        super().__init__(f"{what} became {value} at step {step}")
        self.step, self.first_bad = step, first_bad


def checkpoint_step(path: Path) -> int | None:
    m = _CHECKPOINT.fullmatch(path.name)
    return int(m.group(1)) if m else None


def last_good_checkpoint(directory: Path) -> Path | None:
    """The newest complete (trainer_state.json) checkpoint that passed the check (validated.json)."""
    good = [
        p
        for p in directory.glob("checkpoint-*")
        if checkpoint_step(p) is not None
        and (p / "trainer_state.json").is_file()
        and (p / VALIDATED).is_file()
    ]
    return max(good, key=lambda p: checkpoint_step(p) or 0, default=None)


def first_non_finite(params: dict[str, torch.Tensor]) -> tuple[str, float] | None:
    """(name, a bad value) of the first parameter holding a NaN or inf; one device sync if none."""
    if not params or bool(
        torch.stack([p.detach().isfinite().all() for p in params.values()]).all()
    ):
        return None
    for name, p in params.items():
        bad = p.detach()[~p.detach().isfinite()]
        if bad.numel():
            return name, float(bad.flatten()[0])
    return None


@torch.no_grad()
def probe_loss(model: Any, batch: dict[str, Any], device: torch.device) -> float:
    """The loss of ``batch`` in eval mode (no dropout, no RNG drawn), the model left as it was."""
    inputs = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    was_training = model.training
    model.eval()
    try:
        return float(model(**inputs, use_cache=False).loss.float())
    finally:
        model.train(was_training)


def use_configured_lr(optimizer: Any, scheduler: Any, lr: float) -> float | None:
    """Put the configured peak lr back after a resume restored the checkpoint's; returns the old
    one when it differed. Our schedules are all LambdaLR: lr = base lr × factor(step)."""
    scheduler = getattr(scheduler, "scheduler", scheduler)  # accelerate's wrapper, if any
    if not isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR):
        return None
    old = scheduler.base_lrs[0]
    if all(b == lr for b in scheduler.base_lrs):
        return None
    scheduler.base_lrs = [lr] * len(scheduler.base_lrs)
    for group, factor in zip(optimizer.param_groups, scheduler.lr_lambdas, strict=True):
        group["initial_lr"] = lr
        group["lr"] = lr * factor(scheduler.last_epoch)
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
    return old


class NanGuard(TrainerCallback):
    """Checks the weights after each optimizer step and the probe loss before each save; marks the
    checkpoints that passed. Raises NonFinite, which ends ``trainer.train()``."""

    def __init__(self, probe: list[Row], collate: Collator, lr: float, console: Console):
        self.probe = {k: v for k, v in collate(probe).items() if k != "num_tokens"}
        self.examples = sum(len(row.seq_lens) for row in probe)
        self.lr, self.console = lr, console
        self.params: dict[str, torch.Tensor] = {}
        self.checked: tuple[int, float] | None = None  # (step, probe loss) of the last check

    def on_train_begin(
        self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any
    ) -> None:
        self.params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        if state.global_step > 0:  # resumed: the checkpoint's scheduler came with its own lr
            old = use_configured_lr(kw["optimizer"], kw["lr_scheduler"], self.lr)
            if old is not None:
                self.console.print(f"resume: lr {old:g} of the checkpoint → {self.lr:g} (config)")

    def on_optimizer_step(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        bad = first_non_finite(self.params)
        if bad is not None:
            step = state.global_step + 1  # not counted yet
            raise NonFinite(f"trainable weight {bad[0]}", bad[1], step, step)

    def on_step_end(
        self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any
    ) -> None:
        if control.should_save or control.should_training_stop:
            self.check(state.global_step, model, args.device)

    def on_save(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
        step = state.global_step
        if self.checked is None or self.checked[0] != step:  # a save on_step_end did not foresee
            self.check(step, model, args.device)
        assert self.checked is not None
        path = Path(args.output_dir) / f"checkpoint-{step}" / VALIDATED
        mark = {"step": step, "probe_loss": self.checked[1], "probe_examples": self.examples}
        with AtomicFile(path) as f:  # a kill mid-write leaves no half mark
            f.write(dumps(mark) + "\n")

    def check(self, step: int, model: Any, device: torch.device) -> None:
        bad = first_non_finite(self.params)
        if bad is not None:
            raise NonFinite(f"trainable weight {bad[0]}", bad[1], step, step)
        loss = probe_loss(model, self.probe, device)
        if not math.isfinite(loss):
            raise NonFinite("the probe loss", loss, step, step)
        self.checked = (step, loss)


def stop_message(error: NonFinite, checkpoints: Path) -> str:
    """Move the checkpoints the failure condemns aside; one line: what broke, what is good, what next."""
    rejected = []
    for path in sorted(checkpoints.glob("checkpoint-*")):
        step = checkpoint_step(path)
        if step is not None and step >= error.first_bad:
            dest = checkpoints.parent / REJECTED / path.name
            shutil.rmtree(dest, ignore_errors=True)
            dest.parent.mkdir(parents=True, exist_ok=True)
            path.rename(dest)
            rejected.append(path.name)
    line = f"{error}; stopped."
    if rejected:
        verb = "gives" if len(rejected) == 1 else "give"
        line += f" {', '.join(rejected)} {verb} it: moved to {checkpoints.parent / REJECTED}."
    good = last_good_checkpoint(checkpoints)
    if good is None:
        return line + " No checkpoint passed the check: lower lr and start again (--overwrite true)"
    loss = json.loads((good / VALIDATED).read_text(encoding="utf-8"))["probe_loss"]
    return (
        line + f" Last good checkpoint: {good} (finite weights, probe loss {loss:.4g});"
        " lower lr, then resume: true continues from it"
    )
