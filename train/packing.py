"""Packing several examples into one sequence, and the collators that batch them.

Packed examples must not attend to each other. Measured with transformers 5.x on CPU: resetting
position_ids alone does NOT stop attention across examples with the ``sdpa`` or ``eager``
implementations while ``use_cache`` is on (the default); with ``use_cache=False`` (what trl passes)
transformers builds a block-diagonal mask from them, at full L² cost. We do not rely on either.
Two batch layouts, by attention implementation:

- padding-free (``segment_sdpa`` of train/attention.py, flash_attention_2): every row of the batch
  concatenated into ONE row, no pad token at all, position ids restarting at 0 per example and the
  boundaries as ``cu_seq_lens_q/k`` + ``max_length_q/k``; attention costs Σ len² per example;
- 4D mask (``sdpa``, ``eager``): rows padded to the batch's longest with a block-diagonal causal
  mask ``(batch, 1, L, L)`` — transformers passes a 4D mask through as is — costing L² per row.

Either way packed logits equal unpacked ones (tests/test_train_data.py, test_train_packing.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from train.data import IGNORE, Example


@dataclass
class Row:
    """One training sequence: one example, or several packed ones (their lengths in ``seq_lens``)."""

    input_ids: list[int]
    labels: list[int]
    seq_lens: list[int]


def single(examples: list[Example]) -> list[Row]:
    return [Row(e.input_ids, e.labels, [len(e)]) for e in examples]


def pack(examples: list[Example], max_len: int) -> list[Row]:
    """First-fit decreasing: longest examples first, each into the first row with room."""
    rows: list[Row] = []
    space: list[int] = []
    for e in sorted(examples, key=len, reverse=True):
        i = next((i for i, free in enumerate(space) if free >= len(e)), None)
        if i is None:
            rows.append(Row([], [], []))
            space.append(max_len)
            i = len(rows) - 1
        rows[i].input_ids += e.input_ids
        # after the model's label shift, an example's first label would be predicted from the previous
        # example's last token; unpacked it is never a target, so mask it here too
        rows[i].labels += [IGNORE, *e.labels[1:]]
        rows[i].seq_lens.append(len(e))
        space[i] -= len(e)
    return rows


def block_causal_mask(seq_lens: list[int], length: int) -> torch.Tensor:
    """(length, length) bool, True = may attend: causal within each example, nothing across.

    Padding positions attend only to themselves (a fully masked row would give NaN in sdpa).
    """
    seg = torch.full((length,), -1, dtype=torch.long)
    start = 0
    for i, n in enumerate(seq_lens):
        seg[start : start + n] = i
        start += n
    pad = seg < 0
    seg[pad] = -1 - torch.arange(int(pad.sum()))  # each pad token its own segment
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    return causal & (seg[:, None] == seg[None, :])


@dataclass
class Collator:
    """Pads rows to the batch's longest; packed rows get the 4D mask and restarted position ids.

    ``additive_dtype`` turns the bool mask into 0 / -inf (the ``eager`` implementation adds the mask
    to the scores); ``sdpa`` takes the bool mask as is. ``padding_free`` (packed only): one row of
    concatenated examples instead (see the module doc). ``num_tokens`` (real, non-pad tokens) is
    read by the trainer for tokens/s and removed before the forward pass.
    """

    pad_id: int
    packed: bool
    additive_dtype: torch.dtype | None = None
    padding_free: bool = False

    def __call__(self, rows: list[Row]) -> dict[str, Any]:
        if self.packed and self.padding_free:
            return padding_free_batch(rows)
        length = max(len(r.input_ids) for r in rows)
        ids = torch.full((len(rows), length), self.pad_id, dtype=torch.long)
        labels = torch.full((len(rows), length), IGNORE, dtype=torch.long)
        for b, r in enumerate(rows):
            ids[b, : len(r.input_ids)] = torch.tensor(r.input_ids)
            labels[b, : len(r.labels)] = torch.tensor(r.labels)
        batch: dict[str, Any] = {"input_ids": ids, "labels": labels}
        batch["num_tokens"] = sum(len(r.input_ids) for r in rows)
        if not self.packed:
            mask = torch.zeros((len(rows), length), dtype=torch.long)
            for b, r in enumerate(rows):
                mask[b, : len(r.input_ids)] = 1
            batch["attention_mask"] = mask
            return batch
        mask4d = torch.stack([block_causal_mask(r.seq_lens, length) for r in rows])[:, None]
        if self.additive_dtype is not None:
            zero = torch.zeros((), dtype=self.additive_dtype)
            mask4d = torch.where(mask4d, zero, torch.finfo(self.additive_dtype).min)
        batch["attention_mask"] = mask4d
        positions = torch.zeros((len(rows), length), dtype=torch.long)
        for b, r in enumerate(rows):
            positions[b, : len(r.input_ids)] = torch.cat([torch.arange(n) for n in r.seq_lens])
        batch["position_ids"] = positions
        return batch


def padding_free_batch(rows: list[Row]) -> dict[str, Any]:
    """All rows as one (1, N) row: no padding, no mask; example boundaries in position ids and cu_seq_lens."""
    lens = [n for r in rows for n in r.seq_lens]
    ids = torch.tensor([[t for r in rows for t in r.input_ids]])
    labels = torch.tensor([[t for r in rows for t in r.labels]])
    positions = torch.cat([torch.arange(n) for n in lens])[None]
    cu = torch.zeros(len(lens) + 1, dtype=torch.int32)
    cu[1:] = torch.tensor(lens).cumsum(0)
    return {
        "input_ids": ids,
        "labels": labels,
        "position_ids": positions,
        "cu_seq_lens_q": cu,
        "cu_seq_lens_k": cu,
        "max_length_q": max(lens),
        "max_length_k": max(lens),
        "num_tokens": ids.shape[1],
    }
