"""The loop tests' generation fake: generate_fakes.respond, also when the prompt arrives as a
chat turn (round k>1 generates through round k-1's adapter, prompt_format auto → chat)."""

from __future__ import annotations

from generate_fakes import respond

from curate.backends.base import SamplingParams

USER, END = "<|im_start|>user\n", "<|im_end|>"


def unwrap(prompt: str) -> str:
    """The raw generation prompt inside a ChatML user turn (the tiny models' template)."""
    if prompt.startswith(USER):
        return prompt[len(USER) : prompt.rindex(END)]
    return prompt


def loop_respond(prompt: str, j: int, params: SamplingParams) -> str:
    """respond() on the raw prompt; each instance's output names its instruction's number, so
    no two records of a loop are near-duplicates of each other."""
    raw = unwrap(prompt)
    answer = respond(raw, j, params)
    if raw.rsplit("\n", 1)[-1] == "Input:":
        task = raw.rsplit("Task: ", 1)[-1].split("\n", 1)[0]
        answer = f" <noinput>\nOutput: In short: {task.lower().rstrip('.')} is done step by step."
    return answer


def judge_longer(prompt: str, j: int, params: SamplingParams) -> str:
    """A scripted pairwise judge (prompts/eval/pairwise.txt): the answer with more words wins,
    tie when both have as many. Position-consistent, so a side's win-rate is what its answers
    earn, not where they were shown."""
    a = prompt.split("### Answer A:\n", 1)[1].split("\n\n### Answer B:\n", 1)
    b = a[1].rsplit("\n\nReply with exactly one word", 1)[0]
    na, nb = len(a[0].split()), len(b.split())
    return " A" if na > nb else " B" if nb > na else " tie"
