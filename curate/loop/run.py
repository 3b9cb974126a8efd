"""`curate loop`, top to bottom: for round k = 1, 2, …: generate (round 1 with the base model, round
k>1 with round k-1's adapter) → filter (against every earlier round and the held-out set) → train
(loop.train_mode: a fresh adapter on everything kept so far, or round k-1's adapter on the new
records) → eval (held-out loss), until a stop rule holds.

Every step is skipped when its done marker is there (curate/loop/state.py), so rerunning the same
command after a crash or kill -9 redoes only the interrupted step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console

from curate.io import AtomicFile
from curate.loop import steps
from curate.loop.config import LoopConfig, loop_id, round_identity
from curate.loop.engine import Engines
from curate.loop.state import LoopStateError, open_round, run_step

STEPS = ("generate", "filter", "train", "eval")


@dataclass
class LoopResult:
    out: Path
    rounds: list[dict[str, Any]] = field(default_factory=list)  # per round: {step: summary}
    stop_reason: str = ""


def stop_reason(cfg: LoopConfig, rounds: list[dict[str, Any]]) -> str | None:
    """Why the loop stops after the rounds so far, or None to go on."""
    last = rounds[-1]
    k = len(rounds)
    if last["filter"].get("empty") or last["filter"]["kept"] == 0:
        where = "generated" if last["filter"].get("empty") else "survived the filter"
        return f"empty round: no record {where} in round {k}"
    pool = sum(r["filter"]["kept"] for r in rounds)
    if cfg.loop.target_pool is not None and pool >= cfg.loop.target_pool:
        return f"pool target reached: {pool} kept ≥ loop.target_pool {cfg.loop.target_pool}"
    p = cfg.loop.plateau_rounds
    if p and k > p:
        losses = [r["eval"]["loss"] for r in rounds]
        best_before = min(losses[: k - p])
        if min(losses[k - p :]) > best_before - cfg.loop.plateau_delta:
            return (
                f"eval plateau: no eval loss ≥ {cfg.loop.plateau_delta} below {best_before:.4f} "
                f"in the last {p} round(s)"
            )
    if k >= cfg.loop.rounds:
        return f"round limit reached: {k} of loop.rounds {cfg.loop.rounds}"
    return None


def run_loop(
    cfg: LoopConfig,
    out: Path,
    console: Console | None = None,
    opener: Callable[..., Any] | None = None,
) -> LoopResult:
    """Run (or continue) the loop in ``out``; ``opener(generate_config)`` opens a non-vLLM
    backend (default: the registry's)."""
    console = console or Console(stderr=True)
    log = partial(console.print, markup=False, highlight=False)
    if not Path(cfg.loop.heldout).exists():  # before round 1's training, not after it
        raise LoopStateError(f"loop.heldout: {cfg.loop.heldout}: no such file")
    out.mkdir(parents=True, exist_ok=True)
    with AtomicFile(out / "config.yaml") as f:
        from curate.config import dump

        f.write(dump(cfg))
    identity, run_id = round_identity(cfg), loop_id(cfg)
    engines = Engines(cfg.train.lora.r, log, **({"opener": opener} if opener else {}))
    result = LoopResult(out)
    try:
        k = 0
        while True:
            k += 1
            rnd = steps.Round(out, k, run_id)
            open_round(rnd.dir, identity)
            log(f"── round {k}")
            summary = one_round(cfg, rnd, engines, console, log)
            result.rounds.append(summary)
            reason = stop_reason(cfg, result.rounds)
            if reason:
                result.stop_reason = reason
                break
    finally:
        engines.close()
    from curate.loop.report import write_report

    write_report(out, result, cfg)
    log(f"stopped: {result.stop_reason} → {out / 'loop.md'}")
    return result


def one_round(
    cfg: LoopConfig, rnd: steps.Round, engines: Engines, console: Console, log: Callable
) -> dict[str, Any]:
    d = rnd.dir
    summary: dict[str, Any] = {"round": rnd.k}
    summary["generate"] = run_step(
        d / "generate", lambda o: steps.generate(cfg, rnd, o, engines.open), log
    )
    summary["filter"] = run_step(d / "filter", lambda o: steps.filter_step(cfg, rnd, o), log)
    if summary["filter"].get("empty") or summary["filter"]["kept"] == 0:
        return summary  # nothing new to train on: the stop rule says so
    engines.before_training()
    summary["train"] = run_step(d / "train", lambda o: steps.train_step(cfg, rnd, o, console), log)
    summary["eval"] = run_step(d / "eval", lambda o: steps.eval_step(cfg, rnd, o, console), log)
    return summary
