"""The translate run directory: append-only JSONL logs plus ``state.json`` saying how much counts.

After each batch the run appends the batch's rows to ``<lang>.jsonl`` and ``rejected.jsonl``,
fsyncs them, then rewrites ``state.json`` atomically with every log's size and how many source
records of each language are done. On restart anything beyond a log's committed size belongs to a
batch that did not finish (kill -9): it is moved to ``uncommitted/`` and the batch runs again, so
no row is lost or written twice (the same scheme as curate generate, curate.generate.state).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from curate.generate.state import AppendLogs, RunDirError, check_identity, cut_back
from curate.io import AtomicFile
from curate.jsonout import dumps

STATE = "state.json"
REJECTED = "rejected.jsonl"


@dataclass
class TranslateState:
    done: dict[str, int] = field(default_factory=dict)  # lang → source records finished
    sizes: dict[str, int] = field(default_factory=dict)  # log → committed bytes
    counters: dict[str, Any] = field(default_factory=dict)  # lang → figures
    identity: dict[str, Any] = field(default_factory=dict)
    parse_rejects_written: bool = False
    version: int = 1


def load(out: Path) -> TranslateState | None:
    path = out / STATE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        state = TranslateState(**data)
        if not all(isinstance(v, int) for v in [*state.done.values(), *state.sizes.values()]):
            raise TypeError("done and sizes must hold integers")
    except (OSError, ValueError, TypeError) as e:
        raise RunDirError(
            f"{path}: unreadable resume state ({e}); restore it, or start again with a new --out"
        ) from None
    return state


def save(out: Path, state: TranslateState) -> None:
    with AtomicFile(out / STATE) as f:
        f.write(dumps(asdict(state), ensure_ascii=False, indent=1, sort_keys=True) + "\n")


def start_or_resume(out: Path, identity: dict[str, Any]) -> tuple[TranslateState, dict[str, int]]:
    """The committed state (a fresh one for a new run) and, per log, the lines set aside."""
    out.mkdir(parents=True, exist_ok=True)
    state = load(out)
    if state is None:
        state = TranslateState(identity=identity)
        save(out, state)
        return state, {}
    check_identity(out, state.identity, identity)
    return state, _cut_back(out, state)


def _cut_back(out: Path, state: TranslateState) -> dict[str, int]:
    set_aside: dict[str, int] = {}
    for name in sorted({*state.sizes, REJECTED, *(f"{lang}.jsonl" for lang in state.done)}):
        aside = out / "uncommitted" / name
        tail = cut_back(out / name, state.sizes.get(name, 0), aside, changed="changed")
        if tail:
            set_aside[name] = tail.count(b"\n") + (not tail.endswith(b"\n"))
    return set_aside


class Logs(AppendLogs):
    """The open logs of a run; ``commit`` makes a batch durable and records it in the state."""

    def commit(self, state: TranslateState) -> None:
        for name, size in self.synced():
            state.sizes[name] = size
        save(self.out, state)
