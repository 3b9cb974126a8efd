"""Generation backends behind one protocol: ``complete(prompts, params) -> [[Completion]]``.

Which backends exist, and how each is configured and opened: ``curate.backends.registry``.
"""

from __future__ import annotations

from curate.backends.base import Backend, BackendError, BackendOptions, Completion, SamplingParams
from curate.backends.registry import BackendSpec, get_backend, register_backend, unregister_backend

__all__ = [
    "Backend",
    "BackendError",
    "BackendOptions",
    "BackendSpec",
    "Completion",
    "SamplingParams",
    "get_backend",
    "register_backend",
    "unregister_backend",
]
