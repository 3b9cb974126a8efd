"""Training text: prompt masking, EOS, packing without attention across examples."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from curate.records import Record
from curate.render import render
from train.cli import app
from train.data import IGNORE, Example, split, tokenize
from train.model import load_tokenizer
from train.packing import Collator, block_causal_mask, pack, single


@pytest.mark.parametrize("template", ["alpaca", "chatml", "tokenizer"])
def test_labels_mask_exactly_the_prompt_and_end_with_eos(
    tiny_llama: Path, template: str, train_records: list[Record]
) -> None:
    tok = load_tokenizer(str(tiny_llama))
    for rec in train_records:
        ex = tokenize(rec, template, tok)
        prompt, completion = render(rec, template, tok)
        n_prompt = len(tok(prompt, add_special_tokens=template != "tokenizer")["input_ids"])
        assert ex.labels[:n_prompt] == [IGNORE] * n_prompt
        assert IGNORE not in ex.labels[n_prompt:]
        assert ex.labels[n_prompt:] == ex.input_ids[n_prompt:]
        assert ex.input_ids[-1] == ex.labels[-1] == tok.eos_token_id
        assert ex.input_ids.count(tok.eos_token_id) == 1
        assert tok.decode(ex.input_ids[n_prompt:-1]) == completion  # the boundary is exact


def test_completion_only_off_learns_the_prompt_too(
    tiny_llama: Path, train_records: list[Record]
) -> None:
    tok = load_tokenizer(str(tiny_llama))
    ex = tokenize(train_records[0], "alpaca", tok, completion_only=False)
    assert ex.labels == ex.input_ids and ex.labels[-1] == tok.eos_token_id


def test_pad_token_falls_back_without_touching_eos(tmp_path: Path, tiny_llama: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    tok.pad_token = None
    tok.save_pretrained(tmp_path)
    loaded = load_tokenizer(str(tmp_path))
    assert loaded.pad_token == "<unk>" and loaded.eos_token == "</s>"


def test_split_holds_out_and_keeps_everything() -> None:
    examples = [Example([i], [i]) for i in range(20)]
    train, val = split(examples, 0.1, seed=1)
    assert len(val) == 2 and len(train) == 18
    assert sorted(e.input_ids[0] for e in train + val) == list(range(20))
    assert split(examples[:1], 0.5, seed=1) == (examples[:1], [])


def test_pack_keeps_every_token_and_respects_max_len() -> None:
    examples = [Example(list(range(n)), list(range(n))) for n in (5, 9, 3, 7, 2, 8, 4)]
    rows = pack(examples, max_len=12)
    assert all(len(r.input_ids) <= 12 and sum(r.seq_lens) == len(r.input_ids) for r in rows)
    assert sorted(n for r in rows for n in r.seq_lens) == sorted(len(e) for e in examples)
    assert len(rows) == 4  # 38 tokens in rows of 12: first-fit decreasing needs 4


def test_block_causal_mask() -> None:
    mask = block_causal_mask([2, 3], 6)
    expected = torch.tensor(
        [
            [1, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0],
            [0, 0, 1, 0, 0, 0],
            [0, 0, 1, 1, 0, 0],
            [0, 0, 1, 1, 1, 0],
            [0, 0, 0, 0, 0, 1],  # padding attends only to itself (no NaN rows)
        ],
        dtype=torch.bool,
    )
    assert torch.equal(mask, expected)


@pytest.mark.parametrize("arch", ["llama", "falcon"])
@pytest.mark.parametrize("completion_only", [True, False])
def test_packed_loss_equals_unpacked(
    request: pytest.FixtureRequest, arch: str, completion_only: bool, train_records: list[Record]
) -> None:
    from transformers import AutoModelForCausalLM

    path = request.getfixturevalue(f"tiny_{arch}")
    tok = load_tokenizer(str(path))
    model = AutoModelForCausalLM.from_pretrained(
        path, dtype=torch.float32, attn_implementation="sdpa"
    ).eval()
    examples = [tokenize(r, "alpaca", tok, completion_only) for r in train_records]
    packed_rows = pack(examples, max_len=sum(len(e) for e in examples))
    assert len(packed_rows) == 1 and len(packed_rows[0].seq_lens) == len(examples)
    with torch.no_grad():
        packed = Collator(tok.pad_token_id, packed=True)(packed_rows)
        padded = Collator(tok.pad_token_id, packed=False)(single(examples))
        assert packed["attention_mask"].shape[1:2] == (1,) and packed["attention_mask"].ndim == 4
        assert packed.pop("num_tokens") == padded.pop("num_tokens")
        loss_packed = model(**packed).loss
        loss_padded = model(**padded).loss
        # without the 4D mask (position ids alone), packed examples attend to each other
        leaky = model(
            input_ids=packed["input_ids"],
            position_ids=packed["position_ids"],
            labels=packed["labels"],
        ).loss
    assert torch.isclose(loss_packed, loss_padded, rtol=1e-5, atol=1e-5), (loss_packed, loss_padded)
    assert not torch.isclose(leaky, loss_padded, rtol=1e-4, atol=1e-4)


def test_eager_gets_an_additive_mask(tiny_llama: Path, train_records: list[Record]) -> None:
    from transformers import AutoModelForCausalLM

    tok = load_tokenizer(str(tiny_llama))
    examples = [tokenize(r, "chatml", tok) for r in train_records[:3]]
    rows = pack(examples, max_len=400)
    batch = Collator(tok.pad_token_id, packed=True, additive_dtype=torch.float32)(rows)
    batch.pop("num_tokens")
    assert batch["attention_mask"].dtype == torch.float32
    model = AutoModelForCausalLM.from_pretrained(tiny_llama, attn_implementation="eager").eval()
    padded = Collator(tok.pad_token_id, packed=False)(single(examples))
    padded.pop("num_tokens")
    with torch.no_grad():
        assert torch.isclose(model(**batch).loss, model(**padded).loss, atol=1e-5)


def test_render_command_shows_prompt_and_completion(tiny_llama: Path, project_data: Path) -> None:
    alpaca = str(project_data / "samples" / "alpaca.json")
    result = CliRunner().invoke(
        app, ["render", alpaca, "-t", "chatml", "-n", "2", "--model", str(tiny_llama)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("<|im_start|>assistant") == 2
    assert "masked +" in result.output and "</s>" in result.output
    bad = CliRunner().invoke(app, ["render", alpaca, "-t", "tokenizer"])
    assert bad.exit_code == 1 and "chat_template" in bad.stderr
