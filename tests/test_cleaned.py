"""The AlpacaDataCleaned checks (stage `cleaned`): per defect class a planted record that must be
caught under its own reason and a clean look-alike that must be kept; repairs; switches."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from curate.filters import cleaned_patterns as cp
from curate.filters.cleaned import CleanedConfig, CleanedStage, _compiled
from curate.filters.cleaned_checks import lower_for_hints, may_match
from curate.filters.quality import QualityConfig, check_instruction
from curate.filters.stage import StageMeter
from curate.io import read_records
from curate.records import Record


def _judge(rec: Record, **settings: object) -> tuple[str, dict]:
    """(reason or "", evidence) of the stage on one record."""
    stage = CleanedStage(CleanedConfig(**settings))
    verdict = stage.check([rec])[0]
    return ("" if verdict.keep else verdict.reason), dict(verdict.evidence)


def rec(instruction: str, input: str = "", output: str = "A fine answer.") -> Record:
    return Record("r", instruction, input, output)


# (reason, planted record, clean look-alike that must be kept)
CASES = [
    (
        "html-entity",
        rec("Explain why the sky is blue.", output="It&#x27;s Rayleigh scattering &amp; more."),
        rec(
            "What does &amp; stand for in HTML?",
            output="In HTML, &amp; is the entity for an ampersand.",
        ),
    ),
    (
        "escape-sequence",
        rec("Write a two-line poem.", output="Roses are red,\\nviolets are blue.\\n"),
        rec(
            "Print two lines in Python.",
            output="Use print('a\\nb'): the \\n inside the string is a newline.",
        ),
    ),
    (
        "escape-sequence",
        rec("Translate 'coffee' to French.", output="caf\\u00e9"),
        rec("Typeset a table of contents in LaTeX.", output="Put \\tableofcontents after \\begin."),
    ),
    (
        "placeholder-input",
        rec("Name three primary colours.", input="<noinput>"),
        rec("Is this input empty or not?", input="None of the above apply to me."),
    ),
    (
        "placeholder-input",
        rec("Name three primary colours.", input=" N/A. "),
        rec("Expand the abbreviation.", input="NASA"),
    ),
    (
        "template-leak",
        rec(
            "Name a fruit.",
            output="Apple.\n\n### Instruction:\nName a vegetable.\n\n### Response:\nCarrot.",
        ),
        rec(
            "Write a function that squares a number, with an example.",
            output="def sq(x): return x * x\n\nExample:\nInput: 3\nOutput: 9",
        ),
    ),
    (
        "template-leak",
        rec("Name a fruit.", output="Output: Apple."),
        rec("Name a fruit.", output="The output of a banana farm is bananas."),
    ),
    (
        "merged-instructions",
        rec("1. Name three colours. 2. Write a haiku about autumn leaves."),
        rec("Sort these fruits by size: 1. grape 2. melon 3. apple"),
    ),
    (
        "merged-instructions",
        rec("Task 1: Summarize the news in one line. Task 2: Translate the summary into German."),
        rec("1. Read the passage below carefully and answer the question that follows."),
    ),
    (
        "missing-reference",
        rec("Describe a sunset.", output="As shown in the image above, the sky turns orange."),
        rec(
            "Where can I read the paper?",
            output="Here is the link: https://arxiv.org/abs/2212.10560 (the paper itself).",
        ),
    ),
    (
        "missing-reference",
        rec("Where can I learn Python?", output="Click here to start the course."),
        rec("Describe a sunset.", output="The image of a sunset is a classic of painting."),
    ),
    (
        "media-request",
        rec("Draw a picture of a cat sitting on a mat."),
        rec("Sansa is an artist; she can draw a portrait in 2 hours. How many in 6 hours?"),
    ),
    (
        "media-request",
        rec("Describe what is happening in this photo."),
        rec("Lilah has 400 photos. She adds 20 more. How many of these photos are there now?"),
    ),
    (
        "media-request",
        rec("Go to the website of the BBC and summarize the top story."),
        rec("A couple decided to go to an amusement park. Tickets cost $109. What did they pay?"),
    ),
    (
        "media-request",
        rec("You are a marine biologist and I have just sent you a video of a strange creature."),
        rec("Imagine you are a defense attorney representing a video game character in court."),
    ),
    (
        "media-request",
        rec("Can you draw a chessboard for me?"),
        rec("How can you draw a chessboard in LaTeX? Write the code."),
    ),
    (
        "media-request",
        rec("Please compose a short music piece for the piano."),
        rec("Take the role of a music historian. Explain the impact of the Beatles."),
    ),
]


@pytest.mark.parametrize(("reason", "planted", "clean"), CASES, ids=[c[0] for c in CASES])
def test_each_defect_is_caught_and_its_look_alike_kept(
    reason: str, planted: Record, clean: Record
) -> None:
    got, evidence = _judge(planted)
    assert got == reason, evidence
    assert evidence
    assert _judge(clean) == ("", {})


def test_media_request_names_the_word_and_its_context() -> None:
    reason, evidence = _judge(rec("Create a short video about recycling."))
    assert reason == "media-request"
    assert evidence["word"] == "video"
    assert "Create a short video" in evidence["context"]


@pytest.mark.parametrize(
    "switch",
    [
        "html_entities",
        "escape_sequences",
        "placeholder_input",
        "template_leak",
        "merged_instructions",
        "missing_reference",
        "media_request",
    ],
)
def test_each_check_is_switchable(switch: str) -> None:
    planted = {
        "html_entities": CASES[0][1],
        "escape_sequences": CASES[1][1],
        "placeholder_input": CASES[3][1],
        "template_leak": CASES[5][1],
        "merged_instructions": CASES[7][1],
        "missing_reference": CASES[9][1],
        "media_request": CASES[11][1],
    }[switch]
    assert _judge(planted)[0]
    assert _judge(planted, **{switch: False}) == ("", {})


def test_fix_repairs_in_place_and_records_it() -> None:
    record = Record(
        "r", "Name three primary colours.", "N/A", "It&#x27;s red,\\nblue &amp; yellow."
    )
    stage = CleanedStage(CleanedConfig(fix=["html-entity", "escape-sequence", "placeholder-input"]))
    verdict = stage.check([record])[0]
    assert verdict.keep
    assert record.output == "It's red,\nblue & yellow."
    assert record.input == ""
    assert record.meta["repaired"] == [
        {"field": "output", "kind": "html-entity", "count": 2},
        {"field": "output", "kind": "escape-sequence", "count": 1},
        {"field": "input", "kind": "placeholder-input", "count": 1},
    ]
    assert isinstance(stage.meter, StageMeter)
    assert stage.meter.tally == {
        "repaired:html-entity": 2,
        "repaired:escape-sequence": 1,
        "repaired:placeholder-input": 1,
    }


def test_fix_rewrites_a_conversation_turn_and_its_view() -> None:
    turns = [
        {"role": "user", "content": "Say hi."},
        {"role": "assistant", "content": "Hi &amp; welcome."},
    ]
    record = Record.from_messages(
        "c",
        [dict(t) for t in turns]
        + [
            {"role": "user", "content": "Again."},
            {"role": "assistant", "content": "Hello."},
        ],
    )
    stage = CleanedStage(CleanedConfig(fix=["html-entity"]))
    assert stage.check([record])[0].keep
    assert record.messages is not None and record.messages[1]["content"] == "Hi & welcome."
    assert record.meta["repaired"][0]["field"] == "messages[1]"


def test_an_unrepairable_fix_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot repair 'template-leak'"):
        CleanedStage(CleanedConfig(fix=["template-leak"]))


def test_quality_bad_start_list_marks_and_digits_as_the_human_profile_sets_them() -> None:
    human = QualityConfig(blacklist=False, allow_digit_start=True, allow_list_start=True)
    generated = QualityConfig()
    for text in (
        "- Name three rivers in Europe.",
        "3 families of 4 people shared a rental. How many towels?",
        "“Hello” in French is what word?",
        "(a) Explain photosynthesis briefly.",
        "$240 was divided between Kelvin and Samuel. How much is left?",
    ):
        assert check_instruction(text, human).keep, text
        assert check_instruction(text, generated).reason == "bad-start", text
    assert check_instruction("...and then explain why it rained", human).reason == "bad-start"
    assert check_instruction("- ... and so on, and so forth", human).reason == "bad-start"


def test_a_lone_surrogate_escape_is_left_as_written() -> None:
    record = Record("r", "Say it.", "", "Caf\\u00e9 \\ud83d done.")
    assert CleanedStage(CleanedConfig(fix=["escape-sequence"])).check([record])[0].keep
    assert record.output == "Café \\ud83d done."


# each alternative of each hinted pattern, matched
HINTED_MATCHES = [
    "See the attached photographs.",
    "The chart above shows it.",
    "as depicted in the diagram",
    "Click on this link now.",
    "check out the link",
    "Here's a video of it.",
    "Put [insert your logo] here, or [URL].",
    "<IMG> goes here",
    "### Response: done",
    "<|im_start|>user",
    "<|endoftext|>",
    "[/INST] ok [INST]",
    "<<SYS>> be nice <</SYS>>",
    "First this.\n  Instruction: then that.",
    "Below is an instruction that describes a task.",
    "Draw a cat.",
    "Please plot the graph of sales.",
    "Describe this image.",
    "What is in the photo below?",
    "I have sent you a song of mine.",
    "Go to www.bbc.co.uk and read it.",
    "Navigate to the settings menu.",
]
# letters IGNORECASE matches to an ASCII one: K (Kelvin sign) lowercases to k, the rest do not
TWINS = str.maketrans({"i": "\u0131", "I": "\u0130", "s": "\u017f", "k": "\u212a"})


def test_the_hints_never_skip_a_text_its_pattern_matches(shared_data: Path) -> None:
    """The stage runs a pattern only on a text whose lower() holds one of its hints (or holds a
    case twin): over planted, real and odd-cased texts, every text a pattern matches is run."""
    c = _compiled(CleanedConfig())
    assert c.marker_hints and c.media_hints
    hinted = [
        (c.references, cp.REFERENCE_HINTS),
        (c.markers, c.marker_hints),
        (c.media, c.media_hints),
        (cp.GO_TO, cp.GO_TO_HINTS),
    ]
    texts = [
        *HINTED_MATCHES,
        *(f for case in CASES for r in case[1:] for f in r.text().split("\n")),
    ]
    for name in ("seed_tasks.jsonl", "user_oriented_instructions.jsonl"):
        for r in read_records(str(shared_data / "self-instruct" / name)):
            texts += [r.instruction, r.input, r.output]  # type: ignore[union-attr]
    matched = 0
    for pattern, hints in hinted:
        assert pattern is not None
        for text in texts:
            for variant in (text, text.upper(), text.swapcase(), text.translate(TWINS)):
                if pattern.search(variant):
                    matched += 1
                    assert may_match(lower_for_hints(variant), hints), (pattern.pattern, variant)
    assert matched > 4 * len(HINTED_MATCHES)


def test_the_case_twins_are_all_of_unicode() -> None:
    """The letters IGNORECASE matches to an ASCII letter that lower() does not turn into it."""
    every = "".join(chr(c) for c in range(128, sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    twins = {
        c
        for c in re.findall("[a-z]", every, re.IGNORECASE)
        if c.lower() not in "abcdefghijklmnopqrstuvwxyz"
    }
    assert twins == set(cp.CASE_TWINS)


def test_custom_markers_and_media_words_are_run_on_every_text() -> None:
    c = _compiled(CleanedConfig(template_markers=["^Q:"], media_nouns=["\u017fong"]))
    assert c.marker_hints is None and c.media_hints is None
    leak = rec("Name a fruit.", output="Q: and more")
    assert _judge(leak, template_markers=["^Q:"])[0] == "template-leak"
    assert _judge(rec("Sing this SONG.", output="La la."), media_nouns=["\u017fong"])[0] == (
        "media-request"
    )
