"""Word lists and patterns the quality heuristics use (data, not logic).

The blacklist is self-instruct's (``generate_instances`` / ``bootstrap_instructions`` filter):
tasks a text-only model cannot do. Each entry is matched as a whole word, case-insensitively,
with an optional plural ``s``.
"""

from __future__ import annotations

import re

BLACKLIST = (
    "image",
    "graph",
    "picture",
    "file",
    "map",
    "draw",
    "plot",
    "go to",
    "video",
    "audio",
    "music",
    "flowchart",
    "diagram",
)

# Outputs that carry no answer (compared after stripping, lowercasing and dropping outer punctuation).
PLACEHOLDERS = (
    "",
    "n/a",
    "na",
    "none",
    "null",
    "nan",
    "<nooutput>",
    "<no output>",
    "no output",
    "<noinput>",
    "<empty>",
    "empty",
    "-",
    "--",
    "...",
    "…",
    "tbd",
    "todo",
)

# AI disclaimers, lowercase, apostrophes straight; matched near the start of an output, except when
# the instruction itself is about AI (a role-play "Pretend to be an AI language model …").
DISCLAIMERS = (
    "as an ai language model",
    "as a language model",
    "as an ai model",
    "as an ai assistant",
    "as an artificial intelligence",
    "as a large language model",
    "i am an ai language model",
    "i'm an ai language model",
)
ABOUT_AI = re.compile(r"\bAI\b|[Aa]rtificial [Ii]ntelligence|[Ll]anguage [Mm]odel|[Cc]hatbot")

# Refusals, matched the same way whatever the instruction.
REFUSALS = (
    "i'm sorry, but i cannot",
    "i'm sorry, but i can't",
    "i am sorry, but i cannot",
    "i am sorry, but i can't",
    "i'm sorry, i cannot",
    "i'm sorry, i can't",
    "sorry, but i cannot",
    "sorry, but i can't",
    "i cannot fulfill",
    "i can't fulfill",
    "i cannot comply",
    "i can't comply",
    "i cannot assist with",
    "i can't assist with",
    "i cannot help with",
    "i can't help with",
    "i'm unable to help",
    "i am unable to help",
    "i'm not able to help",
    "i am not able to help",
    "i cannot provide assistance",
    "i must decline",
    "i'm afraid i cannot",
    "i'm afraid i can't",
)

# Words an English sentence essentially never ends on: a prose output stopping on one was cut off.
DANGLING = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "nor",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "as",
        "than",
        "that",
        "which",
        "who",
        "whose",
        "whom",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "shall",
        "if",
        "because",
        "so",
        "its",
        "their",
        "his",
        "her",
        "my",
        "your",
        "our",
        "this",
        "these",
        "those",
        "into",
        "onto",
        "about",
        "between",
        "through",
        "during",
        "before",
        "after",
        "while",
        "although",
        "though",
        "when",
        "where",
        "whether",
        "not",
        "very",
    ]
)

# Dolly categories whose instruction refers to a passage given in the context.
CONTEXT_CATEGORIES = ("closed_qa", "information_extraction", "summarization")

# Leading marks that open a question or exclamation in Spanish (and Asturian, Galician).
INVERTED_OPENERS = "¿¡"

# Scripts written without spaces between words: (pattern, characters per word, roughly).
SPACELESS_SCRIPTS = (
    (re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"), 1.5),  # Han, kana
    (re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]"), 5.0),  # Thai, Lao, Myanmar, Khmer
)

SPACELESS_ANY = re.compile("|".join(p.pattern for p, _ in SPACELESS_SCRIPTS))
SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？])\s+|\n+")
SPACES = re.compile(r"\s+")
# The last line of an output that is a list item, a heading, a table row or a quoted line.
LIST_ITEM = re.compile(r"^\s*(?:[-*•+>|#]|\d+[.)]|[a-zA-Z][.)]\s)")
# What a human-written instruction may open with before its first word: a list mark, an item
# label, quotes or brackets, a currency sign ("$240 was divided …": the digit start decides).
LIST_OPENER = re.compile(
    r"^\s*(?:[-*•–—]\s+|\(?[a-zA-Z0-9]{1,2}[.)]\s+|[\"“‘'«(\[]+|[$€£¥₹](?=\d))"
)
# Characters that make a line look like code, a formula or markup rather than prose.
CODE_CHARS = re.compile(r"[=(){}\[\];<>`\\/_^*+$%@]")
TERMINAL = ".!?。！？…:;\"'”’»)]}*`>"


def blacklist_pattern(words: tuple[str, ...] | list[str]) -> re.Pattern[str]:
    """One regex whose groups are the listed words: whole words, optional plural ``s``."""
    alts = ["(" + re.escape(w).replace(r"\ ", r"\s+") + ")" for w in words]
    return re.compile(rf"\b(?:{'|'.join(alts)})s?\b", re.IGNORECASE)


def blacklist_lower_pattern(words: tuple[str, ...] | list[str]) -> re.Pattern[str] | None:
    """``blacklist_pattern`` for an ASCII text already lowercased (no IGNORECASE: 3x faster);
    None when a word is not ASCII (IGNORECASE then matches letters that ``lower`` does not fold)."""
    if not all(w.isascii() for w in words):
        return None
    alts = ["(" + re.escape(w.lower()).replace(r"\ ", r"\s+") + ")" for w in words]
    return re.compile(rf"\b(?:{'|'.join(alts)})s?\b")


def blacklist_cores(words: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Per word its longest space-free piece, lowercased: a lowercased ASCII text without any of
    them cannot match the blacklist."""
    return tuple(max(w.lower().split(" "), key=len) for w in words)


def phrases_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """Any of the phrases, each space standing for a run of whitespace: a pre-check on a raw head."""
    alts = [r"\s+".join(re.escape(piece) for piece in p.split(" ")) for p in phrases]
    return re.compile("|".join(alts) if alts else r"(?!)")
