"""`curate filter`: the options → a FilterConfig → the pipeline → a one-line summary.

Every config key is reachable through ``--config FILE`` or ``--set section.key=value``; the stage
flags (``--threshold``, ``--keep``, ``--eval-set`` …) are declared on the stages' own config
fields, the run options below.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from curate import rundir
from curate.cli_common import err, handle_errors
from curate.config import ConfigError, ConfigSpec, Flag, Origins
from curate.config.cli import config_command, parse
from curate.filters.config import (
    FilterConfig,
    apply_selection,
    check_config,
    resolved,
)
from curate.filters.profiles import PROFILES, choose_profile
from curate.filters.registry import STAGES
from curate.filters.toxicity import ToxicityConfig
from curate.io import InputError
from curate.io.sources import container_of

STAGE_HELP = ", ".join(STAGES)  # the stage registry, in its order


def toxicity_threshold_sets(value: float) -> list[tuple[str, Any]]:
    """--toxicity-threshold: the same threshold for every label."""
    labels = list(ToxicityConfig().thresholds)
    return [
        ("toxicity.default_threshold", value),
        *((f"toxicity.thresholds.{k}", value) for k in labels),
    ]


FLAGS = (
    Flag(
        "--profile",
        "profile",
        "Audit profile (default: generated for `curate generate` output, else human).",
        choices=PROFILES,
    ),
    Flag(
        "--lang",
        ("lang", "language.lang"),
        "Expected language (default: from a name like es.json).",
    ),
    Flag(
        "--toxicity-threshold",
        help="Score above which a record is toxic (every label).",
        type=float,
        expand=toxicity_threshold_sets,
    ),
)
SPEC = ConfigSpec(FilterConfig, flags=FLAGS, example="near_dedup.num_perm=256")


@config_command(SPEC)
def filter_command(
    inputs: Annotated[
        list[str],
        typer.Argument(help="Files (.json/.jsonl/.parquet/.csv), save_to_disk dirs or hub ids."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    cfg: FilterConfig,
    origins: Origins,
    only: Annotated[
        str | None, typer.Option("--only", help=f"Run only these stages: {STAGE_HELP}.")
    ] = None,
    skip: Annotated[
        str | None, typer.Option("--skip", help="Skip these stages (comma-separated).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Write into an --out that holds another run's or other files (their outputs"
            " are replaced).",
        ),
    ] = False,
) -> None:
    """Audit an instruction set: dedup (exact + MinHash), quality, AlpacaDataCleaned's defects,
    language, decontamination and toxicity (profile: human-written or generated data). Writes
    [bold]kept.jsonl[/], [bold]rejected.jsonl[/] (every drop with its reason and evidence),
    [bold]stats.json[/], [bold]report.md[/] and [bold]report.html[/] with plots, and the resolved
    [bold]config.yaml[/].

    Example: [bold]curate filter data/samples/defects.jsonl --out out/defects --lang en[/]
    """
    from curate.engines import run_filter  # numpy, MinHash, plots (Ray): only when it runs

    with handle_errors(ValueError):  # ValueError: a value a stage refused
        cfg = prepare(cfg, origins, inputs, _split(only), _split(skip))
        check_inputs_outside(inputs, out)
        with rundir.claim(out, "filter", overwrite=overwrite, keep=_local(inputs)):
            result = run_filter(inputs, out, cfg, progress=not quiet and sys.stderr.isatty())
    err.print(summary_line(result.stats, result.report_path), markup=False)


def prepare(
    cfg: FilterConfig,
    origins: Origins,
    inputs: list[str],
    only: list[str] | None = None,
    skip: list[str] | None = None,
) -> FilterConfig:
    """The profile applied under the user's keys, --only/--skip applied, every rule and path
    checked, the language filled in; no work done."""
    chosen_by = origins.labels.get("profile", "--profile").removesuffix(": profile")
    choose_profile(cfg, inputs, set(origins.labels), chosen_by)
    apply_selection(cfg, only, skip)
    check_config(cfg, origins.source)
    check_paths(inputs, cfg)
    return resolved(cfg, inputs)


def resolve_config(
    inputs: list[str],
    config: Path | None = None,
    flags: dict[str, Any] | None = None,
    keep: str | None = None,
    only: list[str] | None = None,
    skip: list[str] | None = None,
    sets: list[str] | None = None,
) -> FilterConfig:
    """The config a run would use: file ← flags (``{"threshold": 0.9}``: the option names in
    snake_case) ← ``--set`` items ← --only/--skip; every rule and path checked, no work done."""
    values = {f"--{name.replace('_', '-')}": value for name, value in (flags or {}).items()}
    known = {flag.name for flag in SPEC.all_flags()}
    for name in values:
        if name not in known:
            raise ConfigError(f"{name}: unknown option")
    if keep is not None:
        values["--keep"] = keep
    cfg, origins = SPEC.load(config, values, sets or ())
    return prepare(cfg, origins, inputs, only, skip)


def config_from_args(args: list[str]) -> FilterConfig:
    """The config `curate filter ARGS` would run with."""
    cfg, origins, own = parse(filter_command, args)
    return prepare(cfg, origins, own["inputs"], _split(own["only"]), _split(own["skip"]))


def check_paths(inputs: list[str], cfg: FilterConfig) -> None:
    """Every input, eval set and reference set readable, before any work starts."""
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


def _local(inputs: list[str]) -> list[Path]:
    return [Path(p) for p in inputs if Path(p).exists()]


def check_inputs_outside(inputs: list[str], out: Path) -> None:
    """An input that is one of the files this run writes or removes in --out (``curate filter
    out/kept.jsonl --out out``) would be lost: refused."""
    for path in _local(inputs):
        if path.resolve().parent == out.resolve() and rundir.owned(path.name, "filter"):
            raise ConfigError(
                f"INPUT {path}: is an output of this run (--out {out}); copy it elsewhere or "
                "choose another --out"
            )


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
    lang = f" (lang {stats['lang']} from {stats['lang_from']})" if stats.get("lang_from") else ""
    profile = (
        f" (profile {stats['profile']}: {stats['profile_from']})" if stats.get("profile") else ""
    )
    return (
        f"{stats['input']:,} records → {stats['kept']:,} kept, {stats['rejected']:,} rejected{detail}"
        f" in {stats['wall_seconds']:.1f} s{profile}{lang} → {report}"
    )
