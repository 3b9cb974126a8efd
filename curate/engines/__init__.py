"""Where `curate filter`'s stages run: ``local`` (curate/filters/pipeline.py: this machine, in
process and worker processes) or ``ray`` (ray_engine.py: Ray Data on a Ray cluster). Both run the
same stage code and write the same files; Ray is imported only when the ray engine runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_filter(inputs: list[str], out_dir: str | Path, cfg: Any, *, progress: bool = False) -> Any:
    """``cfg.engine``'s run_filter: a FilterResult either way."""
    if cfg.engine == "ray":
        from curate.engines.ray_engine import run_filter_ray

        return run_filter_ray(inputs, out_dir, cfg, progress=progress)
    from curate.filters.pipeline import run_filter as run_local

    return run_local(inputs, out_dir, cfg, progress=progress)
