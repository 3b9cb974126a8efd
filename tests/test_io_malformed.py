"""Bad input loses nothing and explains itself: file, line and field of every malformed record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.io import Reject, read_records

GOOD = {"instruction": "Name a prime number.", "input": "", "output": "Seven."}
BAD_LINES = [  # (raw line, field named in the reject, words in the error)
    (b'{"instruction": "Add 2 and 2.", "output": "4"', "", "invalid JSON"),
    (json.dumps({"instruction": "Say hi.", "input": ""}).encode(), "output", "missing"),
    (
        json.dumps({"instruction": "Count to 3.", "input": "", "output": 123}).encode(),
        "output",
        "expected a string",
    ),
    (
        json.dumps({"instruction": "   ", "input": "", "output": "Empty."}).encode(),
        "instruction",
        "empty",
    ),
    (b'{"instruction": "Caf\xe9 au lait?", "input": "", "output": "Yes."}', "", "undecodable"),
]


def jsonl_with_bad_lines(path: Path) -> Path:
    lines = []
    for bad, *_ in BAD_LINES:
        lines += [json.dumps(GOOD).encode(), bad]
    lines.append(json.dumps(GOOD).encode())
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_jsonl_rejects_name_line_and_field(tmp_path: Path) -> None:
    path = jsonl_with_bad_lines(tmp_path / "mixed.jsonl")
    items = list(read_records(str(path)))
    rejects = [i for i in items if isinstance(i, Reject)]
    assert (
        len(items) - len(rejects) == len(BAD_LINES) + 1
    )  # the good records around each bad one survive
    for k, (reject, (_, field, words)) in enumerate(zip(rejects, BAD_LINES, strict=True)):
        assert reject.source == f"{path}:{2 * k + 2}"
        assert reject.field == field
        assert words in reject.error
        assert reject.raw


def test_json_array_rejects_name_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "array.json"
    body = [json.dumps(GOOD).encode()]
    for bad, *_ in BAD_LINES:
        body += [bad, json.dumps(GOOD).encode()]
    path.write_bytes(b"[\n  " + b",\n  ".join(body) + b"\n]\n")
    items = list(read_records(str(path)))
    rejects = [i for i in items if isinstance(i, Reject)]
    assert len(items) - len(rejects) == len(BAD_LINES) + 1
    assert [r.source for r in rejects] == [f"{path}:{2 * k + 3}" for k in range(len(BAD_LINES))]
    assert [r.field for r in rejects] == [field for _, field, _ in BAD_LINES]


def test_nested_fields_are_named(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    rows = [
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "robot", "content": "Hello"}]},
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": None}]},
        {"instruction": "Classify.", "instances": [{"input": "x", "output": "a"}, {"input": "y"}]},
    ]
    for fmt, row, field in [
        ("chatml", rows[0], "messages[1].role"),
        ("sharegpt", rows[1], "conversations[1].value"),
        ("seed", rows[2], "instances[1].output"),
    ]:
        path.write_text(json.dumps(row) + "\n")
        (reject,) = list(read_records(str(path), fmt))
        assert isinstance(reject, Reject) and reject.field == field, (fmt, reject)


def test_convert_writes_rejects_file_and_summary(tmp_path: Path) -> None:
    src = jsonl_with_bad_lines(tmp_path / "mixed.jsonl")
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, ["convert", str(src), str(out), "--to", "alpaca"])
    assert result.exit_code == 0, result.output
    assert "6 converted, 5 rejected → " in result.stderr and "out.rejects.jsonl" in result.stderr
    assert len(json.loads(out.read_text())) == 6
    rejects = [
        json.loads(line) for line in (tmp_path / "out.rejects.jsonl").read_text().splitlines()
    ]
    assert [r["source"] for r in rejects] == [f"{src}:{2 * k + 2}" for k in range(5)]
    assert set(rejects[0]) == {"source", "error", "field", "raw"}


def test_strict_stops_at_first_problem(tmp_path: Path) -> None:
    src = jsonl_with_bad_lines(tmp_path / "mixed.jsonl")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["convert", str(src), str(out), "--strict"])
    assert result.exit_code == 1
    assert f"{src}:2: invalid JSON" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.jsonl.tmp*"))  # nothing half-written


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.jsonl", "no such file"),
        (
            lambda d: (d / "empty.jsonl").write_text("") and d / "empty.jsonl" or d / "empty.jsonl",
            "empty",
        ),
        (lambda d: d, "is a directory"),
        (
            lambda d: (d / "notes.txt").write_text("hello") and d / "notes.txt",
            "unsupported extension",
        ),
    ],
)
def test_unreadable_inputs_are_one_line(tmp_path: Path, make, message: str) -> None:  # noqa: ANN001
    src = make(tmp_path)
    result = CliRunner().invoke(app, ["convert", str(src), str(tmp_path / "o" / "out.jsonl")])
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_bad_output_extension_fails_before_reading(tmp_path: Path, project_data: Path) -> None:
    result = CliRunner().invoke(
        app, ["convert", str(project_data / "samples/alpaca.json"), str(tmp_path / "x.txt")]
    )
    assert result.exit_code == 1 and "cannot tell the output container" in result.stderr


def test_interrupted_write_leaves_no_output(tmp_path: Path) -> None:
    from curate.io import write_records
    from curate.records import Record

    def records():
        yield Record("a", "Say hi.", output="Hi.")
        raise KeyboardInterrupt

    out = tmp_path / "out.jsonl"
    out.write_text("previous complete output\n")
    with pytest.raises(KeyboardInterrupt):
        write_records(out, records())
    assert out.read_text() == "previous complete output\n"
    assert list(tmp_path.iterdir()) == [out]
