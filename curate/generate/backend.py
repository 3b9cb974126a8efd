"""The backend a config names, opened through its registry row (vLLM and torch load only then)."""

from __future__ import annotations

from curate.backends.base import Backend
from curate.backends.registry import get_backend
from curate.generate.config import GenerateConfig


def open_backend(cfg: GenerateConfig) -> Backend:
    spec = get_backend(cfg.backend)
    return spec.open(spec.options(cfg))
