"""One Self-Instruct round: new instructions → novelty and quality → classify → instances → filters.

1. k human seeds + m pool instructions (shuffled) in a numbered list; the model continues it.
2. Each parsed instruction passes quality's instruction checks and the MinHash novelty check.
3. The model says whether each new instruction is a classification task; instances are generated
   output-first for classification tasks, input-first otherwise (JSON with --structured).
4. The new triples go through the `curate filter` stages; what survives is kept.
Every prompt of a step is sent to the backend in one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curate.backends.base import Completion
from curate.filters.runner import Run
from curate.generate import prompts as P
from curate.generate.context import Context
from curate.generate.parse import (
    INSTANCE_SCHEMA,
    Failure,
    parse_classification,
    parse_instances,
    parse_instruction_list,
    parse_json_instance,
)
from curate.generate.round import (
    Ids,
    RoundOutput,
    checked_records,
    parse_reject,
    round_rng,
    step_seed,
    timed_complete,
    unusable,
    usable_samples,
)
from curate.records import Record

FILES = P.TEMPLATES["self-instruct"]


@dataclass
class NewInstruction:
    rec: Record
    is_classification: bool = False
    classify_answer: str = ""


def last_line(prompt: str) -> str:
    return prompt.rsplit("\n", 1)[-1]


def _instruction(rec_id: str, text: str, meta: dict[str, Any]) -> Record:
    return Record(id=rec_id, instruction=text, meta=meta)


def _instruction_prompts(ctx: Context, rng) -> tuple[list[str], list[list[str]]]:
    cfg = ctx.cfg
    prompts, ids = [], []
    for _ in range(cfg.batch_size):
        shown = rng.sample(ctx.seed_tasks, min(cfg.seed_examples, len(ctx.seed_tasks)))
        shown += rng.sample(ctx.pool, min(cfg.pool_examples, len(ctx.pool)))
        rng.shuffle(shown)
        body = P.task_list("self-instruct", [r.instruction for r in shown])
        prompts.append(
            P.render_prompt(FILES["instructions"], tasks=body, next_number=len(shown) + 1)
        )
        ids.append([r.id for r in shown])
    return prompts, ids


def step_instructions(ctx: Context, r: int, ids: Ids, out: RoundOutput) -> list[NewInstruction]:
    """Steps 1 and 2: generate numbered lists; keep the novel, well-formed instructions."""
    rng = round_rng(ctx.cfg.seed, r)
    prompts, shown_ids = _instruction_prompts(ctx, rng)
    # every prompt of a round shows as many tasks; stop at the number after the last one asked for
    stop = (f"\n{len(shown_ids[0]) + 1 + ctx.cfg.new_per_prompt}.",)
    params = ctx.sampling(
        ctx.cfg.sampling.max_tokens,
        n=ctx.cfg.sampling.n,
        stop=stop,
        seed=step_seed(ctx.cfg.seed, r, 1),
    )
    new: list[NewInstruction] = []
    for j, c, prov in usable_samples(
        ctx, r, prompts, shown_ids, params, ids, out, "instruction-generation"
    ):
        parsed = parse_instruction_list(
            last_line(prompts[j]) + c.text, truncated=c.finish_reason == "length"
        )
        new += map(NewInstruction, checked_records(ctx, parsed, prov, ids, out, _instruction))
    return new


def step_classify(ctx: Context, r: int, new: list[NewInstruction], out: RoundOutput) -> None:
    """Step 3a. An answer that is neither yes nor no counts as "no" (as Self-Instruct does);
    the raw answer stays in the record's provenance."""
    rng = round_rng(ctx.cfg.seed, r)
    k = ctx.cfg.instance_examples
    yes = [s for s in ctx.seed_tasks if P.is_classification(s)]
    no = [s for s in ctx.seed_tasks if not P.is_classification(s)]
    prompts = []
    for item in new:
        shown = rng.sample(yes, min(k, len(yes))) + rng.sample(no, min(k, len(no)))
        rng.shuffle(shown)
        prompts.append(
            P.render_prompt(
                FILES["classify"],
                examples=P.classify_examples(shown),
                instruction=item.rec.instruction,
            )
        )
    params = ctx.sampling(
        ctx.cfg.sampling.classify_max_tokens, stop=("\n",), seed=step_seed(ctx.cfg.seed, r, 2)
    )
    params = params.with_(temperature=0.0)
    for item, samples in zip(new, timed_complete(ctx.backend, prompts, params, out), strict=True):
        answer = samples[0]
        item.is_classification = bool(parse_classification(answer.text))
        item.classify_answer = (
            answer.text.strip()[:200] if not unusable(answer) else "<prompt too long>"
        )


def _instance_prompt(ctx: Context, item: NewInstruction, rng) -> tuple[str, str, list[str]]:
    kind = (
        "structured"
        if ctx.cfg.structured
        else ("output_first" if item.is_classification else "input_first")
    )
    pool = [
        s for s in ctx.seed_tasks if P.is_classification(s) == item.is_classification
    ] or ctx.seed_tasks
    shown = rng.sample(pool, min(ctx.cfg.instance_examples, len(pool)))
    examples = P.instance_examples(kind, shown)
    prompt = P.render_prompt(FILES[kind], examples=examples, instruction=item.rec.instruction)
    return kind, prompt, [s.id for s in shown]


def step_instances(
    ctx: Context, r: int, new: list[NewInstruction], out: RoundOutput
) -> list[Record]:
    """Step 3b: one instance prompt per new instruction, all in one call; parse input / output."""
    rng = round_rng(ctx.cfg.seed, r)
    built = [_instance_prompt(ctx, item, rng) for item in new]
    schema = INSTANCE_SCHEMA if ctx.cfg.structured else None
    params = ctx.sampling(
        ctx.cfg.sampling.instance_max_tokens,
        stop=() if schema else ("\nTask:",),
        seed=step_seed(ctx.cfg.seed, r, 3),
        json_schema=schema,
    )
    triples: list[Record] = []
    completions = timed_complete(ctx.backend, [b[1] for b in built], params, out)
    for item, (kind, prompt, shown), samples in zip(new, built, completions, strict=True):
        c = samples[0]
        prov = dict(item.rec.meta["generation"])
        prov.update(
            instruction_id=item.rec.id,
            is_classification=item.is_classification,
            classify_answer=item.classify_answer,
            instance_prompt=FILES[kind],
            instance_prompt_ids=shown,
            instance_sampling=params.to_dict(),
            instance_finish_reason=c.finish_reason,
        )
        triples += _instances(item.rec, kind, last_line(prompt), c, prov, out)
    return triples


def _instances(
    rec: Record, kind: str, primer: str, c: Completion, prov: dict, out: RoundOutput
) -> list[Record]:
    """The instances of one completion as records; what does not parse goes to ``out.rejected``."""
    skipped = unusable(c)
    if skipped is not None:
        out.reject(*parse_reject(f"{rec.id}#0", skipped, prov, rec.instruction, stage="prompt"))
        return []
    if kind == "structured":
        parsed = parse_json_instance(c.text)
    else:
        truncated = c.finish_reason == "length"
        parsed = parse_instances(primer + c.text, kind == "output_first", truncated)
    triples = []
    for n, entry in enumerate(parsed.entries):
        rec_id = f"{rec.id}#{n}"
        if isinstance(entry, Failure):
            out.reject(*parse_reject(rec_id, entry, prov, rec.instruction))
        else:
            meta = {"generation": prov}
            triples.append(Record(rec_id, rec.instruction, entry.input, entry.output, meta=meta))
    return triples


def pool_record(item: NewInstruction) -> Record:
    meta = {"generation": item.rec.meta["generation"], "is_classification": item.is_classification}
    return Record(id=item.rec.id, instruction=item.rec.instruction, meta=meta)


def self_instruct_round(ctx: Context, r: int) -> RoundOutput:
    out = RoundOutput()
    ids = Ids(ctx.run_id, r)
    new = step_instructions(ctx, r, ids, out)
    step_classify(ctx, r, new, out)
    out.pool = [pool_record(item) for item in new]
    triples = step_instances(ctx, r, new, out)
    out.kept = Run(ctx.stages, out).each_stage(triples)
    return out
