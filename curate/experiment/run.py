"""`curate experiment`, top to bottom: pool + held-out → variants (+ random controls) → budget →
train × seeds → eval loss → (win-rate) → experiment.md, results.csv, loss_curves.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.config import dump
from curate.experiment import data, report, runs
from curate.experiment.config import ExperimentConfig
from curate.io import AtomicFile
from curate.jsonout import dumps


def run_experiment(cfg: ExperimentConfig, out: Path, console: Any) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    with AtomicFile(out / "config.yaml") as f:
        f.write(dump(cfg))
    pool = data.prepare(cfg, out)
    console.print(
        f"pool {pool.pool_records:,} records, held-out {pool.heldout_records:,}", highlight=False
    )
    built = data.build_all(cfg, pool, out)
    for v, reused in built:
        how = "reused" if reused else "built"
        console.print(f"variant {v.name}: {v.records:,} records ({how})", highlight=False)
    plans = runs.plan(cfg, [v for v, _ in built], out)
    results: dict[str, list[dict[str, Any]]] = {}
    trained: list[str] = []
    for p in plans:
        results[p.variant.name] = []
        for seed in cfg.seeds:
            result, reused = runs.run_one(cfg, p, seed, pool, out, console)
            results[p.variant.name].append(result)
            if not reused:
                trained.append(f"{p.variant.name}/seed-{seed}")
    win_rates = judge_win_rates(cfg, pool, plans, results) if cfg.judge_backend else {}
    report.write(cfg, out, pool, plans, results, win_rates)
    summary = {
        "variants": {v.name: v.to_dict() for v, _ in built},
        "variants_reused": [v.name for v, reused in built if reused],
        "runs_trained": trained,
        "steps": {p.variant.name: p.steps for p in plans},
        "win_rates": win_rates,
    }
    with AtomicFile(out / "experiment.json") as f:
        f.write(dumps(summary, ensure_ascii=False, indent=2) + "\n")
    return summary


def judge_win_rates(
    cfg: ExperimentConfig,
    pool: data.Pool,
    plans: list[runs.Plan],
    results: dict[str, list[dict[str, Any]]],
) -> dict[str, str]:
    """Pairwise win-rate of each variant against the baseline, same seed, both orders."""
    from curate.backends.base import BackendOptions
    from curate.backends.registry import get_backend
    from train.eval import read_heldout
    from train.eval_judge import pairwise

    spec = get_backend(cfg.judge_backend or "")
    opts = BackendOptions(
        cfg.judge_model, None, cfg.judge_base_url, spec.config() if spec.config else None
    )
    backend = spec.open(opts)
    baseline = cfg.baseline or plans[0].variant.name
    records = read_heldout(pool.heldout)[: cfg.judge_examples]
    base_answers = {r["seed"]: r["answers"] for r in results[baseline]}
    out: dict[str, str] = {}
    try:
        for p in plans:
            if p.variant.name == baseline:
                continue
            rates = []
            for r in results[p.variant.name]:
                theirs = base_answers[r["seed"]]
                mine = r["answers"]
                rates.append(pairwise(records, mine, theirs, backend, against=baseline).win_rate)
            m, s = report.mean_std(rates)
            out[p.variant.name] = report._pm(m, s)
    finally:
        backend.close()
    return out
