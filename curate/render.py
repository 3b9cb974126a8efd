"""Records → training text: ChatML, the Alpaca prompt, or any tokenizer's own chat_template.

``render_spans`` cuts the text into ``(text, learned)`` spans: the prompt and every user/system
turn are masked; with ``train_on="all_assistant"`` every assistant reply is learned, with
``"last"`` only the final one (earlier replies are masked like the prompt). A learned span is
the reply plus the end-of-turn marker the template writes after it (ChatML: ``<|im_end|>``; a
chat_template: whatever it adds for the reply); the trainer appends EOS after the last span.
A conversation ends at its last assistant reply. ``render`` gives ``(prompt, completion)`` of
the last reply, the prompt holding the whole conversation before it (what generation sees).
"""

from __future__ import annotations

from typing import Any

from curate.records import Record
from curate.templates import render_template

TEMPLATES = ("alpaca", "chatml", "tokenizer")
TRAIN_ON = ("all_assistant", "last")

Span = tuple[str, bool]  # (text, learned)


def _conversation(rec: Record) -> list[dict[str, str]]:
    """The turns up to the last assistant reply (an empty reply appended when there is none)."""
    messages = rec.to_messages()
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        return [*messages, {"role": "assistant", "content": ""}]
    return messages[: last + 1]


def _learned_turns(messages: list[dict[str, str]], train_on: str) -> list[int]:
    """Indices of the assistant turns to learn; the last message is always one of them."""
    if train_on == "last":
        return [len(messages) - 1]
    if train_on == "all_assistant":
        return [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    raise ValueError(f"unknown train_on {train_on!r}; choose one of {', '.join(TRAIN_ON)}")


def _ordinal(messages: list[dict[str, str]], i: int) -> str:
    """``"2 of 3"``: which assistant reply message ``i`` is."""
    replies = [j for j, m in enumerate(messages) if m["role"] == "assistant"]
    return f"{replies.index(i) + 1} of {len(replies)}"


def alpaca_spans(rec: Record, train_on: str = "all_assistant") -> list[Span]:
    """The Stanford Alpaca prompt (with or without an input section), then the output."""
    if rec.messages is not None:
        return chatml_spans(rec, train_on)  # Alpaca's template has no place for several turns
    if rec.input:
        values = {"instruction": rec.instruction, "input": rec.input}
        prompt = render_template("train/alpaca.txt", values)
    else:
        prompt = render_template("train/alpaca_no_input.txt", {"instruction": rec.instruction})
    return [(prompt, False), (rec.output, True)]


def chatml_spans(rec: Record, train_on: str = "all_assistant") -> list[Span]:
    """``<|im_start|>role\\ncontent<|im_end|>\\n`` turns; a learned reply is ``content<|im_end|>``
    (the newline after it opens the next turn, so it is masked with that turn)."""
    messages = _conversation(rec)
    learned = set(_learned_turns(messages, train_on))
    spans: list[Span] = []
    masked = ""
    for i, m in enumerate(messages):
        if i in learned:
            spans += [
                (masked + "<|im_start|>assistant\n", False),
                (m["content"] + "<|im_end|>", True),
            ]
            masked = "\n"
        else:
            masked += f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n"
    return spans


def chat_template_spans(rec: Record, tokenizer: Any, train_on: str = "all_assistant") -> list[Span]:
    """The tokenizer's own chat_template. Each learned reply is found by rendering prefixes: the
    conversation before it with the generation prompt, and the conversation through it; the reply
    is what the second adds to the first (as trl's assistant masks do without generation tags)."""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("template 'tokenizer' needs a tokenizer with a chat_template")
    messages = _conversation(rec)

    def chat(turns: list[dict[str, str]], generation_prompt: bool = False) -> str:
        return tokenizer.apply_chat_template(
            turns, tokenize=False, add_generation_prompt=generation_prompt
        )

    full = chat(messages)
    spans: list[Span] = []
    done = 0  # characters of ``full`` already in spans
    for i in _learned_turns(messages, train_on):
        prompt = chat(messages[:i], generation_prompt=True)
        through = full if i == len(messages) - 1 else chat(messages[: i + 1])
        if i == len(messages) - 1 and not full.startswith(prompt):
            raise ValueError(
                "the tokenizer's chat_template renders the prompt differently inside the full chat"
            )
        prefixes = full.startswith(prompt) and full.startswith(through)
        if not (prefixes and done <= len(prompt) <= len(through)):
            raise ValueError(
                f"the tokenizer's chat_template renders assistant reply {_ordinal(messages, i)} "
                "differently later in the conversation (it may drop reasoning); set train_on: last"
            )
        spans += [(full[done : len(prompt)], False), (full[len(prompt) : len(through)], True)]
        done = len(through)
    return spans


def render_spans(
    rec: Record, template: str, tokenizer: Any = None, train_on: str = "all_assistant"
) -> list[Span]:
    """The training text as ``(text, learned)`` spans, masked and learned in turn, masked first."""
    if template == "alpaca":
        return alpaca_spans(rec, train_on)
    if template == "chatml":
        return chatml_spans(rec, train_on)
    if template == "tokenizer":
        return chat_template_spans(rec, tokenizer, train_on)
    raise ValueError(f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}")


def render(rec: Record, template: str, tokenizer: Any = None) -> tuple[str, str]:
    """``(prompt, completion)``: the last reply, and the whole conversation before it."""
    (prompt, _), (completion, _) = render_spans(rec, template, tokenizer, train_on="last")
    return prompt, completion
