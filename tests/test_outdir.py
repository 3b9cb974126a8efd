"""Issue 10, outputs that get clobbered and the language misread: every hostile directory or file
is built here. A file's name gives the language only when it is a Bactrian-X code that is not a
common word; --lang and --to are checked before anything is touched; an output directory is owned
by one command (its marker), cleaned of that command's earlier outputs on a rerun, locked while a
run writes it; `train run` never deletes an earlier run unasked; a damaged generate run dir is one
line naming file:line."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate import rundir
from curate.cli import app
from curate.generate.state import RunDirError, load_state, records_of_log
from curate.io import lang_from_path

runner = CliRunner()
ENGLISH = [
    "Write a short poem about the sea and the waves that roll in every morning.",
    "Explain why the sky looks blue on a clear afternoon in the summer time.",
    "Give three tips for keeping a small vegetable garden healthy through the year.",
]


def _english(path: Path) -> Path:
    rows = [
        {"instruction": q, "output": f"Here is a clear answer in plain English: {q.lower()}"}
        for q in ENGLISH
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _filter(*args: str):
    return runner.invoke(app, ["filter", *args, "--only", "language", "-q"])


def _error_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


# ---------------------------------------------------------------- (1) the language misread


@pytest.mark.parametrize(
    ("path", "lang"),
    [
        ("data/my.jsonl", None),  # Burmese code, but a word: the README's own example file
        ("it.json", None),
        ("he.jsonl", None),
        ("id.jsonl", None),
        ("no.jsonl", None),  # not a Bactrian-X code
        ("dev.jsonl", None),
        ("all.jsonl", None),
        ("out.json", None),
        ("es.json", "es"),
        ("zh.jsonl", "zh"),
        ("pt_BR.json", "pt_BR"),
        ("MBZUAI/Bactrian-X:my", "my"),  # a hub config names its language subset on purpose
        ("MBZUAI/Bactrian-X:all", None),
    ],
)
def test_language_from_a_name_only_for_a_language_code_that_is_not_a_word(
    tmp_path: Path, path: str, lang: str | None
) -> None:
    if ":" not in path:  # a local file: built here
        local = tmp_path / path
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text("{}\n")
        path = str(local)
    assert lang_from_path(path) == lang


@pytest.mark.parametrize("stem", ["my", "it", "dev", "no"])
def test_english_file_named_like_a_code_is_not_rejected_as_another_language(
    tmp_path: Path, stem: str
) -> None:
    src = _english(tmp_path / f"{stem}.jsonl")
    result = _filter(str(src), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["rejected"] == 0 and stats["lang"] is None, stats


def test_language_taken_from_the_file_name_is_said_in_summary_and_report(tmp_path: Path) -> None:
    src = _english(tmp_path / "es.json")
    result = _filter(str(src), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "lang es from the file name es.json" in result.output
    report = (tmp_path / "out" / "report.md").read_text()
    assert "expected language: es (from the file name es.json" in report


@pytest.mark.parametrize(
    ("value", "hint"), [("english", "did you mean en?"), ("Spanish", "did you mean es?")]
)
def test_lang_must_be_a_known_code(tmp_path: Path, value: str, hint: str) -> None:
    src = _english(tmp_path / "data.jsonl")
    line = _error_line(_filter(str(src), "--out", str(tmp_path / "out"), "--lang", value))
    assert f"unknown language code {value!r}" in line and hint in line
    assert not (tmp_path / "out").exists()


def test_known_codes_are_accepted(tmp_path: Path) -> None:
    from curate.text import check_lang

    assert [check_lang(c) for c in ("en", "pt-BR", "spa", "yue", "my")] == [None] * 5


# ---------------------------------------------------------------- (2) options before outputs


def test_unknown_to_is_refused_before_the_earlier_outputs_are_touched(tmp_path: Path) -> None:
    src, out = _english(tmp_path / "data.jsonl"), tmp_path / "out"
    assert _filter(str(src), "--out", str(out)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    line = _error_line(_filter(str(src), "--out", str(out), "--to", "bogus"))
    assert "to: unknown format 'bogus'" in line
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


# ---------------------------------------------------------------- (3) output directories


def test_rerun_removes_the_earlier_runs_outputs_first(tmp_path: Path) -> None:
    src, out = _english(tmp_path / "data.jsonl"), tmp_path / "out"
    assert _filter(str(src), "--out", str(out), "--to", "parquet").exit_code == 0
    (out / "toxicity.png").write_bytes(b"an old plot")  # a plot this run does not draw
    assert (out / "kept.parquet").exists()
    assert _filter(str(src), "--out", str(out)).exit_code == 0
    assert not (out / "kept.parquet").exists() and not (out / "toxicity.png").exists()
    assert json.loads((out / rundir.MARKER).read_text())["command"] == "filter"


def test_filter_refuses_a_generate_run_directory(tmp_path: Path) -> None:
    gen = tmp_path / "gen"
    gen.mkdir()
    (gen / rundir.MARKER).write_text(json.dumps({"command": "generate"}))
    (gen / "rejected.jsonl").write_text('{"id": "g-1"}\n')
    (gen / "config.yaml").write_text("model: m\n")
    src = _english(tmp_path / "data.jsonl")
    line = _error_line(_filter(str(src), "--out", str(gen)))
    assert "output directory of `curate generate`" in line and "--overwrite" in line
    assert (gen / "rejected.jsonl").read_text() == '{"id": "g-1"}\n'
    assert (gen / "config.yaml").read_text() == "model: m\n"


def test_filter_refuses_an_unmarked_generate_run_directory(tmp_path: Path) -> None:
    gen = tmp_path / "gen"
    gen.mkdir()
    for name in ("records.jsonl", "rejected.jsonl", "instructions.jsonl", "state.json"):
        (gen / name).write_text("{}\n")
    line = _error_line(_filter(str(_english(tmp_path / "d.jsonl")), "--out", str(gen)))
    assert "not an instructforge output directory" in line
    assert (gen / "rejected.jsonl").read_text() == "{}\n"


def test_generate_refuses_a_filter_directory(tmp_path: Path) -> None:
    src, out = _english(tmp_path / "data.jsonl"), tmp_path / "out"
    assert _filter(str(src), "--out", str(out)).exit_code == 0
    kept = (out / "kept.jsonl").read_bytes()
    args = [
        "generate",
        "--out",
        str(out),
        "--backend",
        "openai",
        "--base-url",
        "http://127.0.0.1:9",
    ]
    line = _error_line(runner.invoke(app, [*args, "--model", "m"]))
    assert "output directory of `curate filter`" in line
    assert (out / "kept.jsonl").read_bytes() == kept and not (out / "state.json").exists()


def test_foreign_directory_needs_overwrite_which_keeps_the_users_files(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    (out / "kept.parquet").write_bytes(b"someone's parquet")
    src = _english(tmp_path / "data.jsonl")
    line = _error_line(_filter(str(src), "--out", str(out)))
    assert "not empty" in line and "notes.txt" in line and "--overwrite" in line
    result = _filter(str(src), "--out", str(out), "--overwrite")
    assert result.exit_code == 0, result.output
    assert (out / "notes.txt").read_text() == "my notes"
    assert not (out / "kept.parquet").exists() and (out / "kept.jsonl").exists()


def test_an_input_that_is_an_output_of_the_run_is_refused(tmp_path: Path) -> None:
    src, out = _english(tmp_path / "data.jsonl"), tmp_path / "out"
    assert _filter(str(src), "--out", str(out)).exit_code == 0
    kept = (out / "kept.jsonl").read_bytes()
    line = _error_line(_filter(str(out / "kept.jsonl"), "--out", str(out)))
    assert "is an output of this run" in line
    assert (out / "kept.jsonl").read_bytes() == kept


@pytest.mark.parametrize("command", ["filter", "generate"])
def test_a_second_run_into_a_locked_directory_says_who_holds_it(
    tmp_path: Path, command: str
) -> None:
    out = tmp_path / "out"
    with rundir.claim(out, command):
        lock = (out / rundir.LOCK).read_text()
        assert f"pid {os.getpid()}" in lock
        held = f"another run .*pid {os.getpid()}"
        with pytest.raises(rundir.OutputDirError, match=held), rundir.claim(out, command):
            pass
    with rundir.claim(out, command):  # released when the run ends
        pass


def test_filter_cli_refuses_while_another_run_holds_the_directory(tmp_path: Path) -> None:
    src, out = _english(tmp_path / "data.jsonl"), tmp_path / "out"
    out.mkdir()
    with (out / rundir.LOCK).open("a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        f.write("pid 4242, started 2026-01-01T00:00:00\n")
        f.flush()
        line = _error_line(_filter(str(src), "--out", str(out)))
    assert "another run is writing there (pid 4242" in line
    assert not (out / "kept.jsonl").exists()


def test_a_damaged_marker_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / rundir.MARKER).write_text("{not json")
    line = _error_line(_filter(str(_english(tmp_path / "d.jsonl")), "--out", str(out)))
    assert rundir.MARKER in line and "--overwrite" in line


# ---------------------------------------------------------------- (4) train run rerun


def _train_args(tmp_path: Path, out: Path, *extra: str) -> list[str]:
    data = _english(tmp_path / "train.jsonl")
    base = str(tmp_path / "no-such-model")
    return ["run", "--base_model", base, "--output_dir", str(out), "--data", str(data), *extra]


def test_train_rerun_without_resume_or_overwrite_is_refused(tmp_path: Path) -> None:
    from train.cli import app as train_app

    out = tmp_path / "run"
    (out / "checkpoints" / "checkpoint-10").mkdir(parents=True)
    (out / "metrics.jsonl").write_text('{"step": 10, "loss": 1.0}\n')
    result = CliRunner().invoke(train_app, _train_args(tmp_path, out))
    line = _error_line(result)
    assert "holds an earlier run (checkpoints, metrics.jsonl)" in line
    assert "--resume true" in line and "--overwrite true" in line
    assert (out / "checkpoints" / "checkpoint-10").is_dir() and (out / "metrics.jsonl").exists()
    # with --overwrite the check passes (and the run goes on to the missing base model)
    again = CliRunner().invoke(train_app, _train_args(tmp_path, out, "--overwrite", "true"))
    assert again.exit_code == 1 and "holds an earlier run" not in again.output


# ---------------------------------------------------------------- (5) a damaged generate run dir


def test_a_corrupted_committed_line_names_file_and_line(tmp_path: Path) -> None:
    log = tmp_path / "records.jsonl"
    good = {"id": "a", "instruction": "Say hi."}
    log.write_text(json.dumps(good) + "\n" + '{"id": "b", "instr\n' + "[1, 2]\n")
    with pytest.raises(RunDirError, match=r"records\.jsonl:2: damaged line"):
        list(records_of_log(log))
    log.write_text(json.dumps(good) + "\n" + "[1, 2]\n")
    with pytest.raises(RunDirError, match=r"records\.jsonl:2: expected a JSON object"):
        list(records_of_log(log))
    log.write_text(json.dumps({"id": "a", "nope": 1}) + "\n")
    with pytest.raises(RunDirError, match=r"records\.jsonl:1: not a record"):
        list(records_of_log(log))


@pytest.mark.parametrize(
    "state",
    [
        {"rounds_done": "three"},
        {"sizes": ["records.jsonl"]},
        {"sizes": {"records.jsonl": -5}},
        {"counters": {"rounds": "1", "kept": 0, "rejected": 0}},
        {"version": None},
        [1, 2, 3],
    ],
)
def test_a_state_file_with_wrong_types_is_one_line(tmp_path: Path, state: object) -> None:
    (tmp_path / "state.json").write_text(json.dumps(state))
    with pytest.raises(RunDirError, match=r"state\.json: unreadable resume state"):
        load_state(tmp_path)


def test_convert_lang_must_be_a_known_code(tmp_path: Path) -> None:
    src = _english(tmp_path / "data.jsonl")
    result = runner.invoke(
        app, ["convert", str(src), str(tmp_path / "o.jsonl"), "--lang", "english"]
    )
    line = _error_line(result)
    assert "--lang: unknown language code 'english'" in line and "did you mean en?" in line
    assert not (tmp_path / "o.jsonl").exists()
