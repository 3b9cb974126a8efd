"""Fuzz every reader: random bytes, random JSON shapes and nesting, random encodings through
``curate.io.read_records`` (with and without ``--from``). Nothing but InputError may escape,
and every non-blank line of a JSON Lines file is either read or rejected with its file:line."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.io import InputError, Reject, read_records
from curate.io.registry import FORMATS
from curate.records import Record

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FORMATS_OR_NONE = st.sampled_from([None, *FORMATS])
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "latin-1"])
KEYS = st.sampled_from(
    ["instruction", "input", "output", "response", "context", "messages", "conversations",
     "instances", "role", "content", "from", "value", "id", "meta", "lang", "x"]
)  # fmt: skip
TEXT = st.text(alphabet=st.characters(codec=None), max_size=12)  # lone surrogates included
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT


def nest(depth: int, kinds: str, leaf: object) -> object:
    """``leaf`` wrapped ``depth`` times in lists or objects (built here: hypothesis would recurse)."""
    value = leaf
    for i in range(depth):
        value = [value] if kinds[i % len(kinds)] == "[" else {"k": value}
    return value


NESTED = st.builds(nest, st.integers(0, 250), st.sampled_from(["[", "{", "[{"]), SCALARS)
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
ROWS = st.dictionaries(KEYS, JSON_VALUES | NESTED, max_size=5)


def read_all(path: Path, fmt: str | None) -> list[Record | Reject]:
    try:
        items = list(read_records(str(path), fmt))
    except InputError as e:
        assert str(e).startswith(str(path)) and "\n" not in str(e)
        return []
    for item in items:
        if isinstance(item, Reject):
            assert item.source.startswith(f"{path}:"), item.source
            item.to_json()  # a reject can be written
        else:
            item.to_json().encode("utf-8")  # a record is valid text all through
    return items


def dump(row: object) -> str:
    return json.dumps(row, ensure_ascii=True)  # ASCII: a lone surrogate travels as \udXXX


@SETTINGS
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".jsonl", ".json", ".csv"]))
def test_random_bytes(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"in{suffix}"
        path.write_bytes(data)
        read_all(path, None)


@SETTINGS
@given(rows=st.lists(ROWS, min_size=1, max_size=6), fmt=FORMATS_OR_NONE, encoding=ENCODINGS)
def test_jsonl_every_line_read_or_rejected(
    rows: list[dict], fmt: str | None, encoding: str
) -> None:
    lines = [dump(r) for r in rows]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in.jsonl"
        path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
        items = read_all(path, fmt)
        if not items:
            return  # an InputError: the format could not be told (checked in read_all)
        sources = {i.source if isinstance(i, Reject) else i.meta.get("source") for i in items}
        assert sources == {f"{path}:{n}" for n in range(1, len(lines) + 1)}


@SETTINGS
@given(rows=st.lists(ROWS, min_size=1, max_size=6), fmt=FORMATS_OR_NONE, encoding=ENCODINGS)
def test_jsonl_count_with_format(rows: list[dict], fmt: str | None, encoding: str) -> None:
    """With the format given, no InputError: read + rejected == non-blank lines, line by line."""
    fmt = fmt or "alpaca"
    lines = [dump(r) for r in rows]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in.jsonl"
        path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
        items = list(read_records(str(path), fmt))
        seen = set()
        for item in items:
            src = item.source if isinstance(item, Reject) else item.meta.get("source")
            assert src.startswith(f"{path}:")
            seen.add(src)
        assert seen == {f"{path}:{n}" for n in range(1, len(lines) + 1)}


@SETTINGS
@given(
    rows=st.lists(JSON_VALUES | ROWS, min_size=0, max_size=5),
    fmt=FORMATS_OR_NONE,
    encoding=ENCODINGS,
    cut=st.integers(0, 400) | st.none(),
)
def test_json_array_shapes_and_truncation(
    rows: list, fmt: str | None, encoding: str, cut: int | None
) -> None:
    text = "[\n" + ",\n".join("  " + dump(r) for r in rows) + "\n]\n"
    if cut is not None:
        text = text[:cut] or "["
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in.json"
        path.write_bytes(text.encode(encoding))
        items = read_all(path, fmt)
        if cut is not None and cut < len(text.rstrip()) and text.lstrip().startswith("["):
            # a cut-off array never reads as a success: some reject says where
            assert not items or any(isinstance(i, Reject) for i in items)


@SETTINGS
@given(
    depth=st.integers(0, 3000),
    wrap=st.sampled_from(["[", "{"]),
    container=st.sampled_from(["jsonl", "json"]),
)
def test_any_nesting_depth(depth: int, wrap: str, container: str) -> None:
    inner = ("[" * depth + "]" * depth) if wrap == "[" else ('{"a":' * depth + "1" + "}" * depth)
    row = '{"instruction": "x", "output": "y", "meta": ' + inner + "}"
    text = row + "\n" if container == "jsonl" else "[\n" + row + "\n]\n"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"in.{container}"
        path.write_text(text)
        items = read_all(path, "alpaca")
        assert len(items) == 1


@SETTINGS
@given(rows=st.lists(st.dictionaries(KEYS, TEXT, max_size=4), min_size=1, max_size=5))
def test_csv_and_parquet_cells(rows: list[dict]) -> None:
    import polars as pl

    columns = sorted({k for r in rows for k in r}) or ["instruction"]
    table = {c: [r.get(c) for r in rows] for c in columns}
    with tempfile.TemporaryDirectory() as d:
        for suffix in (".csv", ".parquet"):
            path = Path(d) / f"in{suffix}"
            try:
                frame = pl.DataFrame(table, schema=dict.fromkeys(columns, pl.String))
                frame.write_csv(path) if suffix == ".csv" else frame.write_parquet(path)
            except Exception:  # polars cannot store it (a lone surrogate): nothing to read
                continue
            read_all(path, None)
            read_all(path, "alpaca")
