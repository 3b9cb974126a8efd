"""A scripted backend for unit tests of the loop: no model, answers chosen by the test.

Never a user-facing backend: the CLI does not offer it.
"""

from __future__ import annotations

from collections.abc import Callable

from curate.backends.base import Completion, SamplingParams

Responder = Callable[[str, int, SamplingParams], "str | Completion"]


class ScriptedBackend:
    """Answers each prompt with ``respond(prompt, sample_index, params)``.

    ``fail_on_call`` raises RuntimeError on that call number (1-based), to test resume.
    Every call is recorded in ``calls`` as (prompts, params).
    """

    name = "fake"

    def __init__(
        self, respond: Responder, *, model: str = "scripted", fail_on_call: int | None = None
    ):
        self.respond = respond
        self.model = model
        self.adapter: str | None = None
        self.fail_on_call = fail_on_call
        self.calls: list[tuple[list[str], SamplingParams]] = []

    def complete(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        self.calls.append((list(prompts), params))
        if self.fail_on_call is not None and len(self.calls) == self.fail_on_call:
            raise RuntimeError(f"scripted failure on call {self.fail_on_call}")
        out = []
        for prompt in prompts:
            samples = []
            for j in range(params.n):
                answer = self.respond(prompt, j, params)
                if isinstance(answer, str):
                    answer = Completion(answer, "stop", len(prompt.split()), len(answer.split()))
                samples.append(answer)
            out.append(samples)
        return out

    def close(self) -> None:
        pass
