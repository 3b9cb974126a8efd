"""Writing Records to disk: JSONL, JSON array, Parquet, CSV, always atomically.

A writer writes into a temporary file beside the target and renames it on success, so an
interrupted run never leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from curate.io.registry import canonical_shape, rows_from_records
from curate.io.sources import NESTED_COLUMNS
from curate.jsonout import dumps
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


def temp_path(target: Path) -> Path:
    """The temp file a write of ``target`` goes through (``.NAME.tmp-PID``, beside it), after
    removing those a dead process left behind (a kill -9, a crash): only ours are ever touched."""
    prefix = f".{target.name}.tmp-"
    try:
        stale = [p for p in target.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        stale = []
    for p in stale:
        pid = p.name[len(prefix) :]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                p.unlink()
    return target.with_name(f"{prefix}{os.getpid()}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    return True


def check_target(path: Path) -> None:
    """An output path that can take a file: OSError naming it (not its temp file) if it cannot."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    existing = next((p for p in path.parents if p.exists()), None)
    if existing is not None and not existing.is_dir():  # a file where a directory should be
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
    path.parent.mkdir(parents=True, exist_ok=True)


WRITE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}  # what only a write or flush raises


def naming(error: OSError, path: Path, tmp: Path | None = None) -> OSError:
    """``error`` naming ``path`` when it names no file (a failed write or flush: disk full,
    EFBIG) or names our temp file; an error naming another file is left as it is."""
    if error.filename is not None and (tmp is None or str(error.filename) != str(tmp)):
        return error
    return OSError(error.errno, error.strerror or str(error), str(path))


class AtomicFile:
    """A text file that appears at ``path`` only when closed without error.

    Any OSError (disk full, file-size limit, permission) removes the temp file and is raised
    naming ``path``; the target is left as it was.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            check_target(self.path)
            self.tmp = temp_path(self.path)
            self.file: IO[str] = self.tmp.open("w", encoding="utf-8")
        except OSError as e:
            raise naming(e, self.path) from e

    def write(self, text: str) -> None:
        try:
            self.file.write(text)
        except OSError as e:
            raise naming(e, self.path, self.tmp) from e

    def commit(self) -> None:
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self.tmp, self.path)
        except OSError as e:
            self.abort()
            raise naming(e, self.path, self.tmp) from e

    def abort(self) -> None:
        """Remove the temp file, whatever closing it says (a full disk fails the final flush)."""
        try:
            self.file.close()
        except OSError:
            pass
        finally:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> IO[str]:
        return self.file

    def __exit__(
        self, exc: type[BaseException] | None, value: BaseException | None, *_: Any
    ) -> None:
        if exc is None:
            self.commit()
            return
        self.abort()
        if isinstance(value, OSError) and value.filename is None and value.errno in WRITE_ERRNOS:
            raise naming(value, self.path) from value


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with AtomicFile(path) as f:
        for row in rows:
            f.write(dumps(row, ensure_ascii=False) + "\n")
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
            f.write(dumps(row, ensure_ascii=False))
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
                out[col] = dumps(out[col], ensure_ascii=False)
        table.append(out)
    columns: dict[str, None] = {}
    for row in table:
        columns.update(dict.fromkeys(row))
    frame = pl.DataFrame(table, schema_overrides={"meta": pl.String}, infer_schema_length=None)
    frame = frame.select(list(columns))
    target = Path(path)
    try:
        check_target(target)
        tmp = temp_path(target)
    except OSError as e:
        raise naming(e, target) from e
    try:
        frame.write_parquet(tmp) if container == "parquet" else frame.write_csv(tmp)
        os.replace(tmp, target)
    except OSError as e:
        raise naming(e, target, tmp) from e
    finally:
        tmp.unlink(missing_ok=True)
    return len(table)
