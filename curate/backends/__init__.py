"""Generation backends behind one protocol: ``complete(prompts, params) -> [[Completion]]``."""

from __future__ import annotations

from curate.backends.base import Backend, BackendError, Completion, SamplingParams

BACKENDS = ("vllm", "openai", "transformers")

__all__ = ["BACKENDS", "Backend", "BackendError", "Completion", "SamplingParams"]
