"""The backend a config names, opened through its registry row (vLLM and torch load only then)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from curate.backends.base import Backend
from curate.backends.registry import get_backend
from curate.generate.config import GenerateConfig


def open_backend(cfg: GenerateConfig) -> Backend:
    """``--adapter`` is a LoRA directory for every backend: for one that takes a served name
    (openai), a directory becomes its name, as ``--lora-modules NAME=DIR`` serves it."""
    spec = get_backend(cfg.backend)
    opts = spec.options(cfg)
    if spec.adapter == "name" and cfg.adapter and Path(cfg.adapter).expanduser().is_dir():
        opts = dataclasses.replace(opts, adapter=Path(cfg.adapter).expanduser().resolve().name)
    return spec.open(opts)
