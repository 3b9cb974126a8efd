"""The two ways a text gets translated, behind one call: ``translate(texts) -> [Completion]``.

- ``PromptEngine``: any generation backend (vllm, openai, transformers) with the prompt
  ``prompts/translate/translate.txt``; one prompt per field, the reply is the translation.
- ``MTEngine``: the ``mt`` backend (a seq2seq translation model), fed line by line — such models
  are trained on sentences and drop whatever follows the first paragraph of a long input — with
  blank lines and lines holding only protected spans kept as they are.

Both also write outputs in ``--outputs generate`` mode (``generate``), the prompt engine only.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from curate.backends.base import Backend, BackendError, Completion, SamplingParams
from curate.templates import render_template, template_text
from curate.translate.spans import MARKER

TRANSLATE_PROMPT = "translate/translate.txt"
GENERATE_PROMPT = "translate/generate.txt"
GENERATE_NO_INPUT = "translate/generate_no_input.txt"
EMPTY_LINE = "empty-line"  # MTEngine's finish reason of a text one of whose lines came back empty
TARGET_TOKEN = re.compile(r">>[a-z]{2,3}(?:_[A-Za-z]+)?<<\s*")


@lru_cache(maxsize=64)
def language_name(code: str) -> str:
    """``es`` → ``Spanish`` (lingua's names); an unknown code stays as it is."""
    from curate.filters.language_detect import lingua_languages

    lang = lingua_languages().get(code)
    return lang.name.title() if lang is not None else code


def prompt_sha256(name: str) -> str:
    return hashlib.sha256(template_text(name).encode("utf-8")).hexdigest()


def _translatable(line: str) -> bool:
    return any(c.isalpha() for c in MARKER.sub("", line))


class PromptEngine:
    """Translation by prompting a generation backend."""

    def __init__(self, backend: Backend, source: str, target: str, sampling: Any, seed: int):
        self.backend, self.source, self.target = backend, source, target
        self.sampling, self.seed = sampling, seed

    def prompt_hashes(self, generate: bool) -> dict[str, str]:
        names = (
            [TRANSLATE_PROMPT, GENERATE_PROMPT, GENERATE_NO_INPUT]
            if generate
            else [TRANSLATE_PROMPT]
        )
        return {n: prompt_sha256(n) for n in names}

    def _complete(self, prompts: list[str], params: SamplingParams) -> list[Completion]:
        results = self.backend.complete(prompts, params)
        return [samples[0] if samples else Completion("", "empty") for samples in results]

    def translate(self, texts: list[str], batch_seed: int) -> list[Completion]:
        names = {
            "source_name": language_name(self.source),
            "target_name": language_name(self.target),
        }
        prompts = [
            render_template(TRANSLATE_PROMPT, {**names, "text": t}, final_newline=False)
            for t in texts
        ]
        params = SamplingParams(
            temperature=self.sampling.temperature,
            max_tokens=self.sampling.max_tokens,
            seed=batch_seed,
            stop=(f"\n\n{names['source_name']}:",),
        )
        return [_strip(c) for c in self._complete(prompts, params)]

    def generate(self, items: list[tuple[str, str]], batch_seed: int) -> list[Completion]:
        """Outputs written in the target language for (instruction, input) pairs."""
        name = language_name(self.target)
        prompts = [
            render_template(
                GENERATE_PROMPT,
                {"target_name": name, "instruction": i, "input": x},
                final_newline=False,
            )
            if x.strip()
            else render_template(
                GENERATE_NO_INPUT, {"target_name": name, "instruction": i}, final_newline=False
            )
            for i, x in items
        ]
        params = SamplingParams(
            temperature=self.sampling.generate_temperature,
            max_tokens=self.sampling.generate_max_tokens,
            seed=batch_seed,
            stop=("\n### ",),
        )
        return [_strip(c) for c in self._complete(prompts, params)]


class MTEngine:
    """Translation with the ``mt`` backend, one line at a time (batched across all texts)."""

    def __init__(self, backend: Backend, source: str, target: str, sampling: Any, seed: int):
        if not hasattr(backend, "translate"):
            raise BackendError(f"--backend {backend.name} cannot translate without a prompt")
        self.backend, self.source, self.target = backend, source, target
        self.max_tokens = sampling.max_tokens

    def prompt_hashes(self, generate: bool) -> dict[str, str]:
        return {}  # no prompt: the model translates what it is given

    def translate(self, texts: list[str], batch_seed: int) -> list[Completion]:
        lines = [t.split("\n") for t in texts]
        todo = [
            (i, j) for i, ls in enumerate(lines) for j, line in enumerate(ls) if _translatable(line)
        ]
        done = self.backend.translate(  # type: ignore[attr-defined]
            [lines[i][j].strip() for i, j in todo], self.source, self.target, self.max_tokens
        )
        out = [Completion("", "stop") for _ in texts]
        for (i, j), c in zip(todo, done, strict=True):
            line = lines[i][j]
            indent = line[: len(line) - len(line.lstrip())]
            lines[i][j] = indent + TARGET_TOKEN.sub("", c.text).strip()
            o = out[i]
            o.prompt_tokens += c.prompt_tokens
            o.completion_tokens += c.completion_tokens
            if not c.text.strip():
                o.finish_reason = EMPTY_LINE  # a line of the source came back empty
            elif c.finish_reason != "stop" and o.finish_reason == "stop":
                o.finish_reason = c.finish_reason
        for i, o in enumerate(out):
            o.text = "\n".join(lines[i])
        return out

    def generate(self, items: list[tuple[str, str]], batch_seed: int) -> list[Completion]:
        raise BackendError("--backend mt only translates: use --outputs translate")


def _strip(c: Completion) -> Completion:
    return Completion(c.text.strip(), c.finish_reason, c.prompt_tokens, c.completion_tokens)


def make_engine(backend: Backend, source: str, target: str, sampling: Any, seed: int) -> Any:
    kind = MTEngine if hasattr(backend, "translate") else PromptEngine
    return kind(backend, source, target, sampling, seed)
