"""Benchmark `curate generate`, everything measured in one process and printed as one table.

1. Throughput: one Self-Instruct round through our vLLM backend and loop (prompt building,
   parsing, novelty, filters included) vs replaying the very same prompts and sampling
   parameters through raw ``vllm.LLM.generate`` on the same engine. Goal ≥ 0.9×.
2. Novelty: our MinHash index (query + add per new instruction) vs Self-Instruct's ROUGE-L
   against every pooled instruction (rouge-score ``RougeScorer.score``), pools of real
   instructions from ../shared/data at 1k and 10k, extrapolated to growing a 52k pool. Goal ≥ 1000×.
   Quality beside it: how often each flags a lightly edited copy of a pool item, and how often
   it flags a held-out real instruction.
3. Parse-reject rate of instance generation with and without --structured.

    python bench/generate.py [--model DIR] [--prompts 32] [--json out.json]

Without --model a tiny random-init model is built (tests/tiny_models.py); random weights make
the parse figures a floor, not a forecast.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

SHARED = ROOT.parent / "shared" / "data"


class Recording:
    """Wraps a backend and remembers every call, to replay it through raw vLLM."""

    def __init__(self, inner):
        self.inner, self.name, self.model, self.adapter = inner, inner.name, inner.model, None
        self.calls = []

    def complete(self, prompts, params):
        self.calls.append((prompts, params))
        return self.inner.complete(prompts, params)

    def close(self):
        pass


def tiny_cfg(model: str, prompts: int, max_tokens: int):
    from curate.backends.vllm_backend import EngineConfig
    from curate.generate.config import GenerateConfig, SamplingConfig

    cfg = GenerateConfig(model=model, batch_size=prompts, seed_examples=2, pool_examples=1)
    cfg.instance_examples, cfg.new_per_prompt, cfg.filters = 1, 4, ["exact-dedup", "quality"]
    cfg.sampling = SamplingConfig(max_tokens=max_tokens, instance_max_tokens=128)
    cfg.engine = EngineConfig(dtype="bfloat16", max_model_len=512, gpu_memory_utilization=0.5)
    return cfg


def context(cfg, backend):
    from curate.generate.context import Context
    from curate.generate.novelty import Novelty
    from curate.generate.seeds import load_seeds
    from curate.generate.stages import make_stages

    seeds, _ = load_seeds(None)
    quality, stages = make_stages(cfg, [])
    return Context(cfg, backend, seeds, [], Novelty(cfg.novelty, seeds), quality, stages, [])


def _replay_calls(backend, calls: list) -> list:
    """The prompts our backend sent (it skips those the context cannot hold), as raw vLLM input."""
    llm = backend.llm
    tokenizer, limit = llm.get_tokenizer(), llm.model_config.max_model_len
    replay = []
    for prompts, params in calls:
        lengths = [len(tokenizer.encode(p)) for p in prompts]
        fits = [i for i, n in enumerate(lengths) if n < limit]
        per = [
            backend.sampling(params, i, min(params.max_tokens, limit - lengths[i])) for i in fits
        ]
        replay.append(([prompts[i] for i in fits], per))
    return replay


def throughput(cfg, backend, repeats: int = 3) -> dict:
    """Best of ``repeats`` alternating runs: a whole round through our loop, then the same
    prompts replayed through raw LLM.generate."""
    from curate.generate.selfinstruct import self_instruct_round

    rec = Recording(backend)
    ours_best, raw_best = 0.0, 0.0
    for k in range(repeats + 1):  # k == 0 warms up the engine
        rec.calls.clear()
        t0 = time.perf_counter()
        out = self_instruct_round(context(cfg, rec), 1)
        ours_s = time.perf_counter() - t0
        replay = _replay_calls(backend, rec.calls)
        raw_tokens, t0 = 0, time.perf_counter()
        for prompts, per in replay:
            for o in backend.llm.generate(prompts, per, use_tqdm=False):
                raw_tokens += sum(len(c.token_ids) for c in o.outputs)
        raw_s = time.perf_counter() - t0
        if k:
            ours_best = max(ours_best, out.completion_tokens / ours_s)
            raw_best = max(raw_best, raw_tokens / raw_s)
    return {
        "ours_tokens_per_s": ours_best,
        "raw_tokens_per_s": raw_best,
        "ours_tokens": out.completion_tokens,
        "raw_tokens": raw_tokens,
        "calls": len(rec.calls),
        "prompts": sum(len(p) for p, _ in rec.calls),
        "repeats": repeats,
    }


def real_instructions() -> list[str]:
    from curate.io import read_records
    from curate.records import Record

    seen, out = set(), []
    for path in ("gpteacher/toolformer.json", "gpteacher/roleplay.json", "gsm8k/gsm_8k_train.json"):
        for r in read_records(str(SHARED / path)):
            if isinstance(r, Record) and r.instruction.strip() and r.instruction not in seen:
                seen.add(r.instruction)
                out.append(r.instruction)
    return out


def edited(text: str, rng: random.Random) -> str:
    words = text.split()
    words[rng.randrange(len(words))] = rng.choice(["quickly", "please", "briefly", "now"])
    return " ".join(words)


def novelty(pool_size: int, n_queries: int, texts: list[str], rng: random.Random) -> dict:
    from rouge_score import rouge_scorer

    from curate.generate.config import NoveltyConfig
    from curate.generate.novelty import Novelty
    from curate.records import Record

    pool = texts[:pool_size]
    held = texts[pool_size : pool_size + n_queries // 2]
    copies = [edited(t, rng) for t in rng.sample(pool, n_queries - len(held))]
    queries = held + copies
    t0 = time.perf_counter()
    index = Novelty(NoveltyConfig(), [Record(f"p{i}", t) for i, t in enumerate(pool)])
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = [not index.check(Record(f"q{i}", q)).keep for i, q in enumerate(queries)]
    ours_s = (time.perf_counter() - t0) / len(queries)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    t0 = time.perf_counter()
    rouge = [max(scorer.score(q, p)["rougeL"].fmeasure for p in pool) > 0.7 for q in queries]
    rouge_s = (time.perf_counter() - t0) / len(queries)
    n_held = len(held)
    return {
        "pool": pool_size,
        "queries": len(queries),
        "ours_s_per_check": ours_s,
        "ours_build_s": build_s,
        "rouge_s_per_check": rouge_s,
        "rouge_s_per_pair": rouge_s / pool_size,
        "ours_flags_edited": sum(ours[n_held:]) / len(copies),
        "rouge_flags_edited": sum(rouge[n_held:]) / len(copies),
        "ours_flags_heldout": sum(ours[:n_held]) / max(1, n_held),
        "rouge_flags_heldout": sum(rouge[:n_held]) / max(1, n_held),
        "agreement": sum(a == b for a, b in zip(ours, rouge, strict=True)) / len(queries),
    }


def parse_rates(cfg, backend, n: int) -> dict:
    from curate.generate.round import RoundOutput
    from curate.generate.selfinstruct import NewInstruction, step_instances
    from curate.records import Record

    res = {}
    for structured in (False, True):
        cfg.structured = structured
        ctx = context(cfg, backend)
        tasks = ctx.seed_tasks[:n]
        new = [
            NewInstruction(
                Record(f"b{i}", s.instruction, meta={"generation": {}}),
                bool(s.meta.get("is_classification")),
            )
            for i, s in enumerate(tasks)
        ]
        out = RoundOutput()
        triples = step_instances(ctx, 1, new, out)
        parse = sum(1 for _, v in out.rejected if v.stage == "parse")
        skipped = sum(1 for _, v in out.rejected if v.stage == "prompt")
        res["structured" if structured else "plain"] = {
            "prompts": len(new) - skipped,
            "parsed": len(triples),
            "parse_rejects": parse,
            "rate": parse / max(1, parse + len(triples)),
        }
    cfg.structured = False
    return res


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--prompts", type=int, default=48)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--json")
    args = ap.parse_args()
    model = args.model
    if model is None:
        from tiny_models import build_tiny_model

        model = str(build_tiny_model(Path(tempfile.mkdtemp()) / "tiny", "llama"))
    from curate.backends.vllm_backend import VLLMBackend

    cfg = tiny_cfg(model, args.prompts, args.max_tokens)
    backend = VLLMBackend(model, engine=cfg.engine)
    tp = throughput(cfg, backend)
    pr = parse_rates(cfg, backend, args.prompts)
    texts = real_instructions()
    random.Random(0).shuffle(texts)
    nov = [
        novelty(1000, args.queries, texts, random.Random(1)),
        novelty(10_000, max(4, args.queries // 4), texts, random.Random(2)),
    ]
    report(tp, pr, nov, len(texts))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"throughput": tp, "parse": pr, "novelty": nov}, indent=2)
        )


def report(tp: dict, pr: dict, nov: list[dict], n_texts: int) -> None:
    big = 52_000
    pair = max(n["rouge_s_per_pair"] for n in nov)
    check = max(n["ours_s_per_check"] for n in nov)
    rouge_52k = pair * big * (big - 1) / 2
    ours_52k = check * big
    rows = [("measure", "ours", "baseline", "ratio", "quality")]
    rows.append((
        "round tokens/s (vLLM, tiny model)",
        f"{tp['ours_tokens_per_s']:,.0f} tok/s",
        f"{tp['raw_tokens_per_s']:,.0f} tok/s raw LLM.generate",
        f"{tp['ours_tokens_per_s'] / tp['raw_tokens_per_s']:.2f}×",
        f"best of {tp['repeats']}; same {tp['prompts']} prompts in {tp['calls']} calls; "
        f"tokens {tp['ours_tokens']} vs {tp['raw_tokens']}",
    ))  # fmt: skip
    for n in nov:
        rows.append((
            f"novelty check, pool {n['pool']:,}",
            f"{n['ours_s_per_check'] * 1e3:.2f} ms/check",
            f"{n['rouge_s_per_check'] * 1e3:,.0f} ms/check ROUGE-L",
            f"{n['rouge_s_per_check'] / n['ours_s_per_check']:,.0f}×",
            f"edited copies flagged {n['ours_flags_edited']:.0%} vs {n['rouge_flags_edited']:.0%}; "
            f"held-out flagged {n['ours_flags_heldout']:.0%} vs {n['rouge_flags_heldout']:.0%}; "
            f"agree {n['agreement']:.0%}",
        ))  # fmt: skip
    rows.append((
        "grow a 52k pool (extrapolated)",
        f"{ours_52k:,.0f} s",
        f"{rouge_52k / 3600:,.1f} h ROUGE-L",
        f"{rouge_52k / ours_52k:,.0f}×",
        "ours: 52k × slowest check; ROUGE: pair cost × 52k²/2",
    ))  # fmt: skip
    for key in ("plain", "structured"):
        p = pr[key]
        rows.append((
            f"instance parse-reject rate, {key}",
            f"{p['rate']:.0%}",
            "",
            "",
            f"{p['parse_rejects']} of {p['parse_rejects'] + p['parsed']} items, {p['prompts']} prompts",
        ))  # fmt: skip
    print(table(rows))
    print(f"\n{n_texts:,} distinct real instructions from ../shared/data; 2 CPU cores.")


if __name__ == "__main__":
    main()
