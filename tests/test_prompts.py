"""Every generation prompt file, rendered exactly: the expected text is written out here."""

from __future__ import annotations

import hashlib
from importlib.resources import files

import pytest

from curate.generate import prompts as P
from curate.generate.prompts import TEMPLATES, render_prompt
from curate.records import Record

SEEDS = [
    Record("s1", "Name a fruit.", "", "Apple.", meta={"is_classification": False}),
    Record("s2", "Is this spam?", "Win money now!", "Spam", meta={"is_classification": True}),
]
SI = TEMPLATES["self-instruct"]
AL = TEMPLATES["alpaca"]

INSTRUCTIONS = """\
Below is a numbered list of tasks that people ask a helpful assistant to do. Continue the list with new tasks.

Rules for the new tasks:
- Each task is one instruction on one line after its number.
- Vary the kind of task: questions, writing, rewriting, classification, extraction, reasoning, math and code.
- Vary the topic and the wording; do not repeat or paraphrase a task that is already in the list.
- A task must be doable in text alone: no pictures, sound, files or web browsing.
- A task may need an input, such as a sentence, a paragraph or a table; describe it, do not write it.

1. Name a fruit.
2. Is this spam?
3."""

CLASSIFY = """\
Decide whether each task is a classification task: a task whose answer is one label out of a small, \
fixed set of options, such as positive or negative, spam or not spam, or one of a few topics.

Task: Name a fruit.
Classification: No

Task: Is this spam?
Classification: Yes

Task: Sort the words.
Classification:"""

INPUT_FIRST = """\
For each task, write an example of the task being done: first the input the task needs, then the \
output a careful assistant would give for that input. When the task needs no input, write "Input: <noinput>".

Task: Name a fruit.
Input: <noinput>
Output: Apple.

Task: Is this spam?
Input: Win money now!
Output: Spam

Task: Sort the words.
Input:"""

OUTPUT_FIRST = """\
For each classification task, first write one of the labels the task allows, then write an input whose \
correct label is that one. When the task needs no input, write "Input: <noinput>".

Task: Name a fruit.
Class label: Apple.
Input: <noinput>

Task: Is this spam?
Class label: Spam
Input: Win money now!

Task: Sort the words.
Class label:"""

STRUCTURED = """\
For each task, write an example of the task being done as a JSON object with two keys: "input", the \
input the task needs ("" when it needs none), and "output", the answer a careful assistant would give.

Task: Name a fruit.
JSON: {"input": "", "output": "Apple."}

Task: Is this spam?
JSON: {"input": "Win money now!", "output": "Spam"}

Task: Sort the words.
JSON:"""

ALPACA = """\
Continue the numbered list below with 20 new tasks for training a helpful assistant. Each task has an \
instruction, an input and an output.
- The instruction is one or two sentences, a request or a question; vary the verbs, the topics and the \
kind of task (open questions, writing, rewriting, classification, extraction, reasoning, math, code).
- Do not repeat or paraphrase a task already in the list.
- The input is the concrete text the instruction works on, such as a sentence, a paragraph or a list, \
or <noinput> when the instruction needs none.
- The output is a correct and complete answer, at most 100 words.
- A task must be doable in text alone: no pictures, sound, files or web browsing.
Separate the tasks with a line that holds ###.

1. Instruction: Name a fruit.
1. Input:
<noinput>
1. Output:
Apple.
###
2. Instruction: Is this spam?
2. Input:
Win money now!
2. Output:
Spam
###
3. Instruction:"""

ALPACA_STRUCTURED = """\
Write 20 new tasks for training a helpful assistant, as a JSON object {"tasks": [...]} whose items have \
the keys "instruction" (one or two sentences, a request or a question), "input" (the concrete text the \
instruction works on, or "" when it needs none) and "output" (a correct and complete answer, at most 100 \
words). Vary the kind of task (open questions, writing, rewriting, classification, extraction, \
reasoning, math, code) and the topics; do not repeat a task from the examples. A task must be doable in \
text alone: no pictures, sound, files or web browsing.

Examples:
{"tasks": [{"instruction": "Name a fruit.", "input": "", "output": "Apple."}, \
{"instruction": "Is this spam?", "input": "Win money now!", "output": "Spam"}]}

JSON:"""


def _rendered() -> dict[str, str]:
    """file → (rendered, expected); item files are covered through the prompts that use them."""
    task = "Sort the words."
    rendered = {
        SI["instructions"]: (
            render_prompt(
                SI["instructions"],
                tasks=P.task_list("self-instruct", ["Name a fruit.", "Is this spam?"]),
                next_number=3,
            ),
            INSTRUCTIONS,
        ),
        SI["classify"]: (
            render_prompt(SI["classify"], examples=P.classify_examples(SEEDS), instruction=task),
            CLASSIFY,
        ),
        AL["generate"]: (
            render_prompt(AL["generate"], num_tasks=20, tasks=P.alpaca_tasks(SEEDS), next_number=3),
            ALPACA,
        ),
        AL["structured"]: (
            render_prompt(AL["structured"], num_tasks=20, examples=P.alpaca_json_examples(SEEDS)),
            ALPACA_STRUCTURED,
        ),
    }
    for kind, expected in (
        ("input_first", INPUT_FIRST),
        ("output_first", OUTPUT_FIRST),
        ("structured", STRUCTURED),
    ):
        examples = P.instance_examples(kind, SEEDS)
        rendered[SI[kind]] = (
            render_prompt(SI[kind], examples=examples, instruction=task),
            expected,
        )
    return rendered


@pytest.mark.parametrize("name", sorted(_rendered()))
def test_prompt_renders_exactly(name: str) -> None:
    rendered, expected = _rendered()[name]
    assert rendered == expected


def test_every_prompt_file_is_rendered_by_a_test() -> None:
    used = {f for t in TEMPLATES.values() for f in t.values()}
    items = {f for f in used if "item" in f}
    assert used - items == set(_rendered())
    on_disk = {
        f"{d.name}/{f.name}"
        for d in files("prompts").iterdir()
        if d.name in ("self_instruct", "alpaca")
        for f in d.iterdir()
        if f.name.endswith(".txt")
    }
    assert on_disk == used


def test_render_checks_variables() -> None:
    with pytest.raises(KeyError, match="missing \\['instruction'\\]"):
        render_prompt(SI["classify"], examples="")
    with pytest.raises(KeyError, match="unexpected \\['colour'\\]"):
        render_prompt(SI["classify"], examples="", instruction="x", colour="red")


def test_braces_that_are_not_variables_stay() -> None:
    assert '{"tasks": [...]}' in render_prompt(AL["structured"], num_tasks=3, examples="[]")


def test_template_hash_is_sha256_of_the_files() -> None:
    text = files("prompts").joinpath("self_instruct", "classify.txt").read_text(encoding="utf-8")
    assert P.prompt_sha256(SI["classify"]) == hashlib.sha256(text[:-1].encode()).hexdigest()
    assert len(P.template_sha256("alpaca")) == 64
    assert P.template_sha256("alpaca") != P.template_sha256("self-instruct")
