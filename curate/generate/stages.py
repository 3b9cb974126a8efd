"""The `curate filter` stages a run applies to every new triple, built from its config.

Dedup stages get the records kept by earlier rounds as their reference set (a list the loop
extends after each round), so a duplicate of any earlier round is caught, and a resumed run,
which reloads that list from records.jsonl, drops exactly what an uninterrupted one would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.filters.config import STAGES, ConfigError, load_config
from curate.filters.pipeline import make_stage
from curate.filters.stage import Stage, StageContext
from curate.generate.config import GenerateConfig
from curate.generate.state import records_of_log
from curate.records import Record


def make_stages(cfg: GenerateConfig, kept: list[Record]) -> tuple[Any, list[Stage]]:
    """(quality config for the instruction checks, [stage objects in cfg.filters order])."""
    fcfg = load_config(
        cfg.filter_config, profile="generated"
    )  # model output: Self-Instruct's rules
    unknown = [name for name in cfg.filters if name not in STAGES]
    if unknown:
        raise ConfigError(f"filters: unknown stage {unknown[0]!r}; stages: {', '.join(STAGES)}")
    ctx = StageContext(reference=lambda: kept)  # the list grows after every round
    names = [name for name in cfg.filters if fcfg.stage_config(name).enabled]
    return fcfg.quality, [make_stage(name, fcfg, ctx) for name in names]


def load_kept(records_path: Path) -> list[Record]:
    if not records_path.exists():
        return []
    return list(records_of_log(records_path))
