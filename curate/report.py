"""report.md for a `curate filter` run: what was dropped, why, and what it looked like.

Built from the stats.json figures alone (so it can be redrawn from them), with PNG plots beside it.
Everything in it that came from the data (record ids, sources, texts, reasons, evidence, the
checkpoint path in the model name) is hostile: inline values are stripped of control characters
and line breaks and escaped for Markdown and HTML (``_md``, ``_code``); record text goes in a fenced
code block whose fence is longer than any backtick run in it (``_block``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from curate import report_plots
from curate.io import AtomicFile
from curate.report_html import write_report_html
from curate.text import printable


def write_report(out_dir: Path, stats: dict[str, Any]) -> Path:
    """Draw the plots, write report.html (curate/report_html.py) and then report.md into
    ``out_dir``; returns report.md's path."""
    lines = _summary(stats)
    lines += _reasons(stats, out_dir)
    lines += _stages(stats)
    lines += _distributions(stats, out_dir)
    lines += _model_scores(stats, out_dir)
    lines += _examples(stats)
    lines += _timing(stats)
    write_report_html(out_dir, stats)  # before report.md, which is written last
    path = out_dir / "report.md"
    with AtomicFile(path) as f:
        f.write("\n".join(lines).rstrip() + "\n")
    return path


# C0/C1 controls (ESC starts terminal escape codes), DEL, and the bidi overrides / isolates that
# reorder what a reader sees; line and paragraph separators end a Markdown line like a newline.
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD = set("\\`*[]|")


def _clean(value: Any, *, keep_lines: bool = False) -> str:
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    if not keep_lines:
        text = text.replace("\n", " ").replace("\t", " ")
    return printable(text)


def _md(value: Any) -> str:
    """One line of Markdown text: no line breaks, no HTML, no links, no code or emphasis marks."""
    return "".join(_HTML.get(c) or (f"\\{c}" if c in _MD else c) for c in _clean(value))


def _code(value: Any, *, in_table: bool = False) -> str:
    """An inline code span that nothing in ``value`` can close."""
    text = _clean(value)
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    if in_table:
        text = text.replace("|", "\\|")  # GFM splits cells on | even inside code spans
    return f"{fence}{pad}{text}{pad}{fence}"


def _block(value: Any, indent: str = "") -> list[str]:
    """A fenced code block (lines indented by ``indent``) that nothing in ``value`` can close."""
    text = _clean(value, keep_lines=True)
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = [f"{indent}{line}".rstrip() for line in text.split("\n")]
    return [f"{indent}{fence}text", *body, f"{indent}{fence}"]


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def _summary(stats: dict[str, Any]) -> list[str]:
    n = stats["input"]
    return [
        "# Filter report",
        "",
        f"**{n:,} records → {stats['kept']:,} kept ({_pct(stats['kept'], n)}), "
        f"{stats['rejected']:,} rejected ({_pct(stats['rejected'], n)})**.",
        "",
        f"- stages, in order: {' → '.join(_md(o) for o in stats['order']) or '(none)'}",
        f"- audit profile: {_md(_profile(stats))}",
        f"- expected language: {_md(_lang(stats))}",
        f"- toxicity model: {_md(stats.get('toxicity_model') or '(none)')}",
        "- files: `kept.jsonl`, `rejected.jsonl` (each with `reject.stage/reason/evidence`), "
        "`stats.json`, `config.yaml` (rerun with `--config config.yaml`)",
        "",
    ]


def _profile(stats: dict[str, Any]) -> str:
    if not stats.get("profile"):
        return "(none: the config as given)"
    why = stats.get("profile_from")
    return f"{stats['profile']} ({why}; --profile sets another)" if why else stats["profile"]


def _lang(stats: dict[str, Any]) -> str:
    if not stats.get("lang"):
        return "(none: language mismatches are not rejected)"
    origin = stats.get("lang_from")
    return f"{stats['lang']} (from {origin}; --lang sets another)" if origin else stats["lang"]


def _timing(stats: dict[str, Any]) -> list[str]:
    """The one part of the report that differs between two identical runs (see README)."""
    workers = stats["workers"]
    lines = [
        "## Timing",
        "",
        "The only part of this report that changes when the same run is repeated (in "
        "stats.json: the keys named `seconds`, `seconds_*`, `*_seconds` and `*_per_s`).",
        "",
        f"- {stats['wall_seconds']:.1f} s in all ({stats['records_per_s'] or 0:,.0f} records/s, "
        f"{workers} worker{'s' if workers != 1 else ''})",
        f"- time outside the stages: {_outside(stats)}",
        "",
        "| stage | seconds | records/s |",
        "|---|---:|---:|",
    ]
    for name, m in stats["stages"].items():
        rate = f"{m['records_per_s']:,.0f}" if m["records_per_s"] else "-"
        secs = f"{m['seconds']:.2f}" + (
            f" ({m['workers']} workers, summed)" if m["workers"] > 1 else ""
        )
        lines.append(f"| {_md(name)} | {secs} | {rate} |")
    return [*lines, ""]


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
        lines.append(
            f"| {_code(reason, in_table=True)} | {_md(stage)} | {n:,} | {_pct(n, stats['input'])} |"
        )
    return [*lines, ""]


def _stages(stats: dict[str, Any]) -> list[str]:
    lines = ["## Stages", "", "| stage | records in | kept | rejected |", "|---|---:|---:|---:|"]
    for name, m in stats["stages"].items():
        lines.append(f"| {_md(name)} | {m['records_in']:,} | {m['kept']:,} | {m['rejected']:,} |")
    for name, m in stats["stages"].items():
        if m.get("tally"):  # what a stage counted besides its verdicts (pii: redactions)
            tally = ", ".join(f"{_md(k)} {n:,}" for k, n in m["tally"].items())
            lines += ["", f"{_md(name)}: {tally}"]
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
            f"No toxicity scores (toxicity model: {_md(stats.get('toxicity_model') or 'none')}).",
            "",
        ]
    lines += ["## Languages", ""]
    if stats["languages"]:
        report_plots.plot_languages(stats, out / "languages.png")
        top = ", ".join(f"{_md(k)} {v:,}" for k, v in list(stats["languages"].items())[:8])
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
            f"- {_md(stage)}: {c['clusters']:,} clusters, {c['records_removed']:,} records removed, "
            f"largest cluster {c['largest']:,}"
        )
    return [*lines, ""]


def _model_scores(stats: dict[str, Any], out: Path) -> list[str]:
    """A histogram per stage that scores records with a model (judge, ifd), with its threshold."""
    lines: list[str] = []
    for name, m in stats["stages"].items():
        hist = m.get("summary", {}).get("score_histogram")
        if not hist:
            continue
        png = f"scores-{re.sub(r'[^a-z0-9-]', '', name)}.png"
        report_plots.plot_scores(hist, f"{name}: {hist['label']}", out / png)
        model = m["summary"].get("model", "")
        lines += [f"## Scores: {_md(name)}", "", f"![{_md(name)} scores]({png})", ""]
        lines += [f"Model {_md(model)}; threshold {_md(hist['threshold'])}.", ""]
    return lines


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
        lines += [f"### {_code(reason)}", ""]
        for ex in stats["examples"].get(reason, []):
            where = f" ({_md(ex['source'])})" if ex.get("source") else ""
            evidence = _code(json.dumps(ex["evidence"], ensure_ascii=False))
            rid = _md(ex["id"]) if ex["id"] else "(unparsed)"
            lines += [f"- **{rid}**{where} — evidence {evidence}", "", *_block(ex["text"], "  ")]
            lines.append("")
    return lines
