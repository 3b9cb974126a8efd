"""The README's first command catches every planted defect under its expected reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app


def test_readme_demo_catches_every_planted_defect(
    tmp_path: Path, project_root: Path, project_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project_root)  # the README's command, as typed in the repository root
    out = tmp_path / "defects"
    result = CliRunner().invoke(
        app, ["filter", "data/samples/defects.jsonl", "--out", str(out), "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    expected = json.loads((project_data / "samples" / "defects.expected.json").read_text())
    rejected = {
        row["id"]: row["reject"]["reason"]
        for row in map(
            json.loads, (out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()
        )
    }
    kept = [
        json.loads(line)["id"]
        for line in (out / "kept.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    missed = {
        rid: (want, rejected.get(rid))
        for rid, want in expected.items()
        if not (
            rejected.get(rid) == want
            or (want == "toxic" and rejected.get(rid, "").startswith("toxic:"))
        )
    }
    assert not missed, f"defect id: (expected reason, got) — {missed}"
    clean = sorted(line for line in kept if line.startswith("clean-"))
    assert clean == [f"clean-{i:02d}" for i in range(1, 25)], (
        f"clean records rejected: {set(rejected) - set(expected)}"
    )
    assert set(rejected) == set(expected)
