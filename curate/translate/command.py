"""`curate translate`: the options → a TranslateConfig → the run → a summary table."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from curate import rundir
from curate.backends.base import Backend, BackendError, BackendOptions
from curate.cli_common import err, explain, handle_errors
from curate.config.cli import config_command
from curate.translate.config import SPEC, TranslateConfig


def open_backend(cfg: TranslateConfig) -> Backend:
    """The backend the config names, through its registry row (the mt row reads section mt)."""
    from curate.backends.registry import get_backend

    spec = get_backend(cfg.backend)
    opts = spec.options(cfg)
    if cfg.backend == "mt":
        opts = BackendOptions(cfg.model, cfg.adapter, cfg.base_url, cfg.mt)
    return spec.open(opts)


@config_command(SPEC)
def translate_command(
    inputs: Annotated[
        list[str],
        typer.Argument(help="Instruction sets in any format `curate convert` reads (English)."),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Run directory: DIR/<lang>.jsonl per language (rerun to resume)."
        ),
    ],
    cfg: TranslateConfig,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Write into an --out that holds another command's files."),
    ] = False,
) -> None:
    """Translate an instruction set into other languages, Bactrian-X style.

    Writes [bold]DIR/<lang>.jsonl[/] per language (same ids across languages, [bold]lang[/] and
    [bold]meta.translation[/] on every record), [bold]rejected.jsonl[/] (skips and failed checks,
    with stage and reason), [bold]stats.json[/] and [bold]config.yaml[/]. Killed? Rerun the same
    command: it resumes after the last finished batch.

    Example: [bold]curate translate data/samples/alpaca.json --langs es,de --backend mt
    --model 'Helsinki-NLP/opus-mt-en-{tgt}' --out out/bx[/]
    """
    from curate.translate.progress import RichProgress, summary_table
    from curate.translate.run import run_translate

    progress = RichProgress(err)
    with handle_errors(cleanup=progress.close, message=lambda e: _message(e, out)):
        hold = partial(rundir.claim, out, "translate", overwrite=overwrite)
        result = run_translate(cfg, inputs, out, open_backend, progress, hold=hold)
    progress.close()
    err.print(summary_table(result))
    if result.parse_rejects:
        err.print(f"[yellow]{result.parse_rejects} malformed input row(s) in rejected.jsonl[/]")
    files = [out / f"{lang}.jsonl" for lang in result.figures] + result.exported
    err.print(" · ".join(str(p) for p in [*files, out / "rejected.jsonl"]), markup=False)


def _message(error: BaseException, out: Path) -> str:
    if isinstance(error, KeyboardInterrupt):
        return f"interrupted; finished batches are saved in {out}: rerun the same command to resume"
    if isinstance(error, BackendError):
        return f"{error} (finished batches are saved in {out}: rerun to resume)"
    return explain(error)
