"""A conversation written to a single-turn format (alpaca, dolly, seed) is split, or shows one
exchange, as `--multi-turn` says: every (instruction, output) is a real (user turn, the reply to
it) pair of the conversation, never its first question beside its last answer (issue 10)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from curate.cli import app
from curate.convert import convert
from curate.io import Reject, read_records, write_records
from curate.records import Record, exchanges, render_history, single_turn

ROOT = Path(__file__).resolve().parent.parent

TURNS = [
    ("system", "You answer in one sentence."),
    ("user", "What is the capital of France?"),
    ("assistant", "Paris is the capital of France."),
    ("user", "And of Italy?"),
    ("assistant", "Rome is the capital of Italy."),
    ("user", "Which of the two is older?"),
    ("assistant", "Rome is older; it was founded in the 8th century BC."),
]
MESSAGES = [{"role": r, "content": c} for r, c in TURNS]
PAIRS = [(TURNS[1][1], TURNS[2][1]), (TURNS[3][1], TURNS[4][1]), (TURNS[5][1], TURNS[6][1])]
SHAREGPT = {"human": "user", "gpt": "assistant", "system": "system"}


def write_conversation(tmp_path: Path, fmt: str) -> Path:
    """One 3-turn conversation (with a system turn) and one single-turn row, in ``fmt``."""
    if fmt == "sharegpt":
        to_sg = {v: k for k, v in SHAREGPT.items()}
        conv = [{"from": to_sg[r], "value": c} for r, c in TURNS]
        rows = [
            {"id": "c1", "conversations": conv},
            {"id": "s1", "conversations": [conv[1], conv[2]]},
        ]
        path = tmp_path / "in.sharegpt.json"
        path.write_text(json.dumps(rows))
    else:
        rows = [{"id": "c1", "messages": MESSAGES}, {"id": "s1", "messages": MESSAGES[1:3]}]
        path = tmp_path / "in.chatml.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_rows(path: Path) -> list[dict]:
    text = path.read_text()
    return (
        json.loads(text) if path.suffix == ".json" else [json.loads(x) for x in text.splitlines()]
    )


def pair_of(row: dict) -> tuple[str, str]:
    return row["instruction"], row["output"] if "output" in row else row["response"]


def records_of(path: Path) -> list[Record]:
    items = list(read_records(str(path)))
    assert not [i for i in items if isinstance(i, Reject)]
    return items  # type: ignore[return-value]


@pytest.mark.parametrize("source", ["sharegpt", "chatml"])
@pytest.mark.parametrize(("to", "suffix"), [("alpaca", ".json"), ("dolly", ".jsonl")])
def test_split_is_one_real_pair_per_reply(
    tmp_path: Path, source: str, to: str, suffix: str
) -> None:
    out = tmp_path / f"out{suffix}"
    result = convert(str(write_conversation(tmp_path, source)), str(out), to=to)
    assert (result.multi_turn, result.conversations, result.from_conversations) == ("split", 1, 3)
    assert result.turns_note() == "1 conversation split into 3 records (one per reply)"
    rows = read_rows(out)
    assert [r["id"] for r in rows] == ["c1#t1", "c1#t2", "c1#t3", "s1"]
    assert [pair_of(r) for r in rows] == [*PAIRS, PAIRS[0]]
    history = [r.get("input", r.get("context")) for r in rows]
    assert history[0] == "System: You answer in one sentence."
    assert history[2] == (
        "System: You answer in one sentence.\n\nUser: What is the capital of France?\n\n"
        "Assistant: Paris is the capital of France.\n\nUser: And of Italy?\n\n"
        "Assistant: Rome is the capital of Italy."
    )
    assert history[3] == ""  # a plain user → assistant exchange is single-turn, unchanged
    assert rows[1]["meta"]["split_turn"] == {"conversation": "c1", "turn": 2, "of": 3}
    assert "_fields" not in rows[1]["meta"]  # each record stands alone; read back, it stays one
    assert [(r.instruction, r.output, r.messages) for r in records_of(out)] == [
        (*p, None) for p in [*PAIRS, PAIRS[0]]
    ]


@pytest.mark.parametrize("source", ["sharegpt", "chatml"])
@pytest.mark.parametrize(("to", "suffix"), [("alpaca", ".json"), ("dolly", ".jsonl")])
@pytest.mark.parametrize(("mode", "pair"), [("first", PAIRS[0]), ("last", PAIRS[-1])])
def test_first_or_last_shows_that_exchange_and_keeps_the_conversation(
    tmp_path: Path, source: str, to: str, suffix: str, mode: str, pair: tuple[str, str]
) -> None:
    out = tmp_path / f"out{suffix}"
    result = convert(str(write_conversation(tmp_path, source)), str(out), to=to, multi_turn=mode)
    assert (result.conversations, result.from_conversations) == (1, 1)
    assert f"the {mode} exchange of each" in result.turns_note()
    rows = read_rows(out)
    assert [r["id"] for r in rows] == ["c1", "s1"]
    assert [pair_of(r) for r in rows] == [pair, PAIRS[0]]
    back = records_of(out)  # the lossless round trip: the conversation comes back whole
    assert back[0].messages == MESSAGES and back[1].messages is None
    assert (back[0].instruction, back[0].output) == pair
    sharegpt = tmp_path / "back.sharegpt.json"
    write_records(sharegpt, back, to="sharegpt")
    turns = read_rows(sharegpt)[0]["conversations"]
    assert [(SHAREGPT[t["from"]], t["value"]) for t in turns] == TURNS


@pytest.mark.parametrize("source", ["sharegpt", "chatml"])
def test_keep_is_for_formats_that_hold_conversations(tmp_path: Path, source: str) -> None:
    src = str(write_conversation(tmp_path, source))
    with pytest.raises(ValueError, match="alpaca has no place for a conversation"):
        convert(src, str(tmp_path / "a.json"), to="alpaca", multi_turn="keep")
    with pytest.raises(ValueError, match="chatml keeps conversations whole"):
        convert(src, str(tmp_path / "b.jsonl"), to="chatml", multi_turn="split")
    with pytest.raises(ValueError, match="choose one of split, first, last, keep"):
        convert(src, str(tmp_path / "c.json"), to="alpaca", multi_turn="middle")
    assert not list(tmp_path.glob("[abc].json*"))  # refused before anything is written
    convert(src, str(tmp_path / "d.jsonl"), to="chatml")  # default keep: lossless as before
    assert [r.messages for r in records_of(tmp_path / "d.jsonl")][0] == MESSAGES


def test_record_views_are_a_real_exchange_in_every_writer(tmp_path: Path) -> None:
    rec = Record.from_messages("c1", MESSAGES)
    assert (rec.instruction, rec.output) == PAIRS[0]  # was (first question, LAST answer)
    for to in ("alpaca", "dolly", "seed"):  # the library writers (filter --to) keep it lossless
        out = tmp_path / f"{to}.jsonl"
        write_records(out, [rec], to=to)
        row = read_rows(out)[0]
        if to == "seed":
            row = {"instruction": row["instruction"], "output": row["instances"][0]["output"]}
        assert pair_of(row) == PAIRS[0]
        assert records_of(out)[0].messages == MESSAGES
    double = [MESSAGES[1], {"role": "user", "content": "Say it shorter."}, MESSAGES[2]]
    assert Record.from_messages("d", double).instruction == "Say it shorter."


def test_split_keeps_every_turn_of_an_odd_conversation() -> None:
    turns = [
        {"role": "assistant", "content": "Hello! Ask me anything."},  # answers nothing
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4."},
        {"role": "assistant", "content": "Anything else?"},  # a second reply to the same turn
        {"role": "user", "content": "   "},  # asks nothing
        {"role": "user", "content": "And 3+3?"},  # never answered
    ]
    recs = single_turn(Record.from_messages("x", turns), "split")
    got = [(r.id, r.instruction, r.output) for r in recs]
    assert got == [
        ("x#t1", "What is 2+2?", "4."),
        ("x#t2", "What is 2+2?", "Anything else?"),
        ("x#t3", "And 3+3?", ""),
    ]
    assert recs[1].input == "Assistant: Hello! Ask me anything.\n\nAssistant: 4."
    assert all(t["content"] in recs[-1].input for t in turns[:5])
    tail = [*turns[1:3], {"role": "system", "content": "end of session"}]
    (only,) = single_turn(Record.from_messages("y", tail), "split")
    assert only.meta["trailing_turns"] == [tail[2]]


ROLE = st.sampled_from(["system", "user", "assistant"])
TEXT = st.text(alphabet="ab \n", max_size=6)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.tuples(ROLE, TEXT), min_size=1, max_size=8))
def test_split_never_pairs_a_reply_with_a_question_it_does_not_answer(turns: list) -> None:
    msgs = [{"role": r, "content": f"{i}:{t}"} for i, (r, t) in enumerate(turns)]
    if not any(m["role"] == "user" for m in msgs):
        return
    rec = Record.from_messages("c", msgs)
    answered = {(msgs[u]["content"], msgs[a]["content"]) for u, a in exchanges(msgs)}
    if rec.messages is not None and rec.output:
        assert (rec.instruction, rec.output) in answered
    recs = single_turn(rec, "split")
    for r in recs:
        assert r.output == "" or (r.instruction, r.output) in answered or rec.messages is None
    kept = [[r.input, r.instruction, r.output] for r in recs]
    kept += [[t["content"] for t in r.meta.get("trailing_turns", [])] for r in recs]
    every = "\n".join(x for part in kept for x in part)
    assert all(m["content"] in every for m in msgs)  # no turn lost


# sha256[:16] of these single-turn samples converted before --multi-turn existed
SINGLE_TURN_BYTES = {
    ("data/samples/alpaca.json", "alpaca"): "ac1ffc0687804e24",
    ("data/samples/alpaca.json", "dolly"): "07ba21838750ad55",
    ("data/samples/alpaca.jsonl", "alpaca"): "cbb70e4ae87ce1f3",
    ("data/samples/dolly.jsonl", "alpaca"): "d4211943b547a154",
    ("data/samples/dolly.jsonl", "dolly"): "801177b588eff240",
    ("data/samples/seed_tasks_sample.jsonl", "seed"): "99683a88514a379c",
}


def test_single_turn_data_is_unchanged_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # meta.source holds the path as given
    for (sample, to), digest in SINGLE_TURN_BYTES.items():
        out = tmp_path / ("o.json" if to == "alpaca" else "o.jsonl")
        result = convert(sample, str(out), to=to)
        assert result.conversations == 0 and result.turns_note() == ""
        assert hashlib.sha256(out.read_bytes()).hexdigest()[:16] == digest, (sample, to)


def test_cli_says_what_became_of_the_conversations(tmp_path: Path) -> None:
    runner = CliRunner()
    assert "--multi-turn" in runner.invoke(app, ["convert", "--help"]).output
    src = str(write_conversation(tmp_path, "chatml"))
    done = runner.invoke(app, ["convert", src, str(tmp_path / "o.json"), "--to", "alpaca"])
    assert done.exit_code == 0
    assert done.stderr.splitlines() == [
        "1 conversation split into 3 records (one per reply)",
        f"4 converted → {tmp_path / 'o.json'}",
    ]
    bad = runner.invoke(
        app, ["convert", src, str(tmp_path / "p.json"), "--to", "alpaca", "--multi-turn", "keep"]
    )
    assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert bad.stderr.startswith("error: --multi-turn keep: alpaca has no place")


def _split_reference(rec: Record) -> list[tuple[str, str, str, str]]:
    """The split as first written: each turn's history rebuilt from the whole conversation."""
    msgs, pairs = rec.messages, exchanges(rec.messages)
    turns = list(pairs)
    rest = range(pairs[-1][1] + 1 if pairs else 0, len(msgs))
    asked = [j for j in rest if msgs[j]["role"] == "user" and msgs[j]["content"].strip()]
    if asked:
        turns.append((asked[-1], None))
    out = []
    for k, (u, a) in enumerate(turns, 1):
        history = [m for j, m in enumerate(msgs[: len(msgs) if a is None else a]) if j != u]
        reply = "" if a is None else msgs[a]["content"]
        out.append(
            (f"{rec.id}#t{k}", msgs[u]["content"], render_history(rec.input, history), reply)
        )
    return out


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.tuples(ROLE, TEXT), min_size=1, max_size=10), st.sampled_from(["", "ctx"]))
def test_split_history_is_every_turn_before_the_reply_but_the_question(turns, input) -> None:
    msgs = [{"role": r, "content": f"{i}:{t}"} for i, (r, t) in enumerate(turns)]
    rec = Record("c", "", input, "", msgs)
    if not any(m["role"] == "user" for m in msgs):
        return
    got = [(r.id, r.instruction, r.input, r.output) for r in single_turn(rec, "split")]
    assert got == _split_reference(rec)


def test_split_of_a_2000_turn_conversation_is_linear_and_exact() -> None:
    """Each turn's history grows from the last one instead of being rebuilt (was quadratic in
    Python work per conversation); the records are the same, 1,000 of them."""
    msgs = [{"role": "system", "content": "be brief"}]
    for i in range(1, 2000):
        role = "user" if i % 2 else "assistant"
        msgs.append({"role": role, "content": f"{role} {i} | `x` <b>"})
    msgs[7] = {"role": "user", "content": "  "}  # a blank question stays in the history
    rec = Record("long", "", "", "", msgs)
    recs = single_turn(rec, "split")
    assert len(recs) == 1000 and recs[-1].id == "long#t1000"
    assert [(r.id, r.instruction, r.input, r.output) for r in recs] == _split_reference(rec)
    assert recs[-1].output == "" and recs[-1].input.count("\n\n") == 1998  # 1,999 turns
