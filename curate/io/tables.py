"""Rows of tables (Parquet, CSV) and Hugging Face datasets, as (path:line, dict) pairs whose
values JSON has a type for; ``sources.py`` turns them into Rows."""

from __future__ import annotations

import datetime as dt
import decimal
import io
from collections.abc import Iterator
from typing import Any

from curate.io.errors import InputError
from curate.io.sniff import MAX_DEPTH, sniff


def tabular_dicts(path: str, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    import polars as pl

    try:
        if kind == "parquet":
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(_csv_source(path), infer_schema=False, empty_string_is_null=False)
    except Exception as e:  # polars raises many types; the message is what the user needs
        raise InputError(f"{path}: cannot read {kind}: {_line(e)}") from e
    header = 2 if kind == "csv" else 1  # CSV data starts on line 2
    for i, data in enumerate(_frame_dicts(frame)):
        yield f"{path}:{i + header}", data


def _csv_source(path: str) -> Any:
    """The path, or UTF-8 bytes when the file has a byte-order mark (polars reads UTF-8 only)."""
    encoding, bom = sniff(path)
    if not bom:
        return path
    with open(path, "rb") as f:
        data = f.read()[bom:]
    if encoding == "utf-8":
        return io.BytesIO(data)
    try:
        return io.BytesIO(data.decode(encoding).encode("utf-8"))
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path}: undecodable bytes (not {encoding.upper()}) at byte {e.start}"
        ) from None


def _frame_dicts(frame: Any) -> Iterator[dict[str, Any]]:
    for chunk in frame.iter_slices(10_000):
        yield from chunk.to_dicts()


def hf_dicts(
    path: str, kind: str, config: str | None, split: str | None
) -> Iterator[tuple[str, dict[str, Any]]]:
    import datasets

    if kind == "hf-disk":
        try:
            ds = datasets.load_from_disk(path)
        except Exception as e:  # a broken or foreign directory: one line for the user
            raise InputError(f"{path}: cannot load the save_to_disk dataset: {_line(e)}") from e
    else:
        name, _, cfg = path.partition(":")
        try:
            ds = datasets.load_dataset(name, cfg or config, split=split)
        except Exception as e:  # offline, unknown id, missing config: one line for the user
            raise InputError(f"{path}: cannot load from the Hugging Face hub: {_line(e)}") from e
    splits = ds.items() if isinstance(ds, datasets.DatasetDict) else [(split or "", ds)]
    for split_name, part in splits:
        if split and split_name and split_name != split:
            continue
        where = f"{path}[{split_name}]" if split_name else path
        for i, data in enumerate(part):
            yield f"{where}:{i + 1}", dict(data)


def _line(error: BaseException) -> str:
    """The first line of an error's message (libraries write whole paragraphs)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


_PLAIN = (str, int, float, bool, type(None))


def plain_cells(data: dict[str, Any]) -> tuple[str, str | None]:
    """Make every value of a row one JSON has a type for, in place: dates and times become ISO
    8601 text, decimals their exact text. ('', None), or (column, why) for a value that has no
    faithful JSON form (bytes, …) or is nested too deeply."""
    stack: list[tuple[Any, Any, str, int]] = [(data, key, key, 1) for key in list(data)]
    while stack:
        parent, key, col, depth = stack.pop()
        value = parent[key]
        if type(value) in _PLAIN:
            continue  # a NaN float too: it is a missing value, and the writers decide
        if depth > MAX_DEPTH:
            return col, f"nested too deeply (more than {MAX_DEPTH} levels)"
        if isinstance(value, (dt.date, dt.time)):  # a datetime is a date
            parent[key] = value.isoformat()
        elif isinstance(value, (dt.timedelta, decimal.Decimal)):
            parent[key] = str(value)
        elif isinstance(value, dict):
            stack.extend((value, k, col, depth + 1) for k in value)
        elif isinstance(value, (list, tuple)):
            parent[key] = items = list(value)
            stack.extend((items, i, col, depth + 1) for i in range(len(items)))
        else:
            kind = "binary data" if isinstance(value, (bytes, bytearray)) else type(value).__name__
            return col, f"{kind}: JSON has no type for it; drop or convert the column"
    return "", None
