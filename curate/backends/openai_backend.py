"""Any OpenAI-compatible server (vLLM's, llama.cpp's, OpenAI) through the ``openai`` client.

Requests run on a bounded thread pool, each with its own timeout. Rate limits (429), server
errors (5xx), timeouts and dropped connections are retried here with exponential backoff (the
client's own retries are off, so the policy is in one place and tested); any other HTTP error
stops at once. The key comes from OPENAI_API_KEY ("EMPTY" for local servers) and is never logged.

A response is data from another machine: its body is read up to MAX_RESPONSE_BYTES (a bigger one
is refused), parsed here, and its shape checked (a list of n choices, each with string text); a body
that is not JSON (an HTML page with status 200) or has the wrong shape is retried like a 5xx. The
URL's credentials (user:password@) and the API key never appear in a message: ``redact_url``,
``_body``.
"""

from __future__ import annotations

import json
import os
import random
import re
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
    redact_url,
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


MAX_RESPONSE_BYTES = 8 * 2**20  # 8 MiB: about two million tokens of text


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
        url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        self.base_url = redact_url(url)  # what messages show: never the URL's credentials
        self.config = config or OpenAIConfig()
        self._secrets = _secrets(url, os.environ.get("OPENAI_API_KEY"))
        self.reached = False  # the server answered once: a refused connection now means a crash
        self.client = openai.OpenAI(
            api_key=os.environ.get("OPENAI_API_KEY") or "EMPTY",
            base_url=url,
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
            cause = self._body(str(e.__cause__ or e)) + _connection_hint(e, self.reached)
            raise _Retryable(f"connection error ({cause})") from None
        except openai.APIStatusError as e:
            self.reached = True
            if e.status_code == 429 or e.status_code >= 500:
                raise _Retryable(f"HTTP {e.status_code}", _retry_after(e)) from None
            if e.status_code == 400 and "context length" in str(e.message).lower():
                return [Completion("", PROMPT_TOO_LONG)] * params.n
            raise BackendError(
                f"openai backend: {self.base_url}: HTTP {e.status_code} for model "
                f"{self.served_model!r}: {self._body(e.message)}"
            ) from None

    def _body(self, text: Any) -> str:
        """A server's words for a message: one short line, never with a credential in it."""
        text = str(text)
        if any(secret in text for secret in self._secrets):
            return "(the response body is not shown: it contains the API key or URL credentials)"
        return _short(text)

    def _post(self, create: Any, kw: dict[str, Any]) -> dict[str, Any]:
        """The response body as JSON, read up to MAX_RESPONSE_BYTES, with n choices checked."""
        with create(**kw) as resp:
            self.reached = True
            body = bytearray()
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise BackendError(
                        f"openai backend: {self.base_url}: response larger than "
                        f"{MAX_RESPONSE_BYTES // 2**20} MiB for model {self.served_model!r}; "
                        "refused (a runaway server? lower --max-tokens)"
                    )
            kind = resp.headers.get("content-type", "?")
        try:
            data = json.loads(bytes(body))
        except (ValueError, UnicodeDecodeError):
            raise _Retryable(
                f"response is not JSON ({_short(kind, 60)}, {len(body)} bytes: "
                f"{self._body(bytes(body[:120]).decode('utf-8', 'replace'))})"
            ) from None
        why = _bad_shape(data, kw["n"])
        if why:
            raise _Retryable(f"malformed response: {why}")
        return data

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
        create = self.client.completions.with_streaming_response.create
        data = self._post(create, {**kw, "prompt": prompt})
        choices = _ordered(data["choices"])
        texts = [(c["text"], c.get("finish_reason")) for c in choices]
        return _split_usage(texts, data.get("usage"))

    def _chat(self, prompt: str, params: SamplingParams, i: int) -> list[Completion]:
        kw = self._common(params, i)
        if params.json_schema is not None:
            kw["extra_body"] = self._structured(params.json_schema)
        create = self.client.chat.completions.with_streaming_response.create
        data = self._post(create, {**kw, "messages": [{"role": "user", "content": prompt}]})
        choices = _ordered(data["choices"])
        texts = [(c["message"].get("content") or "", c.get("finish_reason")) for c in choices]
        return _split_usage(texts, data.get("usage"))

    def close(self) -> None:
        self.client.close()


def _secrets(url: str, key: str | None) -> list[str]:
    """What must never be shown: the API key and the URL's user:password (each part)."""
    found = [key] if key and key != "EMPTY" and len(key) >= 4 else []
    m = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#@]*)@", url.strip())
    if m:
        found += [part for part in m.group(1).split(":") if len(part) >= 4]
        found.append(m.group(1))
    return found


def _connection_hint(e: BaseException, reached: bool) -> str:
    """What a failed connection most likely means, and what to check."""
    if _refused(e):
        if reached:
            return "; the server answered earlier in this run: it may have crashed (see its log)"
        return (
            "; nothing is listening there: the server is not running, is still loading, or died"
            " (check its log; a vLLM server on CPU needs --no-enable-chunked-prefill, else it"
            " crashes on the first request), or --base-url names the wrong host or port"
        )
    if _chain_has(e, "disconnected", "closed", "reset"):
        return (
            "; the server closed the connection without answering: it may have crashed on this"
            " request (check its log)"
        )
    return ""


def _chain_has(e: BaseException, *words: str) -> bool:
    seen: BaseException | None = e
    for _ in range(8):
        if seen is None:
            return False
        if any(w in str(seen).lower() for w in words):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _refused(e: BaseException) -> bool:
    seen: BaseException | None = e
    for _ in range(8):  # the cause chain: APIConnectionError → httpx.ConnectError → OSError
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _bad_shape(data: Any, n: int) -> str | None:
    """Why ``data`` is not a completions / chat response with n choices of text, or None."""
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}"
    choices = data.get("choices")
    if not isinstance(choices, list):
        return (
            f"'choices' is {'missing' if choices is None else type(choices).__name__}, not a list"
        )
    if len(choices) != n:
        return f"{len(choices)} choices, expected {n}"
    for j, c in enumerate(choices):
        if not isinstance(c, dict):
            return f"choices[{j}] is {type(c).__name__}, not an object"
        if "message" in c and "text" not in c:
            message = c["message"]
            if not isinstance(message, dict) or not isinstance(message.get("content") or "", str):
                return f"choices[{j}].message.content is not text"
        elif not isinstance(c.get("text"), str):
            return f"choices[{j}].text is {type(c.get('text')).__name__}, not text"
        if not isinstance(c.get("finish_reason") or "", str):
            return f"choices[{j}].finish_reason is not text"
        if not isinstance(c.get("index", j), int):
            return f"choices[{j}].index is not an integer"
    if data.get("usage") is not None and not isinstance(data["usage"], dict):
        return "'usage' is not an object"
    return None


def _ordered(choices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        c for _, c in sorted(enumerate(choices), key=lambda jc: (jc[1].get("index", jc[0]), jc[0]))
    ]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _split_usage(texts: list[tuple[str, str | None]], usage: Any) -> list[Completion]:
    """Completions with the response's token usage shared out over its choices."""
    n = max(1, len(texts))
    usage = usage if isinstance(usage, dict) else {}
    prompt_tokens = _count(usage.get("prompt_tokens"))
    completion_tokens = _count(usage.get("completion_tokens"))
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
    text = " ".join(re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", str(text)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
