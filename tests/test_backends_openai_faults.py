"""The openai backend against a local HTTP stub that fails on purpose: 500s, hangs, dropped
connections, 429s → retries with backoff, then one clear error; a run resumes afterwards."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from generate_fakes import respond

from curate.backends.base import BackendError, SamplingParams
from curate.backends.openai_backend import OpenAIBackend, OpenAIConfig
from curate.generate.backend import open_backend
from curate.generate.config import GenerateConfig
from curate.generate.loop import run_generate


def _completion(choices: object) -> bytes:
    return json.dumps({"id": "c", "object": "text_completion", "choices": choices}).encode()


# mode → (status, content type, body): hostile or broken answers with status 200
RAW = {
    "html": (200, "text/html", b"<html><body>502 Bad Gateway</body></html>"),
    "badjson": (200, "application/json", b'{"choices": [{"text": "cut'),
    "nochoices": (200, "application/json", _completion([])),
    "nullchoices": (200, "application/json", _completion(None)),
    "nulltext": (200, "application/json", _completion([{"index": 0, "text": None}])),
    "listbody": (200, "application/json", b"[1, 2]"),
    "huge": (200, "application/json", _completion([{"index": 0, "text": "x" * 300_000}])),
}


class Stub:
    """Serves /v1/completions; ``plan`` is a list of modes used one per request (then ``after``)."""

    def __init__(self) -> None:
        self.plan: list[str] = []
        self.after = "ok"
        self.requests: list[dict] = []
        self.auth: list[str] = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # "hang" answers only once the test is over

    def next_mode(self, body: dict, auth: str) -> str:
        with self.lock:
            self.requests.append(body)
            self.auth.append(auth)
            return self.plan.pop(0) if self.plan else self.after


def handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            mode = stub.next_mode(body, self.headers.get("Authorization", ""))
            if mode == "hang":
                stub.release.wait(60)
                return self._send(500, {"error": "too late"})
            if mode == "close":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return None
            if mode in RAW:
                code, kind, data = RAW[mode]
                return self._send_raw(code, kind, data)
            if mode == "401-echo":  # a server that echoes the bearer token back
                token = self.headers.get("Authorization", "")
                return self._send(401, {"error": {"message": f"bad token {token}", "type": "x"}})
            if mode in ("500", "429", "400"):
                return self._send(
                    int(mode), {"error": {"message": f"stub says {mode}", "type": "x"}}
                )
            params = SamplingParams(seed=body.get("seed"))
            choices = [
                {
                    "index": j,
                    "text": respond(body["prompt"], j, params),
                    "finish_reason": "stop",
                    "logprobs": None,
                }
                for j in range(body.get("n", 1))
            ]
            usage = {
                "prompt_tokens": 5,
                "completion_tokens": 7 * len(choices),
                "total_tokens": 5 + 7 * len(choices),
            }
            return self._send(200, {"id": "c", "object": "text_completion", "created": 0, "model": body["model"],
                                    "choices": choices, "usage": usage})  # fmt: skip

        def _send(self, code: int, payload: dict) -> None:
            self._send_raw(code, "application/json", json.dumps(payload).encode())

        def _send_raw(self, code: int, kind: str, data: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def stub() -> Iterator[tuple[Stub, str]]:
    s = Stub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(s))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield s, f"http://127.0.0.1:{server.server_address[1]}/v1"
    s.release.set()
    server.shutdown()
    server.server_close()


def backend(url: str, **kw: object) -> OpenAIBackend:
    settings = {"timeout_s": 10.0, "max_retries": 2, "backoff_s": 0.01, "max_backoff_s": 0.05}
    cfg = OpenAIConfig(**{**settings, **kw})
    return OpenAIBackend("stub-model", url, config=cfg)


@pytest.mark.parametrize(
    ("mode", "message"),
    [("500", "HTTP 500"), ("hang", "timed out after 0.4 s"), ("close", "connection error")],
)
def test_retries_then_one_clear_error(stub, mode: str, message: str, monkeypatch) -> None:
    s, url = stub
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    s.after = mode
    with pytest.raises(BackendError) as info:
        backend(url, timeout_s=0.4).complete(["Hello"], SamplingParams())
    text = str(info.value)
    assert f"{url}: gave up after 3 attempts: {message}" in text
    assert "sk-test-secret" not in text and "\n" not in text
    assert len(s.requests) == 3 and set(s.auth) == {"Bearer sk-test-secret"}


def test_429_and_5xx_are_retried_until_success(stub) -> None:
    s, url = stub
    s.plan = ["429", "500"]
    b = backend(url)
    out = b.complete(["Input:"], SamplingParams(n=2, seed=5, max_tokens=9, stop=("\n",)))
    assert b.retries == 2 and b.requests == 3
    assert [c.completion_tokens for c in out[0]] == [7, 7] and out[0][0].text.startswith(
        " <noinput>"
    )
    sent = s.requests[-1]
    assert (
        sent["n"] == 2 and sent["seed"] == 5 and sent["max_tokens"] == 9 and sent["stop"] == ["\n"]
    )


def test_client_errors_are_not_retried(stub) -> None:
    s, url = stub
    s.after = "400"
    with pytest.raises(BackendError, match="HTTP 400 for model 'stub-model': .*stub says 400"):
        backend(url).complete(["Hello"], SamplingParams())
    assert len(s.requests) == 1


def test_concurrency_is_bounded_and_order_kept(stub) -> None:
    """The server holds each request until the client's pool is full, then answers the newest
    first: the peak of requests in flight is the configured bound, and answers given out of order
    still come back in prompt order."""
    s, url = stub
    limit, prompts = 3, [f"Below is a numbered list of tasks:\n{i}." for i in range(12)]
    gate = threading.Condition()
    held: list[str] = []  # prompts at the server, in arrival order
    answered: list[str] = []
    peak, stalled = 0, False

    def my_turn(prompt: str) -> bool:  # the pool is full (or drained) and this is the newest
        full = len(held) >= min(limit, len(prompts) - len(answered))
        return full and held[-1] == prompt

    def hold(body: dict, auth: str) -> str:  # runs in the server's request threads
        nonlocal peak, stalled
        with gate:
            s.requests.append(body)
            held.append(body["prompt"])
            peak = max(peak, len(held))
            gate.notify_all()
            if peak == limit and len(answered) == 0:  # the first time full: one more would show
                gate.wait_for(lambda: len(held) > limit, timeout=0.2)
            if not gate.wait_for(lambda: stalled or my_turn(body["prompt"]), timeout=10):
                stalled = True  # the client never filled its pool: let everything through
            held.remove(body["prompt"])
            answered.append(body["prompt"])
            gate.notify_all()
        return "ok"

    s.next_mode = hold
    cfg = OpenAIConfig(concurrency=limit, timeout_s=30, max_retries=0)
    out = OpenAIBackend("stub-model", url, config=cfg).complete(prompts, SamplingParams(seed=1))
    assert not stalled and peak == limit
    assert answered != prompts and sorted(answered) == sorted(prompts)  # served out of order
    assert [o[0].text.splitlines()[1].split(".")[0] for o in out] == [str(i + 1) for i in range(12)]


def test_structured_request_shapes(stub) -> None:
    s, url = stub
    schema = {"type": "object"}
    backend(url).complete(["JSON:"], SamplingParams(json_schema=schema))
    backend(url, structured_mode="structured_outputs").complete(
        ["JSON:"], SamplingParams(json_schema=schema)
    )
    assert s.requests[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "item", "schema": schema},
    }
    assert s.requests[1]["structured_outputs"] == {"json": schema}


def _config(url: str) -> GenerateConfig:
    cfg = GenerateConfig(
        model="stub-model", backend="openai", base_url=url, batch_size=2, rounds=3, target=1000
    )
    cfg.filters = ["exact-dedup", "quality"]
    cfg.openai = OpenAIConfig(timeout_s=10.0, max_retries=1, backoff_s=0.01, max_backoff_s=0.02)
    return cfg


def test_run_fails_clearly_mid_run_then_resumes_with_nothing_lost(stub, tmp_path: Path) -> None:
    s, url = stub
    whole = tmp_path / "whole"
    run_generate(_config(url), whole, open_backend)
    per_round = len(s.requests) // 3

    s.requests.clear()
    s.plan = ["ok"] * (per_round + 2)  # round 2 breaks after its first step
    s.after = "500"
    broken = tmp_path / "broken"
    with pytest.raises(BackendError, match="gave up after 2 attempts: HTTP 500"):
        run_generate(_config(url), broken, open_backend)
    assert json.loads((broken / "state.json").read_text())["rounds_done"] == 1

    s.after = "ok"
    result = run_generate(_config(url), broken, open_backend)
    assert result.stop_reason.startswith("round limit reached: 3 of --rounds 3")
    for name in ("records.jsonl", "rejected.jsonl", "instructions.jsonl"):
        assert (broken / name).read_bytes() == (whole / name).read_bytes(), name


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("html", "response is not JSON (text/html"),
        ("badjson", "response is not JSON (application/json"),
        ("nochoices", "malformed response: 0 choices, expected 1"),
        ("nullchoices", "malformed response: 'choices' is missing, not a list"),
        ("nulltext", "malformed response: choices[0].text is NoneType, not text"),
        ("listbody", "malformed response: expected a JSON object, got list"),
    ],
)
def test_bad_responses_are_retried_then_one_clear_error(stub, mode: str, message: str) -> None:
    s, url = stub
    s.after = mode
    with pytest.raises(BackendError) as info:
        backend(url).complete(["Hello"], SamplingParams())
    assert f"gave up after 3 attempts: {message}" in str(info.value), str(info.value)
    assert "\n" not in str(info.value) and len(s.requests) == 3
    s.plan, s.after = [mode], "ok"  # a bad answer once, then a good one: retried, no error
    b = backend(url)
    assert b.complete(["Input:"], SamplingParams())[0][0].text and b.retries == 1


def test_oversized_response_is_refused(stub, monkeypatch) -> None:
    import curate.backends.openai_backend as ob

    s, url = stub
    monkeypatch.setattr(ob, "MAX_RESPONSE_BYTES", 100_000)
    s.after = "huge"
    with pytest.raises(BackendError, match="response larger than 0 MiB|response larger than"):
        backend(url).complete(["Hello"], SamplingParams())
    assert len(s.requests) == 1  # refused at once: a bigger answer would not come back smaller


def test_credentials_never_shown_nor_saved(stub, tmp_path: Path, monkeypatch) -> None:
    s, url = stub
    monkeypatch.setenv("OPENAI_API_KEY", "sk-echo-me-secret")
    s.after = "401-echo"
    with pytest.raises(BackendError) as info:
        backend(url).complete(["Hello"], SamplingParams())
    text = str(info.value)
    assert "HTTP 401" in text and "sk-echo-me-secret" not in text and "not shown" in text
    creds = url.replace("http://", "http://alice:hunter22@")
    s.after = "400"
    with pytest.raises(BackendError) as info:
        backend(creds).complete(["Hello"], SamplingParams())
    assert "hunter22" not in str(info.value) and "http://***@127.0.0.1" in str(info.value)
    s.after = "ok"
    cfg = _config(creds)
    cfg.rounds = 1
    run_generate(cfg, tmp_path / "run", open_backend)
    for name in ("config.yaml", "stats.json"):
        assert "hunter22" not in (tmp_path / "run" / name).read_text(), name
    assert "http://***@127.0.0.1" in (tmp_path / "run" / "config.yaml").read_text()


def test_refused_after_reachable_names_a_crash(stub) -> None:
    s, url = stub
    b = backend(url)
    assert b.complete(["Input:"], SamplingParams())
    with socket.socket() as probe:  # a port nothing listens on, as after the server died
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    b.client = b.client.with_options(base_url=f"http://127.0.0.1:{dead}/v1")
    with pytest.raises(BackendError, match="it may have crashed"):
        b.complete(["Hello"], SamplingParams())
    fresh = backend(f"http://127.0.0.1:{dead}/v1")  # never reached: no crash claimed
    with pytest.raises(BackendError) as info:
        fresh.complete(["Hello"], SamplingParams())
    assert "crashed" not in str(info.value) and "connection error" in str(info.value)
