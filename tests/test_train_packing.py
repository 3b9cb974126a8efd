"""Segment attention on padding-free packed rows: same logits, loss and gradients as unpacked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from curate.records import Record
from train.attention import choose, segment_lengths, takes_padding_free
from train.data import IGNORE, Example, tokenize
from train.model import add_lora, load_base, load_tokenizer
from train.packing import Collator, pack, padding_free_batch, single


class _Lora:
    r, alpha, dropout, target_modules = 4, 8, 0.0, "auto"


class _Cfg:
    gradient_checkpointing = False
    lora = _Lora()


def _batches(
    path: Path, records: list[Record], max_len: int = 400
) -> tuple[list[Example], dict, dict]:
    tok = load_tokenizer(str(path))
    examples = [tokenize(r, "alpaca", tok) for r in records + records[:2]]
    rows = pack(examples, max_len)
    assert len(rows) >= 2 and any(len(r.seq_lens) > 1 for r in rows)  # several rows, real packing
    free = Collator(tok.pad_token_id, packed=True, padding_free=True)(rows)
    padded = Collator(tok.pad_token_id, packed=False)(single(examples))
    assert free.pop("num_tokens") == padded.pop("num_tokens") == free["input_ids"].shape[1]
    return examples, free, padded


def test_segment_lengths() -> None:
    pos = torch.tensor([[0, 1, 2, 0, 1, 0, 1, 2, 3]])
    assert segment_lengths(pos, None, 9) == [3, 2, 4]
    assert segment_lengths(None, torch.tensor([0, 3, 5, 9]), 9) == [3, 2, 4]
    assert segment_lengths(torch.arange(9)[None], None, 9) == [9]
    assert segment_lengths(pos.repeat(2, 1), None, 9) is None  # padded batches keep their mask
    assert segment_lengths(torch.tensor([[0, 1, 3]]), None, 3) is None  # not concatenated aranges
    assert segment_lengths(None, torch.tensor([0, 3, 5]), 9) is None


def test_padding_free_batch_is_one_row_without_padding(
    tiny_llama: Path, train_records: list[Record]
) -> None:
    examples, free, _ = _batches(tiny_llama, train_records)
    assert free["input_ids"].shape == free["labels"].shape == free["position_ids"].shape
    assert "attention_mask" not in free and free["input_ids"].shape[0] == 1
    lens = segment_lengths(free["position_ids"], None, free["input_ids"].shape[1])
    assert lens is not None and sorted(lens) == sorted(len(e) for e in examples)
    starts = free["cu_seq_lens_q"][:-1].tolist()
    assert all(free["labels"][0, s] == IGNORE for s in starts)  # never predicted across examples
    assert free["max_length_q"] == max(lens)
    assert padding_free_batch(pack(examples, 10_000))["input_ids"].shape == free["input_ids"].shape


@pytest.fixture(params=["llama", "falcon"])
def packed(
    request: pytest.FixtureRequest, train_records: list[Record]
) -> tuple[str, Path, list[Example], dict, dict]:
    """(arch, tiny model, examples, padding-free batch, padded batch) for each architecture."""
    path = request.getfixturevalue(f"tiny_{request.param}")
    return (request.param, path, *_batches(path, train_records))


def test_segment_attention_logits_equal_unpacked(
    packed: tuple[str, Path, list[Example], dict, dict],
) -> None:
    arch, path, examples, free, padded = packed
    ours = load_base(str(path), "none", torch.float32, "auto").eval()
    plain = load_base(str(path), "none", torch.float32, "sdpa").eval()
    assert takes_padding_free(ours) and not takes_padding_free(plain)
    with torch.no_grad():
        out = ours(**free)
        ref = plain(**padded)
        leaky = plain(**free)  # the same row with position ids alone: examples see each other
        # padded batches go through plain sdpa, unchanged
        assert torch.allclose(ours(**padded).logits, ref.logits, atol=1e-5)
    assert torch.isclose(out.loss, ref.loss, rtol=1e-5, atol=1e-5), (out.loss, ref.loss)
    assert not torch.isclose(leaky.loss, ref.loss, rtol=1e-4, atol=1e-4)
    by_len = {len(e): b for b, e in enumerate(examples)}
    start = 0
    for n in segment_lengths(free["position_ids"], None, free["input_ids"].shape[1]) or []:
        got = out.logits[0, start : start + n]
        assert torch.allclose(got, ref.logits[by_len[n], :n], atol=1e-4), (arch, n)
        start += n


def _grads(model: Any, batch: dict) -> tuple[float, dict[str, torch.Tensor]]:
    model.zero_grad()
    loss = model(**batch).loss
    loss.backward()
    return loss.item(), {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


def test_segment_attention_gradients_equal_unpacked_4bit_lora(
    packed: tuple[str, Path, list[Example], dict, dict],
) -> None:
    _, path, _, free, padded = packed
    torch.manual_seed(0)
    model = add_lora(load_base(str(path), "4bit", torch.float32, "segment_sdpa"), _Cfg(), True)
    for name, p in model.named_parameters():  # LoRA B starts at zero: make A's gradient non-zero
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.02)
    loss_free, g_free = _grads(model, free)
    loss_pad, g_pad = _grads(model, padded)
    assert abs(loss_free - loss_pad) < 1e-5
    assert g_free and g_free.keys() == g_pad.keys()
    for name in g_free:
        assert torch.allclose(g_free[name], g_pad[name], rtol=1e-4, atol=1e-6), name
        assert g_free[name].abs().sum() > 0, name


def test_auto_choice_and_which_models_take_padding_free_rows(
    tiny_llama: Path, tiny_falcon: Path
) -> None:
    from transformers import AutoConfig

    from train.attention import takes_padding_free

    assert choose("auto", AutoConfig.from_pretrained(tiny_llama)) == ("segment_sdpa", False)
    assert choose("auto", AutoConfig.from_pretrained(tiny_falcon)) == ("sdpa", True)
    assert choose("eager", AutoConfig.from_pretrained(tiny_llama)) == ("eager", False)
    for attn, expected in [("auto", True), ("sdpa", False)]:
        model = load_base(str(tiny_llama), "none", torch.float32, attn)
        assert takes_padding_free(model) is expected, attn
