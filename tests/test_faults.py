"""Faults of the machine (issue 10): a permission problem, a directory or a file in the way, a full
disk, a file-size limit, a missing model directory, non-finite numbers. Each ends as one line
naming the path and what to do (exit 1, no traceback), leaves no temp file and no half output,
and no JSON we write holds NaN / Infinity."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from curate.backends.base import BackendError, missing_model_dir
from curate.cli import app
from curate.cli_common import handle_errors, os_error_line
from curate.io import AtomicFile, write_records
from curate.jsonout import NOTE_KEY, dumps
from curate.records import Record

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
ALPACA = str(ROOT / "data" / "samples" / "alpaca.jsonl")


def _strict(text: str) -> object:
    """json.loads that refuses NaN / Infinity, as every other JSON reader does."""

    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _one_line(result, *needles: str) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = result.stderr.strip()
    lines = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _no_temp_files(directory: Path) -> None:
    left = [p.name for p in directory.rglob(".*.tmp-*")]
    assert not left, left


# --- a directory or a file in the way, permissions ------------------------------------------------


def test_output_that_is_a_directory(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.mkdir()
    line = _one_line(
        runner.invoke(app, ["convert", ALPACA, str(target)]), str(target), "Is a directory"
    )
    assert "give a file path" in line
    _no_temp_files(tmp_path)


@pytest.mark.parametrize("command", ["convert", "filter", "generate"])
def test_output_whose_parent_is_a_file(tmp_path: Path, command: str) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("not a directory\n")
    args = {
        "convert": ["convert", ALPACA, str(blocker / "sub" / "out.jsonl")],
        "filter": ["filter", ALPACA, "--out", str(blocker / "run")],
        "generate": ["generate", "--out", str(blocker / "gen"), "--model", "./m"],
    }[command]
    _one_line(runner.invoke(app, args), str(blocker), "Not a directory", "choose another path")
    assert blocker.read_text() == "not a directory\n"


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root writes through chmod: covered by the tests above"
)
def test_read_only_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        _one_line(
            runner.invoke(app, ["convert", ALPACA, str(locked / "out.jsonl")]),
            "Permission denied",
            "check its permissions",
        )
    finally:
        locked.chmod(0o700)


# --- a file-size limit (EFBIG) and a full disk (ENOSPC) ------------------------------------------


def _big_input(path: Path, n: int = 3000) -> Path:
    with path.open("w") as f:
        for i in range(n):
            row = {"instruction": f"Write item number {i} now.", "output": "x" * 100}
            f.write(json.dumps(row) + "\n")
    return path


def _limited(limit: int):
    def setup() -> None:  # SIGXFSZ left at its default: the CLI must ignore it itself
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return setup


@pytest.mark.parametrize(
    "args",
    [
        ["convert", "{inp}", "{dir}/out.jsonl"],
        ["convert", "{inp}", "{dir}/out.json"],
        ["filter", "{inp}", "--out", "{dir}/run", "--only", "exact-dedup"],
    ],
    ids=["convert-jsonl", "convert-json", "filter"],
)
def test_file_size_limit(tmp_path: Path, args: list[str]) -> None:
    inp = _big_input(tmp_path / "big.jsonl")
    out = tmp_path / "outs"
    out.mkdir()
    argv = [a.format(inp=inp, dir=out) for a in args]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "curate.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=_limited(100_000),
        timeout=120,
    )
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "File too large" in errors[0] and "ulimit -f" in errors[0]
    assert str(out) in errors[0]
    _no_temp_files(out)
    # no half output: nothing of the failed file is in place
    assert not (out / "out.jsonl").exists() and not (out / "out.json").exists()
    assert not (out / "run" / "kept.jsonl").exists()


def test_full_disk_on_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC as the final flush sees it (simulated: no tmpfs can be mounted in the test)."""
    target = tmp_path / "out.jsonl"
    target.write_text("old output\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    line = _one_line(
        runner.invoke(app, ["convert", ALPACA, str(target)]), str(target), "No space left"
    )
    assert "disk is full" in line
    assert target.read_text() == "old output\n"  # the old file is left as it was
    _no_temp_files(tmp_path)


def test_full_disk_on_write_names_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    f = AtomicFile(target)

    class Full:
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def close(self) -> None:  # a full disk fails the final flush in close() too
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    real = f.file
    f.file = Full()  # type: ignore[assignment]
    with pytest.raises(OSError) as info:
        f.write("x\n")
    assert info.value.filename == str(target) and info.value.errno == errno.ENOSPC
    f.abort()  # close fails, the temp file goes anyway
    real.close()
    assert not f.tmp.exists() and not target.exists()


def test_abort_after_a_failing_close_in_a_with_block(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    with pytest.raises(OSError) as info, AtomicFile(target) as f:
        f.write("row\n")
        raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
    assert info.value.filename == str(target)
    _no_temp_files(tmp_path)
    assert not target.exists()


def test_stale_temp_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], text=True, capture_output=True
    ).stdout.strip()
    target = tmp_path / "out.jsonl"
    stale = tmp_path / f".out.jsonl.tmp-{dead}"
    alive = tmp_path / f".out.jsonl.tmp-{os.getppid()}"  # a live process's write: left alone
    other = tmp_path / f".other.jsonl.tmp-{dead}"  # another target's: not ours to judge now
    for p in (stale, alive, other):
        p.write_text("partial")
    write_records(target, [Record(id="a", instruction="x", output="y")])
    assert not stale.exists()
    assert alive.exists() and other.exists()
    assert target.exists()


# --- handle_errors: every OSError is one line, in curate and train -------------------------------


@pytest.mark.parametrize(
    "error, expected",
    [
        (PermissionError(errno.EACCES, "Permission denied", "/x/out.jsonl"), "/x/out.jsonl"),
        (OSError(errno.ENOSPC, "No space left on device"), "No space left on device; the disk"),
        (OSError(errno.EXDEV, "Invalid cross-device link", "/a", None, "/b"), "/a → /b: Invalid"),
    ],
)
def test_handle_errors_turns_os_errors_into_one_line(error: OSError, expected: str) -> None:
    assert expected in os_error_line(error)
    cmd = typer.Typer()

    @cmd.command()
    def fault() -> None:
        with handle_errors():
            raise error

    result = runner.invoke(cmd, [])
    assert _one_line(result).startswith("error: ")


def test_train_commands_use_the_same_handler() -> None:
    import inspect

    import train.cli

    source = inspect.getsource(train.cli)
    for name in ("run", "merge", "generate", "export"):
        body = source.split(f"\ndef {name}(", 1)[1].split("\n@app", 1)[0]
        assert "with handle_errors(" in body, name
    # past ulimit -f, train fails with one error line too: its callback ignores SIGXFSZ
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    try:
        CliRunner().invoke(train.cli.app, ["render", "--help"])
        assert signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGXFSZ, previous)


# --- non-existent model paths --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["./nope", "/no/such/model", "~/nope-model", "a/b/c", "bad name"])
def test_missing_model_dir(value: str) -> None:
    assert missing_model_dir(value)


@pytest.mark.parametrize("value", ["gpt2", "Qwen/Qwen2.5-0.5B", "."])
def test_hub_ids_and_existing_dirs_are_left_to_the_loader(value: str) -> None:
    assert not missing_model_dir(value)


def test_missing_model_dir_whose_first_part_exists(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    assert missing_model_dir("models/tiny")


def test_generate_with_a_missing_model_dir(tmp_path: Path) -> None:
    args = ["generate", "--out", str(tmp_path / "g"), "--backend", "transformers"]
    result = runner.invoke(app, [*args, "--model", "./no-such-model"])
    _one_line(result, "no such model directory: ./no-such-model")
    from curate.backends.transformers_backend import TransformersBackend

    with pytest.raises(BackendError, match="no such model directory"):
        TransformersBackend("./no-such-model")


def test_train_missing_base_and_tokenizer_dirs(tmp_path: Path) -> None:
    from train.adapter import AdapterError, base_of
    from train.cli import app as train_app
    from train.config import TrainConfig

    cfg = TrainConfig()
    with pytest.raises(AdapterError, match=r"--base: no such model directory: \./nope"):
        base_of(cfg, "./nope")
    cfg.base_model = str(tmp_path / "gone")
    with pytest.raises(AdapterError, match="base_model .*: no such model directory"):
        base_of(cfg, None)
    result = runner.invoke(train_app, ["render", ALPACA, "--model", "./nope/model"])
    _one_line(result, "--model: no such model directory: ./nope/model")


# --- NaN / Infinity never reach a JSON file ------------------------------------------------------


def test_dumps_writes_null_and_notes_it() -> None:
    row = {"id": "a", "meta": {"score": float("nan"), "xs": [1.0, float("inf")]}}
    back = _strict(dumps(row))
    assert back["meta"] == {"score": None, "xs": [1.0, None], NOTE_KEY: ["score", "xs[1]"]}
    assert _strict(dumps({"loss": float("-inf")})) == {"loss": None, NOTE_KEY: ["loss"]}
    assert dumps({"a": 1.5}) == json.dumps({"a": 1.5})  # valid data: unchanged


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet"])
def test_non_finite_meta_is_written_as_null(tmp_path: Path, suffix: str) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_text(
        '{"instruction": "Name a colour.", "output": "Red.", "score": NaN}\n'
        '{"instruction": "Name a shape.", "output": "Circle.", "score": Infinity}\n'
        '{"instruction": "Name a fruit.", "output": "Apple.", "score": 0.5}\n'
    )
    out = tmp_path / f"out{suffix}"
    result = runner.invoke(app, ["convert", str(inp), str(out)])
    assert result.exit_code == 0, result.output
    if suffix == ".jsonl":
        rows = [_strict(line) for line in out.read_text().splitlines()]
    elif suffix == ".json":
        rows = _strict(out.read_text())
    else:
        frame = pl.read_csv(out) if suffix == ".csv" else pl.read_parquet(out)
        rows = [{**r, "meta": _strict(r["meta"])} for r in frame.to_dicts()]
    metas = [r["meta"] for r in rows]
    assert [m["score"] for m in metas] == [None, None, 0.5]
    assert metas[0][NOTE_KEY] == ["score"] and NOTE_KEY not in metas[2]


def test_filter_outputs_are_strict_json(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    rows = [
        {"instruction": f"Explain topic number {i} in simple words.", "output": f"Answer {i}."}
        for i in range(3)
    ]
    text = "".join(json.dumps({**r, "score": float("nan")}) + "\n" for r in rows)
    inp.write_text(text + text.splitlines()[0] + "\n")  # a duplicate: one reject
    out = tmp_path / "run"
    result = runner.invoke(app, ["filter", str(inp), "--out", str(out), "--only", "exact-dedup"])
    assert result.exit_code == 0, result.output
    for name in ("kept.jsonl", "rejected.jsonl"):
        for line in (out / name).read_text().splitlines():
            _strict(line)
    _strict((out / "stats.json").read_text())


def test_parquet_input_with_nan(tmp_path: Path) -> None:
    inp = tmp_path / "in.parquet"
    pl.DataFrame(
        {"instruction": ["Name a colour."], "output": ["Red."], "score": [float("nan")]}
    ).write_parquet(inp)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["convert", str(inp), str(out)])
    assert result.exit_code == 0, result.output
    meta = _strict(out.read_text().splitlines()[0])["meta"]
    assert meta["score"] is None and meta[NOTE_KEY] == ["score"]


@pytest.mark.parametrize("in_the_way", ["file-parent", "directory"])
def test_train_export_output_in_the_way(tmp_path: Path, in_the_way: str) -> None:
    from train.cli import app as train_app

    model = tmp_path / "merged"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    if in_the_way == "file-parent":
        (tmp_path / "afile").write_text("")
        out, needle = tmp_path / "afile" / "m.gguf", "Not a directory"
    else:
        out, needle = tmp_path / "m.gguf", "Is a directory"
        out.mkdir()
    result = runner.invoke(train_app, ["export", str(model), "--out", str(out)])
    _one_line(result, needle)
