"""Records → training text: ChatML, the Alpaca prompt, or any tokenizer's own chat_template.

Every renderer returns ``(prompt, completion)``: the trainer masks the prompt and learns the
completion, which ends with the end-of-turn marker (the trainer appends the tokenizer's EOS).
Multi-turn records render the whole conversation up to the last assistant turn as the prompt.
"""

from __future__ import annotations

from typing import Any

from curate.records import Record
from curate.templates import render_template

TEMPLATES = ("alpaca", "chatml", "tokenizer")


def render_alpaca(rec: Record) -> tuple[str, str]:
    """The Stanford Alpaca prompt (with or without an input section)."""
    if rec.messages is not None:
        return render_chatml(rec)  # Alpaca's template has no place for several turns
    if rec.input:
        values = {"instruction": rec.instruction, "input": rec.input}
        prompt = render_template("train/alpaca.txt", values)
    else:
        prompt = render_template("train/alpaca_no_input.txt", {"instruction": rec.instruction})
    return prompt, rec.output


def _split_last_reply(messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], str]:
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        return messages, ""
    return messages[:last], messages[last]["content"]


def render_chatml(rec: Record) -> tuple[str, str]:
    """``<|im_start|>role\\ncontent<|im_end|>`` turns; the completion closes its turn."""
    history, reply = _split_last_reply(rec.to_messages())
    prompt = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in history)
    return prompt + "<|im_start|>assistant\n", reply + "<|im_end|>"


def render_chat_template(rec: Record, tokenizer: Any) -> tuple[str, str]:
    """The tokenizer's own chat_template; the completion is whatever the template adds for the reply."""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("template 'tokenizer' needs a tokenizer with a chat_template")
    history, reply = _split_last_reply(rec.to_messages())
    prompt = tokenizer.apply_chat_template(history, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(
        [*history, {"role": "assistant", "content": reply}], tokenize=False
    )
    if not full.startswith(prompt):
        raise ValueError(
            "the tokenizer's chat_template renders the prompt differently inside the full chat"
        )
    return prompt, full[len(prompt) :]


def render(rec: Record, template: str, tokenizer: Any = None) -> tuple[str, str]:
    if template == "alpaca":
        return render_alpaca(rec)
    if template == "chatml":
        return render_chatml(rec)
    if template == "tokenizer":
        return render_chat_template(rec, tokenizer)
    raise ValueError(f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}")
