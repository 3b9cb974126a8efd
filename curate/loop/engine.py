"""The generation backend across rounds: vLLM in-process keeps its base model loaded and gets a new
LoRARequest per round; any other backend is opened afresh each round (through the registry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from curate.backends.base import Backend, Completion, SamplingParams
from curate.generate.backend import open_backend
from curate.generate.config import GenerateConfig


class Borrowed:
    """A kept backend lent to one generate run: its ``close`` leaves the engine loaded."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.name, self.model, self.adapter = inner.name, inner.model, inner.adapter

    def complete(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        return self.inner.complete(prompts, params)

    def close(self) -> None:
        pass


class Engines:
    """Opens the backend a round's generate config names; keeps a vLLM engine for the next."""

    def __init__(self, lora_rank: int, log: Callable[[str], None], opener: Callable = open_backend):
        self.lora_rank, self.log, self.opener = lora_rank, log, opener
        self.vllm: Any = None
        self.asleep = False

    def open(self, cfg: GenerateConfig) -> Backend:
        if cfg.backend != "vllm":
            return self.opener(cfg)
        if self.vllm is None:
            from curate.backends.vllm_backend import VLLMBackend, lora_rank_for

            self.vllm = VLLMBackend(
                cfg.model, engine=cfg.engine, max_lora_rank=lora_rank_for(self.lora_rank)
            )
            self.log(f"vLLM: {cfg.model} loaded once for every round (LoRA enabled)")
        self.wake()
        self.vllm.use_adapter(cfg.adapter)
        if cfg.adapter:
            self.log(f"vLLM: round adapter {cfg.adapter} as a new LoRARequest, base kept loaded")
        return Borrowed(self.vllm)

    def before_training(self) -> None:
        """Free the GPU for training: vLLM's sleep mode (level 1: weights to CPU, KV cache freed)."""
        if self.vllm is None or self.asleep:
            return
        import torch

        if not torch.cuda.is_available():
            self.log("vLLM: engine stays loaded while training (CPU: no GPU memory to free)")
            return
        try:
            self.vllm.llm.sleep(level=1)
            self.asleep = True
            self.log(
                "vLLM: engine put to sleep (level 1) before training; woken for the next round"
            )
        except Exception as e:  # an engine built without enable_sleep_mode: shut it down instead
            self.log(
                f"vLLM: sleep not available ({type(e).__name__}); engine shut down, reloaded next round"
            )
            self.close()

    def wake(self) -> None:
        if self.asleep and self.vllm is not None:
            self.vllm.llm.wake_up()
            self.asleep = False

    def close(self) -> None:
        if self.vllm is not None:
            self.vllm.close()
            self.vllm = None
            self.asleep = False
