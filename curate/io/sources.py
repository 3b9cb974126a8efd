"""Raw rows out of every container: JSON array, JSONL, Parquet, CSV, Hugging Face datasets.

Each row carries where it came from (``path:line``) and, when the raw text could not be parsed,
a Reject instead of data. Nothing here knows about instruction formats; ``formats.py`` does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.io.errors import InputError, Reject

JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
TABULAR_SUFFIXES = {".parquet", ".csv"}
# Columns that tabular writers store as JSON text because they are nested.
NESTED_COLUMNS = ("meta", "messages", "conversations", "instances")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(:[\w.-]+)?$")
_SURROGATE = re.compile("[\udc80-\udcff]")
_decoder = json.JSONDecoder()


@dataclass
class Row:
    source: str
    data: dict[str, Any] | None
    raw: str = ""
    reject: Reject | None = None


def container_of(path: str) -> str:
    """'jsonl', 'json', 'parquet', 'csv', 'hf-disk' or 'hub'; InputError when it is none of them."""
    p = Path(path)
    if p.is_dir():
        if any(
            (p / name).exists() for name in ("dataset_info.json", "state.json", "dataset_dict.json")
        ):
            return "hf-disk"
        raise InputError(f"{path}: is a directory, not a save_to_disk dataset")
    if p.exists():
        suffix = p.suffix.lower()
        if suffix not in JSON_SUFFIXES | TABULAR_SUFFIXES:
            raise InputError(
                f"{path}: unsupported extension {suffix or '(none)'!r}; "
                "expected .json, .jsonl, .parquet, .csv or a save_to_disk directory"
            )
        if p.stat().st_size == 0:
            raise InputError(f"{path}: file is empty")
        if suffix == ".json":
            return "json" if _first_char(p) == "[" else "jsonl"
        return suffix.lstrip(".").replace("ndjson", "jsonl")
    if _HUB_ID.match(path) and Path(path).suffix.lower() not in JSON_SUFFIXES | TABULAR_SUFFIXES:
        return "hub"
    raise InputError(f"{path}: no such file or directory")


def _first_char(p: Path) -> str:
    with p.open("rb") as f:
        head = f.read(4096).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not head:
        raise InputError(f"{p}: file is empty")
    return head[0]


def iter_rows(
    path: str, *, hub_config: str | None = None, split: str | None = None
) -> Iterator[Row]:
    kind = container_of(path)
    if kind == "jsonl" and Path(path).suffix.lower() == ".json":
        yield from _json_object_rows(path)
    elif kind == "jsonl":
        yield from _jsonl_rows(path)
    elif kind == "json":
        yield from _json_array_rows(path)
    elif kind in ("parquet", "csv"):
        yield from _tabular_rows(path, kind)
    else:
        yield from _hf_rows(path, kind, hub_config, split)


def _jsonl_rows(path: str) -> Iterator[Row]:
    seen_any = False
    with open(path, "rb") as f:
        for lineno, raw_bytes in enumerate(f, 1):
            source = f"{path}:{lineno}"
            try:
                line = raw_bytes.decode("utf-8")
            except UnicodeDecodeError as e:
                raw = raw_bytes.decode("utf-8", errors="replace").rstrip("\r\n")
                yield Row(
                    source,
                    None,
                    raw,
                    Reject(source, f"undecodable bytes (not UTF-8) at byte {e.start}", "", raw),
                )
                continue
            line = line.lstrip("\ufeff") if lineno == 1 else line
            if not line.strip():
                continue
            seen_any = True
            yield _parse_json_object(source, line.rstrip("\r\n"))
    if not seen_any:
        raise InputError(f"{path}: no records (only blank lines)")


def _json_object_rows(path: str) -> Iterator[Row]:
    """A .json file that starts with '{': JSON Lines, or one pretty-printed object."""
    rows = list(_jsonl_rows(path))
    if all(row.reject is None for row in rows):
        yield from rows
        return
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        yield from rows  # genuinely JSON Lines with some broken lines
        return
    yield Row(f"{path}:1", data, "") if isinstance(data, dict) else rows[0]


def _parse_json_object(source: str, text: str) -> Row:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return Row(
            source,
            None,
            text,
            Reject(source, f"invalid JSON: {e.msg} (column {e.colno})", "", text),
        )
    if not isinstance(data, dict):
        return Row(
            source,
            None,
            text,
            Reject(source, f"expected a JSON object, got {type(data).__name__}", "", text),
        )
    return Row(source, data, text)


def _json_array_rows(path: str) -> Iterator[Row]:
    """Items of a JSON array, each with the line it starts on; a broken item is skipped over."""
    text = Path(path).read_bytes().decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    pos = _skip_ws(text, 0) + 1  # past '['
    line, counted = 1, 0
    indent: str | None = None
    while True:
        pos = _skip_ws(text, pos)
        if pos >= len(text) or text[pos] == "]":
            return
        line += text.count("\n", counted, pos)
        counted = pos
        source = f"{path}:{line}"
        if indent is None:
            indent = text[text.rfind("\n", 0, pos) + 1 : pos]
        try:
            data, end = _decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            line_start = text.rfind(
                "\n", pos, e.pos + 1
            )  # the error may sit on the next item's line
            nxt = _next_item(text, line_start if line_start != -1 else e.pos, indent)
            raw = text[pos:nxt].rstrip().rstrip(",").strip()
            yield Row(source, None, raw, Reject(source, f"invalid JSON: {e.msg}", "", raw))
            if nxt >= len(text):
                return
            pos = nxt
            continue
        raw = text[pos:end]
        if _SURROGATE.search(raw):
            clean = raw.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
            yield Row(
                source, None, clean, Reject(source, "undecodable bytes (not UTF-8)", "", clean)
            )
        elif not isinstance(data, dict):
            yield Row(
                source,
                None,
                raw,
                Reject(source, f"expected a JSON object, got {type(data).__name__}", "", raw),
            )
        else:
            yield Row(source, data, raw)
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos += 1


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _next_item(text: str, start: int, indent: str) -> int:
    """Where the next top-level item begins (same indentation as the first), or the end."""
    m = re.compile(r"\n" + re.escape(indent) + r"\{").search(text, start)
    return m.start() + 1 if m else len(text)


def _tabular_rows(path: str, kind: str) -> Iterator[Row]:
    import polars as pl

    try:
        if kind == "parquet":
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(path, infer_schema=False, empty_string_is_null=False)
    except Exception as e:  # polars raises many types; the message is what the user needs
        raise InputError(f"{path}: cannot read {kind}: {e}") from e
    header = 2 if kind == "csv" else 1  # CSV data starts on line 2
    for i, data in enumerate(_frame_dicts(frame)):
        source = f"{path}:{i + header}"
        yield _decode_nested(source, data)


def _frame_dicts(frame: Any) -> Iterator[dict[str, Any]]:
    for chunk in frame.iter_slices(10_000):
        yield from chunk.to_dicts()


def _decode_nested(source: str, data: dict[str, Any]) -> Row:
    for col in NESTED_COLUMNS:
        value = data.get(col)
        if value is None or value == "":
            data.pop(col, None)  # an empty cell: the column is unused in this row
        elif isinstance(value, str) and value[0] in "[{":
            try:
                data[col] = json.loads(value)
            except json.JSONDecodeError as e:
                raw = json.dumps(data, ensure_ascii=False, default=str)
                return Row(
                    source, None, raw, Reject(source, f"invalid JSON in column: {e.msg}", col, raw)
                )
    return Row(source, data, "")


def _hf_rows(path: str, kind: str, config: str | None, split: str | None) -> Iterator[Row]:
    import datasets

    if kind == "hf-disk":
        ds = datasets.load_from_disk(path)
    else:
        name, _, cfg = path.partition(":")
        try:
            ds = datasets.load_dataset(name, cfg or config, split=split)
        except Exception as e:  # offline, unknown id, missing config: one line for the user
            raise InputError(f"{path}: cannot load from the Hugging Face hub: {e}") from e
    splits = ds.items() if isinstance(ds, datasets.DatasetDict) else [(split or "", ds)]
    for split_name, part in splits:
        if split and split_name and split_name != split:
            continue
        where = f"{path}[{split_name}]" if split_name else path
        for i, data in enumerate(part):
            yield _decode_nested(f"{where}:{i + 1}", dict(data))
