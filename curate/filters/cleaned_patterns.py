"""Word lists and patterns of the AlpacaDataCleaned checks (data, not logic; ``cleaned`` uses them).

AlpacaDataCleaned (gururise) found these defects by reading the Alpaca set: HTML entities and
escaped control characters left in the text, placeholder inputs, prompt-template labels that
leaked into the fields, two tasks merged into one instruction, outputs that point at an image or
link the record does not hold, and instructions that ask for an image or audio.
"""

from __future__ import annotations

import re

# ---------------------------------------------------------------- escapes

# a named entity of the few that turn up in scraped or model text, or any numeric one
HTML_ENTITY = re.compile(
    r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos|nbsp|mdash|ndash|hellip|"
    r"rsquo|lsquo|rdquo|ldquo|copy|reg|trade|deg|eacute|egrave|aacute|oacute|uacute|ntilde|"
    r"uuml|ouml|auml|ccedil|laquo|raquo|middot|bull|times|divide|euro|pound|cent);"
)
# text that is markup or code, where an entity or a backslash escape is meant literally
MARKUP = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>|```")
CODE_HINT = re.compile(
    r"```|\bprint\s*\(|\bprintf\s*\(|\becho\s|\bdef\s+\w+\(|\bimport\s+\w|console\.log|"
    r"\bregex\b|\bescape\b|\bbackslash|\bstring literal|\bre\.\w+\(|\w+\s*=\s*['\"]|"
    r"\w\(\s*['\"]|"  # a call with a string argument: code, or a Toolformer tool call
    r"\bLaTeX\b|\bTeX\b|\\(?:begin|documentclass|usepackage|newline|noindent|newpage|"
    r"tableofcontents|textbf|section)\b|\\[a-z]+\{"  # LaTeX: \newline is no newline
)
ABOUT_ESCAPES = re.compile(
    r"\bHTML\b|\bXML\b|\bentit(?:y|ies)\b|\bescap(?:e|ed|es|ing)\b", re.IGNORECASE
)
# a backslash escape written out as text: \n, \t, \r, \" and \uXXXX (\u00e9 for é)
ESCAPE_SEQUENCE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|[ntr\"'])")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'"}

# ---------------------------------------------------------------- placeholder input

PLACEHOLDER_INPUTS = (
    "n/a",
    "na",
    "none",
    "null",
    "nil",
    "nan",
    "no input",
    "no input.",
    "<noinput>",
    "<no input>",
    "noinput",
    "no input required",
    "no input needed",
    "not applicable",
    "<none>",
    "(none)",
    "empty",
    "<empty>",
    "blank",
    "-",
    "--",
    "nothing",
    "no additional input",
    "no context",
    "input: none",
)

# ---------------------------------------------------------------- template leakage

# Alpaca / Vicuna / ChatML / Llama-2 markers: never part of a real instruction, input or output
TEMPLATE_MARKERS = (
    r"###\s*(?:Instruction|Input|Response|Output|Human|Assistant)\s*:",
    r"<\|im_start\|>",
    r"<\|im_end\|>",
    r"<\|endoftext\|>",
    r"\[/?INST\]",
    r"<</?SYS>>",
    r"^\s*Instruction\s*:",  # a new task begins on a line of its own
    r"^\s*Below is an instruction that describes a task",
)
# a field that opens with its own template label (the model repeated "Output:" before answering)
LABEL_OPENERS = {
    "input": re.compile(r"^\s*(?:Input|Context)\s*:", re.IGNORECASE),
    "output": re.compile(r"^\s*(?:Output|Response)\s*:", re.IGNORECASE),
}

# ---------------------------------------------------------------- merged instructions

# "1. Name three colours. 2. Write a haiku." / "Task 1: … Task 2: …" / "Instruction 2: …"
NUMBERED_ITEM = re.compile(
    r"(?:^\s*|(?<=[.?!:])\s+|\n\s*)(?:\(?(\d{1,2})[.)]|(?:Task|Instruction)\s+(\d{1,2})\s*:)\s+"
)

# ---------------------------------------------------------------- references to missing media

MEDIA_NOUNS = (
    r"image|picture|photo(?:graph)?|screenshot|video|audio(?: (?:clip|file|recording))?|"
    r"recording|chart|graph|diagram|figure|illustration|attachment|link|url|file|document|pdf|"
    r"spreadsheet|map"
)
REFERENCES = (
    rf"\b(?:the|this|that|these)\s+(?:attached|above|below|following|linked|provided|given|"
    rf"included|uploaded|accompanying|enclosed)\s+(?:{MEDIA_NOUNS})s?\b",
    rf"\b(?:the|this|that)\s+(?:{MEDIA_NOUNS})s?\s+(?:above|below|attached|provided|you (?:sent|shared|uploaded|provided))\b",
    rf"\b(?:as\s+shown|shown|seen|depicted|pictured)\s+in\s+the\s+(?:{MEDIA_NOUNS})\b",
    r"\bclick\s+(?:here|on\s+(?:the|this)\s+link|the\s+link|this\s+link)\b",
    r"\b(?:see|visit|follow|check(?:\s+out)?)\s+(?:the|this)\s+link\b",
    r"\b(?:here\s+is|here's)\s+(?:the|a)\s+(?:link|image|picture|photo|diagram|chart|video)\b",
    r"\[(?:image|picture|photo|link|url|video|audio|diagram|chart|insert [^\]]{1,30})\]",
    r"<(?:image|img|link|url|video|audio|photo|picture)>",
)
# what makes a reference good: the record holds a URL, a markdown/HTML image or a file path
PRESENT_MEDIA = re.compile(
    r"\b[a-z_]+\(\s*['\"]|"  # a Toolformer tool call (search('…'), request('…')) fetches it
    r"https?://|www\.\w|!\[[^\]]*\]\(|<img\s|\b[\w-]+\.(?:png|jpe?g|gif|svg|pdf|mp3|mp4|wav|csv|"
    r"xlsx?|docx?|txt|json)\b"
)

# ---------------------------------------------------------------- instructions asking for media

# Self-Instruct's blacklist words, read in context: they count only where the instruction asks
# for the medium (a verb of making or perceiving before it, or it points at one: "the image
# below"), not where they are part of the story ("go to an amusement park", "a music historian").
MAKE_VERBS = (
    r"draw|sketch|paint|plot|graph|create|generate|make|design|produce|render|compose|record|"
    r"upload|attach|insert|edit|crop|film|photograph|take|send|show|display|play|sing|look\s+at|"
    r"watch|listen\s+to|view|open|download|provide|include|add|output|return|give"
)
DEICTIC = (
    r"this|these|(?:the|an?|your|my)\s+(?:attached|following|given|above|below|provided|uploaded|"
    r"accompanying|enclosed)"
)
# media no text field can hold: pointing at one is pointing at something missing (a song, a map
# or a chart may be given as its title, lyrics or table)
SENSORY = frozenset({"image", "picture", "photo", "video", "audio"})
# where an imperative stands: the start of a sentence or line, or after a request's politeness
IMPERATIVE = (
    r"(?:^\s*|(?<=[.!?:;])\s+|\b(?:please|can\s+you|could\s+you|would\s+you|will\s+you|"
    r"i\s+want\s+you\s+to|help\s+me|let's|now)\s+)"
)
AFTER = r"below|above|attached|provided|shown|you\s+(?:sent|shared|uploaded)"
# nouns asked for; the verbs draw/plot/graph count where they open a clause ("Draw a cat")
MEDIA_REQUEST_NOUNS = (
    "image",
    "graph",
    "picture",
    "photo",
    "map",
    "video",
    "audio",
    "music",
    "song",
    "flowchart",
    "diagram",
    "chart",
)
MEDIA_REQUEST_VERBS = ("draw", "plot", "graph", "sketch", "paint")
# an instruction asking for code: "draw a board in LaTeX", "plot it with matplotlib" can be done
CODE_MEDIUM = re.compile(
    r"\b(?:LaTeX|TikZ|ASCII|SVG|HTML|CSS|code|python|matplotlib|javascript|markdown|mermaid|"
    r"graphviz|MATLAB|program|script|function|turtle)\b",
    re.IGNORECASE,
)
# "go to" as Self-Instruct meant it: go to a website or a screen, not a place
GO_TO = re.compile(
    r"\b(?:go|navigate|browse)\s+to\s+(?:the\s+|this\s+|a\s+|your\s+)?(?:\S*(?:www\.|https?://|\.com|\.org)|"
    r"(?:following\s+)?(?:website|web\s*site|web\s*page|page|site|link|url|settings|menu|tab|app)\b)",
    re.IGNORECASE,
)


def media_request_pattern(
    nouns: tuple[str, ...] | list[str], verbs: tuple[str, ...] | list[str]
) -> re.Pattern[str]:
    """One regex: an imperative asking for a medium (``Create a short video``, ``Can you draw
    a cat``) or pointing at one (``this image``, ``the photo below``). Named groups: ``noun``,
    ``noun2``, ``noun3`` (the medium) or ``verb`` (a drawing verb with an object)."""
    noun = "|".join(re.escape(n) for n in nouns)
    verb = "|".join(re.escape(v) for v in verbs)
    asked = (
        rf"{IMPERATIVE}(?:{MAKE_VERBS})\b(?:\s+(?:me|us|an?|the|some|your|its|their|one|two|three|"
        rf"simple|short|new|\w+(?:ed|ing|al|ful|ic|ive|ous|y)|\w+'s)){{0,3}}\s+(?P<noun>{noun})s?\b"
    )
    pointed = rf"\b(?:{DEICTIC})(?:\s+\w+)?\s+(?P<noun2>{noun})s?\b"
    pointed_after = rf"\b(?P<noun3>{noun})s?\s+(?:{AFTER})\b"
    opening = rf"{IMPERATIVE}(?P<verb>{verb})\s+(?:an?|the|me|us|\w+\s+of)\b"
    handed = (  # "I have just sent you a video of …": the user hands over what is not there
        rf"\b(?:sent|send|shared|share|uploaded|attached|given|showed|show)\s+you\s+"
        rf"(?:an?|the|this|my|some)\s+(?:\w+\s+)?(?P<noun4>{noun})s?\b"
    )
    return re.compile(
        f"{asked}|{pointed}|{pointed_after}|{opening}|{handed}", re.IGNORECASE | re.MULTILINE
    )


# ---------------------------------------------------------------- hints: patterns not run

# Words (lowercase ASCII), one of which every match of a pattern holds in some case: a text
# whose lower() holds none of them cannot match, so the pattern is not run on it (``may_match``)
# unless the text holds a CASE_TWIN: IGNORECASE matches it to an ASCII letter, lower() does not
# (the only three of Unicode, tests/test_cleaned.py checks).
CASE_TWINS = ("\u0130", "\u0131", "\u017f")  # İ and ı (to i), ſ (to s)
# REFERENCES: each holds a medium (MEDIA_NOUNS, "link"), "click", "[insert …]" or "<img>"
REFERENCE_HINTS = tuple(
    [
        "image",
        "picture",
        "photo",
        "screenshot",
        "video",
        "audio",
        "recording",
        "chart",
        "graph",
        "diagram",
        "figure",
        "illustration",
        "attachment",
        "link",
        "url",
        "file",
        "document",
        "pdf",
        "spreadsheet",
        "map",
        "click",
        "[insert",
        "<img",
    ]
)
# TEMPLATE_MARKERS' (not a user's own): ###, <|…|>, [INST], [/INST], <<SYS>>, Instruction
TEMPLATE_HINTS = ("###", "<|", "[inst", "[/inst", "<<", "instruction")
GO_TO_HINTS = ("go", "navigate", "browse")
