"""The AlpacaDataCleaned checks, one small function per defect, on plain text.

Each returns what it found (the entities, the leaked label, the tasks, the evidence) or nothing;
``curate.filters.cleaned`` turns that into Verdicts and repairs. Patterns: ``cleaned_patterns``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from curate.filters import cleaned_patterns as cp


def lower_for_hints(text: str) -> str | None:
    """``text`` lowercased for ``may_match``; None where it holds a ``cp.CASE_TWINS`` letter."""
    if not text.isascii():
        for twin in cp.CASE_TWINS:
            if twin in text:
                return None
    return text.lower()


def may_match(low: str | None, hints: tuple[str, ...] | None) -> bool:
    """False only where a pattern with these hints (``cleaned_patterns``) cannot match: the
    lowercased text ``low`` holds none of them. True for None (a text with a case twin) or no
    hints."""
    if low is None or hints is None:
        return True
    for hint in hints:  # noqa: SIM110 (a loop: any() over a generator takes longer)
        if hint in low:
            return True
    return False


def literal_text(text: str) -> bool:
    """Markup, code, or text about escapes and entities: there an entity or escape is meant."""
    return bool(
        cp.MARKUP.search(text) or cp.CODE_HINT.search(text) or cp.ABOUT_ESCAPES.search(text)
    )


def html_entities(text: str) -> list[str]:
    """The HTML entities of ``text`` (none where it is markup or code)."""
    if "&" not in text:
        return []
    found = cp.HTML_ENTITY.findall(text)
    return found if found and not literal_text(text) else []


def escape_sequences(text: str) -> list[str]:
    """The backslash escapes written out in ``text`` (none where it is code)."""
    if "\\" not in text:
        return []
    found = cp.ESCAPE_SEQUENCE.findall(text)
    return found if found and not literal_text(text) else []


def unescape_sequences(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        s = m.group(0)
        if s[1] != "u":
            return cp.ESCAPES[s[1]]
        code = int(s[2:], 16)
        return s if 0xD800 <= code <= 0xDFFF else chr(code)  # half a surrogate pair: left as is

    return cp.ESCAPE_SEQUENCE.sub(one, text)


def is_placeholder_input(text: str, placeholders: frozenset[str]) -> bool:
    low = text.strip().lower()
    return bool(low) and (low in placeholders or low.strip(" .!\"'`()") in placeholders)


def template_leak(
    text: str, markers: re.Pattern[str] | None, field: str, hints: tuple[str, ...] | None = None
) -> str | None:
    """The leaked label, or None. Text in a code fence is shown, not leaked."""
    if "```" in text:
        return None
    run = markers is not None and may_match(lower_for_hints(text), hints)
    m = markers.search(text) if run else None  # type: ignore[union-attr]
    if m is not None:
        return m.group(0).strip()
    opener = cp.LABEL_OPENERS.get(field)
    m = opener.match(text) if opener is not None else None
    return m.group(0).strip() if m is not None else None


def merged_tasks(instruction: str, min_words: int) -> list[str] | None:
    """The numbered tasks of an instruction that begins with task 1 and holds task 2 (each of
    at least ``min_words`` words), or None. "List: 1. apples 2. pears" is a list, not tasks."""
    head = instruction.lstrip()[:1]  # where task 1 has to begin (what NUMBERED_ITEM opens with)
    if not head or not (head in "(TI" or head.isdecimal()):
        return None
    items = list(cp.NUMBERED_ITEM.finditer(instruction))
    if len(items) < 2 or instruction[: items[0].start()].strip():
        return None
    numbers = [int(m.group(1) or m.group(2)) for m in items]
    if numbers[:2] != [1, 2]:
        return None
    ends = [m.start() for m in items[1:]] + [len(instruction)]
    tasks = [instruction[m.end() : end].strip() for m, end in zip(items, ends, strict=True)]
    if all(len(t.split()) >= min_words for t in tasks[:2]):
        return tasks[:2]
    return None


def media_request(
    instruction: str,
    input: str,
    pattern: re.Pattern[str] | None,
    go_to: bool,
    hints: tuple[str, ...] | None = None,
) -> dict[str, str] | None:
    """{word, context} where the instruction asks for or points at a medium, else None. Not
    counted: a request for code ("draw a board in LaTeX"); pointing back ("400 photos … all these
    photos"); pointing at what the input describes ("The video shows …") or, for a song, map or
    chart, may hold as text."""
    low = lower_for_hints(instruction)
    run = pattern is not None and may_match(low, hints)
    code = None  # asks for code: looked for at the first match only
    for m in pattern.finditer(instruction) if run else ():  # type: ignore[union-attr]
        if code is None:
            code = cp.CODE_MEDIUM.search(instruction) is not None
        if code:
            break
        groups = (m["noun"], m["noun2"], m["noun3"], m["verb"], m["noun4"])
        word = next(g for g in groups if g).lower()
        if m["noun2"] or m["noun3"] or m["noun4"]:  # pointing at one
            earlier = instruction[: m.start()]
            if re.search(rf"\b{re.escape(word)}", earlier + " " + input, re.IGNORECASE):
                continue
            if input.strip() and word not in cp.SENSORY:
                continue
        return {"word": word, "context": _around(instruction, m)}
    if go_to and may_match(low, cp.GO_TO_HINTS):
        m = cp.GO_TO.search(instruction)
        if m is not None:
            return {"word": "go to", "context": _around(instruction, m)}
    return None


def missing_reference(
    output: str,
    record_text: Callable[[], str],
    references: re.Pattern[str],
    hints: tuple[str, ...] | None = None,
) -> str | None:
    """The phrase by which the output points at media the record does not hold (its whole
    text: ``record_text()``, asked only then), or None."""
    m = references.search(output) if may_match(lower_for_hints(output), hints) else None
    if m is None or cp.PRESENT_MEDIA.search(record_text()):
        return None
    return m.group(0)


def _around(text: str, m: re.Match[str], width: int = 30) -> str:
    start, end = max(0, m.start() - width), min(len(text), m.end() + width)
    return " ".join(text[start:end].split())
