"""report.html for a `curate filter` run: one self-contained page (no network, plots embedded).

The summary, the reasons table, the stages, per-language counts, the plots and the score
histograms of the model-scored stages (judge, ifd, with their threshold) are written here
as HTML; the rejected records (per reason, searchable, paged) and the duplicate clusters (the kept
record beside the dropped ones, with their Jaccard) are embedded as one JSON block that a short
inline script pages through. Record data is hostile: everything from the data is stripped of
control and bidi characters (``printable``); HTML text is escaped (``_h``); the JSON block has
``<``, ``>`` and ``&`` as ``\\u003c`` … so no ``</script>`` can close it; the script puts data
into the page only through ``textContent``. A Content-Security-Policy meta tag forbids loading
anything (images only as ``data:`` URIs).
"""

from __future__ import annotations

import base64
import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from curate.io import AtomicFile
from curate.report_html_data import ReportRecords
from curate.text import printable

PLOTS = {
    "reasons": ("rejects_by_reason.png", "rejected records by reason"),
    "lengths": ("lengths.png", "record lengths, kept vs rejected"),
    "toxicity": ("toxicity.png", "toxicity scores"),
    "languages": ("languages.png", "detected languages"),
    "clusters": ("clusters.png", "duplicate cluster sizes"),
}


def write_report_html(out_dir: Path, stats: dict[str, Any]) -> Path:
    """Write report.html into ``out_dir`` from ``stats``, the plots drawn beside it and the run's
    rejected.jsonl / kept.jsonl (when there); returns its path."""
    records = ReportRecords.collect(out_dir, stats)
    parts = {
        "TITLE": "Filter report",
        "HEADLINE": _headline(stats),
        "BODY": "\n".join([_summary(stats), _reasons(stats, out_dir)]),
        "TAIL": "\n".join(
            [
                _languages(stats, out_dir),
                _stages(stats),
                _distributions(stats, out_dir),
                _model_scores(stats, out_dir),
                _timing(stats),
            ]
        ),
        "DATA": _json(_data(stats, records)),
        "NAVSCORES": '<a href="#scores">Model scores</a>' if _scored(stats) else "",
    }
    page = re.sub(r"@@([A-Z]+)@@", lambda m: parts[m.group(1)], _template())
    path = out_dir / "report.html"
    with AtomicFile(path) as f:
        f.write(page)
    return path


def _template() -> str:
    return (resources.files("curate") / "templates_html" / "report.html").read_text("utf-8")


def _h(value: Any) -> str:
    """Data as HTML text: printable characters only, escaped (quotes too, for attributes)."""
    return html.escape(printable(str(value)), quote=True)


def _json(data: Any) -> str:
    """JSON that is safe inside <script>: no <, > or & (nothing can end the element or open a
    comment); JSON.parse reads the \\u escapes back."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def _img(out: Path, key: str) -> str:
    name, alt = PLOTS[key]
    return _png(out / name, alt)


def _png(path: Path, alt: str) -> str:
    """The PNG at ``path`` embedded as a data: URI ("" when it was not drawn)."""
    if not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img class="plot" alt="{_h(alt)}" src="data:image/png;base64,{data}">'


def _headline(stats: dict[str, Any]) -> str:
    n = stats["input"]
    return (
        f"{n:,} records → {stats['kept']:,} kept ({_pct(stats['kept'], n)}), "
        f"{stats['rejected']:,} rejected ({_pct(stats['rejected'], n)})"
    )


def _summary(stats: dict[str, Any]) -> str:
    lang = stats.get("lang")
    lang_text = (
        f"{_h(lang)}" + (f" (from {_h(stats['lang_from'])})" if stats.get("lang_from") else "")
        if lang
        else "(none: language mismatches are not rejected)"
    )
    facts = [
        f"stages, in order: {' → '.join(_h(o) for o in stats.get('order', [])) or '(none)'}",
        f"expected language: {lang_text}",
        f"toxicity model: {_h(stats.get('toxicity_model') or '(none)')}",
    ]
    if stats.get("profile"):
        facts.append(f"profile: {_h(stats['profile'])}")
    facts.append(
        "files beside this page: <code>kept.jsonl</code>, <code>rejected.jsonl</code> (every "
        "rejected record whole, with <code>reject.stage/reason/evidence</code>), "
        "<code>stats.json</code>, <code>report.md</code>, <code>config.yaml</code>"
    )
    items = "".join(f"<li>{f}</li>" for f in facts)
    return f'<section id="summary"><h2>Summary</h2><ul class="facts">{items}</ul></section>'


def _reasons(stats: dict[str, Any], out: Path) -> str:
    head = '<section id="reasons"><h2>Rejected, by reason</h2>'
    if not stats["rejected"]:
        return head + "<p>Nothing was rejected.</p></section>"
    rows = []
    for i, (reason, n) in enumerate(stats["rejected_by_reason"].items()):
        stage = stats.get("reason_stage", {}).get(reason, "")
        rows.append(
            f"<tr><td><code>{_h(reason)}</code></td><td>{_h(stage)}</td>"
            f'<td class="n">{n:,}</td><td class="n">{_pct(n, stats["input"])}</td>'
            f'<td><a href="#browse" data-reason="{i}">browse</a></td></tr>'
        )
    table = (
        "<table><tr><th>reason</th><th>stage</th><th>records</th><th>of input</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return f'{head}<div class="pair">{table}{_img(out, "reasons")}</div></section>'


def _languages(stats: dict[str, Any], out: Path) -> str:
    head = '<section id="languages"><h2>Languages</h2>'
    langs = stats.get("languages") or {}
    if not langs:
        return head + "<p>The language stage did not run.</p></section>"
    mismatch = {
        r.split(":", 1)[1]: n
        for r, n in stats.get("rejected_by_reason", {}).items()
        if r.startswith("lang-mismatch:")
    }
    rows = "".join(
        f'<tr><td><code>{_h(code)}</code></td><td class="n">{n:,}</td>'
        f'<td class="n">{mismatch.get(code, 0):,}</td></tr>'
        for code, n in langs.items()
    )
    note = (
        "<p class='info'>Records that reached the language stage, by detected language; "
        "rejected as a mismatch with the expected language where one was set.</p>"
    )
    table = (
        "<table><tr><th>language</th><th>detected</th><th>rejected (lang-mismatch)</th></tr>"
        f"{rows}</table>"
    )
    return f'{head}{note}<div class="pair">{table}{_img(out, "languages")}</div></section>'


def _stages(stats: dict[str, Any]) -> str:
    rows = []
    for name, m in stats.get("stages", {}).items():
        rows.append(
            f"<tr><td>{_h(name)}</td><td class='n'>{m['records_in']:,}</td>"
            f"<td class='n'>{m['kept']:,}</td><td class='n'>{m['rejected']:,}</td></tr>"
        )
    table = (
        "<table><tr><th>stage</th><th>records in</th><th>kept</th><th>rejected</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return f'<section id="stages"><h2>Stages</h2>{table}</section>'


def _distributions(stats: dict[str, Any], out: Path) -> str:
    imgs = "".join(_img(out, k) for k in ("lengths", "toxicity", "clusters"))
    lines = []
    for side, s in stats.get("lengths_words", {}).items():
        if s.get("records"):
            lines.append(
                f"<li>{_h(side)}: {s['records']:,} records, words per record mean {s['mean']}, "
                f"median {s['median']}, 95th percentile {s['p95']}, max {s['max']}</li>"
            )
    facts = f"<ul class='facts'>{''.join(lines)}</ul>" if lines else ""
    return (
        f'<section id="distributions"><h2>Lengths &amp; toxicity</h2>{facts}'
        f'<div class="plots">{imgs}</div></section>'
    )


def _scored(stats: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The stages that scored records with a model (judge, ifd): (name, their summary)."""
    return [
        (name, m["summary"])
        for name, m in stats.get("stages", {}).items()
        if (m.get("summary") or {}).get("score_histogram")
    ]


def scores_png(stage: str) -> str:
    """The file report.md draws a stage's score histogram into (curate/report.py)."""
    return f"scores-{re.sub(r'[^a-z0-9-]', '', stage)}.png"


_SCORE_FACTS = {  # summary key → how the page names it
    "mode": "mode",
    "backend": "backend",
    "prompt": "prompt",
    "backend_calls": "backend calls",
    "cache_hits": "cache hits",
    "unparseable": "unparseable (rejected)",
    "above_one": "IFD above 1 (the prompt does not help)",
}


def _model_scores(stats: dict[str, Any], out: Path) -> str:
    """Each model-scored stage's histogram (kept and rejected stacked, the threshold a line), as
    report.md's "Scores" sections."""
    scored = _scored(stats)
    if not scored:
        return ""
    parts = []
    for name, summary in scored:
        hist = summary["score_histogram"]
        kept, rejected = sum(hist["kept"]), sum(hist["rejected"])
        facts = [
            f"model: <code>{_h(summary.get('model', ''))}</code>",
            f"score: {_h(hist['label'])}; threshold: <b>{_h(hist['threshold'])}</b>",
            f"scored: {kept:,} kept, {rejected:,} rejected",
        ]
        facts += [
            f"{label}: {_h(summary[key])}" for key, label in _SCORE_FACTS.items() if key in summary
        ]
        items = "".join(f"<li>{f}</li>" for f in facts)
        img = _png(out / scores_png(name), f"{name} scores: {hist['label']}")
        parts.append(
            f'<h3>{_h(name)}</h3><div class="pair"><ul class="facts">{items}</ul>{img}</div>'
        )
    return f'<section id="scores"><h2>Model scores</h2>{"".join(parts)}</section>'


def _timing(stats: dict[str, Any]) -> str:
    wall = stats.get("wall_seconds")
    outside = ", ".join(
        f"{_h(k.replace('_', ' '))} {v:.1f} s"
        for k, v in stats.get("seconds_outside_stages", {}).items()
    )
    workers = stats.get("workers", 1)
    text = (
        f"{wall:.1f} s in all ({stats.get('records_per_s') or 0:,.0f} records/s, {workers} "
        f"worker{'s' if workers != 1 else ''}); outside the stages: {outside or '-'}"
        if wall is not None
        else "-"
    )
    rows = "".join(
        f"<tr><td>{_h(name)}</td><td class='n'>{m['seconds']:.2f}</td>"
        f"<td class='n'>{m['records_per_s'] or 0:,.0f}</td></tr>"
        for name, m in stats.get("stages", {}).items()
    )
    table = (
        f"<table><tr><th>stage</th><th>seconds</th><th>records/s</th></tr>{rows}</table>"
        if rows
        else ""
    )
    note = (
        "<p class='info'>The only part of this page that changes when the same run is repeated.</p>"
    )
    return (
        f'<section id="timing"><h2>Timing</h2>{note}<p class="timing">{text}</p>{table}</section>'
    )


def _data(stats: dict[str, Any], records: ReportRecords) -> dict[str, Any]:
    reasons = [
        {
            "reason": printable(reason),
            "stage": printable(stats.get("reason_stage", {}).get(reason, "")),
            "total": n,
            "rows": records.by_reason.get(reason, []),
        }
        for reason, n in stats.get("rejected_by_reason", {}).items()
    ]
    return {
        "reasons": reasons,
        "clusters": records.cluster_list(),
        "cluster_count": records.cluster_count,
        "from_examples": records.from_examples,
    }
