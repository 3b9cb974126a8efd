"""Output directories: which command owns one, and one run at a time in it.

Every `curate filter` / `curate generate` output directory carries a marker, ``.instructforge.json``
(``{"command", "version", "created"}``). Before a run touches anything, ``claim`` checks it:

- a new or empty directory is taken (the marker is written);
- a directory of the same command is taken again: filter removes its earlier outputs first (a
  stale ``kept.parquet`` or plot never sits beside new files), generate resumes it as it is;
- a directory of another command, or a non-empty one without a marker, is refused unless
  ``--overwrite``, which removes the outputs any instructforge command writes there (and only
  those: a user's own files are left alone) and takes the directory. A directory that holds only
  files this command writes (one written before the marker existed) is taken as its own.

While a run holds a directory it holds an exclusive ``fcntl.flock`` on ``.instructforge.lock``
there, with its pid and start time inside: a second run into the same directory stops at once
with one line saying who holds it, instead of both writing the same files.
"""

from __future__ import annotations

import fcntl
import fnmatch
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from curate import __version__

MARKER = ".instructforge.json"
LOCK = ".instructforge.lock"

# What each command writes into its directory (fnmatch patterns on the top-level names).
OUTPUTS: dict[str, tuple[str, ...]] = {
    "filter": (
        "kept.jsonl",
        "rejected.jsonl",
        "stats.json",
        "report.md",
        "report.html",
        "config.yaml",
        "kept.*",
        "*.png",
        ".*.tmp-*",
    ),
    "generate": (
        "records.jsonl",
        "rejected.jsonl",
        "instructions.jsonl",
        "state.json",
        "stats.json",
        "config.yaml",
        "uncommitted",
        ".*.tmp-*",
    ),
    "loop": ("rounds", "config.yaml", "loop.md", "rounds.csv", "*.png", ".*.tmp-*"),
    # DIR/<lang>.jsonl (Bactrian-X layout) and their --to exports
    "translate": (
        "*.jsonl",
        "*.json",
        "*.parquet",
        "*.csv",
        "config.yaml",
        "uncommitted",
        ".*.tmp-*",
    ),
    "experiment": (
        "experiment.md",
        "experiment.json",
        "results.csv",
        "runs.csv",
        "loss_curves.png",
        "config.yaml",
        "data",
        "variants",
        "runs",
        ".*.tmp-*",
    ),
}
# Commands that rerun from scratch (their old outputs are removed) rather than resume.
FRESH = {"filter"}
HOUSEKEEPING = {MARKER, LOCK}


class OutputDirError(Exception):
    """The output directory is not this run's to write; the message says why and what to do."""


def owned(name: str, command: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in OUTPUTS[command])


def read_marker(out: Path) -> dict | None:
    """The marker of ``out``, or None when it has none; a damaged one is an error naming it."""
    path = out / MARKER
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("command"), str):
            raise ValueError("expected an object with a 'command'")
    except (OSError, ValueError) as e:
        raise OutputDirError(
            f"{path}: unreadable output-directory marker ({e}); choose a new --out, "
            "or pass --overwrite to take the directory"
        ) from None
    return data


def check(out: Path, command: str, overwrite: bool = False) -> None:
    """Refuse ``out`` unless ``command`` may write there (see the module docstring); no writes."""
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"--out {out}: exists and is not a directory; choose a new --out")
    if not out.exists() or overwrite:
        return
    marker = read_marker(out)
    if marker is not None:
        owner = marker["command"]
        if owner != command:
            raise OutputDirError(
                f"--out {out}: is the output directory of `curate {owner}` ({MARKER}); "
                f"`curate {command}` would mix its files with that run's: choose a new --out, "
                "or pass --overwrite to replace that run's outputs"
            )
        return
    foreign = sorted(
        p.name for p in out.iterdir() if p.name not in HOUSEKEEPING and not owned(p.name, command)
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (
            f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        )
        raise OutputDirError(
            f"--out {out}: not empty and not an instructforge output directory (holds {shown}): "
            "choose a new --out, or pass --overwrite to write there anyway"
        )


@contextmanager
def claim(
    out: Path, command: str, *, overwrite: bool = False, keep: Iterable[Path] = ()
) -> Iterator[Path]:
    """Hold ``out`` for one run of ``command``: checked, locked, cleaned, marked (module docstring).
    ``keep``: paths never removed (the run's own inputs)."""
    check(out, command, overwrite)
    out.mkdir(parents=True, exist_ok=True)  # an OSError names the path (cli_common.handle_errors)
    with _lock(out):
        check(out, command, overwrite)  # again: another run may have taken it meanwhile
        marker = _marker_or_none(out)
        if overwrite and (marker is None or marker.get("command") != command):
            _remove(out, set(OUTPUTS), keep)
        elif command in FRESH:
            _remove(out, {command}, keep)
        if marker is None or marker.get("command") != command:
            _write_marker(out, command)
        yield out


def _marker_or_none(out: Path) -> dict | None:
    try:
        return read_marker(out)
    except OutputDirError:
        return None  # only with --overwrite: replaced below


def _remove(out: Path, commands: set[str], keep: Iterable[Path]) -> None:
    kept = {p.resolve() for p in keep}
    for path in out.iterdir():
        if path.name in HOUSEKEEPING or path.resolve() in kept:
            continue
        if any(owned(path.name, c) for c in commands):
            try:
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
            except OSError as e:
                raise OutputDirError(
                    f"{path}: cannot remove the earlier run's output ({e.strerror or e})"
                ) from None


def _write_marker(out: Path, command: str) -> None:
    data = {"command": command, "version": __version__, "created": _now()}
    tmp = out / f".{MARKER}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / MARKER)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@contextmanager
def _lock(out: Path) -> Iterator[None]:
    path = out / LOCK
    try:
        f: IO[str] = path.open("a+", encoding="utf-8")
    except OSError as e:
        raise OutputDirError(f"{path}: cannot open the lock file ({e.strerror or e})") from None
    try:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise OutputDirError(
                f"--out {out}: another run is writing there ({holder}); wait for it to end, "
                "or choose a new --out"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}, started {_now()}\n")
        f.flush()
        yield
    finally:
        f.close()  # closing releases the lock
