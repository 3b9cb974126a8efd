"""`curate generate`, top to bottom: resume the run directory, build the context, run rounds
until the target or the round limit, committing every round to disk before the next starts."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.backends.base import Backend, redact_url
from curate.generate.alpaca import alpaca_round
from curate.generate.config import GenerateConfig, dump_config, run_id_of
from curate.generate.context import Context
from curate.generate.novelty import Novelty
from curate.generate.prompt_format import with_format
from curate.generate.prompts import template_hashes
from curate.generate.round import RoundOutput
from curate.generate.seeds import load_pool, load_seeds
from curate.generate.selfinstruct import self_instruct_round
from curate.generate.stages import load_kept, make_stages
from curate.generate.state import Logs, Recovery, RunDirError, start_or_resume
from curate.io import AtomicFile
from curate.jsonout import dumps

ROUNDS: dict[str, Callable[[Context, int], RoundOutput]] = {
    "self-instruct": self_instruct_round,
    "alpaca": alpaca_round,
}


@dataclass
class GenerateResult:
    out: Path
    counters: dict[str, Any]
    stop_reason: str
    recovery: Recovery = field(default_factory=Recovery)
    seed_rejects: int = 0


class Listener:
    """What the loop tells a progress display; the default says nothing."""

    def started(
        self, cfg: GenerateConfig, counters: dict[str, Any], recovery: Recovery
    ) -> None: ...
    def round_started(self, round_no: int) -> None: ...
    def round_done(self, round_no: int, counters: dict[str, Any]) -> None: ...


def new_counters() -> dict[str, Any]:
    return {
        "rounds": 0,
        "kept": 0,
        "rejected": 0,
        "rejected_by_reason": {},
        "instructions_parsed": 0,
        "instructions_pooled": 0,
        "prompts": 0,
        "completion_tokens": 0,
        "generation_seconds": 0.0,
    }


def add_round(counters: dict[str, Any], r: int, out: RoundOutput) -> None:
    counters["rounds"] = r
    counters["kept"] += len(out.kept)
    counters["rejected"] += len(out.rejected)
    reasons = Counter(counters["rejected_by_reason"])
    reasons.update(out.reasons())
    counters["rejected_by_reason"] = dict(reasons.most_common())
    counters["instructions_parsed"] += out.instructions
    counters["instructions_pooled"] += len(out.pool)
    counters["prompts"] += out.prompts
    counters["completion_tokens"] += out.completion_tokens
    counters["generation_seconds"] = round(counters["generation_seconds"] + out.seconds, 3)


def stop_reason(cfg: GenerateConfig, counters: dict[str, Any]) -> str | None:
    if counters["kept"] >= cfg.target:
        return f"target reached: {counters['kept']} kept ≥ --target {cfg.target}"
    if counters["rounds"] >= cfg.rounds:
        return f"round limit reached: {counters['rounds']} of --rounds {cfg.rounds}, {counters['kept']} of --target {cfg.target} kept"
    return None


def run_generate(
    cfg: GenerateConfig,
    out: Path,
    make_backend: Callable[[GenerateConfig], Backend],
    listener: Listener | None = None,
    hold: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> GenerateResult:
    """Run rounds into ``out`` until a stop reason; ``hold()`` is held around every write to
    ``out`` (the CLI's: curate.rundir.claim, the directory's marker and lock)."""
    listener = listener or Listener()
    seeds, seed_rejects = load_seeds(cfg.seeds)  # a bad --seeds fails before DIR is touched
    with hold():
        return _run(cfg, out, make_backend, listener, seeds, seed_rejects)


def _run(
    cfg: GenerateConfig,
    out: Path,
    make_backend: Callable[[GenerateConfig], Backend],
    listener: Listener,
    seeds: list,
    seed_rejects: int,
) -> GenerateResult:
    state, recovery = start_or_resume(out, cfg.identity())
    counters = state.counters or new_counters()
    with AtomicFile(out / "config.yaml") as f:  # never the --base-url's user:password
        f.write(dump_config(dataclasses.replace(cfg, base_url=redact_url(cfg.base_url))))
    listener.started(cfg, counters, recovery)
    reason = stop_reason(cfg, counters)
    t0 = time.perf_counter()
    if reason is None:
        ctx = _context(cfg, out, seeds, make_backend)
        logs = Logs(out)
        try:
            while reason is None:
                r = cfg.first_round + counters["rounds"]
                listener.round_started(r)
                result = ROUNDS[cfg.template](ctx, r)
                for name, rows in result.rows().items():
                    logs.append(name, rows)
                add_round(counters, r, result)
                state.rounds_done, state.counters = r, counters
                logs.commit(state)
                ctx.pool.extend(result.pool)
                ctx.kept.extend(result.kept)
                listener.round_done(r, counters)
                reason = stop_reason(cfg, counters)
                seconds = time.perf_counter() - t0
                _write_stats(out, cfg, counters, reason, seconds, recovery, seed_rejects)
        finally:
            logs.close()
            ctx.backend.close()
    _write_stats(out, cfg, counters, reason, time.perf_counter() - t0, recovery, seed_rejects)
    return GenerateResult(out, counters, reason, recovery, seed_rejects)


def _context(
    cfg: GenerateConfig, out: Path, seeds: list, make_backend: Callable[[GenerateConfig], Backend]
) -> Context:
    """Seeds, the pool and kept records (earlier runs' in ``cfg.previous`` first), the stages and
    the backend, its prompts in ``cfg.prompt_format``."""
    earlier = [Path(p) for p in cfg.previous]
    for d in earlier:
        if not (d / "state.json").is_file():
            raise RunDirError(f"previous: {d} is not a `curate generate` run directory")
    pool = [r for d in earlier for r in load_pool(d / "instructions.jsonl")]
    pool += load_pool(out / "instructions.jsonl")
    kept = [r for d in earlier for r in load_kept(d / "records.jsonl")]
    kept += load_kept(out / "records.jsonl")
    quality, stages = make_stages(cfg, kept)
    novelty = Novelty(cfg.novelty, [*seeds, *pool])
    backend, prompt_format = with_format(make_backend(cfg), cfg)
    return Context(
        cfg, backend, seeds, pool, novelty, quality, stages, kept, run_id_of(cfg), prompt_format
    )


def _write_stats(
    out: Path,
    cfg: GenerateConfig,
    counters: dict[str, Any],
    reason: str | None,
    seconds: float,
    recovery: Recovery,
    seed_rejects: int,
) -> None:
    gen_s = counters["generation_seconds"]
    stats = {
        **counters,
        "stop_reason": reason,
        "target": cfg.target,
        "max_rounds": cfg.rounds,
        "tokens_per_s": round(counters["completion_tokens"] / gen_s, 1) if gen_s else None,
        "wall_seconds_this_run": round(seconds, 3),
        "recovered": {"set_aside": recovery.set_aside, "partial_bytes": recovery.partial}
        if recovery
        else None,
        "seed_rejects": seed_rejects,
        "run_id": run_id_of(cfg),
        "prompt_sha256": template_hashes(cfg.template),
    }
    with AtomicFile(out / "stats.json") as f:
        f.write(dumps(stats, ensure_ascii=False, indent=2) + "\n")
