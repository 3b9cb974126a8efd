"""The in-process backends on the tiny random-init model: n samples, seeds, stop sequences,
prompts too long for the context, LoRA adapters, structured output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate.backends.base import PROMPT_TOO_LONG, SamplingParams

LONG = "The quick brown fox. " * 60  # > 512 tokens for the tiny tokenizer


@pytest.fixture(scope="module")
def transformers_backend(tiny_llama: Path):
    import torch

    from curate.backends.transformers_backend import TransformersBackend

    torch.set_num_threads(1)
    return TransformersBackend(str(tiny_llama))


def test_transformers_samples_seeds_and_stops(transformers_backend) -> None:
    b = transformers_backend
    params = SamplingParams(n=2, max_tokens=12, seed=7)
    out = b.complete(["Task: a", "Task: b is longer"], params)
    assert [len(o) for o in out] == [2, 2]
    assert all(
        c.finish_reason in ("stop", "length") and 0 < c.completion_tokens <= 12
        for o in out
        for c in o
    )
    assert (
        b.complete(["Task: a", "Task: b is longer"], params)[0][0].text == out[0][0].text
    )  # seeded
    stopped = b.complete(["Task: a"], SamplingParams(n=4, max_tokens=24, seed=1, stop=("e", "a")))
    assert all("e" not in c.text and "a" not in c.text for c in stopped[0])


def test_transformers_skips_prompts_too_long(transformers_backend) -> None:
    out = transformers_backend.complete([LONG, "Task: a"], SamplingParams(max_tokens=4))
    assert out[0][0].finish_reason == PROMPT_TOO_LONG and out[0][0].prompt_tokens > 512
    assert out[1][0].finish_reason in ("stop", "length")


def test_transformers_loads_a_peft_adapter(tiny_llama: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from curate.backends.transformers_backend import TransformersBackend

    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_llama),
        LoraConfig(r=4, target_modules=["q_proj"], task_type="CAUSAL_LM"),
    )
    model.save_pretrained(tmp_path)
    b = TransformersBackend(str(tiny_llama), adapter=str(tmp_path))
    assert type(b.lm).__name__.startswith("Peft")
    assert len(b.complete(["Task:"], SamplingParams(max_tokens=3))[0]) == 1


@pytest.fixture(scope="module")
def vllm_backend(tiny_llama: Path):
    from curate.backends.vllm_backend import EngineConfig, VLLMBackend

    engine = EngineConfig(
        dtype="bfloat16", max_model_len=512, gpu_memory_utilization=0.5, cpu_kvcache_gib=1
    )
    return VLLMBackend(str(tiny_llama), engine=engine)


@pytest.mark.slow
@pytest.mark.vllm
def test_vllm_one_batch_n_samples_seeds(vllm_backend) -> None:
    prompts = [f"Task {i}: write" for i in range(6)]
    params = SamplingParams(n=3, max_tokens=10, seed=11, stop=("\n",))
    out = vllm_backend.complete(prompts, params)
    assert [len(o) for o in out] == [3] * 6
    assert all(0 < c.completion_tokens <= 10 and c.prompt_tokens > 0 for o in out for c in o)
    again = vllm_backend.complete(prompts, params)
    assert [[c.text for c in o] for o in again] == [[c.text for c in o] for o in out]
    assert len({c.text for c in out[0]}) > 1  # the n samples differ


@pytest.mark.slow
@pytest.mark.vllm
def test_vllm_too_long_prompt_does_not_fail_the_batch(vllm_backend) -> None:
    out = vllm_backend.complete(["Task: a", LONG, "Task: b"], SamplingParams(max_tokens=4, n=2))
    assert [o[0].finish_reason == PROMPT_TOO_LONG for o in out] == [False, True, False]
    assert len(out[1]) == 2


@pytest.mark.slow
@pytest.mark.vllm
def test_vllm_structured_output_follows_the_schema(vllm_backend) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 3}}, "required": ["a"],
              "additionalProperties": False}  # fmt: skip
    out = vllm_backend.complete(
        ["JSON:"] * 4, SamplingParams(max_tokens=40, seed=2, json_schema=schema)
    )
    texts = [o[0].text for o in out]
    assert all(t.lstrip().startswith("{") for t in texts)
    done = [
        json.loads(t, strict=False)
        for t, o in zip(texts, out, strict=True)
        if o[0].finish_reason == "stop"
    ]
    assert all(set(d) == {"a"} and len(d["a"]) <= 3 for d in done)


@pytest.mark.parametrize("backend", ["transformers", "mt"])
def test_a_directory_that_holds_no_model_is_one_backend_error(tmp_path: Path, backend: str) -> None:
    from curate.backends.base import BackendError
    from curate.backends.mt_backend import MTBackend, MTConfig
    from curate.backends.transformers_backend import TransformersBackend, TransformersConfig

    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(BackendError, match=f"^transformers could not load --model {tmp_path}: "):
        if backend == "mt":
            MTBackend(str(tmp_path), config=MTConfig(device="cpu"))
        else:
            TransformersBackend(str(tmp_path), config=TransformersConfig(device="cpu"))
