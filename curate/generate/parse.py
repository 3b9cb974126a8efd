"""Model text → instructions and instances, tolerantly; whatever does not parse is returned as a
:class:`Failure` with its raw text, never dropped.

Every parser takes the prompt's last line plus the completion (the model continues that line:
``"9."`` + ``" Write a poem…"``), so the first item is seen with its label.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from curate.generate.prompts import NOINPUT
from curate.jsonout import dumps


@dataclass
class Failure:
    reason: str  # "no-numbered-items", "truncated", "missing-output", "invalid-json" …
    raw: str


@dataclass
class Instance:
    input: str
    output: str


@dataclass
class Triple:
    instruction: str
    input: str
    output: str


@dataclass
class Parsed:
    """What a completion held, in the order it held it: items (str | Instance | Triple) and failures."""

    entries: list = field(default_factory=list)

    def add(self, entry: object) -> None:
        self.entries.append(entry)

    @property
    def items(self) -> list:
        return [e for e in self.entries if not isinstance(e, Failure)]

    @property
    def failures(self) -> list[Failure]:
        return [e for e in self.entries if isinstance(e, Failure)]


# "1.", "1)", "(1)", "#1", "1:", "1 -", "Task 1:", "Instruction 1." at the start of a line
_NUMBERED = re.compile(
    r"^[ \t]*(?:(?:task|instruction)[ \t]*)?\(?(#)?(\d{1,3})(?:[ \t]*[.):]|[ \t]+-(?=\s)|(?(1)[ \t]))[ \t]*(.*)$",
    re.IGNORECASE | re.MULTILINE,
)


def parse_instruction_list(text: str, truncated: bool = False) -> Parsed:
    """Numbered items; lines without a number continue the item above. With ``truncated`` (the
    completion hit max_tokens) the last item may be cut off, so it becomes a failure."""
    matches = list(_NUMBERED.finditer(text))
    out = Parsed()
    if not matches:
        out.add(Failure("no-numbered-items", text))
        return out
    for k, m in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(text)
        raw = text[m.start() : end]
        item = " ".join((m.group(3) + text[m.end() : end]).split())
        if truncated and k == len(matches) - 1:
            out.add(Failure("truncated", raw))
        elif not item:
            out.add(Failure("empty-item", raw))
        else:
            out.add(item)
    return out


def parse_classification(text: str) -> bool | None:
    """Yes / No (first word, any case); None when the answer is neither."""
    words = re.findall(r"[A-Za-z]+", text)
    if not words:
        return None
    first = words[0].lower()
    return True if first in ("yes", "true") else False if first in ("no", "false") else None


_LABEL = re.compile(
    r"^[ \t]*(input|output|class[ \t]+label|label)[ \t]*:[ \t]*", re.IGNORECASE | re.MULTILINE
)
_NEXT_TASK = re.compile(r"^[ \t]*task[ \t]*:", re.IGNORECASE | re.MULTILINE)


def _field(text: str) -> str:
    text = text.strip()
    return "" if text.lower() in (NOINPUT, "<no input>", "<none>") else text


def _segments(text: str) -> list[tuple[str, str]]:
    labels = list(_LABEL.finditer(text))
    segs = []
    for k, m in enumerate(labels):
        end = labels[k + 1].start() if k + 1 < len(labels) else len(text)
        name = m.group(1).lower()
        segs.append(("label" if "label" in name else name, text[m.end() : end]))
    return segs


def parse_instances(text: str, output_first: bool, truncated: bool = False) -> Parsed:
    """Input/Output pairs (input first), or Class label/Input pairs (output first)."""
    nxt = _NEXT_TASK.search(text)
    if nxt:
        text = text[: nxt.start()]
    out = Parsed()
    pending: str | None = None
    for name, value in _segments(text):
        if output_first and name in ("label", "output"):
            pending = value
        elif output_first and pending is not None:  # an input closes a label → input pair
            out.add(Instance(_field(value), _field(pending)))
            pending = None
        elif name == "input":
            pending = value
        elif name == "output":  # input first: an output closes the pair (input may be missing)
            out.add(Instance(_field(pending or ""), _field(value)))
            pending = None
    if not out.items:
        missing = "missing-input" if output_first else "missing-output"
        out.add(Failure(missing, text))
    elif truncated:
        out.entries.pop()
        out.add(Failure("truncated", text))
    return out


def _json_object(
    text: str, key: str, missing: str, ok: Callable[[Any], bool]
) -> tuple[Parsed, Any]:
    """A new Parsed, and the JSON object ``text`` holds from its first ``{`` when its ``key`` is
    ``ok``; else None, and the Parsed holds the failure: invalid-json, or ``missing``."""
    out = Parsed()
    start = text.find("{")
    try:
        if start < 0:
            raise ValueError("no JSON object")
        obj, _ = json.JSONDecoder(strict=False).raw_decode(text[start:])  # control chars in strings
    except ValueError:
        out.add(Failure("invalid-json", text))
        return out, None
    if not ok(obj.get(key)):  # from a "{": always a dict
        out.add(Failure(missing, text))
        return out, None
    return out, obj


def parse_json_instance(text: str) -> Parsed:
    """{"input": ..., "output": ...} (structured output)."""
    out, obj = _json_object(text, "output", "missing-output", lambda v: isinstance(v, str))
    if obj is not None:
        inp = obj.get("input", "")
        out.add(
            Instance(_field(inp if isinstance(inp, str) else dumps(inp)), obj["output"].strip())
        )
    return out


_SEPARATOR = re.compile(r"^[ \t]*#{3,}[ \t]*$", re.MULTILINE)
_ALPACA_LABEL = re.compile(
    r"^[ \t]*(?:\d{1,3}[ \t]*[.)][ \t]*)?(instruction|input|output)[ \t]*:[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)


def _alpaca_block(block: str) -> Triple | Failure:
    labels = list(_ALPACA_LABEL.finditer(block))
    fields: dict[str, str] = {}
    for k, m in enumerate(labels):
        end = labels[k + 1].start() if k + 1 < len(labels) else len(block)
        fields.setdefault(m.group(1).lower(), block[m.end() : end])
    instruction = " ".join(fields.get("instruction", "").split())
    if not instruction:
        return Failure("missing-instruction", block)
    if "output" not in fields:
        return Failure("missing-output", block)
    return Triple(instruction, _field(fields.get("input", "")), fields["output"].strip())


def parse_alpaca(text: str, truncated: bool = False) -> Parsed:
    """Blocks separated by ``###``, each with Instruction / Input / Output sections."""
    blocks = [b.strip("\n") for b in _SEPARATOR.split(text) if b.strip()]
    out = Parsed()
    if not blocks:
        out.add(Failure("no-tasks", text))
    for k, block in enumerate(blocks):
        if truncated and k == len(blocks) - 1:
            out.add(Failure("truncated", block))
            continue
        item = _alpaca_block(block)
        out.add(item)
    return out


def parse_alpaca_json(text: str) -> Parsed:
    """{"tasks": [{"instruction", "input", "output"}, ...]} (structured output)."""
    out, obj = _json_object(text, "tasks", "no-tasks", lambda v: isinstance(v, list) and bool(v))
    for task in obj["tasks"] if obj is not None else ():
        raw = dumps(task, ensure_ascii=False)
        if not isinstance(task, dict) or not str(task.get("instruction", "")).strip():
            out.add(Failure("missing-instruction", raw))
        elif not isinstance(task.get("output"), str):
            out.add(Failure("missing-output", raw))
        else:
            inp = task.get("input", "")
            out.add(
                Triple(
                    " ".join(str(task["instruction"]).split()),
                    _field(str(inp)),
                    task["output"].strip(),
                )
            )
    return out


INSTANCE_SCHEMA = {
    "type": "object",
    "properties": {"input": {"type": "string"}, "output": {"type": "string"}},
    "required": ["input", "output"],
    "additionalProperties": False,
}


def alpaca_schema(max_tasks: int) -> dict:
    task = {
        "type": "object",
        "properties": {k: {"type": "string"} for k in ("instruction", "input", "output")},
        "required": ["instruction", "input", "output"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "tasks": {"type": "array", "items": task, "minItems": 1, "maxItems": max_tasks}
        },
        "required": ["tasks"],
        "additionalProperties": False,
    }
