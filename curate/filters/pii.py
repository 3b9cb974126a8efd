"""PII and secrets: e-mail, phone, IP and card numbers, API keys; reject the record, or redact.

Opt-in: ``pii.enabled`` is false by default, so runs that do not ask for it write byte-identical
outputs. ``--set pii.enabled=true`` rejects a record on its first hit, reason ``pii:<kind>``,
evidence ``{kind, field, span: [start, end], text}`` with the text masked but for its first and
last two characters. ``--set pii.mode=redact`` keeps the record with every hit replaced by
``<EMAIL>``, ``<PHONE>``, ``<IP_ADDRESS>``, ``<CREDIT_CARD>`` or ``<SECRET>``, and lists them
in ``meta.redacted`` = ``[{field, kind, start, end}]`` (spans in the original text); stats.json
and report.md count the redactions per kind. ``pii.kinds`` switches detectors on and off.

Looked at: instruction, input and output; for a conversation, input and every turn
(``messages[i]``: instruction and output are views of turns, and are redacted with them).
What each kind matches, and what is documentation, code or maths instead, is decided in
``pii_detect`` (contacts, numbers) and ``pii_secrets`` (keys, tokens).

False positives, every hit read and judged (``python bench/pii.py [--code DIR]``):
- ../shared/data, 18,719 records (gpteacher toolformer and roleplay, gsm8k, self-instruct): 4
  records flagged (0.02 %), 10 hits, none false: email 9/9 (a résumé's, meeting notes' and a
  bank sender's addresses), phone 1/1 (an ad's number); gsm8k's arithmetic and toolformer's
  python and shell calls light up nowhere: 0 false positives per record, per kind. The first
  draft flagged 8 more records there: ipv4 7/7 false (``ping 8.8.8.8``: now ``public_ips``),
  high_entropy 6/6 false (URL paths: now skipped after ``.`` ``/`` ``#``).
- code stress, the 27,044 ``*.py`` files of site-packages (363 M characters): ipv4 1/3 false (a
  kernel version ``5.15.167.4-microsoft``), phone 0/9 false, ipv6 0/1, credit_card 0/0,
  private_key 1/1 false (a library's PEM header constant, no key), high_entropy 1/4 false (a
  digest in a docstring; the others a published dev storage key and a CI token), email ≈ 8 %
  false (100 judged: 90 real author addresses, 8 placeholders on real domains such as
  ``jo@email.com``, 2 URL credentials reported as addresses). The first draft had 110
  high_entropy hits on 3,000 of those files, all identifiers.
- recall of high_entropy on random tokens of 32–100 characters: 96–100 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curate.config import option
from curate.filters.pii_detect import KINDS, detect, redact
from curate.filters.stage import Stage, StageContext
from curate.filters.verdict import KEEP, Verdict, drop
from curate.records import Record

NAME = "pii"
MODES = ("reject", "redact")


def _documentation_domains() -> list[str]:
    """RFC 2606 / 6761 names: addresses there are examples, not anybody's."""
    return [
        "example.com",
        "example.net",
        "example.org",
        "example.edu",
        "example",
        "test",
        "invalid",
        "localhost",
    ]


def _public_ips() -> list[str]:
    """Public DNS resolvers (``ping 8.8.8.8`` in a shell example): infrastructure, nobody's."""
    return [
        "8.8.8.8",
        "8.8.4.4",
        "1.1.1.1",
        "1.0.0.1",
        "9.9.9.9",
        "149.112.112.112",
        "208.67.222.222",
        "208.67.220.220",
        "2001:4860:4860::8888",
        "2001:4860:4860::8844",
        "2606:4700:4700::1111",
        "2606:4700:4700::1001",
    ]


@dataclass
class PiiConfig:
    # opt-in: runs that do not ask for it keep byte-identical outputs
    enabled: bool = option(
        False, "Look for personal data and secrets (reasons pii:<kind>); off unless asked for."
    )
    mode: str = option(
        "reject",
        "reject: drop a record on its first hit (pii:<kind>); redact: replace every hit with"
        " <EMAIL>, <PHONE>, <IP_ADDRESS>, <CREDIT_CARD>, <SECRET> and keep it (meta.redacted).",
    )
    kinds: list[str] = option(list(KINDS), "The detectors that run: " + ", ".join(KINDS) + ".")
    documentation_domains: list[str] = option(
        _documentation_domains,
        "E-mail domains that are documentation, not anybody's address (example.com, *.test …).",
    )
    public_ips: list[str] = option(
        _public_ips, "Addresses that are infrastructure, not personal (public DNS resolvers)."
    )
    # high_entropy: random ≈ 0.62 class changes per position, identifiers ≈ 0.34
    entropy_min_chars: int = option(32, "high_entropy: shortest token looked at, in characters.")
    entropy_max_chars: int = option(200, "high_entropy: longest token looked at, in characters.")
    entropy_bits: float = option(4.0, "high_entropy: Shannon entropy per character, at least.")
    entropy_class_changes: float = option(
        0.4, "high_entropy: share of positions where the character class changes, at least."
    )
    entropy_max_word_share: float = option(
        0.6, "high_entropy: a token this much made of word-like lowercase runs is an identifier."
    )

    def validate(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"pii: mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"pii: kinds: unknown kind {unknown[0]!r}; kinds: {', '.join(KINDS)}")


def mask(s: str) -> str:
    """The matched text for the evidence: all but its first and last two characters hidden."""
    return s[:2] + "*" * (len(s) - 4) + s[-2:] if len(s) > 4 else "*" * len(s)


def record_texts(rec: Record) -> list[tuple[str, str]]:
    """(field name, text) of what is looked at: a conversation's turns rather than its
    instruction and output, which are views of them."""
    if rec.messages is None:
        return [("instruction", rec.instruction), ("input", rec.input), ("output", rec.output)]
    turns = [(f"messages[{i}]", m.get("content") or "") for i, m in enumerate(rec.messages)]
    return [("input", rec.input), *turns]


class PiiStage(Stage):
    name = NAME

    def __init__(self, cfg: PiiConfig, ctx: StageContext | None = None) -> None:
        cfg.validate()
        super().__init__(cfg, ctx)

    def check(self, batch: list[Record]) -> list[Verdict]:
        judge = self._reject if self.cfg.mode == "reject" else self._redact
        return [judge(rec) for rec in batch]

    def _reject(self, rec: Record) -> Verdict:
        for name, text in record_texts(rec):
            hits = detect(text, self.cfg) if text else []
            if hits:
                kind, start, end = hits[0]
                span, shown = [start, end], mask(text[start:end])
                return drop(f"pii:{kind}", NAME, kind=kind, field=name, span=span, text=shown)
        return KEEP

    def _redact(self, rec: Record) -> Verdict:
        """Every hit replaced in the record itself; meta.redacted lists them (original spans)."""
        found: list[dict[str, Any]] = []
        for name, text in record_texts(rec):
            hits = detect(text, self.cfg) if text else []
            if not hits:
                continue
            found += [{"field": name, "kind": h.kind, "start": h.start, "end": h.end} for h in hits]
            if name.startswith("messages[") and rec.messages is not None:
                i, turns = int(name[len("messages[") : -1]), rec.messages
                turn = {**turns[i], "content": redact(text, hits)}  # a new dict: the reader's
                rec.messages = [*turns[:i], turn, *turns[i + 1 :]]  # stays as it was read
            else:
                setattr(rec, name, redact(text, hits))
        if found:
            if rec.messages is not None:  # the views follow their turns
                rec.instruction = redact(rec.instruction, detect(rec.instruction, self.cfg))
                rec.output = redact(rec.output, detect(rec.output, self.cfg))
            rec.meta["redacted"] = found
            self.meter.tally.update(f"redacted:{h['kind']}" for h in found)
        return KEEP
