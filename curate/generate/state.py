"""The run directory: append-only JSONL logs plus a state file that says how much of them counts.

After each round the loop appends that round's rows to the logs (flushed and fsynced), then
rewrites ``state.json`` atomically with the new byte size of every log. Whatever a log holds
beyond its committed size belongs to a round that did not finish (a crash, kill -9): on restart
it is moved to ``uncommitted/`` (kept, never silently dropped, and reported) and the round runs
again, so no row is lost or written twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from curate.io import AtomicFile
from curate.io.writers import naming
from curate.jsonout import dumps
from curate.records import Record

LOGS = ("records.jsonl", "rejected.jsonl", "instructions.jsonl")
STATE = "state.json"
STATE_VERSION = 1


class RunDirError(Exception):
    """The output directory cannot be resumed as it is; the message says why and what to do."""


@dataclass
class RunState:
    rounds_done: int = 0
    sizes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOGS, 0))
    lines: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOGS, 0))
    counters: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)
    version: int = STATE_VERSION

    def to_json(self) -> str:
        return dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True)


@dataclass
class Recovery:
    """What a restart found beyond the committed state."""

    set_aside: dict[str, int] = field(default_factory=dict)  # log → complete lines moved out
    partial: dict[str, int] = field(default_factory=dict)  # log → bytes of a partial last line
    where: Path | None = None

    def __bool__(self) -> bool:
        return bool(self.set_aside or self.partial)

    def describe(self) -> str:
        parts = [
            f"{name}: {n} line(s) of the unfinished round"
            for name, n in self.set_aside.items()
            if n
        ]
        parts += [
            f"{name}: a partial last line ({n} bytes)" for name, n in self.partial.items() if n
        ]
        return "; ".join(parts) + f" — moved to {self.where}, the round runs again"


def load_state(out: Path) -> RunState | None:
    path = out / STATE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        state = RunState(**data)
        _check_types(state)
    except (OSError, ValueError, TypeError, RecursionError) as e:
        raise RunDirError(
            f"{path}: unreadable resume state ({e}); restore it from a backup, or start again "
            "with a new --out"
        ) from None
    if state.version != STATE_VERSION:
        raise RunDirError(
            f"{path}: state version {state.version}, expected {STATE_VERSION}; use a new --out"
        )
    return state


def _check_types(state: RunState) -> None:
    """Every field of a loaded state the type the loop relies on; TypeError names the first not."""

    def counts(value: Any) -> bool:
        return isinstance(value, dict) and all(
            isinstance(k, str) and type(v) is int and v >= 0 for k, v in value.items()
        )

    for key, ok in (
        ("version", type(state.version) is int),
        ("rounds_done", type(state.rounds_done) is int and state.rounds_done >= 0),
        ("sizes", counts(state.sizes)),
        ("lines", counts(state.lines)),
        ("counters", isinstance(state.counters, dict)),
        ("identity", isinstance(state.identity, dict)),
    ):
        if not ok:
            raise TypeError(f"{key}: wrong type or value {getattr(state, key)!r}")
    if state.counters and not all(
        type(state.counters.get(k)) is int for k in ("rounds", "kept", "rejected")
    ):
        raise TypeError("counters: rounds, kept and rejected must be integers")


def save_state(out: Path, state: RunState) -> None:
    with AtomicFile(out / STATE) as f:
        f.write(state.to_json() + "\n")


def start_or_resume(out: Path, identity: dict[str, Any]) -> tuple[RunState, Recovery]:
    """The committed state of ``out`` (a fresh one for a new run) with every log cut back to it."""
    out.mkdir(parents=True, exist_ok=True)
    state = load_state(out)
    if state is None:
        present = [name for name in LOGS if (out / name).exists() and (out / name).stat().st_size]
        if present:
            raise RunDirError(
                f"{out} holds {', '.join(present)} but no {STATE}: it is not a resumable "
                "`curate generate` run; choose a new --out"
            )
        state = RunState(identity=identity)
        for name in LOGS:
            (out / name).touch()
        save_state(out, state)
        return state, Recovery()
    check_identity(out, state.identity, identity)
    return state, reconcile(out, state)


def check_identity(out: Path, before: dict[str, Any], now: dict[str, Any]) -> None:
    for key in sorted(before.keys() | now.keys()):
        if before.get(key) != now.get(key):
            raise RunDirError(
                f"{out} was generated with {key}={before.get(key)!r}, this run has {key}={now.get(key)!r}; "
                "rerun with the same options to resume, or choose a new --out"
            )


def reconcile(out: Path, state: RunState) -> Recovery:
    recovery = Recovery(where=out / "uncommitted")
    for name in LOGS:
        aside = recovery.where / f"{name}.round{state.rounds_done + 1}"
        tail = cut_back(out / name, state.sizes.get(name, 0), aside)
        if not tail:
            continue
        recovery.set_aside[name] = tail.count(b"\n")
        recovery.partial[name] = len(tail) - (tail.rfind(b"\n") + 1)
    return recovery


def cut_back(
    path: Path, committed: int, aside: Path, changed: str = "the file was changed"
) -> bytes:
    """Cut the log ``path`` back to its ``committed`` size and append what stood beyond it to
    ``aside`` (its folder made if need be); returns that tail, b"" when there was none. A log
    shorter than committed was ``changed`` outside curate: a RunDirError (curate translate shares
    this, with its own wording)."""
    size = path.stat().st_size if path.exists() else 0
    if size < committed:
        raise RunDirError(
            f"{path}: holds {size} bytes but {STATE} committed {committed}: {changed} outside "
            "curate; restore it or choose a new --out"
        )
    if size == committed:
        return b""
    with path.open("rb+") as f:
        f.seek(committed)
        tail = f.read()
        f.truncate(committed)
        f.flush()
        os.fsync(f.fileno())
    aside.parent.mkdir(exist_ok=True)
    with aside.open("ab") as f:
        f.write(tail)
    return tail


def read_log(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a committed log (after reconcile every line is complete)."""
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.endswith("\n"):
                raise RunDirError(
                    f"{path}:{n}: partial line inside the committed part; choose a new --out"
                )
            try:
                row = json.loads(line)
            except (ValueError, RecursionError) as e:
                raise RunDirError(
                    f"{path}:{n}: damaged line in the committed part ({e}); restore the file "
                    "from a backup, or start again with a new --out"
                ) from None
            if not isinstance(row, dict):
                raise RunDirError(
                    f"{path}:{n}: expected a JSON object, got {type(row).__name__}; restore the "
                    "file from a backup, or start again with a new --out"
                )
            yield row


def records_of_log(path: Path) -> Iterator[Record]:
    """The Records of a committed log (records.jsonl, instructions.jsonl); a row that is not one
    is a RunDirError naming file:line."""
    for n, row in enumerate(read_log(path), 1):
        try:
            rec = Record(**row)
            if not isinstance(rec.id, str) or not isinstance(rec.instruction, str):
                raise TypeError("id and instruction must be strings")
        except TypeError as e:
            raise RunDirError(
                f"{path}:{n}: not a record ({e}); restore the file from a backup, or start "
                "again with a new --out"
            ) from None
        yield rec


class AppendLogs:
    """Append-only JSONL logs of a run directory, opened for appending when first written (or
    all at once: ``names``); ``synced`` makes what was appended durable."""

    def __init__(self, out: Path, names: tuple[str, ...] = ()):
        self.out = out
        self.files: dict[str, IO[str]] = {
            name: (out / name).open("a", encoding="utf-8") for name in names
        }

    def append(self, name: str, rows: list[dict[str, Any]]) -> None:
        f = self.files.get(name)
        if f is None:
            f = self.files[name] = (self.out / name).open("a", encoding="utf-8")
        try:
            for row in rows:
                f.write(dumps(row, ensure_ascii=False) + "\n")
        except OSError as e:  # a full disk names no file
            raise naming(e, self.out / name) from e

    def synced(self) -> Iterator[tuple[str, int]]:
        """fsync every open log in turn; yields its name and its size then."""
        for name, f in self.files.items():
            try:
                f.flush()
                os.fsync(f.fileno())
            except OSError as e:
                raise naming(e, self.out / name) from e
            yield name, os.fstat(f.fileno()).st_size

    def close(self) -> None:
        for f in self.files.values():
            f.close()


class Logs(AppendLogs):
    """The three append-only logs of a run, appended to once per round."""

    def __init__(self, out: Path):
        super().__init__(out, LOGS)

    def commit(self, state: RunState) -> None:
        """fsync every log, then record their sizes in the state, atomically."""
        for name, size in self.synced():
            if size != state.sizes.get(name):
                state.lines[name] = state.lines.get(name, 0) + _count_lines(
                    self.out / name, state.sizes[name]
                )
            state.sizes[name] = size
        save_state(self.out, state)


def _count_lines(path: Path, start: int) -> int:
    with path.open("rb") as f:
        f.seek(start)
        return f.read().count(b"\n")
