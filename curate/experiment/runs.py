"""Train every (variant, seed) with the same recipe and budget; score each on the one held-out set.

The budget: ``steps`` gives every run the same optimizer steps; ``tokens`` (default) the same
number of training tokens, so a smaller variant is seen for more epochs, not for less compute:
a variant's steps are ``round(budget / tokens per step)``, tokens per step being batch_size x
grad_accum x the mean length of its (packed) training rows.

A run writes ``runs/NAME/seed-S/result.json`` last (atomically), with the key of everything it
depends on (train config, data sha256, steps, held-out sha256); a rerun whose key matches reuses
it, so after a kill -9 only the runs without a result train again (a half-trained run restarts:
its directory is overwritten).
"""

from __future__ import annotations

import gc
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.config import ConfigError, Origins, from_yaml, set_value
from curate.experiment.config import ExperimentConfig, canonical, sha256_text
from curate.experiment.data import Pool, Variant
from curate.io import AtomicFile
from curate.jsonout import dumps


@dataclass
class Plan:
    variant: Variant
    steps: int
    tokens_per_step: float
    train_tokens: int  # the variant's training tokens (one pass)


def train_config(cfg: ExperimentConfig, data: str, out_dir: Path, seed: int, steps: int) -> Any:
    """The `train run` config of one run: recipe ← experiment keys ← this run's own."""
    from train.config import TrainConfig, check_values

    tcfg = TrainConfig()
    if cfg.recipe:
        if not Path(cfg.recipe).is_file():
            raise ConfigError(f"recipe: {cfg.recipe}: no such file")
        tcfg = from_yaml(TrainConfig, Path(cfg.recipe).read_text(encoding="utf-8"), cfg.recipe)
    for key, value in cfg.train.items():
        set_value(tcfg, key, value, "train")
    fixed = {
        "base_model": cfg.base_model,
        "data": [data],
        "output_dir": str(out_dir),
        "seed": seed,
        "val_size": 0.0,  # scored on the experiment's held-out set instead
        "resume": False,
        "overwrite": True,
        "report_to": [],
    }
    if steps > 0:
        fixed["max_steps"] = steps
    for key, value in fixed.items():
        set_value(tcfg, key, value, "experiment")
    check_values(tcfg, Origins("train"))
    return tcfg


def plan(cfg: ExperimentConfig, variants: list[Variant], out: Path) -> list[Plan]:
    """Steps per variant for the budget (tokens counted with the base model's tokenizer)."""
    from train.data import build
    from train.model import load_tokenizer
    from train.packing import pack, single

    probe = train_config(cfg, variants[0].data, out / "runs", cfg.seeds[0], 0)
    tokenizer = load_tokenizer(cfg.base_model)
    per_step_rows = probe.batch_size * probe.grad_accum
    sized = []
    for v in variants:
        probe.data = [v.data]
        examples = build(probe, tokenizer).train
        rows = pack(examples, probe.max_seq_len) if probe.packing else single(examples)
        tokens = sum(len(r.input_ids) for r in rows)
        sized.append((v, tokens, per_step_rows * tokens / max(len(rows), 1)))
    if cfg.budget == "steps":
        steps = cfg.steps or probe.max_steps
        if steps <= 0:
            raise ConfigError("steps: budget steps needs steps > 0 (or max_steps in the recipe)")
        return [Plan(v, steps, per, tokens) for v, tokens, per in sized]
    budget = cfg.tokens or int(min(t for _, t, _ in sized) * cfg.epochs)
    return [Plan(v, max(1, round(budget / per)), per, tokens) for v, tokens, per in sized]


def run_key(tcfg: Any, p: Plan, pool: Pool) -> str:
    config = {k: v for k, v in tcfg.to_dict().items() if k not in ("output_dir", "data")}
    return sha256_text(canonical([config, p.variant.sha256, p.steps, pool.heldout_sha256]))


def read_result(path: Path, key: str) -> dict[str, Any] | None:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and found.get("key") == key else None


def run_one(
    cfg: ExperimentConfig, p: Plan, seed: int, pool: Pool, out: Path, console: Any
) -> tuple[dict[str, Any], bool]:
    """(result, whether it was reused): train, then eval loss on the held-out set."""
    from train.eval import evaluate_loss
    from train.recipe import run as train_run

    run_dir = out / "runs" / p.variant.name / f"seed-{seed}"
    tcfg = train_config(cfg, p.variant.data, run_dir, seed, p.steps)
    key = run_key(tcfg, p, pool)
    found = read_result(run_dir / "result.json", key)
    if found is not None:
        return found, True
    console.print(f"train {p.variant.name} seed {seed}: {p.steps} steps", highlight=False)
    start = time.perf_counter()
    trained = train_run(tcfg, console)
    del trained.model
    gc.collect()
    ev = evaluate_loss(run_dir / "adapter", pool.heldout)
    result = {
        "variant": p.variant.name,
        "seed": seed,
        "steps": trained.steps,
        "train_loss": trained.train_loss,
        "eval_loss": ev.loss,
        "perplexity": ev.perplexity,
        "eval_tokens": ev.tokens,
        "eval_examples": ev.examples,
        "tokens_trained_est": round(trained.steps * p.tokens_per_step),
        "seconds": round(time.perf_counter() - start, 1),
        "train_config_sha256": sha256_text(tcfg.to_yaml()),
        "key": key,
    }
    if cfg.judge_backend:
        result["answers"] = answers(cfg, run_dir / "adapter", pool)
    with AtomicFile(run_dir / "result.json") as f:
        f.write(dumps(result, ensure_ascii=False, indent=2) + "\n")
    return result, False


def answers(cfg: ExperimentConfig, adapter: Path, pool: Pool) -> list[str]:
    """Greedy answers to the first judge_examples held-out instructions (for the win-rate)."""
    from train.eval import read_heldout
    from train.eval_judge import answers_of

    records = read_heldout(pool.heldout)[: cfg.judge_examples]
    return answers_of(str(adapter), records, max_new_tokens=128)
