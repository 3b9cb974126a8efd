"""Parsing model text: tolerant of numbering and labels; everything else becomes a Failure."""

from __future__ import annotations

import json

from curate.generate.parse import (
    Instance,
    Triple,
    parse_alpaca,
    parse_alpaca_json,
    parse_classification,
    parse_instances,
    parse_instruction_list,
    parse_json_instance,
)


def test_numbering_styles() -> None:
    text = "9. Write a limerick about cats.\n10) Sort these numbers.\nTask 11: Explain tides.\n12 - Name three rivers.\n(13) Translate hello.\n#14 Count vowels."
    parsed = parse_instruction_list(text)
    assert parsed.items == [
        "Write a limerick about cats.",
        "Sort these numbers.",
        "Explain tides.",
        "Name three rivers.",
        "Translate hello.",
        "Count vowels.",
    ]
    assert parsed.failures == []


def test_continuation_lines_join_and_empty_items_fail() -> None:
    parsed = parse_instruction_list("3. Write a story\nabout a dog.\n4.\n5. Add 2 and 3.")
    assert parsed.items == ["Write a story about a dog.", "Add 2 and 3."]
    assert [f.reason for f in parsed.failures] == ["empty-item"]
    assert parsed.failures[0].raw == "4.\n"


def test_truncated_last_item_and_gibberish() -> None:
    parsed = parse_instruction_list("3. Write a poem.\n4. Describe the hist", truncated=True)
    assert parsed.items == ["Write a poem."]
    assert (
        parsed.failures[0].reason == "truncated"
        and parsed.failures[0].raw == "4. Describe the hist"
    )
    gib = parse_instruction_list("qx zz ⁂ ~~")
    assert (
        gib.items == []
        and gib.failures[0].reason == "no-numbered-items"
        and gib.failures[0].raw == "qx zz ⁂ ~~"
    )


def test_classification_answers() -> None:
    assert parse_classification(" Yes") is True
    assert parse_classification("no, it is open") is False
    assert parse_classification("??") is None
    assert parse_classification("maybe") is None


def test_input_first_instances() -> None:
    parsed = parse_instances("Input: <noinput>\nOutput: Paris.\n\nTask: next", output_first=False)
    assert parsed.items == [Instance("", "Paris.")]
    multi = parse_instances(
        "Input: 2, 1\nOutput: 1, 2\nInput: b a\nOutput: a b", output_first=False
    )
    assert multi.items == [Instance("2, 1", "1, 2"), Instance("b a", "a b")]
    missing_input = parse_instances("Output: 42", output_first=False)
    assert missing_input.items == [Instance("", "42")]
    none = parse_instances("Input: something but no answer", output_first=False)
    assert none.items == [] and none.failures[0].reason == "missing-output"


def test_output_first_instances() -> None:
    parsed = parse_instances("Class label: Positive\nInput: I love it.", output_first=True)
    assert parsed.items == [Instance("I love it.", "Positive")]
    bad = parse_instances("Class label: Positive", output_first=True)
    assert bad.items == [] and bad.failures[0].reason == "missing-input"


def test_truncated_instance_becomes_failure() -> None:
    parsed = parse_instances(
        "Input: a\nOutput: b\nInput: c\nOutput: d is cut", output_first=False, truncated=True
    )
    assert parsed.items == [Instance("a", "b")]
    assert parsed.failures[0].reason == "truncated"


def test_json_instance() -> None:
    assert parse_json_instance('{"input": "", "output": "Hi"}').items == [Instance("", "Hi")]
    assert parse_json_instance('noise {"input": "x", "output": "y"} tail').items == [
        Instance("x", "y")
    ]
    assert parse_json_instance('{"input": "x"').failures[0].reason == "invalid-json"
    assert parse_json_instance('{"input": "x"}').failures[0].reason == "missing-output"


ALPACA = """3. Instruction: Name a colour.
3. Input:
<noinput>
3. Output:
Blue.
###
4. Instruction: Reverse the word.
4. Input:
stop
4. Output:
pots
###
5. Instruction: Missing its output.
5. Input:
x
###
Instruction: Un-numbered task.
Output: fine
###
6. Instruction: Cut off here"""


def test_alpaca_blocks() -> None:
    parsed = parse_alpaca(ALPACA, truncated=True)
    assert parsed.items == [
        Triple("Name a colour.", "", "Blue."),
        Triple("Reverse the word.", "stop", "pots"),
        Triple("Un-numbered task.", "", "fine"),
    ]
    assert [f.reason for f in parsed.failures] == ["missing-output", "truncated"]
    assert parsed.failures[0].raw.startswith("5. Instruction: Missing its output.")


def test_alpaca_json() -> None:
    text = json.dumps(
        {"tasks": [{"instruction": "A b c", "input": "", "output": "d"}, {"input": "x"}]}
    )
    parsed = parse_alpaca_json(text)
    assert parsed.items == [Triple("A b c", "", "d")]
    assert [f.reason for f in parsed.failures] == ["missing-instruction"]
    assert parse_alpaca_json("[1, 2").failures[0].reason == "invalid-json"
