"""Any OpenAI-compatible server (vLLM's, llama.cpp's, OpenAI) through the ``openai`` client.

Requests run on a bounded thread pool, each with its own timeout. Rate limits (429), server
errors (5xx), timeouts and dropped connections are retried here with exponential backoff (the
client's own retries are off, so the policy is in one place and tested); any other HTTP error
stops at once. The key comes from OPENAI_API_KEY ("EMPTY" for local servers) and is never logged.
"""

from __future__ import annotations

import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from curate.backends.base import (
    PROMPT_TOO_LONG,
    BackendError,
    BackendOptions,
    Completion,
    SamplingParams,
)
from curate.config import option


@dataclass
class OpenAIConfig:
    concurrency: int = option(8, "Requests in flight at once.")
    timeout_s: float = option(120.0, "Seconds one request may take before it is retried.")
    max_retries: int = option(
        4,
        "Retries after the first attempt, on rate limits (429), server errors (5xx), timeouts"
        " and dropped connections; other errors stop at once.",
    )
    backoff_s: float = option(
        0.5, "Seconds before the first retry; the wait doubles each retry, with jitter."
    )
    max_backoff_s: float = option(
        16.0, "Longest wait between retries in seconds (a server's Retry-After included)."
    )
    api: str = option(
        "completions",
        "completions (the prompt as is) or chat (the prompt becomes one user message).",
    )
    structured_mode: str = option(
        "response_format",
        "How --structured sends the JSON schema: response_format (OpenAI's) or"
        " structured_outputs (vLLM's extra_body field).",
    )
    send_seed: bool = option(
        True, "Send a seed with each request; false for servers that reject one."
    )


def check_options(opts: BackendOptions) -> None:
    """The config check of this backend (its registry row's ``validate``)."""
    if not opts.base_url:
        raise ValueError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")


class _Retryable(Exception):
    def __init__(self, why: str, wait_s: float | None = None):
        super().__init__(why)
        self.wait_s = wait_s


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None,
        *,
        adapter: str | None = None,
        config: OpenAIConfig | None = None,
    ):
        try:
            import openai
        except ImportError as e:  # pragma: no cover - openai is a dependency
            raise BackendError(f"backend 'openai' needs the openai package ({e})") from e
        self.openai = openai
        self.model = model
        self.adapter = adapter  # served under this name (vLLM: --lora-modules NAME=DIR)
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        self.config = config or OpenAIConfig()
        self.client = openai.OpenAI(
            api_key=os.environ.get("OPENAI_API_KEY") or "EMPTY",
            base_url=self.base_url,
            timeout=self.config.timeout_s,
            max_retries=0,
        )
        self.requests = 0  # HTTP requests sent, retries included
        self.retries = 0
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, opts: BackendOptions) -> OpenAIBackend:
        return cls(opts.model, opts.base_url, adapter=opts.adapter, config=opts.config)

    @property
    def served_model(self) -> str:
        return self.adapter or self.model

    def complete(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        if not prompts:
            return []
        workers = max(1, min(self.config.concurrency, len(prompts)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai")
        try:
            futures = [pool.submit(self._with_retries, p, params, i) for i, p in enumerate(prompts)]
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _with_retries(self, prompt: str, params: SamplingParams, i: int) -> list[Completion]:
        cfg = self.config
        for attempt in range(cfg.max_retries + 1):
            try:
                return self._request(prompt, params, i)
            except _Retryable as e:
                if attempt == cfg.max_retries:
                    raise BackendError(
                        f"openai backend: {self.base_url}: gave up after {attempt + 1} attempts: {e}"
                    ) from None
                wait = min(cfg.max_backoff_s, cfg.backoff_s * 2**attempt) * random.uniform(
                    0.75, 1.25
                )
                if e.wait_s is not None:
                    wait = min(cfg.max_backoff_s, max(wait, e.wait_s))
                with self._lock:
                    self.retries += 1
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _request(self, prompt: str, params: SamplingParams, i: int) -> list[Completion]:
        openai = self.openai
        with self._lock:
            self.requests += 1
        try:
            if self.config.api == "chat":
                return self._chat(prompt, params, i)
            return self._completions(prompt, params, i)
        except openai.APITimeoutError:
            raise _Retryable(f"timed out after {self.config.timeout_s:g} s") from None
        except openai.APIConnectionError as e:
            raise _Retryable(f"connection error ({e.__cause__ or e})") from None
        except openai.APIStatusError as e:
            if e.status_code == 429 or e.status_code >= 500:
                raise _Retryable(f"HTTP {e.status_code}", _retry_after(e)) from None
            if e.status_code == 400 and "context length" in str(e.message).lower():
                return [Completion("", PROMPT_TOO_LONG)] * params.n
            raise BackendError(
                f"openai backend: {self.base_url}: HTTP {e.status_code} for model "
                f"{self.served_model!r}: {_short(e.message)}"
            ) from None

    def _common(self, params: SamplingParams, i: int) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "model": self.served_model,
            "n": params.n,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.stop:
            kw["stop"] = list(params.stop)
        if params.seed is not None and self.config.send_seed:
            kw["seed"] = params.prompt_seed(i)
        return kw

    def _structured(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.config.structured_mode == "structured_outputs":
            return {"structured_outputs": {"json": schema}}
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "item", "schema": schema},
            }
        }

    def _completions(self, prompt: str, params: SamplingParams, i: int) -> list[Completion]:
        kw = self._common(params, i)
        if params.json_schema is not None:
            kw["extra_body"] = self._structured(params.json_schema)
        resp = self.client.completions.create(prompt=prompt, **kw)
        texts = [(c.text, c.finish_reason) for c in sorted(resp.choices, key=lambda c: c.index)]
        return _split_usage(texts, resp.usage)

    def _chat(self, prompt: str, params: SamplingParams, i: int) -> list[Completion]:
        kw = self._common(params, i)
        if params.json_schema is not None:
            kw["extra_body"] = self._structured(params.json_schema)
        resp = self.client.chat.completions.create(
            messages=[{"role": "user", "content": prompt}], **kw
        )
        choices = sorted(resp.choices, key=lambda c: c.index)
        return _split_usage(
            [(c.message.content or "", c.finish_reason) for c in choices], resp.usage
        )

    def close(self) -> None:
        self.client.close()


def _split_usage(texts: list[tuple[str, str | None]], usage: Any) -> list[Completion]:
    """Completions with the response's token usage shared out over its choices."""
    n = max(1, len(texts))
    prompt_tokens = getattr(usage, "prompt_tokens", 0) or 0
    completion_tokens = getattr(usage, "completion_tokens", 0) or 0
    out = []
    for j, (text, reason) in enumerate(texts):
        share = completion_tokens // n + (1 if j < completion_tokens % n else 0)
        out.append(Completion(text, reason or "unknown", prompt_tokens, share))
    return out


def _retry_after(e: Any) -> float | None:
    try:
        return float(e.response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
