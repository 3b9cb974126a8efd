"""Instruction formats (shapes of a row) ↔ Record.

Readers turn one row into one or more Records and raise FieldError naming the field at fault.
Writers turn Records into rows. Whatever a shape has no place for travels in the row's ``meta``;
Record fields that the shape cannot carry (an ``input`` inside a chat turn, a language) travel in
``meta["_fields"]`` and are restored on reading, so every conversion is lossless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from curate.io.errors import FieldError
from curate.records import ROLES, Record

Reader = Callable[[dict[str, Any], str, str, "str | None"], list[Record]]
RowWriter = Callable[[Record], dict[str, Any]]

SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",
    "system": "system",
}
TO_SHAREGPT = {"user": "human", "assistant": "gpt", "system": "system"}
RESTORE_KEY = "_fields"


# ---------------------------------------------------------------- reading


def _text(data: dict[str, Any], key: str, *, required: bool = True, nonempty: bool = False) -> str:
    if key not in data or data[key] is None:
        if required:
            raise FieldError(key, "missing field")
        return ""
    value = data[key]
    if not isinstance(value, str):
        raise FieldError(key, f"expected a string, got {type(value).__name__}")
    if nonempty and not value.strip():
        raise FieldError(key, "empty")
    return value


def _record_id(data: dict[str, Any], fallback: str) -> str:
    value = data.get("id")
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != "":
        return str(value)
    return fallback


def _meta(
    data: dict[str, Any], used: set[str], source: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(meta, fields-to-restore): the row's own meta, unknown keys, and provenance."""
    meta = data.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise FieldError("meta", f"expected an object, got {type(meta).__name__}")
    meta = dict(meta or {})
    restore = meta.pop(RESTORE_KEY, {})
    for key, value in data.items():
        if key not in used and key not in ("meta", "id"):
            meta[key] = value
    meta.setdefault("source", source)
    return meta, restore


def _finish(rec: Record, restore: dict[str, Any], lang: str | None) -> Record:
    for key, value in restore.items():
        setattr(rec, key, value)
    if rec.lang is None:
        rec.lang = lang
    return rec


def _messages(
    turns: Any, field: str, role_key: str, text_key: str, roles: dict[str, str]
) -> list[dict[str, str]]:
    if not isinstance(turns, list) or not turns:
        raise FieldError(field, "expected a non-empty list of turns")
    out = []
    for i, turn in enumerate(turns):
        where = f"{field}[{i}]"
        if not isinstance(turn, dict):
            raise FieldError(where, f"expected an object, got {type(turn).__name__}")
        role = turn.get(role_key)
        if role not in roles:
            raise FieldError(
                f"{where}.{role_key}", f"unknown role {role!r}; expected one of {sorted(roles)}"
            )
        text = turn.get(text_key)
        if not isinstance(text, str):
            raise FieldError(f"{where}.{text_key}", f"expected a string, got {type(text).__name__}")
        out.append({"role": roles[role], "content": text})
    if not any(m["role"] == "user" and m["content"].strip() for m in out):
        raise FieldError(field, "no non-empty user turn")
    return out


def read_alpaca(
    data: dict[str, Any], source: str, fallback_id: str, lang: str | None
) -> list[Record]:
    """Alpaca, Bactrian-X (adds id) and our own Record JSONL (adds messages, lang, meta)."""
    used = {"instruction", "input", "output", "messages", "lang"}
    meta, restore = _meta(data, used, source)
    rid = _record_id(data, fallback_id)
    row_lang = _text(data, "lang", required=False) or None
    if data.get("messages") is not None:
        msgs = _messages(data["messages"], "messages", "role", "content", {r: r for r in ROLES})
        rec = Record.from_messages(rid, msgs, lang=row_lang, meta=meta)
        rec.input = _text(data, "input", required=False)
    else:
        rec = Record(
            id=rid,
            instruction=_text(data, "instruction", nonempty=True),
            input=_text(data, "input", required=False),
            output=_text(data, "output"),
            lang=row_lang,
            meta=meta,
        )
    return [_finish(rec, restore, lang)]


def read_dolly(
    data: dict[str, Any], source: str, fallback_id: str, lang: str | None
) -> list[Record]:
    meta, restore = _meta(data, {"instruction", "context", "response"}, source)
    rec = Record(
        id=_record_id(data, fallback_id),
        instruction=_text(data, "instruction", nonempty=True),
        input=_text(data, "context", required=False),
        output=_text(data, "response"),
        meta=meta,
    )
    return [_finish(rec, restore, lang)]


def read_seed(
    data: dict[str, Any], source: str, fallback_id: str, lang: str | None
) -> list[Record]:
    """A self-instruct seed task: one Record per instance."""
    instruction = _text(data, "instruction", nonempty=True)
    instances = data.get("instances")
    if not isinstance(instances, list) or not instances:
        raise FieldError("instances", "expected a non-empty list of {input, output}")
    task_id = _record_id(data, fallback_id)
    out = []
    for i, inst in enumerate(instances):
        if not isinstance(inst, dict):
            raise FieldError(f"instances[{i}]", f"expected an object, got {type(inst).__name__}")
        inp = _text(inst, "input", required=False)
        try:
            output = _text(inst, "output")
        except FieldError as e:
            raise FieldError(f"instances[{i}].{e.field}", e.message) from None
        meta, restore = _meta(data, {"instruction", "instances"}, source)
        meta.update({"task": task_id, "instance": i})
        extra = {k: v for k, v in inst.items() if k not in ("input", "output")}
        if extra:
            meta["instance_extra"] = extra
        rec = Record(
            id=f"{task_id}#{i}", instruction=instruction, input=inp, output=output, meta=meta
        )
        out.append(_finish(rec, restore, lang))
    return out


def read_sharegpt(
    data: dict[str, Any], source: str, fallback_id: str, lang: str | None
) -> list[Record]:
    meta, restore = _meta(data, {"conversations"}, source)
    msgs = _messages(data.get("conversations"), "conversations", "from", "value", SHAREGPT_ROLES)
    rec = Record.from_messages(_record_id(data, fallback_id), msgs, meta=meta)
    return [_finish(rec, restore, lang)]


def read_chatml(
    data: dict[str, Any], source: str, fallback_id: str, lang: str | None
) -> list[Record]:
    meta, restore = _meta(data, {"messages"}, source)
    msgs = _messages(data.get("messages"), "messages", "role", "content", {r: r for r in ROLES})
    rec = Record.from_messages(_record_id(data, fallback_id), msgs, meta=meta)
    return [_finish(rec, restore, lang)]


# ---------------------------------------------------------------- writing


def _with_meta(row: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    if meta:
        row["meta"] = meta
    return row


def _single_turn(rec: Record) -> dict[str, Any]:
    """The fields every single-turn shape keeps; multi-turn messages go to meta."""
    meta = dict(rec.meta)
    if rec.messages is not None:
        meta[RESTORE_KEY] = {"messages": rec.messages}
    return meta


def write_alpaca(rec: Record) -> dict[str, Any]:
    row = {"id": rec.id, "instruction": rec.instruction, "input": rec.input, "output": rec.output}
    return _with_meta(row, _single_turn(rec))


def write_dolly(rec: Record) -> dict[str, Any]:
    meta = _single_turn(rec)
    row = {
        "id": rec.id,
        "instruction": rec.instruction,
        "context": rec.input,
        "response": rec.output,
    }
    if "category" in meta:
        row["category"] = meta.pop("category")
    return _with_meta(row, meta)


def write_sharegpt(rec: Record) -> dict[str, Any]:
    turns = [{"from": TO_SHAREGPT[m["role"]], "value": m["content"]} for m in rec.to_messages()]
    return _with_meta({"id": rec.id, "conversations": turns}, dict(rec.meta))


def write_chatml(rec: Record) -> dict[str, Any]:
    return _with_meta({"id": rec.id, "messages": rec.to_messages()}, dict(rec.meta))


def write_record(rec: Record) -> dict[str, Any]:
    return rec.to_dict()


def write_seed_rows(records: Iterable[Record]) -> Iterator[dict[str, Any]]:
    """Group consecutive records of the same task back into one seed task."""
    task: dict[str, Any] | None = None
    for rec in records:
        meta = dict(rec.meta)
        task_id = meta.pop("task", rec.id)
        meta.pop("instance", None)
        instance = {"input": rec.input, "output": rec.output, **meta.pop("instance_extra", {})}
        if task is not None and task["id"] == task_id and task["instruction"] == rec.instruction:
            task["instances"].append(instance)
            continue
        if task is not None:
            yield task
        name = meta.pop("name", str(task_id))
        is_cls = meta.pop("is_classification", False)
        task = {
            "id": task_id,
            "name": name,
            "instruction": rec.instruction,
            "instances": [instance],
        }
        task["is_classification"] = is_cls
        lost = {k: getattr(rec, k) for k in ("messages", "lang") if getattr(rec, k) is not None}
        if lost:
            meta[RESTORE_KEY] = lost
        if meta:
            task["meta"] = meta
    if task is not None:
        yield task
