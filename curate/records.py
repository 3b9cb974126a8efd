"""The one record type that every format reads into and writes from.

A single-turn record uses ``instruction`` / ``input`` / ``output``. A multi-turn conversation
(ShareGPT, ChatML with a system turn, more than one exchange) keeps ``messages`` whole; its
``instruction`` and ``output`` are then a view of one real exchange (``exchanges``: a reply and
the user turn it answers; the first one unless ``single_turn`` chose another), never the first
question beside the last answer, so that filters can look at every record the same way.
``single_turn`` turns a conversation into single-turn records for a format that has no place
for one (``curate convert --multi-turn``).

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
MULTI_TURN = ("split", "first", "last", "keep")  # curate convert --multi-turn
SPLIT_KEY = "split_turn"  # meta of a record split from a conversation: {conversation, turn, of}


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
        pairs = exchanges(messages)
        if pairs:  # the first reply and the user turn it answers
            (u, a) = pairs[0]
            instruction, output = messages[u]["content"], messages[a]["content"]
        else:  # no user turn has been answered yet
            user = [m["content"] for m in messages if m["role"] == "user"]
            instruction = next((t for t in user if t.strip()), user[0] if user else "")
            output = ""
        return cls(id=id, instruction=instruction, output=output, messages=messages, **kw)

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


def exchanges(messages: list[dict[str, str]]) -> list[tuple[int, int]]:
    """``(user, assistant)`` message indices of every reply that answers a user turn: the last
    non-blank user turn before it (a reply before any user turn answers nothing and is left out;
    a blank user turn asks nothing and stays in the history)."""
    out: list[tuple[int, int]] = []
    user: int | None = None
    for i, m in enumerate(messages):
        if m["role"] == "user" and m["content"].strip():
            user = i
        elif m["role"] == "assistant" and user is not None:
            out.append((user, i))
    return out


def single_turn(rec: Record, mode: str) -> list[Record]:
    """A conversation as single-turn records, as ``mode`` says (a single-turn record as it is).

    ``split``: one record per reply (ids ``<id>#t<k>``): the user turn it answers as the
    instruction, every earlier turn rendered as the input (``User: …`` paragraphs), the reply as
    the output; unanswered user turns at the end make one more record with an empty output, so
    every turn is in some record. ``first`` / ``last``: one record showing the first / last
    exchange, the whole conversation kept in ``messages`` (a single-turn writer stores it in
    ``meta._fields``: reading the file back restores it). ``keep``: unchanged.
    """
    if rec.messages is None or mode == "keep":
        return [rec]
    if mode not in MULTI_TURN:
        raise ValueError(f"unknown multi-turn mode {mode!r}; choose one of {', '.join(MULTI_TURN)}")
    msgs, pairs = rec.messages, exchanges(rec.messages)
    if mode in ("first", "last"):
        if not pairs:
            return [rec]
        u, a = pairs[0] if mode == "first" else pairs[-1]
        out = Record(rec.id, msgs[u]["content"], rec.input, msgs[a]["content"], msgs, rec.lang)
        out.meta = dict(rec.meta)
        return [out]
    return _split(rec, msgs, pairs)


def _split(rec: Record, msgs: list[dict[str, str]], pairs: list[tuple[int, int]]) -> list[Record]:
    turns: list[tuple[int, int | None]] = list(pairs)
    rest = range(pairs[-1][1] + 1 if pairs else 0, len(msgs))
    asked = [j for j in rest if msgs[j]["role"] == "user" and msgs[j]["content"].strip()]
    if asked:  # the conversation ends with a question nobody answered: a record without output
        turns.append((asked[-1], None))
    if not turns:  # no user turn at all (never read from a file): nothing to pair
        return [rec]
    # Every turn is rendered once and the history text before the current user turn grows by
    # appending (the user turns are in order): no per-turn pass over the whole conversation.
    # The result is render_history(rec.input, every turn before the reply but the question).
    shown = [_paragraph(m) for m in msgs]
    head, done = rec.input, 0  # render_history(rec.input, msgs[:done])
    out = []
    for k, (u, a) in enumerate(turns, 1):
        if u > done:  # one new string per turn, whatever number of turns it adds
            head = "\n\n".join([head, *shown[done:u]] if head else shown[done:u])
            done = u
        between = shown[u + 1 : len(msgs) if a is None else a]  # turns after the question
        history = "\n\n".join([head, *between] if head else between)
        meta = {**rec.meta, SPLIT_KEY: {"conversation": rec.id, "turn": k, "of": len(turns)}}
        reply = "" if a is None else msgs[a]["content"]
        out.append(
            Record(
                f"{rec.id}#t{k}", msgs[u]["content"], history, reply, lang=rec.lang, meta=meta,
            )
        )  # fmt: skip
    if not asked and rest:  # only system turns after the last reply: kept in its meta
        out[-1].meta["trailing_turns"] = [dict(msgs[j]) for j in rest]
    return out


def render_history(input: str, history: list[dict[str, str]]) -> str:
    """The turns before a reply as text: ``Role: content`` paragraphs (after the record's own
    input, if it has one)."""
    parts = [input] if input else []
    parts += [_paragraph(m) for m in history]
    return "\n\n".join(parts)


def _paragraph(message: dict[str, str]) -> str:
    return f"{message['role'].capitalize()}: {message['content']}"


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
