"""Rows of tables (Parquet, CSV) and Hugging Face datasets, as (path:line, dict) pairs whose
values JSON has a type for (a CSV row with undecodable bytes comes with the column and reason it
is a reject for); ``sources.py`` turns them into Rows."""

from __future__ import annotations

import codecs
import datetime as dt
import decimal
import io
import re
from collections.abc import Iterator
from typing import Any

from curate.io.errors import InputError
from curate.io.sniff import MAX_DEPTH, SURROGATE, decode, sniff, undecodable

# A CSV that is not all valid text is read anyway: each undecodable byte travels through polars
# (which reads UTF-8 only) as one private-use character of plane 16, U+10FE80 + (byte - 0x80),
# and a row holding one is a reject naming its column (as a bad JSON Lines line is).
_MARK_BASE = 0x10FE00
_TO_MARK = {0xDC00 | b: _MARK_BASE | b for b in range(0x80, 0x100)}  # lone surrogate → mark
_FROM_MARK = dict.fromkeys(_TO_MARK.values(), "\ufffd")  # mark → U+FFFD, as a rejects file shows it
_MARKED = re.compile("[\U0010fe80-\U0010feff]")

Problem = tuple[str, str]  # (column, why)


def tabular_dicts(path: str, kind: str) -> Iterator[tuple[str, dict[str, Any], Problem | None]]:
    """(path:line, row, None), or (path:line, row, (column, why)) for a CSV row with bytes that are
    not in the file's encoding (the row's other cells as read, the bad bytes as U+FFFD)."""
    import polars as pl

    encoding = None  # set when the CSV had undecodable bytes
    try:
        if kind == "parquet":
            frame = pl.read_parquet(path)
        else:
            source, encoding = _csv_source(path)
            frame = _read_csv(pl, source)
    except InputError:
        raise
    except Exception as e:  # polars raises many types; the message is what the user needs
        raise InputError(f"{path}: cannot read {kind}: {_line(e)}") from e
    if encoding is not None:
        _check_header(path, frame.columns, encoding)
    line = 1 if kind == "parquet" else 2  # CSV data starts on line 2
    for chunk in frame.iter_slices(10_000):
        spans = _line_spans(pl, chunk) if kind == "csv" else None
        for i, data in enumerate(chunk.to_dicts()):
            problem = _unmark(data, encoding) if encoding is not None else None
            yield f"{path}:{line}", data, problem
            line += 1 if spans is None else spans[i]


def _line_spans(pl: Any, chunk: Any) -> list[int] | None:
    """How many lines each CSV row takes (a quoted cell may hold line breaks); None: one each."""
    if not chunk.columns:
        return None
    breaks = pl.sum_horizontal(
        pl.col(c).str.count_matches("\n", literal=True).fill_null(0) for c in chunk.columns
    )
    spans = chunk.select(breaks + 1).to_series()
    return spans.to_list() if spans.max() > 1 else None


def _read_csv(pl: Any, source: Any) -> Any:
    return pl.read_csv(source, infer_schema=False, empty_string_is_null=False)


def _csv_source(path: str) -> tuple[Any, str | None]:
    """(what polars reads, the encoding when some bytes were not in it, else None): the path
    itself for plain UTF-8, else the text re-encoded as UTF-8 with undecodable bytes marked."""
    encoding, bom = sniff(path)
    if not bom and _valid_utf8(path):
        return path, None
    with open(path, "rb") as f:
        text = decode(f.read()[bom:], encoding)
    if SURROGATE.search(text) is None:
        return io.BytesIO(text.encode("utf-8")), None
    if _MARKED.search(text):  # the file already holds our marks: cannot tell them apart
        raise InputError(
            f"{path}: {undecodable(text, encoding)} of the file (not {encoding.upper()}); "
            "save it as UTF-8"
        )
    return io.BytesIO(text.translate(_TO_MARK).encode("utf-8", errors="surrogatepass")), encoding


def _valid_utf8(path: str) -> bool:
    """Whether the file is valid UTF-8, read in blocks (a block may end inside a character)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _check_header(path: str, columns: list[str], encoding: str) -> None:
    for col in columns:
        m = _MARKED.search(col)
        if m:
            name = col.translate(_FROM_MARK)
            raise InputError(
                f"{path}:1: the header's column {name!r} has bytes that are not "
                f"{encoding.upper()} (at character {m.start() + 1}); save the file as UTF-8"
            )


def _unmark(data: dict[str, Any], encoding: str) -> Problem | None:
    """The first cell with undecodable bytes as (column, why); every mark becomes U+FFFD (how a
    rejects file shows an undecodable byte)."""
    problem = None
    for col, value in data.items():
        if isinstance(value, str) and (m := _MARKED.search(value)):
            data[col] = value.translate(_FROM_MARK)
            if problem is None:
                why = f"undecodable bytes (not {encoding.upper()}) at character {m.start() + 1}"
                problem = (col, why)
    return problem


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
