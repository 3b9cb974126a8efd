"""The pii stage's detectors: one string in, its hits (kind, start, end) out; pure functions.

What counts, and what is documentation, code or maths rather than PII (decided so that docs,
code and gsm8k pass; tuned on ../shared/data and on the 27,045 Python files of the project's
site-packages as a code stress set; figures in ``curate/filters/pii.py``):
- email: a local part, ``@``, a domain whose last label is a 2-letter country code or a common
  generic TLD (``self.w@x.shape`` in Python is no address). RFC 2606/6761 names (example.com,
  example.org, *.test, *.invalid, *.localhost …: ``documentation_domains``) are documentation;
  ``git@github.com:owner/repo`` is an SSH remote and ``aes256-gcm@openssh.com`` an algorithm.
- phone: ``+CC`` forms (8–15 digits; groups of 2+ digits but one); NANP ``(212) 734-9012``,
  ``212-734-9012``, ``212.734.9012`` with valid area and exchange codes (so ``(123) 456-7891``
  is a dummy); the 555 exchange is fiction's, documentation; trunk-0 national forms with
  separators (``020 7946 0958``, ``0171-1234567``, ``01 23 45 67 89``; 9–12 digits; not a
  ZIP+4 ``01760-2098``). Never a bare digit run, a date, a (signed) decimal, a number next to
  ``= + * / × ÷`` (a term of a sum), nor one of a longer run of digit groups (``05 00 01 02 03
  04``: a hex dump, a list, a table's column); a number followed by another group of digits
  (``020 7946 0958 24 hours``) is missed for that.
- ipv4: four octets ≤ 255 without leading zeros; a global host address only (private, loopback,
  documentation 192.0.2.0/24 … are nobody's; x.x.x.0 and x.x.x.255 are a network's ends); not
  with two single-digit leading octets (``5.0.0.93``, ``2.5.29.14``: versions and OIDs, at the
  cost of a few real 1.x–9.x addresses); not after "version", "v", "release", "section", "§",
  "==" …; not part of a longer dotted run (``1.2.3.4.5``); well-known public resolvers (``ping
  8.8.8.8``: ``public_ips``) are infrastructure. ipv6: a global unicast address (2000::/3 less
  the 2001:db8:: documentation range) with 3+ groups written, as ``ipaddress`` parses it.
- credit_card: 13–19 digits in groups (4-4-4-4, 4-6-5 …) split by one kind of separator, or
  15–16 in one run where the 40 characters before say card, visa, credit, payment …; a known
  scheme's prefix and length (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay) and a
  valid Luhn digit. A bare 16-digit integer (a seed, a mantissa in code) is no card: one in ten
  passes Luhn.
- keyed secrets: AWS access key ids (AKIA/ASIA …; the docs' …EXAMPLE key is not), OpenAI keys
  (``sk-``, ``sk-proj-`` … with upper, lower and digits: ``sk-your-key-here`` is not), GitHub
  tokens (``ghp_ gho_ ghu_ ghs_ ghr_``, ``github_pat_``), Slack tokens (``xox[abposr]-`` with 6+
  digits), PEM ``PRIVATE KEY`` headers (the whole block when its footer follows).
- high_entropy: a run of 32–200 characters of [A-Za-z0-9+/_-] with upper, lower and digits,
  Shannon entropy ≥ 4.0 bits/char, a character-class change at ≥ 40 % of positions, not mostly
  words. Not: hex digests, UUIDs (one case: a checksum or commit id is no credential, and hex
  keys are missed for that); identifiers (``Qwen2_5OmniToken2WavBigVGANModel``: words,
  vowels); slugs and paths (``TheBloke/recent-models-64f9…``); base64 that decodes to text
  (encoded prose); data URIs, blobs over 200 characters and lines of a base64 block (images,
  fonts, files); the rest of a URL after ``.``, ``/`` or ``#`` (``spotify.com/playlist/37i9…``:
  an address, not a credential; a secret in a URL path is missed for that; one in a query,
  ``?key=…``, is not). On random base62 / base64 / URL-safe tokens of 32–100 characters it
  finds 96–100 % (``python bench/pii.py`` prints it).
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from typing import Protocol

from curate.filters.pii_secrets import (
    SECRETS,
    EntropySettings,
    Hit,
    high_entropy,
    keyed_secrets,
)


class PiiSettings(EntropySettings, Protocol):
    """What the detectors read of the stage's config (pii.PiiConfig has it)."""

    kinds: list[str]
    documentation_domains: list[str]
    public_ips: list[str]


KINDS = ("email", "phone", "ipv4", "ipv6", "credit_card", *SECRETS)
PLACEHOLDERS = {
    "email": "<EMAIL>",
    "phone": "<PHONE>",
    "ipv4": "<IP_ADDRESS>",
    "ipv6": "<IP_ADDRESS>",
    "credit_card": "<CREDIT_CARD>",
    **dict.fromkeys(SECRETS, "<SECRET>"),
}
# overlapping hits: the more specific kind wins (a GitHub token is also a high-entropy run)
_PRIORITY = {
    k: i
    for i, k in enumerate(
        [*SECRETS[:-1], "email", "credit_card", "ipv6", "ipv4", "phone", "high_entropy"]
    )
}


def detect(text: str, cfg: PiiSettings) -> list[Hit]:
    """Every hit of the kinds in ``cfg.kinds``, in order of position, none overlapping another."""
    kinds = cfg.kinds
    hits: list[Hit] = []
    if "email" in kinds and "@" in text:
        hits += _emails(text, cfg)
    if _NUMBERISH.search(text) is not None:  # 8+ digits and separators: 5 % of texts
        if "phone" in kinds:
            hits += _phones(text)
        if "credit_card" in kinds:
            hits += _cards(text)
        if "ipv4" in kinds and "." in text:
            hits += _ipv4s(text, cfg)
    if "ipv6" in kinds and ("::" in text or text.count(":") >= 7):  # 3+ groups written
        hits += _ipv6s(text, cfg)
    hits += keyed_secrets(text, kinds)
    if "high_entropy" in kinds:
        hits += high_entropy(text, cfg)
    if len(hits) <= 1:
        return hits
    kept: list[Hit] = []  # by position, none overlapping: each hit checks its two neighbours
    starts: list[int] = []
    for hit in sorted(hits, key=lambda h: (_PRIORITY[h.kind], h.start)):
        i = bisect.bisect_left(starts, hit.start)
        if (i == 0 or kept[i - 1].end <= hit.start) and (i == len(kept) or hit.end <= starts[i]):
            kept.insert(i, hit)
            starts.insert(i, hit.start)
    return kept


def redact(text: str, hits: list[Hit]) -> str:
    """text with every hit (in order, none overlapping) replaced by its kind's placeholder."""
    parts, at = [], 0
    for h in hits:
        parts += [text[at : h.start], PLACEHOLDERS[h.kind]]
        at = h.end
    return "".join([*parts, text[at:]])


# ---------------------------------------------------------------- e-mail, phone, IP, card

# generic TLDs an address may end on (any 2-letter last label counts as a country code)
_GENERIC_TLDS = (
    "com org net edu gov mil int info biz name pro mobi io ai co app dev tech online site xyz "
    "cloud email mail shop store blog news media agency company group digital solutions global "
    "world life live today space website web page club design studio academy school university "
    "health care finance bank law legal consulting services support systems network museum "
    "travel aero coop jobs"
)
_TLDS = frozenset(_GENERIC_TLDS.split())
_EMAIL = re.compile(
    r"(?<![\w.%+\\-])[A-Za-z0-9][\w.%+-]*@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![\w-])"
)
_INTL_PHONE = re.compile(
    r"(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,5})){2,6}(?!\w|[.-]\d)"
)
_NANP_PHONE = re.compile(
    r"(?<![\w.+-])(?:1[ .-])?(?:\(([2-9]\d\d)\) ?|([2-9]\d\d)([.-]))([2-9]\d\d)(?(3)\3|[.-])\d{4}"
    r"(?!\w|[.-]\d)"
)
_TRUNK_PHONE = re.compile(
    r"(?<![\w.+/-])(?:0[1-9]\d{0,3}(?:([ /-])\d{2,8})(?:\1\d{2,8}){0,3}|0[1-9](?:\.\d\d){4})"
    r"(?![\w/-]|[.,]\d)"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_VERSION_LIKE = re.compile(r"\d\.\d\.")  # two single-digit leading octets
_IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\w|\.\d)")
# a dotted number after one of these words is a version or a section number, not an address
_NUMBERED = (
    r"versions?|ver|v|release|rel|build|firmware|sections?|sec|chapter|ch|appendix|figure|fig"
    r"|table|rule|clause|article|art|paragraph|para|step|item|part|rfc"
)
_VERSION_BEFORE = re.compile(rf"(?i)(?:\b(?:{_NUMBERED})|§|[<>=~!]=|[<>])\s*[:.]?\s*$")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:]|\.\w)")
_CARD = re.compile(
    r"(?<![\w.,+-])(?:\d{15,16}|\d{4}([ -])\d{4,6}\1\d{4,5}(?:\1\d{1,4}){0,2})(?!\w|[.,-]\d)"
)
# a card number in one run of digits is only one where the text talks about cards (else it is a
# seed, an id, a mantissa in code: 1 in 10 pass Luhn, and most 16-digit numbers have a prefix)
_CARD_WORDS = re.compile(
    r"(?i)\b(?:cards?|visa|master ?card|amex|american express|discover|diners|jcb|unionpay"
    r"|credit|debit|cc|pan|payment|pay)\b"
)
_SIGNED_DECIMAL = re.compile(r"\+\d+\.\d+")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_ZIP4 = re.compile(r"\d{5}-\d{4}")
_GROUP_BEFORE = re.compile(r"\d(?:[.-]|\s+)$")  # a digit group right before (a table's column)
_GROUP_AFTER = re.compile(r"[ .-]\d")
_DIGIT = re.compile(r"\d")
# what every phone, card and ipv4 hit contains (a global ipv4 with a 2-digit leading octet is 8+)
_NUMBERISH = re.compile(r"\d[\d ()./+-]{6,}\d")
_ARITHMETIC = "=+*/×÷"


def _emails(text: str, cfg: PiiSettings) -> list[Hit]:
    out = []
    for m in _EMAIL.finditer(text):
        domain, tld = m.group(1).lower(), m.group(2).lower()
        if len(tld) != 2 and tld not in _TLDS:
            continue  # self.w@x.shape: code, not an address
        if any(domain == d or domain.endswith("." + d) for d in cfg.documentation_domains):
            continue
        if text[m.end() : m.end() + 1] == ":" and text[m.end() + 1 : m.end() + 2].strip():
            continue  # git@github.com:owner/repo, an SSH remote
        if domain == "openssh.com" and "-" in text[m.start() : m.end()]:
            continue  # chacha20-poly1305@openssh.com: an SSH algorithm's name
        out.append(Hit("email", m.start(), m.end()))
    return out


def _number_context(text: str, start: int, end: int) -> bool:
    """Digits next to an operator (a term of a sum) or inside a longer run of digit groups (a
    list, a hex dump): not a phone or card number."""
    before, after = text[max(0, start - 3) : start].rstrip(), text[end : end + 3].lstrip()
    if before[-1:] in _ARITHMETIC and before or after[:1] in _ARITHMETIC and after:
        return True
    return bool(_GROUP_BEFORE.search(text, max(0, start - 8), start)) or bool(
        _GROUP_AFTER.match(text, end)
    )


def _phones(text: str) -> list[Hit]:
    out = []
    for m in _INTL_PHONE.finditer(text):
        if _international(m.group()) and not _number_context(text, m.start(), m.end()):
            out.append(Hit("phone", m.start(), m.end()))
    for pattern in (_NANP_PHONE, _TRUNK_PHONE):
        for m in pattern.finditer(text):
            if pattern is _NANP_PHONE and m.group(4) == "555":
                continue  # the fictional exchange
            if pattern is _TRUNK_PHONE and not _national(m.group()):
                continue
            if not _number_context(text, m.start(), m.end()):
                out.append(Hit("phone", m.start(), m.end()))
    return out


def _international(number: str) -> bool:
    """+CC and 7–14 more digits, in groups of 2+ digits but one; not a signed decimal (+1.4142),
    a signed date (+1980-02-29) or a +1 number on the fictional 555 exchange."""
    if _SIGNED_DECIMAL.fullmatch(number) or _DATE.search(number):
        return False
    groups = [g for g in re.split(r"[ .()-]+", number[1:]) if g]
    digits = "".join(groups)
    if digits.startswith("1") and len(digits) == 11 and digits[4:7] == "555":
        return False
    return 8 <= len(digits) <= 15 and sum(len(g) == 1 for g in groups[1:]) <= 1


def _national(number: str) -> bool:
    """A trunk-0 number has 9–12 digits, and is not a US ZIP+4 code (01760-2098)."""
    return 9 <= len(_DIGIT.findall(number)) <= 12 and not _ZIP4.fullmatch(number)


def _global_ip(candidate: str) -> bool:
    try:
        ip = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return ip.is_global and not ip.is_reserved and not ip.is_multicast


def _ipv4s(text: str, cfg: PiiSettings) -> list[Hit]:
    out = []
    for m in _IPV4.finditer(text):
        ip = m.group()
        if ip in cfg.public_ips or _VERSION_LIKE.match(ip) or ip.endswith((".0", ".255")):
            continue  # 5.0.0.93, 2.5.29.14: a version, an OID; .0/.255: a network's ends
        if not _global_ip(ip):
            continue
        if not _VERSION_BEFORE.search(text[max(0, m.start() - 20) : m.start()]):
            out.append(Hit("ipv4", m.start(), m.end()))
    return out


def _ipv6s(text: str, cfg: PiiSettings) -> list[Hit]:
    out = []
    for m in _IPV6.finditer(text):
        ip = m.group()
        if len([g for g in ip.split(":") if g]) < 3 or ip.lower() in cfg.public_ips:
            continue
        if _global_ip(ip):
            out.append(Hit("ipv6", m.start(), m.end()))
    return out


# (prefixes, lengths) of the card schemes: Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay
_IIN = (
    (("4",), (13, 16, 19)),
    (tuple(str(p) for p in [*range(51, 56), *range(2221, 2721)]), (16,)),
    (("34", "37"), (15,)),
    (("6011", "65", *(str(p) for p in range(644, 650))), tuple(range(16, 20))),
    (("36", "38", "39", *(str(p) for p in range(300, 306))), tuple(range(14, 20))),
    (tuple(str(p) for p in range(3528, 3590)), tuple(range(16, 20))),
    (("62",), tuple(range(16, 20))),
)


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def card_number(digits: str) -> bool:
    """A known scheme's prefix and length, and a valid Luhn check digit."""
    n = len(digits)
    scheme = any(n in lengths and digits.startswith(prefixes) for prefixes, lengths in _IIN)
    return scheme and luhn(digits)


def _cards(text: str) -> list[Hit]:
    out = []
    for m in _CARD.finditer(text):
        digits = m.group().replace(" ", "").replace("-", "")
        if not card_number(digits) or _number_context(text, m.start(), m.end()):
            continue
        if m.group(1) or _CARD_WORDS.search(text, max(0, m.start() - 40), m.start()):
            out.append(Hit("credit_card", m.start(), m.end()))
    return out
