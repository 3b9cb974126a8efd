"""report.md and its plots: every reason named, every plot a real PNG, examples with evidence."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from curate.filters.command import resolve_config
from curate.filters.pipeline import run_filter
from curate.report import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def defects_run(tmp_path_factory: pytest.TempPathFactory, project_data: Path) -> Path:
    out = tmp_path_factory.mktemp("report")
    defects = str(project_data / "samples" / "defects.jsonl")
    cfg = resolve_config([defects], None, {"lang": "en"})
    run_filter([defects], out, cfg)
    return out


def test_report_names_every_reason_with_examples(defects_run: Path) -> None:
    report = (defects_run / "report.md").read_text(encoding="utf-8")
    stats = json.loads((defects_run / "stats.json").read_text())
    assert stats["rejected_by_reason"]
    for reason, n in stats["rejected_by_reason"].items():
        assert f"| `{reason}` |" in report and f"### `{reason}`" in report
        assert len(stats["examples"][reason]) == min(n, 3)
    assert "duplicate_of" in report  # evidence is shown
    assert f"toxicity model: {stats['toxicity_model']}" in report


def test_report_plots_are_pngs_linked_from_the_report(defects_run: Path) -> None:
    report = (defects_run / "report.md").read_text(encoding="utf-8")
    for name in ("rejects_by_reason", "lengths", "toxicity", "languages", "clusters"):
        png = defects_run / f"{name}.png"
        assert png.read_bytes()[:8] == PNG_MAGIC, name
        assert png.stat().st_size > 5000
        assert f"]({name}.png)" in report


def test_report_can_be_redrawn_from_stats_json_alone(defects_run: Path, tmp_path: Path) -> None:
    stats = json.loads((defects_run / "stats.json").read_text())
    write_report(tmp_path, stats)
    assert (tmp_path / "report.md").read_text() == (defects_run / "report.md").read_text()


def test_report_of_a_clean_run_says_nothing_was_rejected(
    tmp_path: Path, project_data: Path
) -> None:
    path = str(project_data / "samples" / "alpaca.jsonl")
    cfg = resolve_config([path], None, {"lang": "en"}, only=["exact-dedup"])
    run_filter([path], tmp_path, cfg)
    report = (tmp_path / "report.md").read_text()
    assert "Nothing was rejected." in report and "The language stage did not run." in report
    assert not (tmp_path / "rejects_by_reason.png").exists()


def test_hostile_records_cannot_inject_markup_into_the_report(tmp_path: Path) -> None:
    """Ids, sources and text are data: no raw HTML, links, headings, escape codes or fence breaks."""
    from typer.testing import CliRunner

    from curate.cli import app

    hostile = [
        {
            "id": "x\n# Injected heading <script>alert(1)</script>",
            "instruction": "Hi",
            "output": "<img src=x onerror=alert(1)> [click](javascript:alert(1)) \x1b[31mred\x1b[0m",
        },
        {
            "id": "[link](javascript:alert(2))\u202e",
            "instruction": "Hi",
            "output": "```\n# not a heading\n``````\n<script>x</script>\x07",
        },
    ]
    src = tmp_path / "<b>in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in hostile) + "{broken <script>\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["filter", str(src), "--out", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text(encoding="utf-8")
    outside = _outside_code_blocks(report)
    for bad in ("\x1b", "\x07", "\u202e", "\n# Injected", "<img", "<script", "<b>"):
        assert bad not in outside, bad
    assert not re.search(r"(?<!\\)\]\(javascript", outside)  # no link: its ] is escaped
    assert "&lt;script&gt;" in report and "\\[link\\]" in report  # shown, escaped
    # record text is kept whole inside a fence longer than its longest backtick run
    assert "```````text" in report and "  # not a heading" in report
    assert report.count("# Filter report") == 1


def _outside_code_blocks(report: str) -> str:
    """The report with fenced blocks and inline code spans removed: what renders as Markdown."""
    lines, fence = [], None
    for line in report.splitlines():
        m = re.match(r"\s*(`{3,})", line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            lines.append(re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", line))
    return "\n".join(lines)
