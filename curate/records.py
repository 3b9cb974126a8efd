"""The one record type that every format reads into and writes from.

A single-turn record uses ``instruction`` / ``input`` / ``output``. A multi-turn conversation
(ShareGPT, ChatML with a system turn, more than one exchange) keeps ``messages`` whole; its
``instruction`` and ``output`` are then views of the first user turn and the last assistant turn,
so that filters can look at every record the same way.

``meta`` holds everything a format has that the record has no field for (Dolly's ``category``, a
seed task's ``name``), plus provenance (``source`` = the ``file:line`` it was first read from).
Writers put ``meta`` back so a round trip through any format loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from curate.jsonout import dumps

ROLES = ("system", "user", "assistant")


@dataclass
class Record:
    id: str
    instruction: str
    input: str = ""
    output: str = ""
    messages: list[dict[str, str]] | None = None
    lang: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_messages(cls, id: str, messages: list[dict[str, str]], **kw: Any) -> Record:
        """A conversation; a plain user → assistant exchange becomes a single-turn record."""
        roles = [m["role"] for m in messages]
        if roles == ["user", "assistant"]:
            return cls(
                id=id, instruction=messages[0]["content"], output=messages[1]["content"], **kw
            )
        first_user = next((m["content"] for m in messages if m["role"] == "user"), "")
        last_reply = next(
            (m["content"] for m in reversed(messages) if m["role"] == "assistant"), ""
        )
        return cls(id=id, instruction=first_user, output=last_reply, messages=messages, **kw)

    def to_messages(self) -> list[dict[str, str]]:
        """The record as a conversation (instruction and input joined into the user turn)."""
        if self.messages is not None:
            return [dict(m) for m in self.messages]
        return [
            {"role": "user", "content": self.prompt_text()},
            {"role": "assistant", "content": self.output},
        ]

    def prompt_text(self) -> str:
        """Instruction and input as one user message, separated by a blank line."""
        return f"{self.instruction}\n\n{self.input}" if self.input else self.instruction

    def text(self) -> str:
        """All the words of the record, for dedup and language checks."""
        if self.messages is not None:
            return "\n".join(m["content"] for m in self.messages)
        return "\n".join(part for part in (self.instruction, self.input, self.output) if part)

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data (a deep copy, like ``dataclasses.asdict``); ``messages`` and
        ``lang`` only when set. Built by hand: asdict's generic recursion is ≈5x slower."""
        try:
            d: dict[str, Any] = {
                "id": self.id,
                "instruction": self.instruction,
                "input": self.input,
                "output": self.output,
            }
            if self.messages is not None:
                d["messages"] = _plain_copy(self.messages)
            if self.lang is not None:
                d["lang"] = self.lang
            d["meta"] = _plain_copy(self.meta)
            return d
        except _NotPlain:  # a value JSON has no type for: asdict's own deep copy
            d = asdict(self)
            if d["messages"] is None:
                del d["messages"]
            if d["lang"] is None:
                del d["lang"]
            return d

    def to_json(self) -> str:
        return dumps(self.to_dict(), ensure_ascii=False)


class _NotPlain(Exception):
    pass


_SCALARS = (str, int, float, bool, type(None))


def _plain_copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars); _NotPlain for anything else."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {k: _plain_copy(v) for k, v in value.items()}
    if kind is list:
        return [_plain_copy(v) for v in value]
    raise _NotPlain


def chunked(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    """Consecutive lists of at most ``size`` records (the last may be shorter)."""
    chunk: list[Record] = []
    for rec in records:
        chunk.append(rec)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
