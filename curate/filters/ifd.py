"""IFD: Instruction-Following Difficulty (Cherry LLM, Li et al. 2023) with a small local causal LM.

Opt-in (``ifd.enabled`` is false by default). For each record a small model (transformers, fp32
on CPU, bf16 on a GPU) gives two mean token losses over the same output tokens:

- ``conditioned_loss``: loss(output | prompt), the prompt rendered with the training template
  (``template``: alpaca, chatml or tokenizer; a conversation's last reply given the turns before);
- ``output_loss``: loss(output) with only the BOS token before it.

``ratio = conditioned_loss / output_loss`` is the IFD: near 1 the instruction barely helps the
model produce the answer (hard, or unrelated), low the answer follows from the instruction. A
ratio above 1 means the prompt makes the answer *less* likely: such records are flagged
(``meta.ifd.above_one``) and, with ``drop_above_one`` (Cherry's rule), rejected
``ifd:above_one``. Every scored record gets ``meta.ifd`` = {ratio, conditioned_loss, output_loss,
model, above_one}.

Keep rule (``mode``): ``threshold`` keeps ``ratio >= min_ifd`` (streamed, a batch at a time);
``top_fraction`` keeps the ``top_fraction`` highest-IFD records among those not above one (a
whole-input stage, like the dedup stages: every record is scored before any verdict).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from curate.config import option
from curate.filters.judge import histogram
from curate.filters.stage import Pairs, Stage, StageContext
from curate.filters.verdict import KEEP, Verdict, drop
from curate.records import Record, chunked
from curate.render import TEMPLATES, render

NAME = "ifd"
MODES = ("threshold", "top_fraction")
BINS = [round(i * 0.05, 2) for i in range(31)]  # 0 … 1.5 by 0.05; the last bin holds the rest


@dataclass
class IfdConfig:
    enabled: bool = option(
        False,
        "Score Instruction-Following Difficulty loss(output|prompt)/loss(output) with a small"
        " causal LM (reasons ifd:below_min, ifd:below_top_fraction, ifd:above_one, ifd:no_output);"
        " off unless asked for (--set ifd.enabled=true ifd.model=DIR).",
    )
    model: str = option("", "The scoring model: a local directory or hub id (transformers).")
    template: str = option(
        "alpaca", "Prompt template the output is conditioned on: " + ", ".join(TEMPLATES) + "."
    )
    mode: str = option(
        "threshold", "threshold: keep ratio >= min_ifd; top_fraction: keep the highest-IFD share."
    )
    min_ifd: float = option(0.0, "mode threshold: keep records with an IFD at least this.")
    top_fraction: float = option(0.1, "mode top_fraction: share of records kept (0-1].")
    drop_above_one: bool = option(
        True, "Reject records whose IFD is above 1 (the prompt does not help; ifd:above_one)."
    )
    batch_size: int = option(8, "Records scored per forward pass.")
    max_length: int = option(1024, "Tokens of prompt + output scored; the prompt is cut first.")
    device: str = option(
        "auto", "Torch device: auto (cuda when there is one, else cpu), cpu, cuda:1 …"
    )
    dtype: str = option("auto", "auto (bf16 on a GPU, fp32 on CPU), bf16, fp16 or fp32.")

    def validate(self) -> None:
        if self.enabled and not self.model:
            raise ValueError("ifd: model: required when ifd.enabled is true")
        if self.mode not in MODES:
            raise ValueError(f"ifd: mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.template not in TEMPLATES:
            raise ValueError(f"ifd: template must be one of {', '.join(TEMPLATES)}")
        if not 0 < self.top_fraction <= 1:
            raise ValueError(f"ifd: top_fraction: expected (0, 1], got {self.top_fraction}")
        if self.batch_size < 1 or self.max_length < 2:
            raise ValueError("ifd: batch_size must be >= 1 and max_length >= 2")


class IfdScorer:
    """A causal LM and its tokenizer; ``losses`` answers a batch of (prompt, output) pairs."""

    def __init__(self, path: str, device: str = "auto", dtype: str = "auto") -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = (
            ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        )
        names = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
        on_gpu = self.device.startswith("cuda")
        self.dtype = names.get(dtype, torch.bfloat16 if on_gpu else torch.float32)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=self.dtype).to(self.device)
        self.model.eval()
        self.name = path
        tok = self.tokenizer
        self.start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        self.pad = tok.pad_token_id if tok.pad_token_id is not None else self.start

    def _ids(self, prompt: str, output: str, max_length: int) -> tuple[list[int], list[int], int]:
        """(conditioned ids, plain ids, output length): both end with the same output tokens.
        The prompt's head is cut first; BOS starts both (a chat template writes its own)."""
        out = self.tokenizer(output, add_special_tokens=False)["input_ids"][: max_length - 1]
        head = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        if not head or head[0] != self.start:
            head = [self.start, *head]
        room = max_length - len(out)
        head = [self.start, *head[len(head) - room + 1 :]] if room < len(head) else head
        return head + out, [self.start, *out], len(out)

    def losses(
        self, pairs: list[tuple[str, str]], max_length: int
    ) -> list[tuple[float, float] | None]:
        """(loss(output | prompt), loss(output)) per pair, mean over the output tokens; None for
        an empty output."""
        rows: list[tuple[list[int], int]] = []
        for prompt, output in pairs:
            cond, plain, n = self._ids(prompt, output, max_length)
            rows += [(cond, n), (plain, n)]
        means = self._mean_losses(rows)
        return [
            None if rows[2 * i][1] == 0 else (means[2 * i], means[2 * i + 1])
            for i in range(len(pairs))
        ]

    def _mean_losses(self, rows: list[tuple[list[int], int]]) -> list[float]:
        """Mean cross-entropy over the last ``n`` tokens of each row (right-padded batch)."""
        import torch

        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        for r, (row, n) in enumerate(rows):
            ids[r, : len(row)] = torch.tensor(row)
            mask[r, : len(row)] = 1
            if n:
                labels[r, len(row) - n : len(row)] = torch.tensor(row[len(row) - n :])
        with torch.no_grad():
            logits = self.model(
                input_ids=ids.to(self.device), attention_mask=mask.to(self.device)
            ).logits
        logits, target = logits[:, :-1].float(), labels[:, 1:].to(self.device)
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)), target.reshape(-1), reduction="none"
        ).view(target.shape)
        counts = (target != -100).sum(dim=1).clamp(min=1)
        return (loss.sum(dim=1) / counts).tolist()


class IfdStage(Stage):
    name = NAME

    def __init__(self, cfg: IfdConfig, ctx: StageContext | None = None) -> None:
        cfg.validate()
        super().__init__(cfg, ctx)
        self.batch_size = cfg.batch_size
        self.scorer: IfdScorer | None = None
        self.kept: list[float] = []
        self.rejected: list[float] = []
        self.cutoff: float | None = None
        self.above_one = 0

    def score(self, batch: list[Record]) -> list[dict[str, Any] | None]:
        """meta.ifd of each record (also set on the record), None when it has no output."""
        if self.scorer is None:
            self.scorer = IfdScorer(self.cfg.model, self.cfg.device, self.cfg.dtype)
        scorer = self.scorer
        pairs = [render(rec, self.cfg.template, scorer.tokenizer) for rec in batch]
        out: list[dict[str, Any] | None] = []
        for rec, losses in zip(batch, scorer.losses(pairs, self.cfg.max_length), strict=True):
            if losses is None or losses[1] <= 0 or not all(map(math.isfinite, losses)):
                out.append(None)
                continue
            cond, plain = losses
            ratio = cond / plain
            rec.meta["ifd"] = {
                "ratio": round(ratio, 6),
                "conditioned_loss": round(cond, 6),
                "output_loss": round(plain, 6),
                "model": scorer.name,
                "above_one": ratio > 1,
            }
            self.above_one += ratio > 1
            out.append(rec.meta["ifd"])
        if self.ctx.progress is not None and self.cfg.mode == "top_fraction":
            self.ctx.progress(len(batch))
        return out

    def _verdict(self, ifd: dict[str, Any] | None, keep: bool, why: str, **ev: Any) -> Verdict:
        if ifd is None:
            return drop("ifd:no_output", NAME)
        (self.kept if keep else self.rejected).append(ifd["ratio"])
        if keep:
            return KEEP
        return drop(why, NAME, ifd=ifd["ratio"], **ev)

    def _gate(self, ifd: dict[str, Any] | None) -> Verdict | None:
        """The verdict both modes share: no output, or above one."""
        if ifd is None or (self.cfg.drop_above_one and ifd["above_one"]):
            return self._verdict(ifd, False, "ifd:above_one")
        return None

    def run(self, records: Iterable[Record]) -> Pairs:
        if self.cfg.mode == "threshold":
            for batch in chunked(records, self.batch_size):
                for rec, ifd in zip(batch, self.score(batch), strict=True):
                    v = self._gate(ifd)
                    if v is None:
                        keep = ifd["ratio"] >= self.cfg.min_ifd  # type: ignore[index]
                        v = self._verdict(ifd, keep, "ifd:below_min", min_ifd=self.cfg.min_ifd)
                    yield rec, v
            return
        recs = list(records)
        scores = [s for batch in chunked(recs, self.batch_size) for s in self.score(batch)]
        gated = self.cfg.drop_above_one
        eligible = [
            i for i, s in enumerate(scores) if s is not None and not (gated and s["above_one"])
        ]
        ranked = sorted(eligible, key=lambda i: (-scores[i]["ratio"], i))  # type: ignore[index]
        top = set(ranked[: math.ceil(self.cfg.top_fraction * len(ranked))])
        self.cutoff = min((scores[i]["ratio"] for i in top), default=None)  # type: ignore[index]
        for i, rec in enumerate(recs):
            v = self._gate(scores[i])
            if v is None:
                v = self._verdict(scores[i], i in top, "ifd:below_top_fraction", cutoff=self.cutoff)
            yield rec, v

    def summary(self) -> dict[str, Any]:
        if not self.enabled:
            return {}
        threshold = self.cfg.min_ifd if self.cfg.mode == "threshold" else self.cutoff
        return {
            "model": self.cfg.model,
            "mode": self.cfg.mode,
            "above_one": self.above_one,
            "score_histogram": {
                "label": "IFD = loss(output | prompt) / loss(output)",
                "edges": BINS,
                "threshold": threshold,
                "kept": histogram(BINS, self.kept),
                "rejected": histogram(BINS, self.rejected),
            },
        }
