"""The console scripts explain themselves."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from curate.cli import app


def test_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["--version"]).output.startswith("instructforge ")
    out = runner.invoke(app, ["convert", "--help"]).output
    for option in ("--from", "--to", "--lang", "--strict"):
        assert option in out


def test_console_scripts_installed() -> None:
    bindir = __import__("pathlib").Path(sys.executable).parent
    for script in ("curate", "train"):
        done = subprocess.run(
            [bindir / script, "--help"], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "Usage" in done.stdout
