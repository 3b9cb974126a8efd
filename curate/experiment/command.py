"""`curate experiment CONFIG.yaml --out DIR`: data-quality ablations in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curate import rundir
from curate.cli_common import err, handle_errors
from curate.config.cli import config_command
from curate.experiment.config import SPEC, ExperimentConfig


@config_command(SPEC)
def experiment_command(
    out: Annotated[Path, typer.Option("--out", help="Output directory (a rerun resumes it).")],
    cfg: ExperimentConfig,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Write into a directory of another command.")
    ] = False,
) -> None:
    """Train one base model on several data variants (filter configs, each with a random control
    of the same size) × seeds, with the same token budget, and compare eval loss on one held-out
    set. Writes [bold]experiment.md[/], [bold]results.csv[/] (mean ± std over seeds),
    [bold]loss_curves.png[/]; a rerun trains only the runs that have no result yet.

    Example: [bold]curate experiment curate/configs/experiment-tiny.yaml --out runs/exp[/]
    """
    from transformers.utils import logging

    from curate.backends.base import BackendError
    from curate.experiment.run import run_experiment
    from train.data import DataError
    from train.recipe import RunError

    logging.disable_progress_bar()  # our own progress and messages only
    errors = (rundir.OutputDirError, DataError, RunError, BackendError, ValueError)
    with handle_errors(*errors), rundir.claim(out, "experiment", overwrite=overwrite):
        run_experiment(cfg, out, err)
    err.print(f"→ {out / 'experiment.md'}", markup=False)
