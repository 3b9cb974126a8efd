"""The pii stage: each kind found with its span, documentation/code/maths left alone, reject and
redact through `curate filter` (also in worker processes), off by default and then byte-neutral."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.filters.config import FilterConfig
from curate.filters.pii import PiiConfig, PiiStage, mask, record_texts
from curate.filters.pii_detect import KINDS, card_number, detect, luhn
from curate.io import read_records
from curate.records import Record

runner = CliRunner()
ON = PiiConfig(enabled=True)
REDACT = PiiConfig(enabled=True, mode="redact")

# (kind, text, the hit): one or more per kind, each the only hit of its text
FOUND = [
    ("email", "Write to jane.doe+news@gmail.com today.", "jane.doe+news@gmail.com"),
    ("email", "Sender: alerts@info6.citi.com", "alerts@info6.citi.com"),
    ("phone", "Call +1 (415) 734-2671 now", "+1 (415) 734-2671"),
    ("phone", "Office: +44 20 7946 0958.", "+44 20 7946 0958"),
    ("phone", "mobile +4915112345678", "+4915112345678"),
    ("phone", "Call us at 650-636-4884 or visit", "650-636-4884"),
    ("phone", "ring (212) 734-9012", "(212) 734-9012"),
    ("phone", "Tel. 0171-1234567", "0171-1234567"),
    ("phone", "Appelez le 01 23 45 67 89.", "01 23 45 67 89"),
    ("ipv4", "ssh root@93.184.216.34 -p 22", "93.184.216.34"),
    ("ipv6", "host 2607:f8b0:4005:80a::200e is up", "2607:f8b0:4005:80a::200e"),
    ("credit_card", "card 4539 1488 0343 6467 exp 04/27", "4539 1488 0343 6467"),
    ("credit_card", "Amex: 3782-822463-10005", "3782-822463-10005"),
    ("credit_card", "my Visa card number is 4539148803436467", "4539148803436467"),
    ("aws_access_key", "aws_access_key_id = AKIAZ3MXQ7PLR2WTN4VB", "AKIAZ3MXQ7PLR2WTN4VB"),
    (
        "openai_key",
        'OPENAI_API_KEY="sk-proj-Ab3dEfGh1jKlMn0pQrStUvWxYz12345"',
        "sk-proj-Ab3dEfGh1jKlMn0pQrStUvWxYz12345",
    ),
    (
        "github_token",
        "token: ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    ),
    (
        "slack_token",
        "SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    (
        "private_key",
        "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    ),
    (
        "high_entropy",
        "secret: aZ9kQ2mX7pL4vR8tW1nB6cY3hJ5gF0dS",
        "aZ9kQ2mX7pL4vR8tW1nB6cY3hJ5gF0dS",
    ),
]

# documentation, code, maths, numbers: none of these is PII
NOT_FOUND = [
    "Mail user@example.com or admin@docs.example.org or a@b.test",  # RFC 2606 names
    "Already redacted: <EMAIL>, [email], <PHONE>, <IP_ADDRESS>, <SECRET>",
    "y = self.weights@x.shape; git clone git@github.com:owner/repo.git",
    "The fictional 212-555-0143 and +1 415-555-2671; dummy (123) 456-7891",
    "2023-01-15, 3.14159, 1234567890, 12/05/2023, 0900-0130 = 0730, MA 01760-2098",
    "300-250-1000 = x; 450,000-2000=$448,000; 1400000+2100000 = 3500000",
    "bytes 0x00 03 ff 05 00 01 02 03 04; signal 1010 1101 1001 0001 1010 1111",
    "PCM -2147483648 +2147483647 int32; z = +1.4142135623731; +1980-02-29",
    "version 1.2.3.4, v10.20.30.40, 1.2.3.4.5, Section 2.2.24.1, numpy>=1.26.4.1",
    "private 192.168.1.1, 10.0.0.7, 127.0.0.1, docs 203.0.113.5, 93.184.216.0",
    "ping 8.8.8.8 and 1.1.1.1",  # public resolvers: infrastructure
    "C++ std::vector, a[2023::], 12:30:45, fe80::1, 2001:db8::1, 00:1A:2B:3C:4D:5E",
    "4539-1488-0343-6468 fails Luhn; 1234567812345670 has no scheme; seed(4539148803436467)",
    "AKIAIOSFODNN7EXAMPLE; sk-your-api-key-here; xoxb-your-bot-token",
    "md5 d41d8cd98f00b204e9800998ecf8427e, uuid 550e8400-e29b-41d4-a716-446655440000",
    "class DeepseekV32MultiTokenPredictorLayer(Qwen2_5OmniToken2WavBigVGANModel): pass",
    "path /usr/local/lib/python3.11/site-packages/foo and nvidia/Nemotron-3-Nano-30B-A3B-BF16",
    "https://open.spotify.com/playlist/37i9dQZF1DX9XIFQuFvzM4 TheBloke/recent-models-64f9a55bb311",
    "base64 of text: SGVsbG8gV29ybGQgdGhpcyBpcyBhIHRlc3Q=",
    "img: data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
]


@pytest.mark.parametrize(("kind", "text", "hit"), FOUND, ids=[f[0] for f in FOUND])
def test_each_kind_is_found_with_its_span(kind: str, text: str, hit: str) -> None:
    hits = detect(text, ON)
    assert [(h.kind, text[h.start : h.end]) for h in hits] == [(kind, hit)]


def test_every_kind_has_a_positive_case() -> None:
    assert {f[0] for f in FOUND} == set(KINDS)


@pytest.mark.parametrize("text", NOT_FOUND)
def test_documentation_code_and_maths_do_not_light_up(text: str) -> None:
    assert [text[h.start : h.end] for h in detect(text, ON)] == []


def test_luhn_rejects_a_16_digit_number_that_is_no_card() -> None:
    assert luhn("4539148803436467") and card_number("4539148803436467")
    assert not luhn("4539148803436468") and not card_number("4539148803436468")
    assert luhn("1234567812345670") and not card_number("1234567812345670")  # no scheme
    assert not detect("card 4539 1488 0343 6468", ON)


def test_a_detector_switched_off_finds_nothing() -> None:
    cfg = PiiConfig(kinds=[k for k in KINDS if k != "email"])
    assert detect("mail jane.doe@gmail.com, call 650-636-4884", cfg)[0].kind == "phone"
    assert len(detect("mail jane.doe@gmail.com, call 650-636-4884", cfg)) == 1


def test_reject_mode_drops_on_the_first_hit_with_masked_evidence() -> None:
    rec = Record("r1", "Email the report", "to jane.doe@gmail.com", "Sent to jane.doe@gmail.com.")
    (verdict,) = PiiStage(ON).check([rec])
    assert not verdict.keep and verdict.reason == "pii:email"
    assert verdict.evidence == {
        "kind": "email",
        "field": "input",
        "span": [3, 21],
        "text": "ja**************om",
    }
    assert mask("abcd") == "****" and mask("abcdef") == "ab**ef"


def test_redact_mode_replaces_every_hit_and_records_the_spans() -> None:
    rec = Record(
        "r1",
        "Summarise the thread",
        "From jane.doe@gmail.com (+44 20 7946 0958), key AKIAZ3MXQ7PLR2WTN4VB",
        "Jane (jane.doe@gmail.com) shared a key.",
    )
    (verdict,) = PiiStage(REDACT).check([rec])
    assert verdict.keep
    assert rec.input == "From <EMAIL> (<PHONE>), key <SECRET>"
    assert rec.output == "Jane (<EMAIL>) shared a key."
    assert rec.instruction == "Summarise the thread"
    assert rec.meta["redacted"] == [
        {"field": "input", "kind": "email", "start": 5, "end": 23},
        {"field": "input", "kind": "phone", "start": 25, "end": 41},
        {"field": "input", "kind": "aws_access_key", "start": 48, "end": 68},
        {"field": "output", "kind": "email", "start": 6, "end": 24},
    ]
    again = PiiStage(REDACT)  # redacted text does not light up again
    assert again.check([rec])[0].keep and not again.meter.tally


def test_redact_mode_redacts_every_turn_of_a_conversation_and_its_views() -> None:
    turns = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "My IP is 93.184.216.34, fix my router"},
        {"role": "assistant", "content": "Sure."},
        {"role": "user", "content": "Mail me: jane.doe@gmail.com"},
        {"role": "assistant", "content": "I will write to jane.doe@gmail.com."},
    ]
    rec = Record.from_messages("c1", [dict(t) for t in turns])
    stage = PiiStage(REDACT)
    stage.check([rec])
    assert [m["content"] for m in rec.messages or []] == [
        "You are helpful.",
        "My IP is <IP_ADDRESS>, fix my router",
        "Sure.",
        "Mail me: <EMAIL>",
        "I will write to <EMAIL>.",
    ]
    assert rec.instruction == "My IP is <IP_ADDRESS>, fix my router"
    assert rec.output == "Sure."  # the views are the first exchange (issue 10: a real pair)
    assert [(r["field"], r["kind"]) for r in rec.meta["redacted"]] == [
        ("messages[1]", "ipv4"),
        ("messages[3]", "email"),
        ("messages[4]", "email"),
    ]
    assert dict(stage.meter.tally) == {"redacted:email": 2, "redacted:ipv4": 1}
    assert turns[3]["content"] == "Mail me: jane.doe@gmail.com"  # the caller's dicts untouched


def test_records_without_pii_are_untouched(shared_data: Path) -> None:
    path = shared_data / "gsm8k" / "gsm_8k_train.json"
    recs = [r for r in read_records(str(path)) if isinstance(r, Record)][:2000]
    before = [r.to_dict() for r in recs]
    stage = PiiStage(REDACT)
    assert all(v.keep for v in stage.check(recs))
    assert [r.to_dict() for r in recs] == before


def test_the_shared_data_lights_up_only_where_it_holds_addresses(shared_data: Path) -> None:
    """Every hit on ../shared/data, judged by hand (bench/pii.py): 4 records, all true; gsm8k's
    maths and toolformer's python and shell calls (ping 8.8.8.8, URLs) light up nowhere."""
    hits: dict[str, list[tuple[str, str]]] = {}
    for name in (
        "gsm8k/gsm_8k_train.json",
        "gpteacher/toolformer.json",
        "gpteacher/roleplay.json",
        "self-instruct/seed_tasks.jsonl",
        "self-instruct/user_oriented_instructions.jsonl",
    ):
        for rec in read_records(str(shared_data / name)):
            assert isinstance(rec, Record)
            found = [
                (h.kind, t[h.start : h.end]) for _, t in record_texts(rec) for h in detect(t, ON)
            ]
            if found:
                hits[rec.id] = found
    assert sorted(hits) == [
        "seed_task_166#0",
        "seed_task_74#0",
        "user_oriented_task_191#0",
        "user_oriented_task_235#0",
    ]
    assert hits["user_oriented_task_235#0"] == [("phone", "650-636-4884")]
    assert hits["seed_task_166#0"] == [("email", "alerts@info6.citi.com")]


def test_a_bad_pii_config_is_one_line() -> None:
    with pytest.raises(ValueError, match="pii: mode must be one of reject, redact"):
        PiiStage(PiiConfig(mode="scrub"))
    with pytest.raises(ValueError, match="pii: kinds: unknown kind 'emial'"):
        PiiConfig(kinds=["emial"]).validate()


# ---------------------------------------------------------------- through `curate filter`


def _filter(inputs: list[Path], out: Path, *args: str) -> list[dict]:
    paths = [str(p) for p in inputs]
    result = runner.invoke(app, ["filter", *paths, "--out", str(out), "--lang", "en", "-q", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in (out / "kept.jsonl").read_text().splitlines()]


def _rejected(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]


CONVERSATION = {
    "messages": [
        {"role": "user", "content": "Here is my card 4539 1488 0343 6467, book the flight please"},
        {"role": "assistant", "content": "Booked with the card ending 6467."},
        {"role": "user", "content": "Send the ticket to jane.doe@gmail.com please"},
        {"role": "assistant", "content": "The ticket is on its way to jane.doe@gmail.com now."},
    ]
}


FRENCH = {
    "instruction": "Réponds à ce message en français, s'il te plaît",
    "input": "Écris-moi à jean.dupont@orange.fr pour confirmer le rendez-vous de demain matin",
    "output": "Bonjour, je vous écris à jean.dupont@orange.fr pour confirmer notre rendez-vous.",
}


@pytest.fixture()
def with_pii(tmp_path: Path, shared_data: Path) -> list[Path]:
    """The self-instruct human-eval set (252 records; a meeting's notes hold three addresses, an
    ad a phone number), a French record with an address, a conversation with a card number."""
    french, chat = tmp_path / "french.jsonl", tmp_path / "chat.jsonl"
    french.write_text(json.dumps(FRENCH, ensure_ascii=False) + "\n")
    chat.write_text(json.dumps(CONVERSATION) + "\n")
    return [shared_data / "self-instruct" / "user_oriented_instructions.jsonl", french, chat]


def test_disabled_by_default_and_then_byte_neutral(with_pii: list[Path], tmp_path: Path) -> None:
    assert FilterConfig().pii.enabled is False
    skip = "--skip=toxicity,near-dedup,decontam"
    default = _filter(with_pii, tmp_path / "default", skip)
    without = _filter(with_pii, tmp_path / "without", f"{skip},pii")
    for name in ("kept.jsonl", "rejected.jsonl"):
        assert (tmp_path / "default" / name).read_bytes() == (
            tmp_path / "without" / name
        ).read_bytes()
    assert default == without
    stats = json.loads((tmp_path / "default" / "stats.json").read_text())
    assert "pii" not in stats["stages"]
    assert any("jane.doe@gmail.com" in json.dumps(r) for r in default)  # left as it was


def test_reject_mode_through_the_cli(with_pii: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    kept = _filter(with_pii, out, "--only", "pii", "--set", "pii.enabled=true")
    rejected = _rejected(out)
    assert len(kept) + len(rejected) == 254
    reasons = {r["id"]: (r["reject"]["reason"], r["reject"]["evidence"]) for r in rejected}
    assert reasons["user_oriented_task_235#0"] == (
        "pii:phone",
        {"kind": "phone", "field": "input", "span": [11, 23], "text": "65********84"},
    )
    assert reasons["user_oriented_task_191#0"][0] == "pii:email"
    assert reasons["chat-1"][0] == "pii:credit_card"
    assert reasons["chat-1"][1]["field"] == "messages[0]"
    assert len(reasons) == 4  # the two human-eval records, the French one, the conversation
    assert all(r["reject"]["stage"] == "pii" for r in rejected)


@pytest.mark.parametrize("workers", [1, 2])
def test_redact_mode_through_the_cli(with_pii: list[Path], tmp_path: Path, workers: int) -> None:
    """Redacted records come back from worker processes whole; a record pii redacted and the
    language stage (same worker pool) then dropped is written redacted too."""
    out = tmp_path / f"w{workers}"
    sets = ["--set", "pii.enabled=true", "--set", "pii.mode=redact", "--set", "chunk_size=50"]
    only = ["--only", "quality,pii,language", "--workers", str(workers)]
    kept = _filter(with_pii, out, *only, *sets)
    by_id = {r["id"]: r for r in kept}
    phone = by_id["user_oriented_task_235#0"]
    assert phone["input"].startswith("Call us at <PHONE> or visit our website")
    assert phone["meta"]["redacted"] == [
        {"field": "input", "kind": "phone", "start": 11, "end": 23}
    ]
    chat = by_id["chat-1"]
    assert chat["messages"][0]["content"].startswith("Here is my card <CREDIT_CARD>, book")
    assert chat["messages"][3]["content"] == "The ticket is on its way to <EMAIL> now."
    assert chat["output"] == chat["messages"][1]["content"]  # the first exchange's reply
    assert "jane.doe" not in json.dumps(kept) and "650-636" not in json.dumps(kept)
    french = [r for r in _rejected(out) if r["id"] == "french-1"]
    assert french[0]["reject"]["reason"] == "lang-mismatch:fr"
    assert "<EMAIL>" in french[0]["input"] and "orange.fr" not in json.dumps(french)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["stages"]["pii"]["tally"] == {
        "redacted:credit_card": 1,
        "redacted:email": 10,
        "redacted:phone": 1,
    }
    assert "pii: redacted:credit_card 1, redacted:email 10" in (out / "report.md").read_text()


def test_redact_mode_is_the_same_with_workers(with_pii: list[Path], tmp_path: Path) -> None:
    sets = ["--only", "pii", "--set", "pii.enabled=true", "--set", "pii.mode=redact"]
    serial = _filter(with_pii, tmp_path / "w1", *sets)
    parallel = _filter(with_pii, tmp_path / "w2", *sets, "--workers", "2", "--set", "chunk_size=40")
    assert serial == parallel
    assert (tmp_path / "w1" / "kept.jsonl").read_bytes() == (
        tmp_path / "w2" / "kept.jsonl"
    ).read_bytes()


def test_hostile_text_is_scanned_in_linear_time() -> None:
    import time

    hostile = [
        "-----BEGIN RSA PRIVATE KEY-----" * 3000,  # headers without footers
        "x@" + "a." * 20000 + "1",  # an address that never ends
        ":" * 50000 + "1",
        "1 " * 50000,
        "mail jane.doe@gmail.com, key aZ9kQ2mX7pL4vR8tW1nB6cY3hJ5gF0dS; " * 3000,  # 6,000 hits
    ]
    for text in hostile:
        start = time.perf_counter()
        detect(text, ON)
        assert time.perf_counter() - start < 2.0, text[:40]
