"""A CSV with bytes that are not in its encoding: the bad rows go to rejects with file:line and
the column, the rest load (as a bad JSON Lines line does); a bad header is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.io import InputError, Reject, read_records
from curate.records import Record

HEAD = b"instruction,input,output\n"


def _read(path: Path) -> tuple[list[Record], list[Reject]]:
    items = list(read_records(str(path)))
    return [i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Reject)]


def test_cp1252_rows_are_rejected_with_file_line_and_column_the_rest_load(tmp_path: Path) -> None:
    src = tmp_path / "mixed.csv"
    src.write_bytes(
        HEAD
        + "Say café,,ok\n".encode()
        + "Order a crème brûlée,,sure\n".encode("cp1252")  # line 3: not UTF-8
        + b'"A quoted\ncell on two lines",,fine\n'  # lines 4-5
        + "Good,na\u00efve,yes\n".encode("cp1252")  # line 6: the input column
        + "Last ☕,,done\n".encode()  # line 7
    )
    records, rejects = _read(src)
    assert [r.instruction for r in records] == [
        "Say café",
        "A quoted\ncell on two lines",
        "Last ☕",
    ]
    assert [r.meta["source"] for r in records] == [f"{src}:2", f"{src}:4", f"{src}:7"]
    assert [(r.source, r.field) for r in rejects] == [
        (f"{src}:3", "instruction"),
        (f"{src}:6", "input"),
    ]
    assert rejects[0].error == "undecodable bytes (not UTF-8) at character 11"
    assert json.loads(rejects[0].raw)["instruction"] == "Order a cr\ufffdme br\ufffdl\ufffde"
    assert json.loads(rejects[1].raw) == {
        "instruction": "Good",
        "input": "na\ufffdve",
        "output": "yes",
    }


def test_cli_convert_loads_the_good_rows_and_writes_rejects(tmp_path: Path) -> None:
    src, out = tmp_path / "latin.csv", tmp_path / "out.jsonl"
    src.write_bytes(HEAD + b"fine,,ok\n" + "caf\u00e9,,x\n".encode("latin-1"))
    result = CliRunner().invoke(app, ["convert", str(src), str(out)])
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["instruction"] for x in out.read_text().splitlines()] == ["fine"]
    (reject,) = [json.loads(x) for x in (tmp_path / "out.rejects.jsonl").read_text().splitlines()]
    assert reject["source"] == f"{src}:3" and "not UTF-8" in reject["error"]


def test_bad_bytes_in_the_header_name_file_line_and_column(tmp_path: Path) -> None:
    src = tmp_path / "h.csv"
    src.write_bytes(b"instruction,inp\xffut,output\nx,,y\n")
    with pytest.raises(InputError, match=r"h\.csv:1: the header's column 'inp\ufffdut'.*not UTF-8"):
        list(read_records(str(src)))


def test_bad_bytes_in_a_utf16_csv_reject_that_row_only(tmp_path: Path) -> None:
    rows = ["instruction,input,output", "one,,a", "two,,b", "three,,c"]
    data = [r.encode("utf-16-le") for r in rows]
    data[2] = data[2][:2] + b"\x00\xdc" + data[2][2:]  # a lone low surrogate in "two"
    src = tmp_path / "u16.csv"
    src.write_bytes(b"\xff\xfe" + "\n".encode("utf-16-le").join(data))
    records, rejects = _read(src)
    assert [r.instruction for r in records] == ["one", "three"]
    assert [r.source for r in rejects] == [f"{src}:3"] and "UTF-16-LE" in rejects[0].error


def test_private_use_characters_in_valid_text_are_data(tmp_path: Path) -> None:
    src = tmp_path / "pua.csv"
    src.write_bytes(HEAD + "x \U0010fe90 y,,ok\n".encode("utf-8"))
    (rec,), rejects = _read(src)
    assert rejects == [] and rec.instruction == "x \U0010fe90 y"
