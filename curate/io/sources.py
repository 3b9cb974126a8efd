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
from curate.io.sniff import (
    DECODER,
    HEAD_BYTES,
    MAX_DEPTH,
    decode,
    describe_oserror,
    file_status,
    loads,
    sniff,
    undecodable,
    value_problem,
)
from curate.io.tables import hf_dicts, plain_cells, tabular_dicts

JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
TABULAR_SUFFIXES = {".parquet", ".csv"}
# Columns that tabular writers store as JSON text because they are nested.
NESTED_COLUMNS = ("meta", "messages", "conversations", "instances")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(:[\w.-]+)?$")


@dataclass
class Row:
    source: str
    data: dict[str, Any] | None
    raw: str = ""
    reject: Reject | None = None


def container_of(path: str) -> str:
    """'jsonl', 'json', 'parquet', 'csv', 'hf-disk' or 'hub'; InputError when it is none of them."""
    p = Path(path)
    st = file_status(path)
    if st is not None and p.is_dir():
        if any(
            (p / name).exists() for name in ("dataset_info.json", "state.json", "dataset_dict.json")
        ):
            return "hf-disk"
        raise InputError(f"{path}: is a directory, not a save_to_disk dataset")
    if st is not None:
        suffix = p.suffix.lower()
        if suffix not in JSON_SUFFIXES | TABULAR_SUFFIXES:
            raise InputError(
                f"{path}: unsupported extension {suffix or '(none)'!r}; "
                "expected .json, .jsonl, .parquet, .csv or a save_to_disk directory"
            )
        if st.st_size == 0:
            raise InputError(f"{path}: file is empty")
        if suffix == ".json":
            return "json" if _first_char(p) == "[" else "jsonl"
        if suffix != ".parquet":
            sniff(path)  # not text: say so now, not line by line
        return suffix.lstrip(".").replace("ndjson", "jsonl")
    if _HUB_ID.match(path) and Path(path).suffix.lower() not in JSON_SUFFIXES | TABULAR_SUFFIXES:
        return "hub"
    raise InputError(f"{path}: no such file or directory")


def _first_char(p: Path) -> str:
    try:
        with p.open("rb") as f:
            raw = f.read(HEAD_BYTES)
    except OSError as e:
        raise InputError(describe_oserror(p, e)) from e
    encoding, bom = sniff(str(p), raw)
    head = raw[bom:].decode(encoding, errors="replace").lstrip("\ufeff \t\r\n")
    if not head:
        raise InputError(f"{p}: file is empty")
    return head[0]


def iter_rows(
    path: str, *, hub_config: str | None = None, split: str | None = None
) -> Iterator[Row]:
    kind = container_of(path)
    try:
        yield from _rows(path, kind, hub_config, split)
    except OSError as e:  # unreadable, an I/O error halfway: one line naming the path
        raise InputError(describe_oserror(path, e)) from e


def _rows(path: str, kind: str, hub_config: str | None, split: str | None) -> Iterator[Row]:
    if kind == "jsonl" and Path(path).suffix.lower() == ".json":
        yield from _json_object_rows(path)
    elif kind == "jsonl":
        yield from _jsonl_rows(path)
    elif kind == "json":
        yield from _json_array_rows(path)
    elif kind in ("parquet", "csv"):
        for source, data, bad in tabular_dicts(path, kind):
            yield _reject(source, bad[1], bad[0], data) if bad else _decode_nested(source, data)
    else:
        for source, data in hf_dicts(path, kind, hub_config, split):
            yield _decode_nested(source, data)


def _text_lines(path: str) -> Iterator[tuple[int, str, str | None]]:
    """(line number, text, why it is undecodable or None): UTF-8 streamed line by line, a file
    with a UTF-16/UTF-32 byte-order mark decoded as a whole. Lines end at "\\n" only."""
    encoding, bom = sniff(path)
    if encoding != "utf-8":
        with open(path, "rb") as f:
            text = decode(f.read()[bom:], encoding)
        for lineno, line in enumerate(text.split("\n"), 1):
            yield lineno, line, undecodable(line, encoding)
        return
    with open(path, "rb") as f:
        for lineno, raw_bytes in enumerate(f, 1):
            if lineno == 1:
                raw_bytes = raw_bytes[bom:]
            try:
                yield lineno, raw_bytes.decode("utf-8"), None
            except UnicodeDecodeError as e:
                line = raw_bytes.decode("utf-8", errors="replace")
                yield lineno, line, f"undecodable bytes (not UTF-8) at byte {e.start}"


def _jsonl_rows(path: str) -> Iterator[Row]:
    seen_any = False
    for lineno, line, bad in _text_lines(path):
        source = f"{path}:{lineno}"
        line = line.rstrip("\r\n")
        if bad is not None:
            raw = _clean(line)
            seen_any = True
            yield Row(source, None, raw, Reject(source, bad, "", raw))
            continue
        if not line.strip():
            continue
        seen_any = True
        yield _parse_json_object(source, line)
    if not seen_any:
        raise InputError(f"{path}: no records (only blank lines)")


def _whole_text(path: str) -> tuple[str, str]:
    """(text, encoding) of a whole file; undecodable bytes are lone surrogates in it."""
    encoding, bom = sniff(path)
    with open(path, "rb") as f:
        return decode(f.read()[bom:], encoding), encoding


def _json_object_rows(path: str) -> Iterator[Row]:
    """A .json file that starts with '{': JSON Lines, or one pretty-printed object."""
    rows = list(_jsonl_rows(path))
    if all(row.reject is None for row in rows):
        yield from rows
        return
    text, encoding = _whole_text(path)
    data, problem = (None, "undecodable") if undecodable(text, encoding) else loads(text)
    if problem is not None or not isinstance(data, dict):
        yield from rows  # genuinely JSON Lines with some broken lines
        return
    yield Row(f"{path}:1", data, "")


def _parse_json_object(source: str, text: str) -> Row:
    data, problem = loads(text)
    if problem is not None:
        return Row(source, None, text, Reject(source, problem, "", text))
    if not isinstance(data, dict):
        why = f"expected a JSON object, got {type(data).__name__}"
        if isinstance(data, list):
            why += " (a JSON array on one line: name the file .json to read its items)"
        return _raw_reject(source, why, text)
    return Row(source, data, text)


def _json_array_rows(path: str) -> Iterator[Row]:
    """Items of a JSON array, each with the line it starts on; a broken item is skipped over.
    An array the file ends inside of (truncated), or text after its ']', is a reject too."""
    text, encoding = _whole_text(path)
    text = text.lstrip("\ufeff")
    pos = _skip_ws(text, 0) + 1  # past '['
    line, counted = 1, 0
    indent: str | None = None
    while True:
        pos = _skip_ws(text, pos)
        line += text.count("\n", counted, pos)
        counted = pos
        source = f"{path}:{line}"
        if pos >= len(text):
            yield _raw_reject(
                source, "the JSON array is not closed: the file ends before its ']' (truncated?)"
            )
            return
        if text[pos] == "]":
            yield from _after_array(path, text, pos + 1, line)
            return
        if indent is None:
            indent = text[text.rfind("\n", 0, pos) + 1 : pos]
        try:
            data, end = DECODER.raw_decode(text, pos)
        except ValueError as e:  # JSONDecodeError, or an integer too long to convert
            at = getattr(e, "pos", pos)
            line_start = text.rfind("\n", pos, at + 1)  # the error may sit on the next item's line
            nxt = _next_item(text, line_start if line_start != -1 else at, indent)
            raw = text[pos:nxt].rstrip().rstrip(",").strip()
            why = f"invalid JSON: {getattr(e, 'msg', e)}"
            if nxt >= len(text) and not text.rstrip().endswith("]"):
                why += "; the file ends inside this item (truncated?)"
            yield Row(source, None, _clean(raw), Reject(source, why, "", _clean(raw)))
            if nxt >= len(text):
                return
            pos = nxt
            continue
        except RecursionError:
            nxt = _next_item(text, pos, indent)
            raw = _clean(text[pos:nxt].rstrip().rstrip(",").strip())
            yield _raw_reject(source, f"nested too deeply (more than {MAX_DEPTH} levels)", raw)
            if nxt >= len(text):
                return
            pos = nxt
            continue
        raw = text[pos:end]
        bad = undecodable(raw, encoding)
        problem = bad or value_problem(data, raw)
        if problem is not None:
            yield _raw_reject(source, problem, _clean(raw))
        elif not isinstance(data, dict):
            yield _raw_reject(source, f"expected a JSON object, got {type(data).__name__}", raw)
        else:
            yield Row(source, data, raw)
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos += 1


def _after_array(path: str, text: str, pos: int, line: int) -> Iterator[Row]:
    """Nothing but whitespace may follow the array's ']'; anything else is a reject."""
    rest = _skip_ws(text, pos)
    if rest < len(text):
        line += text.count("\n", pos, rest)
        raw = _clean(text[rest : rest + 200])
        yield _raw_reject(f"{path}:{line}", "text after the JSON array's closing ']'", raw)


def _raw_reject(source: str, error: str, raw: str = "") -> Row:
    return Row(source, None, raw, Reject(source, error, "", raw))


def _clean(raw: str) -> str:
    """Raw text fit to write into a rejects file: undecodable bytes as U+FFFD."""
    return raw.encode("utf-8", errors="surrogatepass").decode("utf-8", errors="replace")


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _next_item(text: str, start: int, indent: str) -> int:
    """Where the next top-level item begins (same indentation as the first), or the end."""
    m = re.compile(r"\n" + re.escape(indent) + r"\{").search(text, start)
    return m.start() + 1 if m else len(text)


def _decode_nested(source: str, data: dict[str, Any]) -> Row:
    """A table or dataset row: nested columns stored as JSON text parsed, every value made one
    JSON has a type for (a date as ISO 8601 text), or a reject naming the column."""
    for col in NESTED_COLUMNS:
        value = data.get(col)
        if value is None or value == "":
            data.pop(col, None)  # an empty cell: the column is unused in this row
        elif isinstance(value, str) and value[0] in "[{":
            parsed, problem = loads(value)
            if problem is not None:
                problem = problem.replace("invalid JSON", "invalid JSON in column", 1)
                return _reject(source, problem, col, data)
            data[col] = parsed
    col, problem = plain_cells(data)
    if problem is not None:
        return _reject(source, problem, col, data)
    return Row(source, data, "")


def _reject(source: str, error: str, field: str, data: dict[str, Any]) -> Row:
    raw = _clean(json.dumps(data, ensure_ascii=False, default=repr))
    return Row(source, None, raw, Reject(source, error, field, raw))
