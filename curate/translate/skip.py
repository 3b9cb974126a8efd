"""Tasks a translator must not translate, each detected with its own reason id.

- ``translate:skip-translation-task``: the task *is* a translation ("Translate this into French"):
  translating it changes what it asks (the language stage's own stems, curate.filters.language).
- ``translate:skip-english-task``: the task is about English itself — spelling, grammar, rhymes,
  anagrams, syllables, pronunciation, synonyms —, so its answer stops being right once translated.
- ``translate:skip-code-only``: the output is code and nothing else: there is nothing to translate
  and a model would only damage it.

Each check is a pure function of the source record; ``skip_reason`` gives the first that fires.
"""

from __future__ import annotations

import re
from typing import Any

from curate.filters.language import asks_translation
from curate.records import Record

ENGLISH_TASK = re.compile(
    r"\b(?:spell(?:ing|ed|s)?|misspell\w*|grammar|grammatical(?:ly)?|rhym\w*|anagrams?|"
    r"palindromes?|syllables?|pronunciation|pronounce|homophones?|alliteration|"
    r"synonyms?|antonyms?|plural form|past tense|parts? of speech|vowels?|consonants?|"
    r"letters? (?:in|of) (?:the|this|each) word|capitali[sz]\w*|punctuat\w*)\b",
    re.IGNORECASE,
)
ENGLISH_WORD = re.compile(r"\benglish\b", re.IGNORECASE)
FENCE = re.compile(r"^\s*```[^\n]*\n.*?\n\s*```\s*$", re.DOTALL)
CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import|return\b|for .*:|if .*:|while .*:|#include|"
    r"public |private |function\b|const |let |var |SELECT |INSERT |UPDATE |CREATE |<\w+[ >/]|"
    r"[}\])];?$|.*[;{]$|.*\) *{$|\w+ *= *.+$|print\(|console\.)"
)


def code_only(output: str) -> bool:
    """The output is one fenced block, or every non-blank line of it looks like code."""
    text = output.strip()
    if not text:
        return False
    if FENCE.match(text) and text.count("```") == 2:
        return True
    lines = [line for line in text.split("\n") if line.strip()]
    return len(lines) >= 2 and all(CODE_LINE.match(line) for line in lines)


def english_task(instruction: str, input: str) -> str | None:
    """The word that makes the task about English (spelling, rhymes …), else None."""
    m = ENGLISH_TASK.search(instruction)
    if m is not None:
        return m.group(0).lower()
    if ENGLISH_WORD.search(instruction):
        return "english"
    return None


def skip_reason(rec: Record) -> tuple[str, dict[str, Any]] | None:
    """(reason, evidence) when ``rec`` must not be translated, else None."""
    if asks_translation(rec.instruction):
        return "translate:skip-translation-task", {"instruction": rec.instruction[:80]}
    word = english_task(rec.instruction, rec.input)
    if word is not None:
        return "translate:skip-english-task", {"word": word}
    if code_only(rec.output):
        return "translate:skip-code-only", {"output": rec.output[:80]}
    return None
