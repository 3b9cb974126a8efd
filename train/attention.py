"""Segment attention: a packed row pays only for each example's own attention (Σ len² instead of L²).

A padding-free packed batch is one row of concatenated examples whose position ids restart at 0 for
each example (plus ``cu_seq_lens_q/k``, the flash-attention varlen convention). ``segment_sdpa``
cuts the row at those boundaries and runs sdpa with ``is_causal=True`` on each example (examples of
equal length go together in one call), so nothing attends across examples and nothing is computed
for pairs that would be masked anyway. Anything else (a padded batch, a KV-cache step) goes to
transformers' own sdpa unchanged.

Models that call attention through transformers' ``AttentionInterface`` (Llama, Mistral, Qwen…) get
it by name: ``attn_implementation="segment_sdpa"``. Falcon calls sdpa itself and passes attention
nothing but position ids, so its attention modules are switched to a subclass that does the same.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)

NAME = "segment_sdpa"
VARLEN = (NAME, "flash_attention_2")  # implementations that take padding-free packed rows


def segment_lengths(
    position_ids: torch.Tensor | None, cu_seq_lens: torch.Tensor | None, length: int
) -> list[int] | None:
    """The example lengths of a padding-free row, or None when the row is not one.

    ``cu_seq_lens`` (0, n1, n1+n2, …) wins; else position ids must be concatenated ``arange``s.
    """
    if cu_seq_lens is not None:
        bounds = cu_seq_lens.tolist()
        if bounds[0] == 0 and bounds[-1] == length:
            return [b - a for a, b in zip(bounds, bounds[1:], strict=False)]
        return None
    if position_ids is None or position_ids.shape[0] != 1 or position_ids.shape[-1] != length:
        return None
    pos = position_ids[0]
    if pos[0] != 0 or not bool(((pos[1:] == pos[:-1] + 1) | (pos[1:] == 0)).all()):
        return None
    starts = [*torch.nonzero(pos == 0).flatten().tolist(), length]
    return [b - a for a, b in zip(starts, starts[1:], strict=False)]


def attend_segments(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    lengths: Sequence[int],
    scale: float | None,
    dropout: float = 0.0,
) -> torch.Tensor:
    """Causal sdpa within each segment of one row. (1, H, L, D) → (1, H, L, D); kv heads repeated."""
    heads = query.shape[1]
    if key.shape[1] != heads:  # grouped / multi-query attention
        key = key.repeat_interleave(heads // key.shape[1], dim=1)
        value = value.repeat_interleave(heads // value.shape[1], dim=1)
    starts = [0]
    for n in lengths[:-1]:
        starts.append(starts[-1] + n)
    by_len: dict[int, list[int]] = defaultdict(list)
    for s, n in zip(starts, lengths, strict=True):
        by_len[n].append(s)
    pieces: dict[int, torch.Tensor] = {}
    for n, group in by_len.items():
        q, k, v = (torch.stack([t[0, :, s : s + n] for s in group]) for t in (query, key, value))
        o = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True, scale=scale)
        pieces.update(zip(group, o, strict=True))
    return torch.cat([pieces[s] for s in starts], dim=1)[None]


def segment_sdpa_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """The ``AttentionInterface`` function: segments when the row is padding-free, else plain sdpa."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    length = query.shape[2]
    lengths = None
    if query.shape[0] == 1 and key.shape[2] == length and length > 1:
        lengths = segment_lengths(kwargs.get("position_ids"), kwargs.get("cu_seq_lens_q"), length)
    if lengths is None:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    out = attend_segments(query, key, value, lengths, scaling, dropout)
    return out.transpose(1, 2).contiguous(), None


def register() -> None:
    """Make ``segment_sdpa`` a valid attn_implementation (mask built as for sdpa). Idempotent."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(NAME, segment_sdpa_forward)
    ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)


@cache
def _falcon_segment_class() -> type:
    from transformers.models.falcon.modeling_falcon import FalconAttention, apply_rotary_pos_emb

    class FalconSegmentAttention(FalconAttention):
        """Falcon's rotary attention with segment_sdpa on padding-free rows; the rest as Falcon does it."""

        def forward(  # type: ignore[override]
            self,
            hidden_states: torch.Tensor,
            alibi: torch.Tensor | None,
            attention_mask: torch.Tensor,
            position_ids: torch.Tensor | None = None,
            layer_past: Any = None,
            use_cache: bool = False,
            output_attentions: bool = False,
            position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
            **kwargs: Any,
        ) -> tuple[torch.Tensor, None]:
            batch, length = hidden_states.shape[:2]
            fresh = layer_past is None or layer_past.get_seq_length(self.layer_idx) == 0
            lengths = None
            if alibi is None and not output_attentions and batch == 1 and length > 1 and fresh:
                lengths = segment_lengths(position_ids, None, length)
            if lengths is None:
                return super().forward(
                    hidden_states, alibi, attention_mask, position_ids, layer_past, use_cache,
                    output_attentions, position_embeddings, **kwargs,
                )  # fmt: skip
            kv_heads = self.num_heads if self.new_decoder_architecture else self.num_kv_heads
            q, k, v = self._split_heads(self.query_key_value(hidden_states))
            q = q.transpose(1, 2).reshape(batch, self.num_heads, length, self.head_dim)
            k = k.transpose(1, 2).reshape(batch, kv_heads, length, self.head_dim)
            v = v.transpose(1, 2).reshape(batch, kv_heads, length, self.head_dim)
            q, k = apply_rotary_pos_emb(q, k, *position_embeddings)
            if layer_past is not None:
                k, v = layer_past.update(k, v, self.layer_idx)
            out = attend_segments(q, k, v, lengths, scale=None)
            out = out.permute(0, 2, 1, 3).reshape(batch, length, self.num_heads * self.head_dim)
            return self.dense(out), None

    return FalconSegmentAttention


def _supports_interface(config: Any) -> bool:
    from transformers import AutoModelForCausalLM

    cls = AutoModelForCausalLM._model_mapping.get(type(config), None)
    return bool(getattr(cls, "_supports_attention_backend", False))


def choose(requested: str, config: Any) -> tuple[str, bool]:
    """(attn_implementation to load with, whether to switch Falcon's modules afterwards).

    ``auto``: flash_attention_2 (varlen) on a GPU that has flash-attn, else segment_sdpa where the
    architecture allows it, else sdpa (packing then uses the 4D block-diagonal mask).
    """
    from transformers.utils import is_flash_attn_2_available

    if requested == "auto":
        if torch.cuda.is_available() and is_flash_attn_2_available():
            return "flash_attention_2", False
        requested = NAME
    if requested != NAME:
        return requested, False
    register()
    if _supports_interface(config):
        return NAME, False
    if config.model_type == "falcon" and not getattr(config, "alibi", False):
        return "sdpa", True
    log.warning("segment_sdpa: %s is not supported; using sdpa with a 4D mask", config.model_type)
    return "sdpa", False


def switch_falcon(model: nn.Module) -> int:
    """Turn every (sdpa) FalconAttention of ``model`` into the segment subclass; returns how many."""
    from transformers.models.falcon.modeling_falcon import FalconAttention

    cls = _falcon_segment_class()
    found = [m for m in model.modules() if type(m) is FalconAttention]
    for m in found:
        m.__class__ = cls
    return len(found)


def takes_padding_free(model: nn.Module) -> bool:
    """Whether packed batches may be one padding-free row (segment or flash-varlen attention)."""
    config = getattr(model, "config", None)
    if getattr(config, "_attn_implementation", None) in VARLEN:
        return True
    return any(type(m).__name__ == "FalconSegmentAttention" for m in model.modules())
