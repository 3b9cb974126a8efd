"""The four steps of a round, each calling the single command's own function in-process and
writing that command's normal outputs into ``DIR/rounds/NNN/<step>/``.

Each returns a small summary (what loop.md and rounds.csv show); ``curate.loop.state.run_step``
writes it as the step's done marker once the outputs are in place.
"""

from __future__ import annotations

import dataclasses
import gc
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from curate.backends.base import Backend
from curate.generate.config import GenerateConfig
from curate.loop.config import LoopConfig


@dataclass
class Round:
    """Where round ``k`` reads from and writes to."""

    out: Path  # the loop's DIR
    k: int
    run_id: str

    @property
    def dir(self) -> Path:
        return self.out / "rounds" / f"{self.k:03d}"

    def of(self, k: int, step: str) -> Path:
        return self.out / "rounds" / f"{k:03d}" / step

    def earlier(self, step: str) -> list[Path]:
        return [self.of(j, step) for j in range(1, self.k)]

    def adapter_before(self) -> Path | None:
        """Round k-1's adapter (None in round 1, which generates with the base)."""
        if self.k == 1:
            return None
        return self.of(self.k - 1, "train") / "adapter"


def nonempty(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def generate(
    cfg: LoopConfig, rnd: Round, out: Path, make_backend: Callable[[GenerateConfig], Backend]
) -> dict[str, Any]:
    from curate.generate.loop import run_generate

    adapter = rnd.adapter_before()
    gcfg = dataclasses.replace(
        cfg.generate,
        adapter=str(adapter) if adapter else cfg.generate.adapter,
        run_id=rnd.run_id,
        first_round=rnd.k,
        previous=[str(p) for p in rnd.earlier("generate")],
        rounds=1,
    )
    result = run_generate(gcfg, out, make_backend)
    c = result.counters
    rows = [json.loads(line) for line in (out / "records.jsonl").open(encoding="utf-8")]
    return {
        "kept": c["kept"],
        "rejected": c["rejected"],
        "rejected_by_reason": c["rejected_by_reason"],
        "instructions": c["instructions_pooled"],
        "adapter": gcfg.adapter,
        "prompt_format": rows[0]["meta"]["generation"]["prompt_format"] if rows else None,
    }


def filter_step(cfg: LoopConfig, rnd: Round, out: Path) -> dict[str, Any]:
    """Novelty and near-dedup against every record kept in earlier rounds, decontamination
    against the held-out set, and the rest of `curate filter`'s stages."""
    from curate.filters.pipeline import run_filter

    records = rnd.of(rnd.k, "generate") / "records.jsonl"
    if not nonempty(records):
        return {"kept": 0, "rejected": 0, "rejected_by_reason": {}, "empty": True}
    fcfg = dataclasses.replace(
        cfg.filter,
        against=[
            *cfg.filter.against,
            *(str(p / "kept.jsonl") for p in rnd.earlier("filter") if nonempty(p / "kept.jsonl")),
        ],
        decontam=dataclasses.replace(
            cfg.filter.decontam,
            enabled=True,
            eval_sets=[*cfg.filter.decontam.eval_sets, cfg.loop.heldout],
        ),
    )
    stats = run_filter([str(records)], out, fcfg).stats
    return {
        "kept": stats["kept"],
        "rejected": stats["rejected"],
        "rejected_by_reason": stats["rejected_by_reason"],
    }


def pool_files(rnd: Round) -> list[Path]:
    """Every kept.jsonl so far, this round's included."""
    return [p for j in range(1, rnd.k + 1) if nonempty(p := rnd.of(j, "filter") / "kept.jsonl")]


def train_step(cfg: LoopConfig, rnd: Round, out: Path, console: Console) -> dict[str, Any]:
    """loop.train_mode from_base: a fresh adapter from the base on every record kept so far;
    continue: round k-1's adapter trained on, on round k's kept records only."""
    from train.recipe import run

    parent = rnd.adapter_before() if cfg.loop.train_mode == "continue" else None
    data = pool_files(rnd) if parent is None else [rnd.of(rnd.k, "filter") / "kept.jsonl"]
    tcfg = dataclasses.replace(
        cfg.train,
        base_model=cfg.train.base_model or cfg.generate.model,
        data=[str(p) for p in data],
        output_dir=str(out),
        resume=False,
        overwrite=True,
    )
    result = run(tcfg, console, start_from=parent)
    summary = {
        "mode": cfg.loop.train_mode,
        "parent_adapter": str(parent) if parent else None,
        "data": [str(p) for p in data],
        "steps": result.steps,
        "train_loss": result.train_loss,
        "adapter": str(result.adapter),
        "records": sum(1 for p in data for _ in p.open(encoding="utf-8")),
    }
    del result
    gc.collect()
    return summary


def eval_step(cfg: LoopConfig, rnd: Round, out: Path, console: Console) -> dict[str, Any]:
    """`train eval` of this round's adapter on the held-out set; with a judge, against the
    previous round's adapter (the base model in round 1)."""
    from train.eval_run import run_eval

    adapter = rnd.of(rnd.k, "train") / "adapter"
    before = rnd.adapter_before()
    judge = cfg.eval.judge
    if judge.enabled:
        judge = dataclasses.replace(judge, against=str(before) if before else cfg.generate.model)
    ecfg = dataclasses.replace(cfg.eval, data=[cfg.loop.heldout], out=str(out), judge=judge)
    result = run_eval(str(adapter), ecfg, console)
    return {
        "loss": result["loss"],
        "perplexity": result["perplexity"],
        "examples": result["examples"],
        "win_rate": result.get("judge", {}).get("win_rate"),
    }
