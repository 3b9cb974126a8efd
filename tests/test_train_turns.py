"""Multi-turn conversations: every assistant reply is learned (or only the last), nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.records import Record
from curate.render import render, render_spans
from train.cli import app
from train.data import IGNORE, Example, tokenize
from train.model import load_tokenizer

REPLIES = ["Hello, Ada.", "Twelve plus thirty is 42.", "Goodbye!"]
CHAT = Record.from_messages(
    "c3",
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi, I am Ada."},
        {"role": "assistant", "content": REPLIES[0]},
        {"role": "user", "content": "What is 12 plus 30?"},
        {"role": "assistant", "content": REPLIES[1]},
        {"role": "user", "content": "Bye."},
        {"role": "assistant", "content": REPLIES[2]},
    ],
)
# what each template learns after a reply: ChatML its <|im_end|> (the newline opens the next
# turn); the tiny tokenizer's chat_template whatever it writes for the reply, newline included
END = {"alpaca": "<|im_end|>", "chatml": "<|im_end|>", "tokenizer": "<|im_end|>\n"}
TEMPLATES = list(END)


def learned_runs(ex: Example) -> list[list[int]]:
    """The maximal runs of learned tokens, each checked to be learned as itself."""
    runs: list[list[int]] = []
    previous = IGNORE
    for token, label in zip(ex.input_ids, ex.labels, strict=True):
        if label != IGNORE:
            assert label == token
            if previous == IGNORE:
                runs.append([])
            runs[-1].append(token)
        previous = label
    return runs


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_assistant_reply_and_its_end_is_learned(tiny_llama: Path, template: str) -> None:
    tok = load_tokenizer(str(tiny_llama))
    ex = tokenize(CHAT, template, tok)  # train_on: all_assistant is the default
    expected = [reply + END[template] for reply in REPLIES]
    expected[-1] += tok.eos_token
    assert [tok.decode(run) for run in learned_runs(ex)] == expected
    prompt, completion = render(CHAT, template, tok)
    assert tok.decode(ex.input_ids) == prompt + completion + tok.eos_token
    assert ex.labels[0] == IGNORE and ex.input_ids.count(tok.eos_token_id) == 1


@pytest.mark.parametrize("template", TEMPLATES)
def test_train_on_last_learns_only_the_final_reply(tiny_llama: Path, template: str) -> None:
    tok = load_tokenizer(str(tiny_llama))
    last = tokenize(CHAT, template, tok, train_on="last")
    every = tokenize(CHAT, template, tok, train_on="all_assistant")
    assert last.input_ids == every.input_ids  # the same text, only the labels differ
    runs = learned_runs(last)
    assert [tok.decode(run) for run in runs] == [REPLIES[-1] + END[template] + tok.eos_token]
    assert runs[0] == learned_runs(every)[-1]
    learned = sum(label != IGNORE for label in every.labels)
    assert learned > sum(label != IGNORE for label in last.labels)
    assert tokenize(CHAT, template, tok, completion_only=False, train_on="last").labels == (
        last.input_ids
    )


@pytest.mark.parametrize("template", TEMPLATES)
def test_single_turn_records_are_unchanged(
    tiny_llama: Path, template: str, train_records: list[Record]
) -> None:
    """A single reply: the same spans, ids and labels under either setting as the prompt /
    completion split (the tokenization before multi-turn learning)."""
    tok = load_tokenizer(str(tiny_llama))
    two_turns = Record.from_messages("c1", CHAT.messages[:3])
    for rec in [*train_records, two_turns]:
        prompt, completion = render(rec, template, tok)
        assert render_spans(rec, template, tok) == [(prompt, False), (completion, True)]
        ex = tokenize(rec, template, tok)
        assert ex == tokenize(rec, template, tok, train_on="last")
        n_prompt = len(tok(prompt, add_special_tokens=template != "tokenizer")["input_ids"])
        assert ex.labels == [IGNORE] * n_prompt + ex.input_ids[n_prompt:]


def test_a_template_that_rewrites_earlier_replies_asks_for_last(tiny_llama: Path) -> None:
    tok = load_tokenizer(str(tiny_llama))
    tok.chat_template = (  # earlier replies shortened, as templates that drop reasoning do
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
        "{% if m['role'] == 'assistant' and not loop.last %}...{% else %}{{ m['content'] }}{% endif %}"
        "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    with pytest.raises(ValueError, match="assistant reply 1 of 3 .* set train_on: last"):
        tokenize(CHAT, "tokenizer", tok)
    runs = learned_runs(tokenize(CHAT, "tokenizer", tok, train_on="last"))
    assert [tok.decode(run) for run in runs] == [REPLIES[-1] + "<|im_end|>\n" + tok.eos_token]


def test_render_command_counts_every_learned_reply(tiny_llama: Path) -> None:
    tok = load_tokenizer(str(tiny_llama))
    data = Path(__file__).resolve().parent.parent / "data" / "samples" / "chatml.jsonl"
    args = ["render", str(data), "-t", "chatml", "-n", "2", "--model", str(tiny_llama)]
    for train_on in ("all_assistant", "last"):
        result = CliRunner().invoke(app, [*args, "--train-on", train_on])
        assert result.exit_code == 0, result.output
        ex = tokenize(
            Record.from_messages("x", _second_record(data)), "chatml", tok, True, train_on
        )
        masked = ex.labels.count(IGNORE)
        assert f"({masked} masked + {len(ex) - masked} learned tokens)" in result.output
    bad = CliRunner().invoke(app, [*args, "--train-on", "every"])
    assert bad.exit_code == 1 and "--train-on" in bad.stderr


def _second_record(path: Path) -> list[dict[str, str]]:
    import json

    return json.loads(path.read_text().splitlines()[1])["messages"]
