"""What is finished: a step is done when its done marker exists, written last, after its outputs.

``DIR/rounds/NNN/round.json`` holds the config the round was made with (written when it starts);
``DIR/rounds/NNN/<step>/.done.json`` the step's summary and wall time. A step dir without its
marker belongs to an interrupted run: it is removed and the step runs again from the start (every
step is seeded, so the redo writes what an uninterrupted run would have). A round whose config
differs from the one it was made with is refused, naming each changed key.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from curate.io import AtomicFile
from curate.jsonout import dumps
from curate.loop.config import changes

DONE = ".done.json"
ROUND = "round.json"


class LoopStateError(Exception):
    """The loop directory cannot be continued with this config; the message says why."""


def done(step_dir: Path) -> dict[str, Any] | None:
    marker = step_dir / DONE
    if not marker.is_file():
        return None
    return json.loads(marker.read_text(encoding="utf-8"))


def run_step(
    step_dir: Path, work: Callable[[Path], dict[str, Any]], log: Callable[[str], None]
) -> dict[str, Any]:
    """The step's summary: from its marker when done, else by running ``work`` in a clean dir."""
    finished = done(step_dir)
    if finished is not None:
        log(f"{step_dir}: done, skipped")
        return finished
    if step_dir.exists():
        log(f"{step_dir}: interrupted earlier; removed and run again")
        shutil.rmtree(step_dir)
    step_dir.mkdir(parents=True)
    t0 = time.perf_counter()
    summary = work(step_dir)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    with AtomicFile(step_dir / DONE) as f:
        f.write(dumps(summary, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    return summary


def open_round(round_dir: Path, identity: dict[str, Any]) -> None:
    """Record the round's config, or refuse when it was made with another."""
    path = round_dir / ROUND
    if path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        diff = changes(before, identity)
        if diff:
            shown = "; ".join(diff[:8]) + (f"; … {len(diff) - 8} more" if len(diff) > 8 else "")
            raise LoopStateError(
                f"{round_dir} was made with another config ({shown}); put the config back as it "
                "was to continue this loop, or choose a new --out"
            )
        return
    round_dir.mkdir(parents=True, exist_ok=True)
    with AtomicFile(path) as f:
        f.write(dumps(identity, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
