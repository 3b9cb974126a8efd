"""`curate filter`: the options → a FilterConfig → the pipeline → a one-line summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from curate.filters.config import ConfigError, FilterConfig

# flag → config key it sets (every other key is reachable through --config or --set KEY=VALUE)
FLAG_KEYS = {
    "lang": "lang",
    "eval_set": "decontam.eval_sets",
    "against": "against",
    "to": "to",
    "workers": "workers",
    "strict": "strict",
    "toxicity_checkpoint": "toxicity.checkpoint",
    "toxicity_config": "toxicity.huggingface_config_path",
    "toxicity_model": "toxicity.model",
    "threshold": "near_dedup.threshold",
    "ngram": "near_dedup.ngram",
    "decontam_ngram": "decontam.ngram",
    "min_words": "quality.min_instruction_words",
    "max_words": "quality.max_instruction_words",
}
KEEP_KEYS = ("exact_dedup.keep", "near_dedup.keep")
STAGE_HELP = "exact-dedup, quality, language, decontam, near-dedup, toxicity"


def filter_command(
    inputs: Annotated[
        list[str],
        typer.Argument(help="Files (.json/.jsonl/.parquet/.csv), save_to_disk dirs or hub ids."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML config (default: the shipped filter.yaml)."),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Expected language (default: from a name like es.json)."),
    ] = None,
    eval_set: Annotated[
        list[str] | None,
        typer.Option("--eval-set", help="Eval set to decontaminate against (repeatable)."),
    ] = None,
    against: Annotated[
        list[str] | None,
        typer.Option("--against", help="Reference set for near-dedup novelty (repeatable)."),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Also write kept.<ext> in this format or container.")
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes.")] = None,
    only: Annotated[
        str | None, typer.Option("--only", help=f"Run only these stages: {STAGE_HELP}.")
    ] = None,
    skip: Annotated[
        str | None, typer.Option("--skip", help="Skip these stages (comma-separated).")
    ] = None,
    strict: Annotated[
        bool | None,
        typer.Option(
            "--strict", help="Stop at the first malformed record instead of rejecting it."
        ),
    ] = None,
    toxicity_checkpoint: Annotated[
        str | None,
        typer.Option(
            "--toxicity-checkpoint", help="Local detoxify checkpoint (.ckpt), for offline use."
        ),
    ] = None,
    toxicity_config: Annotated[
        str | None,
        typer.Option(
            "--toxicity-config",
            "--toxicity-config-dir",
            help="Tokenizer/config directory for the checkpoint.",
        ),
    ] = None,
    toxicity_model: Annotated[
        str | None, typer.Option("--toxicity-model", help="original, unbiased or multilingual.")
    ] = None,
    toxicity_threshold: Annotated[
        float | None,
        typer.Option("--toxicity-threshold", help="Score above which a record is toxic."),
    ] = None,
    keep: Annotated[
        str | None, typer.Option("--keep", help="Which duplicate survives: first or longest.")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Near-duplicate Jaccard threshold.")
    ] = None,
    ngram: Annotated[int | None, typer.Option("--ngram", help="Near-dedup shingle size.")] = None,
    decontam_ngram: Annotated[
        int | None,
        typer.Option(
            "--decontam-ngram", help="Words shared with an eval item that count as contamination."
        ),
    ] = None,
    min_words: Annotated[
        int | None, typer.Option("--min-words", help="Fewest instruction words.")
    ] = None,
    max_words: Annotated[
        int | None, typer.Option("--max-words", help="Most instruction words.")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Any config key: --set near_dedup.num_perm=256 (repeatable)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Audit an instruction set: dedup (exact + MinHash), quality, language, decontamination and
    toxicity. Writes [bold]kept.jsonl[/], [bold]rejected.jsonl[/] (every drop with its reason and
    evidence), [bold]stats.json[/], [bold]report.md[/] with plots, and the resolved [bold]config.yaml[/].

    Example: [bold]curate filter data/samples/defects.jsonl --out out/defects --lang en[/]
    """
    from curate.cli import err, fail
    from curate.filters.pipeline import run_filter
    from curate.io import InputError, StrictError

    flags = {k: v for k, v in locals().items() if k in FLAG_KEYS and v is not None}
    try:
        if toxicity_threshold is not None:
            set_ = [*(set_ or []), *toxicity_threshold_sets(toxicity_threshold)]
        cfg = resolve_config(inputs, config, flags, keep, _split(only), _split(skip), set_ or [])
        result = run_filter(inputs, out, cfg, progress=not quiet and sys.stderr.isatty())
    except (ConfigError, InputError, StrictError) as e:
        fail(str(e))
    except ValueError as e:  # an unknown --to format, a bad value a stage refused
        fail(str(e))
    err.print(summary_line(result.stats, result.report_path), markup=False)


def resolve_config(
    inputs: list[str],
    config: Path | None,
    flags: dict[str, Any],
    keep: str | None = None,
    only: list[str] | None = None,
    skip: list[str] | None = None,
    sets: list[str] | None = None,
) -> FilterConfig:
    """Config file (or the default) ← flags ← --set ← --only/--skip; every path checked, no work done."""
    import yaml

    from curate.filters.config import (
        apply_selection,
        check_config,
        load_config,
        resolved,
        set_value,
    )

    cfg = load_config(config)
    for name, value in flags.items():
        set_value(cfg, FLAG_KEYS[name], value, f"--{name.replace('_', '-')}")
    if keep is not None:
        for key in KEEP_KEYS:
            set_value(cfg, key, keep, "--keep")
    for item in sets or []:
        key, eq, raw = item.partition("=")
        if not eq:
            raise ConfigError(f"--set: {item!r}: expected KEY=VALUE, e.g. near_dedup.threshold=0.8")
        set_value(cfg, key.strip(), yaml.safe_load(raw), "--set")
    if "lang" in flags:  # --lang is the input's language and the one the language stage expects
        set_value(cfg, "language.lang", flags["lang"], "--lang")
    apply_selection(cfg, only, skip)
    check_config(cfg, str(config) if config else "options")
    check_paths(inputs, cfg)
    cfg = resolved(cfg, inputs)
    return cfg


def check_paths(inputs: list[str], cfg: FilterConfig) -> None:
    """Every input, eval set and reference set readable, before any work starts."""
    from curate.io import InputError
    from curate.io.sources import container_of

    if not inputs:
        raise ConfigError("INPUT: give at least one file, save_to_disk directory or hub id")
    for option, paths in (
        ("INPUT", inputs),
        ("--eval-set", _eval_sets(cfg)),
        ("--against", cfg.against),
    ):
        for path in paths:
            try:
                container_of(path)
            except InputError as e:
                raise ConfigError(f"{option}: {e}") from None


def toxicity_threshold_sets(value: float) -> list[str]:
    """--toxicity-threshold: the same threshold for every label."""
    from curate.filters.toxicity import ToxicityConfig

    labels = list(ToxicityConfig().thresholds)
    return [
        f"toxicity.default_threshold={value}",
        *(f"toxicity.thresholds.{k}={value}" for k in labels),
    ]


def _eval_sets(cfg: FilterConfig) -> list[str]:
    return list(getattr(cfg.decontam, "eval_sets", []) or []) if cfg.decontam.enabled else []


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def summary_line(stats: dict[str, Any], report: Path) -> str:
    """`7,673 records → 6,102 kept, 1,571 rejected (near-duplicate 1,291, …) → DIR/report.md`"""
    reasons = ", ".join(f"{reason} {n:,}" for reason, n in stats["rejected_by_reason"].items())
    detail = f" ({reasons})" if reasons else ""
    return (
        f"{stats['input']:,} records → {stats['kept']:,} kept, {stats['rejected']:,} rejected{detail}"
        f" in {stats['wall_seconds']:.1f} s → {report}"
    )
