"""report.md and its plots: every reason named, every plot a real PNG, examples with evidence."""

from __future__ import annotations

import json
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
