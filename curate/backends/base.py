"""What every generation backend takes and returns; the loop only ever sees this."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from curate.config.secrets import redact_url as redact_url  # re-exported


class BackendError(RuntimeError):
    """A backend could not produce completions (server down, retries exhausted, model missing).

    The message is one line a user can act on; the CLI prints it without a traceback.
    """


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")  # "gpt2", "org/name"


def missing_model_dir(value: str) -> bool:
    """Whether ``value`` is meant as a local model directory that is not there.

    It is when it starts with ``.``, ``/`` or ``~``, has a separator or a shape no hub id has (two
    slashes, a backslash, a space), or its first part exists here (``models/x`` beside a
    ``models/`` dir); a hub id ("gpt2", "org/name") or an existing path is left to the loader.
    Without this, transformers answers a missing path with "Repo id must be in the form …".
    """
    try:
        if Path(value).expanduser().exists():
            return False
        first = Path(value.split("/", 1)[0])
        first_exists = "/" in value and first.exists()
    except (OSError, ValueError):  # a name too long, a NUL byte: no such directory either
        return True
    return (
        value.startswith((".", "/", "~"))
        or (os.sep != "/" and os.sep in value)
        or not _HUB_ID.match(value)
        or first_exists
    )


def check_model_dir(value: str) -> None:
    """A BackendError naming --model when it is a local model directory that is not there."""
    if missing_model_dir(value):
        raise BackendError(f"--model: no such model directory: {value}")


@dataclass(frozen=True)
class SamplingParams:
    """Sampling parameters every backend honours the same way.

    ``seed`` seeds prompt ``i`` of a call with ``seed + i`` (and sample ``j`` of it with
    ``seed + i`` plus vLLM's own per-sample offset), so a call is reproducible on backends that
    support seeding. ``json_schema`` constrains the output to that schema (--structured).
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 256
    n: int = 1
    stop: tuple[str, ...] = ()
    seed: int | None = None
    json_schema: dict[str, Any] | None = field(default=None, compare=False)

    def with_(self, **changes: Any) -> SamplingParams:
        return replace(self, **changes)

    def prompt_seed(self, i: int) -> int | None:
        return None if self.seed is None else self.seed + i

    def to_dict(self) -> dict[str, Any]:
        """Provenance form: everything but the schema (its presence is recorded as a flag)."""
        d = asdict(self)
        d["stop"] = list(self.stop)
        d["structured"] = d.pop("json_schema") is not None
        return d


PROMPT_TOO_LONG = "prompt_too_long"  # finish_reason of a prompt the model's context cannot hold


def too_long(prompt_tokens: int, limit: int | None) -> Completion | None:
    """The stand-in completion for a prompt that leaves no room to generate, else None."""
    if limit is not None and prompt_tokens >= limit:
        return Completion("", PROMPT_TOO_LONG, prompt_tokens, 0)
    return None


@dataclass
class Completion:
    text: str
    finish_reason: str  # "stop" | "length" | PROMPT_TOO_LONG | whatever the backend reports
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class BackendOptions:
    """What a backend is opened with: the options every backend shares plus its own section."""

    model: str
    adapter: str | None = None  # a LoRA directory, or the name a server serves it under
    base_url: str | None = None  # the server (backends that talk to one)
    config: Any = None  # the backend's own config dataclass (EngineConfig, OpenAIConfig, ...)


class Backend(Protocol):
    name: str  # its registry name (curate.backends.registry)
    model: str
    adapter: str | None

    def complete(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        """``params.n`` completions for every prompt, in prompt order."""
        ...

    def close(self) -> None: ...
