"""The loop report: ``loop.md`` (a table per round and plots), ``rounds.csv`` (the same table) and
PNGs, all from what the rounds' steps wrote. Every text in loop.md that came from the data or the
config (the stop reason, reject reasons, adapter paths) is escaped as report.md escapes it
(``curate.report._md``): a ``|``, a line break, a backtick, HTML or a control character in it
cannot break the table.

The similarity histogram is Self-Instruct's Figure 3 with the project's Jaccard instead of
ROUGE-L: for each instruction a round kept, its highest Jaccard similarity (word shingles, the
n of ``generate.novelty.ngram``) to any seed task or any instruction kept in an earlier round.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from statistics import mean, median
from typing import Any

from curate.io import AtomicFile
from curate.loop.config import LoopConfig
from curate.report import _md
from curate.text import folded_words, word_shingles

COLUMNS = (
    "round",
    "generated",
    "generate_rejected",
    "filter_kept",
    "filter_rejected",
    "rejected_by_reason",
    "pool",
    "train_mode",
    "trained_on",
    "trained_from",
    "eval_loss",
    "perplexity",
    "win_rate",
    "nn_jaccard_median",
    "distinct_1",
    "distinct_2",
    "instruction_words",
    "output_words",
    "generate_s",
    "filter_s",
    "train_s",
    "eval_s",
)


def kept_records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def nearest(new: list[str], reference: list[str], n: int) -> list[float]:
    """Each new instruction's highest Jaccard to the reference (exact, all pairs)."""
    refs = [set(word_shingles(t, n)) for t in reference]
    out = []
    for text in new:
        s = set(word_shingles(text, n))
        out.append(max((jaccard(s, r) for r in refs), default=0.0))
    return out


def distinct(texts: list[str], n: int) -> float | None:
    grams = [
        tuple(w[i : i + n]) for t in texts for w in [folded_words(t)] for i in range(len(w) - n + 1)
    ]
    return round(len(set(grams)) / len(grams), 4) if grams else None


def _reasons(summary: dict[str, Any]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for step in ("generate", "filter"):
        for reason, n in summary.get(step, {}).get("rejected_by_reason", {}).items():
            key = reason if ":" in reason else f"{step}:{reason}"
            merged[key] = merged.get(key, 0) + n
    return merged


def rows_of(
    out: Path, rounds: list[dict[str, Any]], seeds: list[str], ngram: int
) -> tuple[list[dict[str, Any]], list[list[float]]]:
    rows, sims = [], []
    reference, pool = list(seeds), 0
    for s in rounds:
        k = s["round"]
        kept = kept_records(out / "rounds" / f"{k:03d}" / "filter" / "kept.jsonl")
        instructions = [r["instruction"] for r in kept]
        sim = nearest(instructions, reference, ngram)
        sims.append(sim)
        reference += instructions
        pool += len(kept)
        ev, tr = s.get("eval", {}), s.get("train", {})
        row = {
            "round": k,
            "generated": s["generate"]["kept"],
            "generate_rejected": s["generate"]["rejected"],
            "filter_kept": s["filter"]["kept"],
            "filter_rejected": s["filter"]["rejected"],
            "rejected_by_reason": "; ".join(f"{r} {n}" for r, n in _reasons(s).items()),
            "pool": pool,
            "train_mode": tr.get("mode"),
            "trained_on": tr.get("records"),
            "trained_from": _parent(out, tr) if tr else None,
            "eval_loss": _r(ev.get("loss")),
            "perplexity": _r(ev.get("perplexity")),
            "win_rate": _r(ev.get("win_rate")),
            "nn_jaccard_median": _r(median(sim)) if sim else None,
            "distinct_1": distinct(instructions, 1),
            "distinct_2": distinct(instructions, 2),
            "instruction_words": _r(mean(len(t.split()) for t in instructions)) if kept else None,
            "output_words": _r(mean(len(r["output"].split()) for r in kept)) if kept else None,
        }
        for step in ("generate", "filter", "train", "eval"):
            row[f"{step}_s"] = _r(s.get(step, {}).get("seconds"), 1)
        rows.append(row)
    return rows, sims


def _parent(out: Path, train: dict[str, Any]) -> str:
    """The adapter a round's training started from, relative to DIR; ``base`` for a fresh one."""
    parent = train.get("parent_adapter")
    if not parent:
        return "base"
    p = Path(parent)
    return str(p.relative_to(out)) if p.is_relative_to(out) else parent


def _r(x: Any, digits: int = 4) -> Any:
    return None if x is None else round(float(x), digits)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: "" if row[k] is None else row[k] for k in COLUMNS})
    with AtomicFile(path) as f:
        f.write(buf.getvalue())


def plots(out: Path, rows: list[dict[str, Any]], sims: list[list[float]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    fig, ax = plt.subplots(figsize=(7, 3.5))
    bins = [i / 20 for i in range(21)]
    for row, sim in zip(rows, sims, strict=True):
        if sim:
            ax.hist(sim, bins=bins, alpha=0.5, label=f"round {row['round']}")
    ax.set_xlabel("Jaccard to the nearest seed or earlier instruction")
    ax.set_ylabel("instructions")
    if any(sims):
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "similarity.png", dpi=110)
    plt.close(fig)
    names.append("similarity.png")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2))
    ks = [r["round"] for r in rows]
    a1.bar(ks, [r["filter_kept"] for r in rows], label="kept")
    a1.bar(
        ks,
        [r["filter_rejected"] + r["generate_rejected"] for r in rows],
        bottom=[r["filter_kept"] for r in rows],
        label="rejected",
    )
    a1.set_xlabel("round")
    a1.set_ylabel("records")
    a1.legend()
    losses = [(r["round"], r["eval_loss"]) for r in rows if r["eval_loss"] is not None]
    a2.plot([k for k, _ in losses], [v for _, v in losses], marker="o")
    a2.set_xlabel("round")
    a2.set_ylabel("held-out eval loss")
    fig.tight_layout()
    fig.savefig(out / "rounds.png", dpi=110)
    plt.close(fig)
    names.append("rounds.png")
    return names


def markdown(rows: list[dict[str, Any]], stop: str, pngs: list[str]) -> str:
    shown = [c for c in COLUMNS if c != "rejected_by_reason"]
    lines = ["# curate loop", "", f"**Stopped:** {_md(stop)}", ""]
    lines += ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    for row in rows:
        lines.append(
            "| " + " | ".join("-" if row[c] is None else _md(row[c]) for c in shown) + " |"
        )
    lines += ["", "## Rejected, by stage:reason", ""]
    for row in rows:
        lines.append(f"- round {row['round']}: {_md(row['rejected_by_reason'] or 'none')}")
    lines += [
        "",
        "generated: records `curate generate` kept in the round; filter_kept: what `curate filter`"
        " kept of them (novelty against earlier rounds, decontamination against the held-out set);"
        " pool: records kept so far; train_mode from_base trains a fresh adapter on the whole pool,"
        " continue goes on training trained_from (round k-1's adapter) on the round's new records;"
        " trained_on: records the round's adapter was trained on;"
        " nn_jaccard_median: median of each kept instruction's highest Jaccard to a seed or an"
        " earlier instruction (similarity.png); *_s: wall seconds per step.",
        "",
    ]
    lines += [f"![{p}]({p})" for p in pngs]
    return "\n".join(lines) + "\n"


def write_report(out: Path, result: Any, cfg: LoopConfig) -> None:
    from curate.generate.seeds import load_seeds

    seeds = [r.instruction for r in load_seeds(cfg.generate.seeds)[0]]
    rows, sims = rows_of(out, result.rounds, seeds, cfg.generate.novelty.ngram)
    write_csv(out / "rounds.csv", rows)
    pngs = plots(out, rows, sims)
    with AtomicFile(out / "loop.md") as f:  # last: a loop.md means the report is whole
        f.write(markdown(rows, result.stop_reason, pngs))
