"""`curate generate`: the options → a GenerateConfig → the loop → a summary a person reads."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from curate import rundir
from curate.backends import registry
from curate.backends.base import BackendError
from curate.cli_common import err, explain, handle_errors
from curate.config import Flag
from curate.config.cli import config_command
from curate.generate import config as generate_config
from curate.generate.backend import open_backend
from curate.generate.config import GenerateConfig
from curate.generate.state import RunDirError, load_state

# flags whose help comes from the backend registry; the other flags are declared on their
# fields in curate/generate/config.py (every key: --config FILE or --set section.key=value)
FLAGS = (
    Flag("--backend", "backend", f"{registry.choices_help()} [default: vllm]."),
    Flag(
        "--adapter",
        "adapter",
        f"LoRA adapter dir ({', '.join(registry.names(adapter='name'))}: the served LoRA name).",
    ),
    Flag(
        "--structured",
        "structured",
        f"JSON-schema-constrained instances ({', '.join(registry.names(structured=True))}).",
    ),
)
SPEC = dataclasses.replace(generate_config.SPEC, flags=FLAGS)


@config_command(SPEC)
def generate_command(
    out: Annotated[
        Path,
        typer.Option("--out", help="Run directory (created; rerun the same command to resume)."),
    ],
    cfg: GenerateConfig,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Write into an --out that holds another command's or other files (their"
            " outputs are replaced); a generate run dir is resumed either way.",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", help="Show the model engine's own log lines (vLLM's startup …)."),
    ] = False,
) -> None:
    """Grow an instruction set from seed tasks with a local model (Self-Instruct, or Alpaca's 20-at-once).

    Writes [bold]records.jsonl[/] (kept, with provenance), [bold]rejected.jsonl[/] (every dropped item with
    stage and reason), [bold]instructions.jsonl[/] (the pool), [bold]stats.json[/] and [bold]config.yaml[/]
    into --out. Killed or crashed? Run the same command again: it resumes where the last round ended.

    Example: [bold]curate generate --out out/gen --model ./my-model --target 200[/]
    """
    # the loop pulls in numpy, MinHash and the prompt machinery: only when a run starts
    from curate.generate.loop import run_generate
    from curate.generate.progress import RichProgress, quiet_engines

    if not verbose:
        quiet_engines()
    progress = RichProgress(err)
    with handle_errors(cleanup=progress.close, message=lambda e: _message(e, out)):
        hold = partial(rundir.claim, out, "generate", overwrite=overwrite)
        opened = lambda c: progress.watch(open_backend(c))  # noqa: E731
        result = run_generate(cfg, out, opened, progress, hold=hold)
    progress.close()
    _summary(err, result)


def _message(error: BaseException, out: Path) -> str:
    if isinstance(error, KeyboardInterrupt):
        return f"interrupted; finished rounds are saved in {out}: rerun the same command to resume"
    if isinstance(error, BackendError):
        return f"{error}{_resume_hint(out)}"
    return explain(error)


def _resume_hint(out: Path) -> str:
    try:
        state = load_state(out)
    except RunDirError:
        return ""
    if state is None or not state.rounds_done:
        return ""
    return f" ({state.rounds_done} finished round(s) are saved in {out}: rerun the same command to resume)"


def _summary(console: Any, result: Any) -> None:
    """Printed literally: reasons and paths are data, not markup."""
    from curate.generate.progress import line

    c = result.counters
    console.print(f"[bold]{escape(result.stop_reason)}[/]")
    console.print(line(c), markup=False)
    for reason, n in c["rejected_by_reason"].items():
        console.print(f"  rejected {reason}: {n}", markup=False)
    if result.seed_rejects:
        console.print(f"[yellow]{result.seed_rejects} malformed seed row(s) skipped[/]")
    out = result.out
    console.print(
        f"→ {out / 'records.jsonl'} · {out / 'rejected.jsonl'} · {out / 'instructions.jsonl'} · {out / 'stats.json'}",
        markup=False,
    )
