"""The generate tests' fake model: a scripted backend, the answers it gives, and its registry row.

Test-side only: the package ships no fake. ``fake_spec(respond)`` is the row that makes
``--backend fake`` answer with ``respond`` (the ``fake_backend`` fixture in conftest.py and
run_with_fake_backend.py register it).
"""

from __future__ import annotations

from collections.abc import Callable

from curate.backends.base import BackendOptions, Completion, SamplingParams
from curate.backends.registry import BackendSpec

Responder = Callable[[str, int, SamplingParams], "str | Completion"]

SEED_INSTRUCTION = "Write a haiku about the first rain after a long summer drought."
TOPICS = [
    "otters",
    "glaciers",
    "tariffs",
    "violins",
    "lichens",
    "comets",
    "bridges",
    "sonnets",
    "ferns",
    "pulleys",
    "kelp",
    "deserts",
]


def respond(prompt: str, j: int, params: SamplingParams) -> str:
    """A well-behaved model: numbered new instructions, yes/no answers, one instance each."""
    last = prompt.rsplit("\n", 1)[-1]
    if prompt.startswith("Below is a numbered list"):
        n = int(last.rstrip("."))
        salt = params.seed + len(prompt)  # differs per prompt and round
        topic = TOPICS[salt % len(TOPICS)]
        lines = [
            f" Explain how {topic} number {salt} change over a long year.",
            f"{n + 1}. Classify the mood of this sentence about {topic} {salt} as happy or sad.",
            f"{n + 2}. Draw a picture of {topic} in the snow.",  # blacklisted
            f"{n + 3}. {SEED_INSTRUCTION}",  # a seed: not novel
            f"{n + 4}.",  # empty item
        ]
        return "\n".join(lines)
    if last == "Classification:":
        return " Yes" if "Task: Classify the mood" in prompt.rsplit("\n\n", 1)[-1] else " No"
    if last == "Class label:":
        return " happy\nInput: The sun came out and everyone laughed."
    if last == "Input:":
        return " <noinput>\nOutput: Over a year they grow, rest in winter and recover in spring."
    if last == "JSON:":
        return '{"input": "", "output": "A plain answer."}'
    raise AssertionError(f"unexpected prompt ending {last!r}")


class ScriptedBackend:
    """Answers each prompt with ``respond(prompt, sample_index, params)``.

    ``fail_on_call`` raises RuntimeError on that call number (1-based), to test resume;
    ``on_call(n)`` runs before call ``n`` is answered (the kill -9 test pauses there).
    Every call is recorded in ``calls`` as (prompts, params).
    """

    name = "fake"

    def __init__(
        self,
        respond: Responder,
        *,
        model: str = "scripted",
        fail_on_call: int | None = None,
        on_call: Callable[[int], None] | None = None,
    ):
        self.respond = respond
        self.model = model
        self.adapter: str | None = None
        self.fail_on_call = fail_on_call
        self.on_call = on_call
        self.calls: list[tuple[list[str], SamplingParams]] = []

    def complete(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        self.calls.append((list(prompts), params))
        if self.on_call is not None:
            self.on_call(len(self.calls))
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


def fake_spec(
    respond: Responder = respond, on_call: Callable[[int], None] | None = None
) -> BackendSpec:
    """The registry row of ``--backend fake``: a ScriptedBackend answering with ``respond``."""

    def factory(opts: BackendOptions) -> ScriptedBackend:
        return ScriptedBackend(respond, model=opts.model, on_call=on_call)

    return BackendSpec("fake", factory, "scripted answers (tests only)", structured=True)
