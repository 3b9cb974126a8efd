"""The backend a config names, opened lazily (vLLM and torch load only when a round runs)."""

from __future__ import annotations

import importlib
import os

from curate.backends.base import Backend
from curate.generate.config import GenerateConfig

# Test-only: "module:function" of a scripted responder, so a test can drive the real CLI process
# (e.g. kill -9 it mid-run) without a model. Not an option of the command.
TEST_HOOK = "CURATE_GENERATE_TEST_RESPONDER"


def open_backend(cfg: GenerateConfig) -> Backend:
    hook = os.environ.get(TEST_HOOK)
    if hook:
        from curate.backends.fake import ScriptedBackend

        module, _, name = hook.partition(":")
        return ScriptedBackend(getattr(importlib.import_module(module), name), model=cfg.model)
    if cfg.backend == "vllm":
        from curate.backends.vllm_backend import VLLMBackend

        return VLLMBackend(cfg.model, adapter=cfg.adapter, engine=cfg.engine)
    if cfg.backend == "openai":
        from curate.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(cfg.model, cfg.base_url, adapter=cfg.adapter, config=cfg.openai)
    from curate.backends.transformers_backend import TransformersBackend

    return TransformersBackend(cfg.model, adapter=cfg.adapter, config=cfg.transformers)
