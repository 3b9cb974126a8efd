"""report.md for a `curate filter` run: what was dropped, why, and what it looked like.

Built from the stats.json figures alone (so it can be redrawn from them), with PNG plots beside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curate import report_plots
from curate.io import AtomicFile


def write_report(out_dir: Path, stats: dict[str, Any]) -> Path:
    """Draw the plots and write report.md into ``out_dir``; returns the report's path."""
    lines = _summary(stats)
    lines += _reasons(stats, out_dir)
    lines += _stages(stats)
    lines += _distributions(stats, out_dir)
    lines += _examples(stats)
    path = out_dir / "report.md"
    with AtomicFile(path) as f:
        f.write("\n".join(lines).rstrip() + "\n")
    return path


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def _summary(stats: dict[str, Any]) -> list[str]:
    n = stats["input"]
    return [
        "# Filter report",
        "",
        f"**{n:,} records → {stats['kept']:,} kept ({_pct(stats['kept'], n)}), "
        f"{stats['rejected']:,} rejected ({_pct(stats['rejected'], n)})** "
        f"in {stats['wall_seconds']:.1f} s ({stats['records_per_s'] or 0:,.0f} records/s, "
        f"{stats['workers']} worker{'s' if stats['workers'] != 1 else ''}).",
        "",
        f"- time outside the stages: {_outside(stats)}",
        f"- stages, in order: {' → '.join(stats['order']) or '(none)'}",
        f"- expected language: {_lang(stats)}",
        f"- toxicity model: {stats.get('toxicity_model') or '(none)'}",
        "- files: `kept.jsonl`, `rejected.jsonl` (each with `reject.stage/reason/evidence`), "
        "`stats.json`, `config.yaml` (rerun with `--config config.yaml`)",
        "",
    ]


def _lang(stats: dict[str, Any]) -> str:
    if not stats.get("lang"):
        return "(none: language mismatches are not rejected)"
    origin = stats.get("lang_from")
    return f"{stats['lang']} (from {origin}; --lang sets another)" if origin else stats["lang"]


def _outside(stats: dict[str, Any]) -> str:
    parts = stats.get("seconds_outside_stages", {})
    return ", ".join(f"{k.replace('_', ' ')} {v:.1f} s" for k, v in parts.items()) or "-"


def _reasons(stats: dict[str, Any], out: Path) -> list[str]:
    lines = ["## Rejected, by reason", ""]
    if not stats["rejected"]:
        return [*lines, "Nothing was rejected.", ""]
    report_plots.plot_reasons(stats, out / "rejects_by_reason.png")
    lines += [
        "![rejects by reason](rejects_by_reason.png)",
        "",
        "| reason | stage | records | of input |",
    ]
    lines.append("|---|---|---:|---:|")
    for reason, n in stats["rejected_by_reason"].items():
        stage = stats["reason_stage"].get(reason, "")
        lines.append(f"| `{reason}` | {stage} | {n:,} | {_pct(n, stats['input'])} |")
    return [*lines, ""]


def _stages(stats: dict[str, Any]) -> list[str]:
    lines = ["## Stages", "", "| stage | records in | kept | rejected | seconds | records/s |"]
    lines.append("|---|---:|---:|---:|---:|---:|")
    for name, m in stats["stages"].items():
        rate = f"{m['records_per_s']:,.0f}" if m["records_per_s"] else "-"
        secs = f"{m['seconds']:.2f}" + (
            f" ({m['workers']} workers, summed)" if m["workers"] > 1 else ""
        )
        lines.append(
            f"| {name} | {m['records_in']:,} | {m['kept']:,} | {m['rejected']:,} | {secs} | {rate} |"
        )
    for name, m in stats["stages"].items():
        if m.get("tally"):  # what a stage counted besides its verdicts (pii: redactions)
            lines += ["", f"{name}: " + ", ".join(f"{k} {n:,}" for k, n in m["tally"].items())]
    parse = stats["rejected_by_stage"].get("parse", 0)
    if parse:
        lines += [
            "",
            f"{parse:,} input records could not be parsed (stage `parse`, with `file:line`).",
        ]
    return [*lines, ""]


def _distributions(stats: dict[str, Any], out: Path) -> list[str]:
    lines = ["## Lengths", ""]
    report_plots.plot_lengths(stats, out / "lengths.png")
    kept, rej = stats["lengths_words"]["kept"], stats["lengths_words"]["rejected"]
    lines += [
        "![lengths](lengths.png)",
        "",
        _length_line("kept", kept),
        _length_line("rejected", rej),
        "",
    ]
    lines += ["## Toxicity", ""]
    if sum(stats["toxicity_histogram"]["kept"]) + sum(stats["toxicity_histogram"]["rejected"]):
        report_plots.plot_toxicity(stats, out / "toxicity.png")
        lines += ["![toxicity scores](toxicity.png)", ""]
    else:
        lines += [
            f"No toxicity scores (toxicity model: {stats.get('toxicity_model') or 'none'}).",
            "",
        ]
    lines += ["## Languages", ""]
    if stats["languages"]:
        report_plots.plot_languages(stats, out / "languages.png")
        top = ", ".join(f"{k} {v:,}" for k, v in list(stats["languages"].items())[:8])
        lines += ["![languages](languages.png)", "", f"Detected: {top}.", ""]
    else:
        lines += ["The language stage did not run.", ""]
    lines += ["## Duplicate clusters", ""]
    clusters = stats["duplicate_clusters"]
    if any(c["clusters"] for c in clusters.values()):
        report_plots.plot_clusters(stats, out / "clusters.png")
        lines += ["![duplicate cluster sizes](clusters.png)", ""]
    for stage, c in clusters.items():
        lines.append(
            f"- {stage}: {c['clusters']:,} clusters, {c['records_removed']:,} records removed, "
            f"largest cluster {c['largest']:,}"
        )
    return [*lines, ""]


def _length_line(side: str, s: dict[str, Any]) -> str:
    if not s.get("records"):
        return f"- {side}: none"
    return (
        f"- {side}: {s['records']:,} records, words per record mean {s['mean']}, median {s['median']}, "
        f"95th percentile {s['p95']}, max {s['max']}"
    )


def _examples(stats: dict[str, Any]) -> list[str]:
    lines = ["## Examples, by reason", ""]
    for reason in stats["rejected_by_reason"]:
        lines += [f"### `{reason}`", ""]
        for ex in stats["examples"].get(reason, []):
            where = f" ({ex['source']})" if ex.get("source") else ""
            evidence = json.dumps(ex["evidence"], ensure_ascii=False)
            text = " ".join(ex["text"].split()).replace("`", "'")
            lines += [
                f"- **{ex['id'] or '(unparsed)'}**{where} — evidence `{evidence}`",
                f"  > {text}",
            ]
        lines.append("")
    return lines
