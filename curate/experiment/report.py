"""experiment.md, results.csv, runs.csv and loss_curves.png from the variants and the runs' results.

results.csv has one row per variant: eval loss (and perplexity, train loss) as mean and sample
standard deviation over the seeds, the steps and tokens each run trained, and the sha256 of the
variant's data and filter config, so the table can be reproduced. Record text in experiment.md is
hostile: it goes in fenced blocks (the filter report's own escaping).
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from pathlib import Path
from typing import Any

from curate.experiment.data import Pool, Variant, read_all, text_key
from curate.experiment.runs import Plan
from curate.io import AtomicFile
from curate.report import _block, _code, _md


def mean_std(values: list[float]) -> tuple[float | None, float | None]:
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def rows(plans: list[Plan], results: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    out = []
    for p in plans:
        v, runs = p.variant, results[p.variant.name]
        row: dict[str, Any] = {"variant": v.name, "kind": v.kind, "control_of": v.of or ""}
        row["records"] = v.records
        row["seeds"] = len(runs)
        for metric in ("eval_loss", "perplexity", "train_loss"):
            m, s = mean_std([r[metric] for r in runs])
            row[f"{metric}_mean"], row[f"{metric}_std"] = m, s
        row["steps"] = p.steps
        row["tokens_per_run"] = round(p.steps * p.tokens_per_step)
        row["train_tokens_one_pass"] = p.train_tokens
        row["data_sha256"] = v.sha256
        row["config_sha256"] = v.config_sha256
        out.append(row)
    return out


def write_csv(path: Path, table: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    with AtomicFile(path) as f:
        f.write(buf.getvalue())


def _pm(m: float | None, s: float | None) -> str:
    return "-" if m is None else f"{m:.4f} ± {s:.4f}"


def plot_curves(plans: list[Plan], out: Path, path: Path) -> None:
    """Training loss of every run against tokens trained; one colour per variant."""
    from curate.report_plots import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    from matplotlib import rcParams

    colors = rcParams["axes.prop_cycle"].by_key()["color"]
    for i, p in enumerate(plans):
        for j, run in enumerate(sorted((out / "runs" / p.variant.name).glob("seed-*"))):
            metrics = run / "metrics.jsonl"
            if not metrics.is_file():
                continue
            pts = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines()]
            pts = [(r["step"] * p.tokens_per_step, r["loss"]) for r in pts if r.get("loss")]
            if pts:
                label = p.variant.name if j == 0 else None
                ax.plot(
                    *zip(*pts, strict=True),
                    color=colors[i % len(colors)],
                    alpha=0.8,
                    label=label,
                    marker="." if len(pts) < 5 else None,
                )
    ax.set_xlabel("tokens trained (estimated)")
    ax.set_ylabel("training loss")
    ax.set_title("Training loss per variant (every seed)")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def examples(base: Variant, other: Variant, n: int) -> list[str]:
    """Records ``base`` has and ``other`` does not, with the reason ``other``'s filter gave."""
    if n <= 0 or other.kind == "full":
        return []
    theirs = {text_key(r) for r in read_all([other.data])}
    reasons: dict[str, str] = {}
    rejected = Path(other.data).parent / "rejected.jsonl"
    if other.kind == "filtered" and rejected.is_file():
        for line in rejected.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            key = " ".join(
                "\n".join(
                    p for p in (row.get("instruction"), row.get("input"), row.get("output")) if p
                )
                .lower()
                .split()
            )
            reasons[key] = f"{row['reject']['stage']}: {row['reject']['reason']}"
    missing = [r for r in read_all([base.data]) if text_key(r) not in theirs][:n]
    if not missing:
        return []
    lines = [f"### Kept by {_md(base.name)}, not in {_md(other.name)}", ""]
    for rec in missing:
        why = reasons.get(text_key(rec), "not drawn" if other.kind == "control" else "-")
        lines += [f"- {_code(rec.id)} ({_md(why)})", ""]  # a backtick in the id cannot close it
        lines += _block(f"{rec.instruction}\n{rec.input}\n---\n{rec.output}"[:600], "  ")
        lines.append("")
    return lines


def write(
    cfg: Any,
    out: Path,
    pool: Pool,
    plans: list[Plan],
    results: dict[str, list[dict[str, Any]]],
    win_rates: dict[str, Any],
) -> None:
    table = rows(plans, results)
    write_csv(out / "results.csv", table)
    write_csv(
        out / "runs.csv",
        [
            {k: v for k, v in r.items() if k not in ("answers", "key")}
            for p in plans
            for r in results[p.variant.name]
        ],
    )
    plot_curves(plans, out, out / "loss_curves.png")
    baseline = cfg.baseline or plans[0].variant.name
    lines = ["# Experiment", ""]
    lines += [
        f"- base model: {_md(cfg.base_model)}; recipe: {_md(cfg.recipe or '(train run defaults)')}",
        f"- budget: {cfg.budget} (every run of a variant trains the steps below); seeds: "
        + ", ".join(map(str, cfg.seeds)),
        f"- pool: {pool.pool_records:,} records (sha256 {pool.pool_sha256[:16]}); held-out: "
        f"{pool.heldout_records:,} records (sha256 {pool.heldout_sha256[:16]}), "
        f"{pool.removed_overlap} exact copies removed from the pool",
        "",
        "## Results (held-out eval loss, mean ± std over seeds)",
        "",
        "| variant | kind | records | steps | tokens/run | eval loss | perplexity | train loss |"
        + (" win-rate vs " + _md(baseline) + " |" if win_rates else ""),
        "|---|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if win_rates else ""),
    ]
    for row in table:
        kind = row["kind"] + (f" of {_md(row['control_of'])}" if row["control_of"] else "")
        cells = [
            _md(row["variant"]),
            kind,
            f"{row['records']:,}",
            str(row["steps"]),
            f"{row['tokens_per_run']:,}",
            _pm(row["eval_loss_mean"], row["eval_loss_std"]),
            _pm(row["perplexity_mean"], row["perplexity_std"]),
            _pm(row["train_loss_mean"], row["train_loss_std"]),
        ]
        if win_rates:
            cells.append(win_rates.get(row["variant"], "-"))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "![loss curves](loss_curves.png)", "", "## Data per variant", ""]
    lines += [
        "| variant | records | instruction words | input words | output words | rejected by reason |"
    ]
    lines += ["|---|---:|---:|---:|---:|---|"]
    for p in plans:
        s = p.variant.stats
        reasons = ", ".join(f"{_md(k)} {n:,}" for k, n in s.get("rejected_by_reason", {}).items())
        lines.append(
            f"| {_md(p.variant.name)} | {s['records']:,} | {s['instruction_words']} | "
            f"{s['input_words']} | {s['output_words']} | {reasons or '-'} |"
        )
    lines += ["", "## Examples", ""]
    base = next((p.variant for p in plans if p.variant.name == baseline), plans[0].variant)
    for p in plans:
        if p.variant.name != base.name:
            lines += examples(base, p.variant, cfg.examples)
    lines += [
        "## Reproducibility",
        "",
        "| variant | data sha256 | config sha256 |",
        "|---|---|---|",
    ]
    for p in plans:
        lines.append(
            f"| {_md(p.variant.name)} | `{p.variant.sha256}` | `{p.variant.config_sha256}` |"
        )
    lines += [
        "",
        "Each variant's filter config: `variants/NAME/filter.yaml`; the experiment's: "
        "`config.yaml`; per run: `runs/NAME/seed-S/config.yaml` and `result.json`.",
        "",
    ]
    with AtomicFile(out / "experiment.md") as f:
        f.write("\n".join(lines))
