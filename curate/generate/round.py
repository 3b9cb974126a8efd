"""What one round produces, and the checks every generated item goes through.

A round's rows reach disk together, after the round: kept records, rejected items (each whole,
with stage and reason) and the instructions added to the pool.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from curate.backends.base import (
    PROMPT_TOO_LONG,
    Backend,
    BackendError,
    Completion,
    SamplingParams,
)
from curate.filters.config import ConfigError
from curate.filters.verdict import Verdict, drop, rejected_row
from curate.generate.parse import Failure, Parsed
from curate.records import Record


@dataclass
class RoundOutput:
    kept: list[Record] = field(default_factory=list)
    rejected: list[tuple[Record, Verdict]] = field(default_factory=list)
    pool: list[Record] = field(default_factory=list)  # instructions added to the pool
    instructions: int = 0  # instructions parsed (each rejected, or pooled and given instances)
    prompts: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def reject(self, rec: Record, verdict: Verdict) -> None:
        self.rejected.append((rec, verdict))

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "records.jsonl": [r.to_dict() for r in self.kept],
            "rejected.jsonl": [rejected_row(r, v) for r, v in self.rejected],
            "instructions.jsonl": [r.to_dict() for r in self.pool],
        }

    def reasons(self) -> Counter[str]:
        return Counter(f"{v.stage}:{v.reason}" for _, v in self.rejected)


class Ids:
    """Deterministic ids: ``gen-{run}-r{round}-{n}`` for each item of a round, in generation
    order; the run id (curate.generate.config.run_id_of) keeps them apart across runs."""

    def __init__(self, run_id: str, round_no: int):
        self.run = run_id
        self.round = round_no
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"gen-{self.run}-r{self.round}-{self.n}"


def step_seed(base: int, round_no: int, step: int) -> int:
    """A model seed per (run seed, round, step); prompt i of the step uses it + i."""
    return ((base * 100_000 + round_no) * 10 + step) * 1_000_000


def round_rng(base: int, round_no: int) -> random.Random:
    return random.Random(f"curate-generate:{base}:{round_no}")


def timed_complete(
    backend: Backend, prompts: list[str], params: SamplingParams, out: RoundOutput
) -> list[list[Completion]]:
    import time

    t0 = time.perf_counter()
    result = backend.complete(prompts, params) if prompts else []
    check_completions(backend, prompts, params, result)
    out.seconds += time.perf_counter() - t0
    out.prompts += len(prompts)
    out.completion_tokens += sum(c.completion_tokens for samples in result for c in samples)
    return result


def check_completions(
    backend: Backend, prompts: list[str], params: SamplingParams, result: Any
) -> None:
    """One list of params.n Completions with string text per prompt, whatever the backend; else
    a BackendError (the steps index samples[0] and read .text)."""
    name = getattr(backend, "name", type(backend).__name__)
    if not isinstance(result, list) or len(result) != len(prompts):
        got = len(result) if isinstance(result, list) else type(result).__name__
        raise BackendError(f"backend {name}: {got} answers for {len(prompts)} prompts")
    for i, samples in enumerate(result):
        if not isinstance(samples, list) or not samples:
            raise BackendError(f"backend {name}: no completion for prompt {i}")
        if samples[0].finish_reason == PROMPT_TOO_LONG:
            continue
        if len(samples) != params.n or not all(
            isinstance(c, Completion) and isinstance(c.text, str) for c in samples
        ):
            raise BackendError(
                f"backend {name}: prompt {i}: expected {params.n} completions with text, "
                f"got {len(samples)}"
            )


def parse_reject(
    rec_id: str, failure: Failure, meta: dict[str, Any], instruction: str = "", stage: str = "parse"
) -> tuple[Record, Verdict]:
    """A generated item that did not parse: the record carries what is known, the raw text is the evidence."""
    rec = Record(id=rec_id, instruction=instruction, meta={"generation": meta})
    return rec, drop(failure.reason, stage, raw=failure.raw)


def unusable(c: Completion) -> Failure | None:
    """A completion that never ran because its prompt does not fit the model's context."""
    if c.finish_reason == PROMPT_TOO_LONG:
        return Failure(
            "too-long", f"<prompt of {c.prompt_tokens} tokens: longer than the model's context>"
        )
    return None


def check_some_fit(completions: list[list[Completion]], what: str) -> None:
    """Stop the run when no prompt of a step fits the model's context: no round could do better."""
    if completions and all(s and s[0].finish_reason == PROMPT_TOO_LONG for s in completions):
        shortest = min(s[0].prompt_tokens for s in completions)
        raise ConfigError(
            f"every {what} prompt is longer than the model's context (the shortest has {shortest} tokens): "
            "show fewer examples (seed_examples, pool_examples, instance_examples in --config) or use a "
            "model with a longer context (engine.max_model_len)"
        )


def usable_samples(
    ctx: Any,
    r: int,
    prompts: list[str],
    shown_ids: list[list[str]],
    params: SamplingParams,
    ids: Ids,
    out: RoundOutput,
    what: str,
) -> Iterator[tuple[int, Completion, dict[str, Any]]]:
    """Generate for every prompt; yield (prompt index, sample, provenance) for each usable sample.

    A sample whose prompt did not fit the model's context becomes a ``prompt`` reject.
    """
    completions = timed_complete(ctx.backend, prompts, params, out)
    check_some_fit(completions, what)
    for j, samples in enumerate(completions):
        for c in samples:
            prov = ctx.provenance(
                r, prompt_ids=shown_ids[j], sampling=params.to_dict(), finish_reason=c.finish_reason
            )
            skipped = unusable(c)
            if skipped is not None:
                out.reject(*parse_reject(ids.next(), skipped, prov, stage="prompt"))
                continue
            yield j, c, prov


def checked_records(
    ctx: Any,
    parsed: Parsed,
    prov: dict[str, Any],
    ids: Ids,
    out: RoundOutput,
    record: Callable[[str, Any, dict[str, Any]], Record],
) -> Iterator[Record]:
    """The records made from ``parsed``'s entries (``record(id, entry, meta)``) that pass the
    instruction checks; an entry that did not parse, or a record that fails them, is rejected."""
    out.instructions += len(parsed.items)
    for entry in parsed.entries:
        if isinstance(entry, Failure):
            out.reject(*parse_reject(ids.next(), entry, prov))
            continue
        rec = record(ids.next(), entry, {"generation": dict(prov)})
        verdict = ctx.check_instruction(rec)
        if verdict.keep:
            yield rec
        else:
            out.reject(rec, verdict)
