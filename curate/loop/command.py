"""`curate loop CONFIG.yaml --out DIR`: generate → filter → train → eval, round after round."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curate import rundir
from curate.cli_common import err, handle_errors
from curate.config.cli import config_command
from curate.loop.config import SPEC, LoopConfig


@config_command(SPEC)
def loop_command(
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Loop directory (rounds/NNN/<step>/; rerun the same command to resume)."
        ),
    ],
    cfg: LoopConfig,
) -> None:
    """Grow, audit, train and evaluate in rounds: round k generates with round k-1's adapter.

    Each step writes its command's normal outputs under [bold]DIR/rounds/NNN/<step>/[/]; the report is
    [bold]DIR/loop.md[/] with [bold]rounds.csv[/] and PNGs. Killed? Run the same command again: finished
    steps are skipped, the interrupted one runs again.

    Example: [bold]curate loop curate/configs/loop-tiny.yaml --out runs/loop[/]
    """
    from curate.backends.base import BackendError
    from curate.generate.state import RunDirError
    from curate.loop.run import run_loop
    from curate.loop.state import LoopStateError
    from curate.rundir import OutputDirError
    from train.eval_tasks import TasksUnavailable

    errors = (LoopStateError, RunDirError, BackendError, TasksUnavailable, OutputDirError)
    # the claim marks DIR as a loop dir and locks it against a second run
    with handle_errors(*errors), rundir.claim(out, "loop"):
        run_loop(cfg, out, err)
