"""The console scripts explain themselves."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from curate.cli import app
from curate.cli_common import EXIT_CODES, exit_code, fail, handle_errors
from curate.config import ConfigError
from curate.io import InputError, StrictError

ROOT = Path(__file__).resolve().parent.parent


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


def test_fail_prints_the_message_literally(capsys: pytest.CaptureFixture[str]) -> None:
    message = "runs/[/]odd [bold]name[/bold].jsonl: no such file"
    with pytest.raises(typer.Exit) as info:
        fail(message)
    assert info.value.exit_code == 1
    assert capsys.readouterr().err == f"error: {message}\n"


def test_a_path_with_markup_is_one_literal_error_line(tmp_path: Path) -> None:
    missing = str(tmp_path / "[/]x [bold]y.jsonl")
    result = CliRunner().invoke(app, ["convert", missing, str(tmp_path / "out.jsonl")])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and missing in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("x.yaml:3: lr: expected a float"), 1),
        (InputError("a.jsonl: no such file"), 1),
        (StrictError("a.jsonl:2: invalid JSON"), 1),
        (KeyboardInterrupt(), 130),
    ],
)
def test_user_errors_map_to_one_line_and_an_exit_code(
    error: BaseException, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as info, handle_errors():
        raise error
    assert info.value.exit_code == code
    line = capsys.readouterr().err
    assert line.startswith("error: ") and line.count("\n") == 1
    assert exit_code(ValueError("x")) is None and exit_code(ValueError("x"), (ValueError,)) == 1
    with pytest.raises(RuntimeError), handle_errors():  # a bug keeps its traceback
        raise RuntimeError("bug")


def test_every_exit_code_entry_names_an_exception_class() -> None:
    for (module, name), code in EXIT_CODES.items():
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, BaseException) and code in (1, 130), (module, name)


def test_command_modules_do_not_import_the_cli() -> None:
    for path in ("curate/filters/command.py", "curate/generate/command.py"):
        assert "curate.cli import" not in (ROOT / path).read_text(), path
