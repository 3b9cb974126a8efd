"""`train eval`: loss and perplexity of a model or adapter on held-out data, as training computes them.

Each held-out record is rendered and masked by the same code as training (``train.data.tokenize``:
the adapter's template, ``completion_only`` and ``train_on`` from its saved config), batched by
the training collator, and scored with the causal-LM cross-entropy over the learned tokens only.
The loss of a set is the token-weighted mean (what the model's own loss gives for one batch),
perplexity is ``exp(loss)``; every example gets its own loss and perplexity too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from curate.records import Record
from train.data import IGNORE, DataError, Example, read_training_records, tokenize
from train.packing import Collator, single

DEFAULT_TEMPLATE = "alpaca"  # a base model has no training config: the default `train run` template


@dataclass
class ExampleLoss:
    id: str
    loss: float  # mean cross-entropy over its learned tokens
    perplexity: float
    tokens: int  # learned (unmasked) tokens


@dataclass
class EvalLoss:
    """What :func:`evaluate_loss` returns (``to_dict()`` is its part of eval.json)."""

    model: str  # the base model
    adapter: str | None  # the adapter directory, None for a base model
    template: str
    loss: float  # token-weighted mean cross-entropy over every learned token
    perplexity: float  # exp(loss)
    tokens: int
    examples: int
    skipped_too_long: int = 0
    per_example: list[ExampleLoss] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Scorer:
    """A loaded model with the settings its examples are built with."""

    model: Any
    tokenizer: Any
    base: str
    adapter: str | None
    template: str
    completion_only: bool = True
    train_on: str = "all_assistant"
    max_seq_len: int | None = None


def is_adapter(path: str | Path) -> bool:
    return (Path(path) / "adapter_config.json").is_file()


def load_scorer(
    model_or_adapter: str | Path,
    *,
    template: str | None = None,
    base: str | None = None,
    max_seq_len: int | None = None,
) -> Scorer:
    """An adapter dir → its base as trained + the adapter, in its training template and masking;
    anything else → that base model, plain weights, in ``template`` (default alpaca)."""
    from train.model import compute_dtype, load_base, load_tokenizer

    name = str(model_or_adapter)
    if is_adapter(name):
        from train.adapter import adapter_config, base_of, load_with_adapter

        cfg = adapter_config(name)
        model, tok = load_with_adapter(name, base, "trained")
        return Scorer(
            model,
            tok,
            base_of(cfg, base),
            name,
            template or cfg.template,
            cfg.completion_only,
            cfg.train_on,
            max_seq_len or cfg.max_seq_len,
        )
    from train.recipe import check_base_model

    check_base_model(name)
    model = load_base(name, "none", compute_dtype("auto"), "sdpa").eval()
    return Scorer(
        model,
        load_tokenizer(name),
        name,
        None,
        template or DEFAULT_TEMPLATE,
        True,
        "all_assistant",
        max_seq_len,
    )


def examples_of(scorer: Scorer, records: Sequence[Record]) -> tuple[list[Example], list[str], int]:
    """(examples that fit, their ids, how many were longer than max_seq_len), built as training builds them."""
    limit = scorer.max_seq_len or getattr(scorer.model.config, "max_position_embeddings", None)
    kept, ids, too_long = [], [], 0
    for rec in records:
        ex = tokenize(
            rec, scorer.template, scorer.tokenizer, scorer.completion_only, scorer.train_on
        )
        if limit is not None and len(ex) > limit:
            too_long += 1
            continue
        kept.append(ex)
        ids.append(rec.id)
    return kept, ids, too_long


def token_losses(model: Any, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed cross-entropy, learned-token count) per row of a collated batch: the causal-LM loss
    of transformers (labels shifted by one, -100 ignored), kept per row instead of averaged."""
    device = next(model.parameters()).device
    inputs = {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
    with torch.no_grad():
        logits = model(**inputs).logits.float()
    labels = batch["labels"].to(device)[:, 1:]
    logits = logits[:, :-1]
    nll = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        labels.reshape(-1),
        ignore_index=IGNORE,
        reduction="none",
    ).view(labels.shape)
    return nll.sum(dim=1).cpu(), (labels != IGNORE).sum(dim=1).cpu()


def score(scorer: Scorer, records: Sequence[Record], batch_size: int = 8) -> EvalLoss:
    examples, ids, too_long = examples_of(scorer, records)
    if not examples:
        raise DataError(
            f"data: no example to evaluate ({too_long} longer than max_seq_len={scorer.max_seq_len})"
            if too_long
            else "data: no records to evaluate"
        )
    collate = Collator(scorer.tokenizer.pad_token_id, packed=False)
    per: list[ExampleLoss] = []
    total, count = 0.0, 0
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        sums, counts = token_losses(scorer.model, collate(single(chunk)))
        for rec_id, s, n in zip(
            ids[start : start + batch_size], sums.tolist(), counts.tolist(), strict=True
        ):
            total, count = total + s, count + n
            loss = s / n if n else float("nan")
            per.append(ExampleLoss(rec_id, loss, _exp(loss), n))
    loss = total / count if count else float("nan")
    return EvalLoss(
        scorer.base,
        scorer.adapter,
        scorer.template,
        loss,
        _exp(loss),
        count,
        len(examples),
        too_long,
        per,
    )


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return float("inf")


def read_heldout(data: str | Path | Sequence[str | Path] | Sequence[Record]) -> list[Record]:
    """Records, or the files (any format `curate convert` reads) they come from."""
    if isinstance(data, (str, Path)):
        data = [data]
    if data and all(isinstance(d, Record) for d in data):
        return list(data)  # type: ignore[arg-type]
    records, _ = read_training_records([str(d) for d in data], None)
    if not records:
        raise DataError(f"data: no records in {', '.join(map(str, data))}")
    return records


def evaluate_loss(
    model_or_adapter: str | Path,
    data: str | Path | Sequence[str | Path] | Sequence[Record],
    *,
    template: str | None = None,
    base: str | None = None,
    max_seq_len: int | None = None,
    batch_size: int = 8,
) -> EvalLoss:
    """Eval loss and perplexity of ``model_or_adapter`` on held-out ``data``, per example and overall.

    ``model_or_adapter``: an adapter directory written by `train run` (loaded on its base as it was
    trained, with its template, completion-only masking and max_seq_len) or a base model (a local
    directory or hub id; plain weights, ``template`` or alpaca). ``data``: a file, several files,
    or Records. ``base`` overrides the adapter's base model; ``template`` and ``max_seq_len``
    override the adapter's own (examples longer than it are skipped and counted, as training skips
    them). Returns an :class:`EvalLoss` (``.loss``, ``.perplexity``, ``.tokens``, ``.examples``,
    ``.per_example``, ``.to_dict()``). Raises DataError (one line) when nothing can be evaluated.
    """
    records = read_heldout(data)
    scorer = load_scorer(model_or_adapter, template=template, base=base, max_seq_len=max_seq_len)
    return score(scorer, records, batch_size)
