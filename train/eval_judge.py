"""`train eval --judge`: pairwise win-rate of a model against another, judged by any backend.

Both sides answer the same held-out instructions (greedy, each in its own template). The judge sees
every pair twice, once in each order, so a judge that prefers a position cancels out: a judge
that always says "A" gives exactly 50%. A verdict that is neither A, B nor tie counts as a tie
and is reported under ``unparsed``. win_rate = (wins + ties / 2) / judgments.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from curate.backends.base import Backend, SamplingParams
from curate.records import Record
from curate.templates import render_template
from train.eval import Scorer, load_scorer
from train.generate import prompts_of

VERDICT = re.compile(r"\b(A|B|tie)\b", re.IGNORECASE)


@dataclass
class JudgeResult:
    against: str
    judge: str
    prompt: str
    pairs: int
    judgments: int  # 2 per pair: both orders
    wins: int
    losses: int
    ties: int
    unparsed: int  # verdicts that were none of A, B, tie (counted as ties)
    consistent: int  # pairs whose two verdicts agree once the order is undone
    win_rate: float
    per_pair: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_verdict(text: str) -> str | None:
    """'A', 'B', 'tie' (first match, case-insensitive), or None."""
    m = VERDICT.search(text)
    if m is None:
        return None
    word = m.group(1)
    return "tie" if word.lower() == "tie" else word.upper()


def answers(
    scorer: Scorer, records: list[Record], max_new_tokens: int, batch_size: int = 8
) -> list[str]:
    """Greedy answers of a loaded model in its template, stopping at EOS."""
    tok, model = scorer.tokenizer, scorer.model
    tok.padding_side = "left"
    eos = tok.eos_token_id
    out: list[str] = []
    for start in range(0, len(records), batch_size):
        texts = prompts_of(scorer.template, records[start : start + batch_size], tok)
        enc = tok(
            texts,
            return_tensors="pt",
            padding=True,
            add_special_tokens=scorer.template != "tokenizer",
        ).to(next(model.parameters()).device)
        with torch.no_grad():
            ids = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=eos,
                pad_token_id=tok.pad_token_id,
            )
        for row in ids[:, enc["input_ids"].shape[1] :].tolist():
            row = row[: row.index(eos)] if eos in row else row
            out.append(tok.decode(row, skip_special_tokens=True).strip())
    return out


def answers_of(
    model_or_adapter: str, records: list[Record], max_new_tokens: int, *, base: str | None = None
) -> list[str]:
    scorer = load_scorer(model_or_adapter, base=base)
    try:
        return answers(scorer, records, max_new_tokens)
    finally:
        del scorer


def judge_prompt(prompt: str, rec: Record, answer_a: str, answer_b: str) -> str:
    values = {
        "instruction": rec.instruction,
        "input": rec.input or "<noinput>",
        "answer_a": answer_a,
        "answer_b": answer_b,
    }
    return render_template(prompt, values, final_newline=False)


def pairwise(
    records: list[Record],
    mine: list[str],
    theirs: list[str],
    backend: Backend,
    *,
    prompt: str = "eval/pairwise.txt",
    max_tokens: int = 8,
    against: str = "",
) -> JudgeResult:
    """Judge ``mine`` vs ``theirs`` for each record, in both orders (mine first, then theirs first)."""
    prompts = []
    for rec, a, b in zip(records, mine, theirs, strict=True):
        prompts += [judge_prompt(prompt, rec, a, b), judge_prompt(prompt, rec, b, a)]
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, seed=0)
    completions = backend.complete(prompts, params) if prompts else []
    wins = losses = ties = unparsed = consistent = 0
    per_pair = []
    for i, rec in enumerate(records):
        first = parse_verdict(completions[2 * i][0].text)
        second = parse_verdict(completions[2 * i + 1][0].text)
        # from "mine"'s side: in the first order mine is A, in the second mine is B
        outcomes = [
            {"A": "win", "B": "loss"}.get(first or "", "tie"),
            {"B": "win", "A": "loss"}.get(second or "", "tie"),
        ]
        unparsed += (first is None) + (second is None)
        wins += outcomes.count("win")
        losses += outcomes.count("loss")
        ties += outcomes.count("tie")
        consistent += outcomes[0] == outcomes[1]
        per_pair.append({"id": rec.id, "mine_first": first, "theirs_first": second})
    n = 2 * len(records)
    return JudgeResult(
        against=against,
        judge=f"{getattr(backend, 'name', '?')}:{getattr(backend, 'model', '?')}",
        prompt=prompt,
        pairs=len(records),
        judgments=n,
        wins=wins,
        losses=losses,
        ties=ties,
        unparsed=unparsed,
        consistent=consistent,
        win_rate=(wins + ties / 2) / n if n else float("nan"),
        per_pair=per_pair,
    )


def open_judge(cfg: Any) -> Backend:
    """The judge backend a JudgeConfig names, through the backend registry."""
    from curate.backends.base import BackendOptions
    from curate.backends.registry import get_backend

    spec = get_backend(cfg.backend)
    opts = spec.options(cfg)
    opts = BackendOptions(cfg.model, cfg.adapter, cfg.base_url, opts.config)
    return spec.open(opts)
