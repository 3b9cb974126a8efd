"""Hostile input files, built here: each is read, or rejected with file:line, or refused in one
line that says what the file is — never a traceback, never a silent partial read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.io import InputError, Reject, read_records
from curate.records import Record

RECS = [{"instruction": f"Question {i}, café?", "input": "", "output": "Oui."} for i in range(4)]


def jsonl_text(rows: list[dict] = RECS) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def array_text(rows: list[dict] = RECS) -> str:
    return "[\n" + ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n"


def split(items: list) -> tuple[list[Record], list[Reject]]:
    return [i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Reject)]


def convert(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["convert", *args])
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


# ------------------------------------------------------------- truncated / trailing JSON arrays


@pytest.mark.parametrize("cut", ["inside an item", "after a comma"])
def test_truncated_json_array_is_a_reject_not_a_success(tmp_path: Path, cut: str) -> None:
    full = array_text()
    at = full.index("Question 2") + 5 if cut == "inside an item" else full.index('  {"instr', 200)
    src = tmp_path / "cut.json"
    src.write_text(full[:at])
    records, rejects = split(list(read_records(str(src))))
    assert [r.instruction for r in records] == [r["instruction"] for r in RECS[: len(records)]]
    assert len(rejects) == 1 and "truncated" in rejects[0].error
    assert rejects[0].source.startswith(f"{src}:")
    code, err = convert(str(src), str(tmp_path / "out.jsonl"))
    assert code == 0 and "1 rejected" in err  # the records that parsed, and the truncation named


def test_text_after_the_array_is_a_reject(tmp_path: Path) -> None:
    src = tmp_path / "a.json"
    src.write_text(array_text() + '{"instruction": "stray"}\n')
    records, rejects = split(list(read_records(str(src))))
    assert len(records) == 4 and len(rejects) == 1
    assert rejects[0].source == f"{src}:7" and "after the JSON array" in rejects[0].error


# ------------------------------------------------------------- encodings


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("container", ["jsonl", "json", "csv"])
def test_files_with_a_byte_order_mark_are_read(
    tmp_path: Path, encoding: str, container: str
) -> None:
    text = {"jsonl": jsonl_text(), "json": array_text()}.get(container)
    if text is None:
        text = "instruction,input,output\n" + "".join(f'"{r["instruction"]}",,Oui.\n' for r in RECS)
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # the -be codec writes no mark of its own
    src = tmp_path / f"in.{container}"
    src.write_bytes(data)
    records, rejects = split(list(read_records(str(src))))
    assert rejects == []
    assert [r.instruction for r in records] == [r["instruction"] for r in RECS]


def test_bad_bytes_in_a_utf16_file_reject_that_line_only(tmp_path: Path) -> None:
    lines = [json.dumps(r, ensure_ascii=False).encode("utf-16-le") for r in RECS]
    lines[1] = lines[1][:10] + b"\x00\xdc" + lines[1][10:]  # a lone low surrogate
    src = tmp_path / "u16.jsonl"
    src.write_bytes(b"\xff\xfe" + "\n".encode("utf-16-le").join(lines))
    records, rejects = split(list(read_records(str(src))))
    assert len(records) == 3
    assert [r.source for r in rejects] == [f"{src}:2"] and "UTF-16-LE" in rejects[0].error


def test_utf16_without_a_mark_is_named(tmp_path: Path) -> None:
    src = tmp_path / "u16.jsonl"
    src.write_bytes(jsonl_text().encode("utf-16-le"))
    with pytest.raises(InputError, match="UTF-16-LE text without a byte-order mark"):
        list(read_records(str(src)))


# ------------------------------------------------------------- nesting, surrogates, numbers

HOSTILE_LINES = [
    ('{"instruction": "x", "output": "y", "meta": ' + "[" * 50_000 + "]" * 50_000 + "}", "deep"),
    ('{"instruction": "x", "output": "y", "meta": ' + "[" * 150 + "]" * 150 + "}", "deep"),
    ('{"instruction": "x\\ud800", "output": "y"}', "surrogate"),
    ('{"instruction": "x", "output": "y", "meta": {"\\udfff": 1}}', "surrogate"),
    ('{"instruction": "x", "output": "y", "n": ' + "9" * 5000 + "}", "invalid JSON"),
    ('{"instruction": "x", "output": "good", "output": "bad"}', "duplicate key 'output'"),
]


@pytest.mark.parametrize("container", ["jsonl", "json"])
def test_hostile_records_are_rejected_with_their_line(tmp_path: Path, container: str) -> None:
    good = json.dumps(RECS[0])
    lines = [good]
    for line, _ in HOSTILE_LINES:
        lines += [line, good]
    src = tmp_path / f"h.{container}"
    if container == "jsonl":
        src.write_text("\n".join(lines) + "\n")
    else:
        src.write_text("[\n" + ",\n".join(lines) + "\n]\n")
    records, rejects = split(list(read_records(str(src))))
    assert len(records) == len(HOSTILE_LINES) + 1
    offset = 2 if container == "json" else 1
    assert [r.source for r in rejects] == [
        f"{src}:{2 * k + 1 + offset}" for k in range(len(HOSTILE_LINES))
    ]
    for reject, (_, words) in zip(rejects, HOSTILE_LINES, strict=True):
        assert words in reject.error.replace("nested too deeply", "deep").replace(
            "lone surrogate", "surrogate"
        )
    for rec in records:  # what was read serialises and encodes (the tokenizer sees valid text)
        rec.to_json().encode("utf-8")
    code, err = convert(str(src), str(tmp_path / "out.json"), "--to", "alpaca")
    assert code == 0 and f"{len(HOSTILE_LINES)} rejected" in err


def test_surrogate_in_a_csv_nested_column_is_rejected(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text('instruction,output,meta\nHi,Yo,"{""a"": ""\\ud800""}"\nHi,Yo,\n')
    records, rejects = split(list(read_records(str(src))))
    assert len(records) == 1 and rejects[0].source == f"{src}:2" and rejects[0].field == "meta"


def test_table_cells_json_has_no_type_for(tmp_path: Path) -> None:
    import datetime as dt

    import polars as pl

    src = tmp_path / "t.parquet"
    pl.DataFrame(
        {
            "instruction": ["a", "b"],
            "output": ["x", "y"],
            "when": [dt.datetime(2020, 1, 2, 3, 4), None],
            "blob": [None, b"\x00\xff"],
        }
    ).write_parquet(src)
    records, rejects = split(list(read_records(str(src))))
    assert records[0].meta["when"] == "2020-01-02T03:04:00"  # ISO 8601 text
    assert rejects[0].source == f"{src}:2" and rejects[0].field == "blob"
    assert "binary data" in rejects[0].error
    code, err = convert(str(src), str(tmp_path / "out.json"))
    assert code == 0 and "1 rejected" in err


def test_broken_dataset_directory_is_one_line(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "dataset_info.json").write_text("{")
    code, err = convert(str(ds), str(tmp_path / "o.jsonl"))
    assert code == 1 and "cannot load the save_to_disk dataset" in err
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------- what the path is


def test_binary_input_is_named_not_blank(tmp_path: Path) -> None:
    src = tmp_path / "noise.jsonl"
    src.write_bytes(bytes(range(256)) * 8)
    code, err = convert(str(src), str(tmp_path / "o.jsonl"))
    assert code == 1 and "not text but binary data" in err and "blank" not in err


@pytest.mark.parametrize(
    "magic, words", [(b"PAR1\x00\x00", "Parquet"), (b"\x1f\x8b\x08\x00", "gzip")]
)
def test_known_binary_formats_are_named(tmp_path: Path, magic: bytes, words: str) -> None:
    src = tmp_path / "data.json"
    src.write_bytes(magic + os.urandom(100))
    with pytest.raises(InputError, match=words):
        list(read_records(str(src)))


def test_special_paths_say_what_they_are(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)
    dangling = tmp_path / "gone.jsonl"
    dangling.symlink_to(tmp_path / "nowhere.jsonl")
    for path, words in [
        (fifo, "named pipe (FIFO)"),
        (loop, "symlink loop"),
        (dangling, "broken symbolic link"),
    ]:
        code, err = convert(str(path), str(tmp_path / "o.jsonl"))
        assert code == 1 and words in err, err
        assert "empty" not in err and "no such file" not in err
        assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------- convert's outputs


def test_convert_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    src = tmp_path / "data.jsonl"
    src.write_text(jsonl_text())
    (tmp_path / "link.jsonl").symlink_to(src)
    os.link(src, tmp_path / "hard.jsonl")
    sub = tmp_path / "sub"
    sub.mkdir()
    for out in [src, tmp_path / "sub" / ".." / "data.jsonl", tmp_path / "hard.jsonl"]:
        code, err = convert(str(src), str(out))
        assert code == 1 and "is the input file" in err
    code, err = convert(str(tmp_path / "link.jsonl"), str(src))
    assert code == 1 and "is the input file" in err
    code, err = convert(str(src), str(tmp_path / "data.json"), "--to", "jsonl")
    assert code == 1  # a container mismatch is refused too (below), before reading
    # the rejects file may not be the input either
    rej_in = tmp_path / "x.rejects.jsonl"
    rej_in.write_text(jsonl_text())
    code, err = convert(str(rej_in), str(tmp_path / "x.jsonl"))
    assert code == 1 and "is the input file" in err
    assert src.read_text() == jsonl_text() and rej_in.read_text() == jsonl_text()


@pytest.mark.parametrize(
    "out, to", [("out.json", "parquet"), ("out.parquet", "csv"), ("out.jsonl", "json")]
)
def test_container_and_extension_must_agree(tmp_path: Path, out: str, to: str) -> None:
    src = tmp_path / "data.jsonl"
    src.write_text(jsonl_text())
    code, err = convert(str(src), str(tmp_path / out), "--to", to)
    assert code == 1 and "does not match the extension" in err
    assert not (tmp_path / out).exists()


def test_extension_and_to_that_agree_still_work(tmp_path: Path) -> None:
    src = tmp_path / "data.jsonl"
    src.write_text(jsonl_text())
    code, _ = convert(str(src), str(tmp_path / "out.parquet"), "--to", "parquet")
    assert code == 0 and (tmp_path / "out.parquet").read_bytes()[:4] == b"PAR1"


def test_zero_records_converted_is_an_error(tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text('{"instruction": 1, "output": "y"}\n{"nope"\n')
    out = tmp_path / "out.jsonl"
    out.write_text("an earlier run's output\n")
    code, err = convert(str(src), str(out))
    assert code == 1 and "0 records converted: all 2 rejected" in err
    assert "out.rejects.jsonl" in err and len(err.strip().splitlines()) == 1
    assert out.read_text() == "an earlier run's output\n"  # not replaced by an empty file
    assert len((tmp_path / "out.rejects.jsonl").read_text().splitlines()) == 2
    empty = tmp_path / "empty.json"
    empty.write_text("[]\n")
    code, err = convert(str(empty), str(out))
    assert code == 1 and "no records to convert" in err


def test_training_data_never_holds_a_lone_surrogate(tmp_path: Path) -> None:
    from train.data import read_training_records

    src = tmp_path / "train.jsonl"
    src.write_text(jsonl_text() + '{"instruction": "Hi", "output": "a\\udc00b"}\n')
    records, rejects = read_training_records([str(src)], None)
    assert len(records) == 4 and [r.source for r in rejects] == [f"{src}:5"]
    for rec in records:  # every string the tokenizer will see encodes
        for text in (rec.instruction, rec.input, rec.output):
            text.encode("utf-8")
