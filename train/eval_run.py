"""`train eval`, top to bottom: loss and perplexity, then the judge, then lm-eval tasks → eval.json."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console

from curate.io import AtomicFile
from curate.jsonout import dumps
from train.eval import evaluate_loss, read_heldout
from train.eval_config import EvalConfig

EVAL_JSON = "eval.json"


def run_eval(
    model_or_adapter: str, cfg: EvalConfig, console: Console | None = None
) -> dict[str, Any]:
    """Every part the config asks for, written to ``cfg.out/eval.json`` (atomically); returns it."""
    console = console or Console(stderr=True)
    if cfg.tasks:  # before any model loads: a missing extra is one line, not a wasted run
        from train.eval_tasks import check_installed

        check_installed()
    records = read_heldout(cfg.data)
    t0 = time.perf_counter()
    loss = evaluate_loss(
        model_or_adapter,
        records,
        template=cfg.template,
        base=cfg.base,
        max_seq_len=cfg.max_seq_len,
        batch_size=cfg.batch_size,
    )
    result: dict[str, Any] = {
        "model_or_adapter": str(model_or_adapter),
        "data": list(cfg.data),
        **loss.to_dict(),
        "loss_seconds": round(time.perf_counter() - t0, 3),
    }
    console.print(
        f"eval: {loss.examples} examples, {loss.tokens} tokens: loss {loss.loss:.4f}, "
        f"perplexity {loss.perplexity:.2f}",
        markup=False,
    )
    if cfg.judge.enabled:
        result["judge"] = judge(model_or_adapter, records, cfg, console)
    if cfg.tasks:
        from train.eval_tasks import run_tasks

        result["tasks"] = run_tasks(
            str(model_or_adapter), cfg.tasks, base=cfg.base, limit=cfg.tasks_limit
        )
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    with AtomicFile(out / EVAL_JSON) as f:
        f.write(dumps(result, ensure_ascii=False, indent=2) + "\n")
    return result


def judge(
    model_or_adapter: str, records: list, cfg: EvalConfig, console: Console
) -> dict[str, Any]:
    from train.eval_judge import answers_of, open_judge, pairwise

    j = cfg.judge
    chosen = records[: j.max_examples]
    mine = answers_of(str(model_or_adapter), chosen, j.max_new_tokens, base=cfg.base)
    theirs = answers_of(str(j.against), chosen, j.max_new_tokens, base=cfg.base)
    backend = open_judge(j)
    try:
        res = pairwise(
            chosen,
            mine,
            theirs,
            backend,
            prompt=j.prompt,
            max_tokens=j.judge_max_tokens,
            against=str(j.against),
        )
    finally:
        backend.close()
    console.print(
        f"judge: win-rate {res.win_rate:.1%} vs {j.against} ({res.wins} wins, {res.losses} losses, "
        f"{res.ties} ties over {res.judgments} judgments, both orders)",
        markup=False,
    )
    return res.to_dict()
