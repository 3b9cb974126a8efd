"""Secrets with a known shape (cloud and chat API keys, private keys) and long random tokens.

Part of the pii stage's detectors (``pii_detect``; what counts is decided there): each function
takes one string and returns its hits.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from typing import NamedTuple, Protocol


class EntropySettings(Protocol):
    """What high_entropy reads of the stage's config (pii.PiiConfig has it)."""

    entropy_min_chars: int
    entropy_max_chars: int
    entropy_bits: float
    entropy_class_changes: float
    entropy_max_word_share: float


SECRETS = (
    "aws_access_key",
    "openai_key",
    "github_token",
    "slack_token",
    "private_key",
    "high_entropy",
)


class Hit(NamedTuple):
    kind: str
    start: int
    end: int


_AWS = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])")
_OPENAI = re.compile(r"(?<![\w-])sk-(?:proj-|svcacct-|admin-)?([A-Za-z0-9_-]{20,})(?![\w-])")
_GITHUB = re.compile(
    r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})"
    r"(?![A-Za-z0-9_])"
)
_SLACK = re.compile(r"(?<![\w-])xox[abposr]-[A-Za-z0-9-]{10,}(?![\w-])")
_PEM_MAX = 16384  # characters a PEM block may span (an 8192-bit RSA key is ≈ 6,500)
_PEM = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----")
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])")
_WORD = re.compile(r"[A-Z]?[a-z]{3,}")
_SEPARATORS = re.compile(r"[-_/+]")
_AWS_GATES = ("AKIA", "ASIA", "ABIA", "ACCA", "A3T")
_GITHUB_GATES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")
_DIGIT = re.compile(r"\d")


def _classes(s: str) -> tuple[bool, bool, bool]:
    """(has upper, has lower, has a digit)."""
    return any(c.isupper() for c in s), any(c.islower() for c in s), any(c.isdigit() for c in s)


def keyed_secrets(text: str, kinds: list[str]) -> list[Hit]:
    """Secrets with a known shape, each kind behind a cheap substring test."""
    out = []
    if "aws_access_key" in kinds and any(g in text for g in _AWS_GATES):
        found = _AWS.finditer(text)
        out += [Hit("aws_access_key", *m.span()) for m in found if "EXAMPLE" not in m.group()]
    if "openai_key" in kinds and "sk-" in text:
        found = _OPENAI.finditer(text)
        out += [Hit("openai_key", *m.span()) for m in found if all(_classes(m.group(1)))]
    if "github_token" in kinds and any(g in text for g in _GITHUB_GATES):
        out += [Hit("github_token", *m.span()) for m in _GITHUB.finditer(text)]
    if "slack_token" in kinds and "xox" in text:
        found = _SLACK.finditer(text)
        out += [Hit("slack_token", *m.span()) for m in found if len(_DIGIT.findall(m.group())) >= 6]
    if "private_key" in kinds and "PRIVATE KEY" in text:
        for m in _PEM.finditer(text):
            footer = f"-----END {m.group(1)}-----"
            at = text.find(footer, m.end(), m.end() + _PEM_MAX)
            out.append(Hit("private_key", m.start(), at + len(footer) if at >= 0 else m.end()))
    return out


def entropy(s: str) -> float:
    """Shannon entropy of the characters of s, in bits per character."""
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def class_changes(s: str) -> float:
    """Share of positions where the class (upper, lower, digit, other) differs from the one before:
    ≈ 0.62 for random base62, ≈ 0.34 for CamelCase identifiers."""

    def cls(c: str) -> int:
        return 0 if c.isupper() else 1 if c.islower() else 2 if c.isdigit() else 3

    kinds = [cls(c) for c in s]
    return sum(a != b for a, b in zip(kinds, kinds[1:], strict=False)) / (len(s) - 1)


def word_share(s: str) -> float:
    """Share of characters in lowercase runs of 3+ (with a capital before): ≈ 0.15 for random
    base62, ≈ 0.84 for identifiers."""
    return sum(len(w) for w in _WORD.findall(s)) / len(s)


def _wordy(token: str, max_share: float) -> bool:
    """Mostly words (``DeepseekV32MultiTokenPredictorLayer``), or words enough and as many vowels
    as words have (``Qwen2_5OmniToken2WavBigVGANModel``: 36 % of its letters; random ≈ 19 %)."""
    share = word_share(token)
    if share >= max_share:
        return True
    letters = [c for c in token if c.isalpha()]
    return share >= 0.4 and sum(c in "aeiouAEIOU" for c in letters) >= 0.3 * len(letters)


def encoded_text(token: str) -> bool:
    """base64 (standard or URL-safe) that decodes to printable text: encoded prose, not a key."""
    body = token.rstrip("=")
    alt = b"-_" if "-" in body or "_" in body else None
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=alt, validate=True)
    except (binascii.Error, ValueError):
        return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in raw)
    return bool(raw) and printable >= 0.95 * len(raw)


def high_entropy(text: str, cfg: EntropySettings) -> list[Hit]:
    out = []
    runs = list(_TOKEN.finditer(text))
    for i, m in enumerate(runs):
        token, start = m.group(), m.start()
        if not cfg.entropy_min_chars <= len(token) <= cfg.entropy_max_chars:
            continue  # longer: an image or a file, base64-encoded
        if (
            text[start - 1 : start] in (".", "/", "#")
            or text[max(0, start - 7) : start] == "base64,"
        ):
            continue  # the rest of a URL or a path, a URL's #fragment; a data URI
        if _in_blob(text, runs, i):
            continue  # one line of a base64 block (an image, a font, a file)
        if not all(_classes(token)) or entropy(token) < cfg.entropy_bits:
            continue
        if class_changes(token) < cfg.entropy_class_changes:
            continue
        if _slug(token):
            continue  # a model id, a path, a slug
        if not _wordy(token, cfg.entropy_max_word_share) and not encoded_text(token):
            out.append(Hit("high_entropy", start, m.end()))
    return out


def _slug(token: str) -> bool:
    """Pieces between - _ / + that are short (on average under 8 characters) or two of them
    words: ``TheBloke/recent-models-64f9a55b…``, ``Squeezeformer/blob/<sha>``."""
    pieces = _SEPARATORS.split(token)
    words = sum(_WORD.fullmatch(p) is not None for p in pieces)
    return len(token) / len(pieces) < 8 or words >= 2


def _in_blob(text: str, runs: list[re.Match[str]], i: int) -> bool:
    """Run i has another long run right before or after it, with only white space between."""
    before = i > 0 and not text[runs[i - 1].end() : runs[i].start()].strip()
    after = i + 1 < len(runs) and not text[runs[i].end() : runs[i + 1].start()].strip()
    return before or after
