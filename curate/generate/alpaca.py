"""One Alpaca-style round: each prompt shows seed triples and asks for up to N new
instruction / input / output triples at once (numbered sections, or JSON with --structured);
each triple then passes the instruction checks, novelty and the `curate filter` stages."""

from __future__ import annotations

from typing import Any

from curate.filters.runner import Run
from curate.generate import prompts as P
from curate.generate.context import Context
from curate.generate.parse import Triple, alpaca_schema, parse_alpaca, parse_alpaca_json
from curate.generate.round import (
    Ids,
    RoundOutput,
    checked_records,
    round_rng,
    step_seed,
    usable_samples,
)
from curate.generate.selfinstruct import last_line
from curate.records import Record

FILES = P.TEMPLATES["alpaca"]


def _prompts(ctx: Context, r: int) -> tuple[list[str], list[list[str]]]:
    cfg = ctx.cfg
    rng = round_rng(cfg.seed, r)
    prompts, ids = [], []
    for _ in range(cfg.batch_size):
        shown = rng.sample(ctx.seed_tasks, min(cfg.seed_examples, len(ctx.seed_tasks)))
        shown += rng.sample(ctx.pool, min(cfg.pool_examples, len(ctx.pool)))
        rng.shuffle(shown)
        if cfg.structured:
            prompt = P.render_prompt(
                FILES["structured"],
                num_tasks=cfg.alpaca_tasks,
                examples=P.alpaca_json_examples(shown),
            )
        else:
            prompt = P.render_prompt(
                FILES["generate"],
                num_tasks=cfg.alpaca_tasks,
                tasks=P.alpaca_tasks(shown),
                next_number=len(shown) + 1,
            )
        prompts.append(prompt)
        ids.append([s.id for s in shown])
    return prompts, ids


def alpaca_round(ctx: Context, r: int) -> RoundOutput:
    cfg = ctx.cfg
    out = RoundOutput()
    ids = Ids(ctx.run_id, r)
    prompts, shown_ids = _prompts(ctx, r)
    schema = alpaca_schema(cfg.alpaca_tasks) if cfg.structured else None
    stop = () if schema else (f"\n{len(shown_ids[0]) + 1 + cfg.alpaca_tasks}. Instruction",)
    params = ctx.sampling(
        cfg.sampling.max_tokens,
        n=cfg.sampling.n,
        stop=stop,
        seed=step_seed(cfg.seed, r, 1),
        json_schema=schema,
    )
    triples: list[Record] = []
    for j, c, prov in usable_samples(ctx, r, prompts, shown_ids, params, ids, out, "alpaca"):
        if schema:
            parsed = parse_alpaca_json(c.text)
        else:
            parsed = parse_alpaca(
                last_line(prompts[j]) + c.text, truncated=c.finish_reason == "length"
            )
        triples += checked_records(ctx, parsed, prov, ids, out, _triple_record)
    out.pool = [
        Record(t.id, t.instruction, t.input, t.output, meta={"generation": t.meta["generation"]})
        for t in triples
    ]
    out.kept = Run(ctx.stages, out).each_stage(triples)
    return out


def _triple_record(rec_id: str, t: Triple, meta: dict[str, Any]) -> Record:
    return Record(rec_id, t.instruction, t.input, t.output, meta=meta)
