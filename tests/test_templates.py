"""The one prompt loader: files read once, variables checked, renders equal to the old ones."""

from __future__ import annotations

import itertools
from importlib.resources import files

import pytest

from curate import templates
from curate.io import read_records
from curate.records import Record
from curate.render import render
from curate.templates import TemplateError, render_template, template_text


def test_a_mismatch_names_the_file() -> None:
    with pytest.raises(TemplateError) as err:
        render_template("train/alpaca.txt", {"instruction": "x"})
    assert str(err.value) == "prompts/train/alpaca.txt: missing ['input'], unexpected []"
    with pytest.raises(KeyError, match=r"^prompts/train/alpaca_no_input.txt: unexpected \['inp'\]"):
        render_template("train/alpaca_no_input.txt", {"instruction": "x", "inp": "y"})


def test_values_are_not_rendered_again() -> None:
    values = {"instruction": "Fill {input} and {{x}}", "input": "{instruction}"}
    out = render_template("train/alpaca.txt", values)
    assert "Fill {input} and {{x}}\n\n### Input:\n{instruction}\n\n" in out


def test_final_newline_is_the_callers_choice() -> None:
    raw = files("prompts").joinpath("train", "alpaca_no_input.txt").read_text(encoding="utf-8")
    assert template_text("train/alpaca_no_input.txt") == raw
    assert template_text("train/alpaca_no_input.txt", final_newline=False) == raw[:-1]


def test_training_renders_equal_str_format_and_read_the_file_once(shared_data) -> None:
    """The old renderer: the file re-read for every record, then ``str.format``."""
    path = shared_data / "gpteacher" / "toolformer.json"
    recs = [r for r in itertools.islice(read_records(str(path)), 300) if isinstance(r, Record)]
    recs += [Record("e", "Say {hi}.", output="{}"), Record("f", "Use {input}", "a {b} c", "ok")]
    assert any(r.input for r in recs) and any(not r.input for r in recs)
    train = files("prompts").joinpath("train")
    old = {n: train.joinpath(n).read_text("utf-8") for n in ("alpaca.txt", "alpaca_no_input.txt")}
    for cached in (templates.template_text, templates._pieces, templates.template_vars):
        cached.cache_clear()
    for rec in recs:
        if rec.input:
            expect = old["alpaca.txt"].format(instruction=rec.instruction, input=rec.input)
        else:
            expect = old["alpaca_no_input.txt"].format(instruction=rec.instruction)
        assert render(rec, "alpaca") == (expect, rec.output)
    assert templates.template_text.cache_info().misses == 2  # one read per file
