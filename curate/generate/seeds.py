"""The human seed tasks a run starts from, and the machine pool it has grown so far."""

from __future__ import annotations

from pathlib import Path

from curate.generate.state import records_of_log
from curate.io import InputError, Reject, read_records
from curate.records import Record

SEEDS_FILE = Path("data") / "seed_tasks.jsonl"


def default_seeds_path() -> Path:
    """The project's own seed tasks, found beside the source tree (``data/seed_tasks.jsonl``)."""
    root = Path(__file__).resolve().parents[2]
    path = root / SEEDS_FILE
    if not path.is_file():
        raise InputError(
            f"no default seed tasks: {path} is not there (an installed copy has no data/); pass --seeds FILE"
        )
    return path


def load_seeds(path: str | None) -> tuple[list[Record], int]:
    """One record per seed task (a seed-format task with several instances shows its first),
    and how many rows the reader rejected (each named on stderr by the CLI)."""
    source = str(path) if path else str(default_seeds_path())
    tasks: dict[str, Record] = {}
    rejects = 0
    for item in read_records(source):
        if isinstance(item, Reject):
            rejects += 1
            continue
        key = str(item.meta.get("task") or item.id)
        tasks.setdefault(key, item)
    if not tasks:
        raise InputError(f"--seeds: {source}: no usable seed task ({rejects} malformed rows)")
    return list(tasks.values()), rejects


def load_pool(path: Path) -> list[Record]:
    """The machine instructions accepted by earlier rounds (instructions.jsonl)."""
    if not path.exists():
        return []
    return list(records_of_log(path))
