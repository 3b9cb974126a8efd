"""Every generation prompt is a file in ``prompts/``, rendered by :func:`render_prompt`.

Files are loaded and checked by ``curate.templates`` (``{name}`` variables, each given exactly
once). The file's final newline is not part of a generation prompt (editors add one): a prompt
ends where its last line ends, so the model continues that line.
"""

from __future__ import annotations

import hashlib
import json

from curate.records import Record
from curate.templates import render_template, template_text

NOINPUT = "<noinput>"

# Which files each --template uses, by the step that renders them.
TEMPLATES: dict[str, dict[str, str]] = {
    "self-instruct": {
        "instructions": "self_instruct/instructions.txt",
        "task_item": "self_instruct/task_item.txt",
        "classify": "self_instruct/classify.txt",
        "classify_item": "self_instruct/classify_item.txt",
        "input_first": "self_instruct/instances_input_first.txt",
        "input_first_item": "self_instruct/instance_input_first_item.txt",
        "output_first": "self_instruct/instances_output_first.txt",
        "output_first_item": "self_instruct/instance_output_first_item.txt",
        "structured": "self_instruct/instances_structured.txt",
        "structured_item": "self_instruct/instance_structured_item.txt",
    },
    "alpaca": {
        "generate": "alpaca/generate.txt",
        "task_item": "alpaca/task_item.txt",
        "structured": "alpaca/generate_structured.txt",
    },
}


def render_prompt(name: str, **values: object) -> str:
    """``prompts/<name>`` without its final newline, each ``{var}`` replaced by ``str(values[var])``."""
    return render_template(name, values, final_newline=False)


def prompt_sha256(name: str) -> str:
    """sha256 of the prompt as rendered: the file without its final newline."""
    return hashlib.sha256(template_text(name, final_newline=False).encode("utf-8")).hexdigest()


def template_hashes(template: str) -> dict[str, str]:
    """{file: sha256} of every file a template uses, for provenance."""
    return {path: prompt_sha256(path) for path in TEMPLATES[template].values()}


def template_sha256(template: str) -> str:
    """One hash over all of a template's files (name and text), for provenance."""
    h = hashlib.sha256()
    for path, digest in sorted(template_hashes(template).items()):
        h.update(f"{path}\0{digest}\n".encode())
    return h.hexdigest()


# ---------------------------------------------------------------- the pieces prompts are made of


def shown_input(text: str) -> str:
    return text if text.strip() else NOINPUT


def task_list(template: str, instructions: list[str], start: int = 1) -> str:
    """A numbered list of instructions (self-instruct's step 1 prompt body)."""
    item = TEMPLATES[template]["task_item"]
    return "\n".join(
        render_prompt(item, number=start + i, instruction=text)
        for i, text in enumerate(instructions)
    )


def alpaca_tasks(records: list[Record], start: int = 1) -> str:
    item = TEMPLATES["alpaca"]["task_item"]
    return "\n###\n".join(
        render_prompt(
            item,
            number=start + i,
            instruction=r.instruction,
            input=shown_input(r.input),
            output=r.output,
        )
        for i, r in enumerate(records)
    )


def alpaca_json_examples(records: list[Record]) -> str:
    tasks = [{"instruction": r.instruction, "input": r.input, "output": r.output} for r in records]
    return json.dumps({"tasks": tasks}, ensure_ascii=False)


def classify_examples(records: list[Record]) -> str:
    item = TEMPLATES["self-instruct"]["classify_item"]
    return "\n\n".join(
        render_prompt(
            item, instruction=r.instruction, answer="Yes" if is_classification(r) else "No"
        )
        for r in records
    )


def instance_examples(kind: str, records: list[Record]) -> str:
    """Demonstrations for instance generation; kind is input_first, output_first or structured."""
    item = TEMPLATES["self-instruct"][f"{kind}_item"]
    blocks = []
    for r in records:
        if kind == "structured":
            blob = json.dumps({"input": r.input, "output": r.output}, ensure_ascii=False)
            blocks.append(render_prompt(item, instruction=r.instruction, json=blob))
        else:
            blocks.append(
                render_prompt(
                    item, instruction=r.instruction, input=shown_input(r.input), output=r.output
                )
            )
    return "\n\n".join(blocks)


def is_classification(rec: Record) -> bool:
    return bool(rec.meta.get("is_classification"))
