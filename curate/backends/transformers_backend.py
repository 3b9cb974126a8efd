"""Plain ``transformers`` generation, for machines without vLLM: batched, left-padded, with an
optional peft LoRA adapter. Slower than vLLM, same inputs and outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curate.backends.base import (
    BackendError,
    BackendOptions,
    Completion,
    SamplingParams,
    check_model_dir,
    too_long,
)
from curate.backends.hf_load import load_pretrained
from curate.config import option


@dataclass
class TransformersConfig:
    batch_size: int = option(8, "Prompts per generate() call.")
    dtype: str = option(
        "auto", "Torch dtype name (bfloat16, float16, float32) or auto (the checkpoint's)."
    )
    device: str | None = option(
        None, "Torch device (cpu, cuda, cuda:1 …); null: cuda if any, else cpu."
    )


class TransformersBackend:
    name = "transformers"

    def __init__(
        self, model: str, *, adapter: str | None = None, config: TransformersConfig | None = None
    ):
        check_model_dir(model)  # before the slow imports
        import torch
        from transformers import AutoModelForCausalLM

        self.torch = torch
        self.model = model
        self.adapter = adapter
        self.config = config or TransformersConfig()
        self.device = self.config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer, self.lm = load_pretrained(
            model, AutoModelForCausalLM, self.config.dtype, self.device, torch, padding_side="left"
        )
        if adapter:
            from peft import PeftModel

            try:
                self.lm = PeftModel.from_pretrained(self.lm, adapter)
            except (OSError, ValueError) as e:
                raise BackendError(f"--adapter {adapter}: peft could not load it: {e}") from e
        self.lm.eval()
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    @classmethod
    def from_options(cls, opts: BackendOptions) -> TransformersBackend:
        return cls(opts.model, adapter=opts.adapter, config=opts.config)

    def complete(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        if params.json_schema is not None:
            raise BackendError(
                "--structured needs --backend vllm or openai (transformers cannot constrain output)"
            )
        if params.seed is not None:
            self.torch.manual_seed(params.seed)
        limit = getattr(self.lm.config, "max_position_embeddings", None)
        results: list[list[Completion] | None] = [None] * len(prompts)
        fits = []
        for i, prompt in enumerate(prompts):
            stand_in = too_long(len(self.tokenizer(prompt)["input_ids"]), limit)
            if stand_in is None:
                fits.append(i)
            else:
                results[i] = [stand_in] * params.n
        size = max(1, self.config.batch_size)
        for start in range(0, len(fits), size):
            chunk = fits[start : start + size]
            for i, samples in zip(
                chunk, self._batch([prompts[i] for i in chunk], params), strict=True
            ):
                results[i] = samples
        return [r or [] for r in results]

    def _generate_kwargs(self, params: SamplingParams) -> dict[str, Any]:
        sample = params.temperature > 0
        kw: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "num_return_sequences": params.n,
            "do_sample": sample,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if sample:
            kw.update(temperature=params.temperature, top_p=params.top_p, top_k=0)
        if params.stop:
            kw.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        return kw

    def _batch(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True).to(self.device)
        with self.torch.inference_mode():
            ids = self.lm.generate(**enc, **self._generate_kwargs(params))
        width = enc["input_ids"].shape[1]
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        eos = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id
        result: list[list[Completion]] = []
        for i in range(len(prompts)):
            samples = []
            for j in range(params.n):
                new = ids[i * params.n + j, width:].tolist()
                samples.append(self._completion(new, eos, pad, params, int(prompt_lens[i])))
            result.append(samples)
        return result

    def _completion(
        self,
        new: list[int],
        eos: int | None,
        pad: int | None,
        params: SamplingParams,
        prompt_tokens: int,
    ) -> Completion:
        reason = "length"
        if eos is not None and eos in new:
            new = new[: new.index(eos)]
            reason = "stop"
        while new and pad is not None and new[-1] == pad and pad != eos:
            new.pop()
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        for stop in params.stop:
            cut = text.find(stop)
            if cut >= 0:
                text, reason = text[:cut], "stop"
        return Completion(text, reason, prompt_tokens, len(new))

    def close(self) -> None:
        self.lm = None
