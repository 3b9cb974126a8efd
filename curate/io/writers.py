"""Writing Records to disk: JSONL, JSON array, Parquet, CSV, always atomically.

A writer writes into a temporary file beside the target and renames it on success, so an
interrupted run never leaves a half-written output.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from curate.io.registry import canonical_shape, rows_from_records
from curate.io.sources import NESTED_COLUMNS
from curate.records import Record

CONTAINERS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".csv": "csv",
}


def resolve_output(path: str | Path, to: str | None) -> tuple[str, str]:
    """(shape, container) from --to and the file extension.

    ``--to`` may name a container (jsonl, json, parquet, csv) or a shape (alpaca, sharegpt …);
    the extension gives the container: a container ``--to`` that contradicts a known extension
    is refused (a file without one takes the container ``--to`` names). Without a shape, Record JSONL (lossless) is written.
    """
    suffix = Path(path).suffix.lower()
    container = CONTAINERS.get(suffix)
    shape = "record"
    if to:
        key = to.lower()
        if key in ("jsonl", "json", "parquet", "csv"):
            if container not in (None, key):  # never Parquet bytes in out.json
                raise ValueError(
                    f"{path}: --to {to} does not match the extension {suffix!r} (which means "
                    f"{container}); name the file .{key}, or drop --to to write {container}"
                )
            container = key
        else:
            shape = canonical_shape(key)
    if container is None:
        raise ValueError(
            f"{path}: cannot tell the output container from extension {suffix or '(none)'!r}; "
            "use .jsonl, .json, .parquet or .csv"
        )
    return shape, container


class AtomicFile:
    """A text file that appears at ``path`` only when closed without error."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.file: IO[str] = self.tmp.open("w", encoding="utf-8")

    def commit(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> IO[str]:
        return self.file

    def __exit__(self, exc: type[BaseException] | None, *_: TracebackType | Any) -> None:
        self.abort() if exc else self.commit()


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with AtomicFile(path) as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_records(path: str | Path, records: Iterable[Record], to: str | None = None) -> int:
    """Write records in the shape/container chosen by ``to`` and the extension; returns the count."""
    shape, container = resolve_output(path, to)
    rows = rows_from_records(shape, records)
    if container == "jsonl":
        return write_jsonl_atomic(path, rows)
    if container == "json":
        return _write_json_array(path, rows)
    return _write_table(path, rows, container)


def _write_json_array(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with AtomicFile(path) as f:
        f.write("[")
        for row in rows:
            f.write(",\n  " if n else "\n  ")
            f.write(json.dumps(row, ensure_ascii=False))
            n += 1
        f.write("\n]\n")
    return n


def _write_table(path: str | Path, rows: Iterable[dict[str, Any]], container: str) -> int:
    """Parquet keeps lists of turns nested; CSV and every ``meta`` store nested values as JSON."""
    import polars as pl

    table = []
    for row in rows:
        out = dict(row)
        for col in NESTED_COLUMNS:
            if col in out and (container == "csv" or col == "meta"):
                out[col] = json.dumps(out[col], ensure_ascii=False)
        table.append(out)
    columns: dict[str, None] = {}
    for row in table:
        columns.update(dict.fromkeys(row))
    frame = pl.DataFrame(table, schema_overrides={"meta": pl.String}, infer_schema_length=None)
    frame = frame.select(list(columns))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        frame.write_parquet(tmp) if container == "parquet" else frame.write_csv(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return len(table)
