"""Scripted model answers for the generate tests (imported by the tests, and by the CLI
subprocess of the kill -9 test through CURATE_GENERATE_TEST_RESPONDER)."""

from __future__ import annotations

import time

from curate.backends.base import SamplingParams

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


def slow_respond(prompt: str, j: int, params: SamplingParams) -> str:
    """``respond``, taking a while, so that a kill lands mid-round."""
    time.sleep(0.05)
    return respond(prompt, j, params)
