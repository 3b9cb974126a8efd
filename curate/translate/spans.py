"""Protected spans: what a careful translator never translates, masked before and restored after.

Code blocks, inline code, URLs, e-mail addresses, placeholders (``{name}``, ``%s``, ``<EMAIL>``)
and numbers are replaced by markers ``[[1]]``, ``[[2]]`` … that models copy through; after the
model answers, every marker is replaced by its span again, verbatim. A span whose marker the model
dropped is *lost*: the caller rejects the record (``translate:lost-span``) with the span as
evidence, never ships a translation with a broken URL or a changed number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Order matters: the first alternative that matches at a position wins (a code block before the
# inline code inside it, a URL before the number inside it).
KINDS: tuple[tuple[str, str], ...] = (
    ("code-block", r"```.*?(?:```|\Z)"),
    ("inline-code", r"`[^`\n]+`"),
    ("url", r"\b(?:https?://|ftp://|www\.)[^\s<>\"')\]]*[^\s<>\"')\].,;:!?]"),
    ("email", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    ("placeholder", r"\{[A-Za-z_][\w.]*\}|%\(\w+\)[sdif]|%[sdif]|<[A-Z][A-Z_]*>|\$\{\w+\}"),
    ("number", r"(?<![\w.])[-+]?\d+(?:[.,:/]\d+)*%?(?![\w])"),
)
MARKER = re.compile(r"\[\[(\d+)\]\]")
# marker-shaped text already in the input is matched first and left alone
PATTERN = re.compile(
    "|".join([r"(?P<marker>\[\[\d+\]\])", *(f"(?P<{k.replace('-', '_')}>{p})" for k, p in KINDS)]),
    re.DOTALL,
)


@dataclass
class Masked:
    """A text with its protected spans replaced by markers; ``spans[i]`` is marker ``[[i+1]]``."""

    text: str
    spans: list[tuple[str, str]] = field(default_factory=list)  # (kind, span)
    offset: int = 0  # markers start past any marker-shaped text the input already held


def mask(text: str, kinds: frozenset[str] | None = None) -> Masked:
    """``text`` with every protected span (of ``kinds``; None: all) replaced by a marker.

    A text that already holds something shaped like a marker is left unmasked for those spans that
    would collide: markers are numbered past the largest one present.
    """
    taken = max((int(m.group(1)) for m in MARKER.finditer(text)), default=0)
    spans: list[tuple[str, str]] = []

    def replace(m: re.Match[str]) -> str:
        kind = (m.lastgroup or "").replace("_", "-")
        if kind == "marker" or (kinds is not None and kind not in kinds):
            return m.group(0)
        spans.append((kind, m.group(0)))
        return f"[[{taken + len(spans)}]]"

    return Masked(PATTERN.sub(replace, text), spans, taken)


def restore(translated: str, masked: Masked) -> tuple[str, list[tuple[str, str]]]:
    """(the translation with each marker replaced by its span, the spans whose marker is missing).

    A marker the model repeated is restored everywhere; a marker it invented (not one of ours) is
    left as it is and shows up in the text.
    """
    offset = masked.offset
    seen: set[int] = set()

    def replace(m: re.Match[str]) -> str:
        k = int(m.group(1)) - offset - 1
        if 0 <= k < len(masked.spans):
            seen.add(k)
            return masked.spans[k][1]
        return m.group(0)

    text = MARKER.sub(replace, translated)
    lost = [span for k, span in enumerate(masked.spans) if k not in seen]
    return text, lost


def only_spans(masked: Masked) -> bool:
    """Nothing left to translate: the text is markers, spaces and punctuation only."""
    return not any(c.isalpha() for c in MARKER.sub("", masked.text))
