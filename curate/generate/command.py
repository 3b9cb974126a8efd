"""`curate generate`: the options → a GenerateConfig → the loop → a summary a person reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from curate.backends import registry

# flag → config key it sets (every other key is reachable through --config)
FLAG_KEYS = {
    "model": "model", "seeds": "seeds", "backend": "backend", "base_url": "base_url",
    "adapter": "adapter", "target": "target", "rounds": "rounds", "template": "template",
    "temperature": "sampling.temperature", "top_p": "sampling.top_p", "max_tokens": "sampling.max_tokens",
    "batch_size": "batch_size", "filter_config": "filter_config", "structured": "structured", "seed": "seed",
}  # fmt: skip


def generate_command(
    out: Annotated[
        Path,
        typer.Option("--out", help="Run directory (created; rerun the same command to resume)."),
    ],
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model directory or hub id (served name for openai)."),
    ] = None,
    seeds: Annotated[
        str | None,
        typer.Option(
            "--seeds", help="Seed tasks in any readable format [default: data/seed_tasks.jsonl]."
        ),
    ] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help=f"{registry.choices_help()} [default: vllm].")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1."),
    ] = None,
    adapter: Annotated[
        str | None,
        typer.Option(
            "--adapter",
            help=f"LoRA adapter dir ({', '.join(registry.names(adapter='name'))}: the served LoRA name).",
        ),
    ] = None,
    target: Annotated[
        int | None,
        typer.Option("--target", help="Stop once this many records are kept [default: 100]."),
    ] = None,
    rounds: Annotated[
        int | None, typer.Option("--rounds", help="Stop after this many rounds [default: 20].")
    ] = None,
    template: Annotated[
        str | None, typer.Option("--template", help="self-instruct (default) or alpaca.")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option("--temperature", help="Sampling temperature [default: 1.0].")
    ] = None,
    top_p: Annotated[
        float | None, typer.Option("--top-p", help="Nucleus sampling mass [default: 1.0].")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="Tokens per instruction list [default: 512].")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Instruction prompts per round [default: 8].")
    ] = None,
    filter_config: Annotated[
        str | None,
        typer.Option("--filter-config", help="`curate filter` YAML for the stage settings."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="generate YAML (see curate/configs/generate.yaml)."),
    ] = None,
    structured: Annotated[
        bool | None,
        typer.Option(
            "--structured/--no-structured",
            help=f"JSON-schema-constrained instances ({', '.join(registry.names(structured=True))}).",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for prompt and model sampling [default: 0].")
    ] = None,
) -> None:
    """Grow an instruction set from seed tasks with a local model (Self-Instruct, or Alpaca's 20-at-once).

    Writes [bold]records.jsonl[/] (kept, with provenance), [bold]rejected.jsonl[/] (every dropped item with
    stage and reason), [bold]instructions.jsonl[/] (the pool), [bold]stats.json[/] and [bold]config.yaml[/]
    into --out. Killed or crashed? Run the same command again: it resumes where the last round ended.

    Example: [bold]curate generate --out out/gen --model ./my-model --target 200[/]
    """
    from curate.backends.base import BackendError
    from curate.cli import err, fail
    from curate.filters.config import ConfigError
    from curate.generate.backend import open_backend
    from curate.generate.config import check_config, load_config
    from curate.generate.loop import run_generate
    from curate.generate.progress import RichProgress
    from curate.generate.state import RunDirError
    from curate.io import InputError

    flags = dict(locals())
    progress = RichProgress(err)
    try:
        cfg = load_config(config)
        for flag, key in FLAG_KEYS.items():
            if flags[flag] is not None:
                _set(cfg, key, flags[flag], flag)
        check_config(cfg, str(config) if config else "generate.yaml (default)")
        result = run_generate(cfg, out, open_backend, progress)
    except (ConfigError, InputError, RunDirError) as e:
        progress.close()
        fail(str(e))
    except BackendError as e:
        progress.close()
        fail(f"{e}{_resume_hint(out)}")
    except KeyboardInterrupt:
        progress.close()
        fail(
            f"interrupted; finished rounds are saved in {out}: rerun the same command to resume",
            130,
        )
    progress.close()
    _summary(err, result)


def _resume_hint(out: Path) -> str:
    from curate.generate.state import RunDirError, load_state

    try:
        state = load_state(out)
    except RunDirError:
        return ""
    if state is None or not state.rounds_done:
        return ""
    return f" ({state.rounds_done} finished round(s) are saved in {out}: rerun the same command to resume)"


def _set(cfg: Any, dotted: str, value: Any, flag: str) -> None:
    from curate.filters.config import ConfigError

    choices = {
        "backend": registry.names(),
        "template": ("self-instruct", "alpaca"),
    }
    if dotted in choices and value not in choices[dotted]:
        raise ConfigError(
            f"--{flag.replace('_', '-')}: expected one of {', '.join(choices[dotted])}, got {value!r}"
        )
    obj = cfg
    *path, last = dotted.split(".")
    for part in path:
        obj = getattr(obj, part)
    setattr(obj, last, value)


def _summary(console: Any, result: Any) -> None:
    from curate.generate.progress import line

    c = result.counters
    console.print(f"[bold]{result.stop_reason}[/]")
    console.print(line(c))
    for reason, n in c["rejected_by_reason"].items():
        console.print(f"  rejected {reason}: {n}")
    if result.seed_rejects:
        console.print(f"[yellow]{result.seed_rejects} malformed seed row(s) skipped[/]")
    out = result.out
    console.print(
        f"→ {out / 'records.jsonl'} · {out / 'rejected.jsonl'} · {out / 'instructions.jsonl'} · {out / 'stats.json'}"
    )
