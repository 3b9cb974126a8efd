"""`train generate`: the adapter's own template (from its saved config), batched, stopping at EOS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from curate.records import Record
from curate.render import render
from train.adapter import adapter_config, load_with_adapter


@dataclass
class Generation:
    record: Record
    text: str
    tokens: int
    stopped: bool  # ended at EOS (not at max_new_tokens)


def prompts_of(template: str, records: list[Record], tokenizer: Any) -> list[str]:
    return [render(r, template, tokenizer)[0] for r in records]


def generate(
    adapter: str | Path,
    records: list[Record],
    *,
    max_new_tokens: int = 256,
    batch_size: int = 8,
    temperature: float = 0.0,
    dtype: str = "auto",
    base: str | None = None,
    base_weights: str = "trained",
) -> Iterator[Generation]:
    """``trained``: the 4-bit base + adapter of a 4-bit run, i.e. the trained model itself (``dtype``
    is then the training's); ``original``: the unquantized base in ``dtype`` + adapter."""
    cfg = adapter_config(adapter)
    model, tok = load_with_adapter(adapter, base, base_weights, dtype)
    tok.padding_side = "left"
    eos = tok.eos_token_id
    for start in range(0, len(records), batch_size):
        batch = records[start : start + batch_size]
        texts = prompts_of(cfg.template, batch, tok)
        enc = tok(
            texts, return_tensors="pt", padding=True, add_special_tokens=cfg.template != "tokenizer"
        )
        enc = enc.to(model.device)
        sampling = (
            {"do_sample": True, "temperature": temperature}
            if temperature > 0
            else {"do_sample": False}
        )
        with torch.no_grad():
            out = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                eos_token_id=eos,
                pad_token_id=tok.pad_token_id,
                **sampling,
            )
        for rec, ids in zip(batch, out[:, enc["input_ids"].shape[1] :].tolist(), strict=True):
            stopped = eos in ids
            ids = ids[: ids.index(eos)] if stopped else ids
            yield Generation(rec, tok.decode(ids, skip_special_tokens=True), len(ids), stopped)
