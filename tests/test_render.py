"""Records → training text: exact renders of the shipped templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from curate.records import Record
from curate.render import render, render_spans

REC = Record("r1", "Say hello.", "to Ada", "Hello, Ada!")
CHAT = Record.from_messages(
    "c1",
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Bye"},
        {"role": "assistant", "content": "Goodbye."},
    ],
)


def test_alpaca_exact() -> None:
    assert render(REC, "alpaca") == (
        "Below is an instruction that describes a task, paired with an input that provides further context. "
        "Write a response that appropriately completes the request.\n\n"
        "### Instruction:\nSay hello.\n\n### Input:\nto Ada\n\n### Response:\n",
        "Hello, Ada!",
    )
    no_input = Record("r2", "Say hello.", output="Hello!")
    assert render(no_input, "alpaca")[0] == (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
        "### Instruction:\nSay hello.\n\n### Response:\n"
    )


def test_chatml_exact_multi_turn() -> None:
    assert render(CHAT, "chatml") == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
        "Goodbye.<|im_end|>",
    )


def test_chatml_spans_learn_every_reply_or_the_last() -> None:
    assert render_spans(CHAT, "chatml") == [
        ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
         "<|im_start|>assistant\n", False),
        ("Hello.<|im_end|>", True),
        ("\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n", False),
        ("Goodbye.<|im_end|>", True),
    ]  # fmt: skip
    assert render_spans(CHAT, "chatml", train_on="last") == [
        (render(CHAT, "chatml")[0], False),
        ("Goodbye.<|im_end|>", True),
    ]
    with pytest.raises(ValueError, match="unknown train_on"):
        render_spans(CHAT, "chatml", train_on="every")


def test_tokenizer_chat_template(tiny_llama: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    prompt, completion = render(REC, "tokenizer", tok)
    assert prompt == "<|im_start|>user\nSay hello.\n\nto Ada<|im_end|>\n<|im_start|>assistant\n"
    assert completion == "Hello, Ada!<|im_end|>\n"


def test_unknown_template() -> None:
    with pytest.raises(ValueError, match="unknown template"):
        render(REC, "vicuna")


def test_train_render_shows_hostile_text_without_obeying_it(tmp_path: Path) -> None:
    """Terminal escapes and bidi overrides in a record are removed before `train render` prints."""
    from typer.testing import CliRunner

    from train.cli import app

    row = '{"id": "x\\u001b[2J", "instruction": "Say \\u001b[31mred now", "output": "ok \\u202e done"}'
    (tmp_path / "esc.jsonl").write_text(row + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["render", str(tmp_path / "esc.jsonl"), "-n", "1"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "Say [31mred now" in result.output and "ok  done" in result.output
