"""Hostile text in loop.md and experiment.md: a record (or a reason, a path) with ``|``, line
breaks, backticks, HTML and control characters is shown, escaped as report.md escapes it, and
never breaks a table, a code span or a fenced block."""

from __future__ import annotations

import json
import re
from pathlib import Path

from curate.experiment.data import Variant
from curate.experiment.report import examples
from curate.loop.report import COLUMNS, markdown

HOSTILE = (
    "a | b || c\nsecond line\r\nthird `tick` ``` fence\n<script>alert(1)</script> <img src=x>"
    " \x1b[31mred\x1b[0m \x07bell \u202eevil\u202c \u2028sep [link](http://x) *em*"
)
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _cells(line: str) -> list[str]:
    """A GFM table row's cells: split on every ``|`` not escaped with a backslash."""
    return re.split(r"(?<!\\)\|", line.strip().strip("|"))


def _outside_fences(md: str) -> list[str]:
    """The lines not in a fenced code block; every block must be closed."""
    out, fence = [], None
    for line in md.split("\n"):
        bare = line.strip()
        if fence is None:
            m = re.match(r"(`{3,})", bare)
            if m:
                fence = m.group(1)
            else:
                out.append(line)
        elif re.fullmatch(f"{fence}`*", bare):
            fence = None
    assert fence is None, "a fenced block is never closed"
    return out


def _check_plain(lines: list[str]) -> None:
    for line in lines:
        if line.startswith("!["):  # the report's own plots
            continue
        assert "<script" not in line and "<img" not in line, line
        assert "](" not in line.replace("\\](", ""), line  # no live link
        for span in re.finditer(r"(?<!`)(`+)(?!`)(.*?)(?<!`)\1(?!`)", line):
            assert "\n" not in span.group(2)


def test_loop_md_table_survives_hostile_text() -> None:
    row = {c: None for c in COLUMNS}
    row |= {"round": 1, "generated": 3, "eval_loss": 0.5, "train_mode": "continue"}
    row |= {"trained_from": HOSTILE, "rejected_by_reason": "filter:" + HOSTILE + " 2"}
    md = markdown([row, dict(row, round=2)], "stopped | because\n" + HOSTILE, ["rounds.png"])
    assert not CONTROLS.search(md)
    lines = md.split("\n")
    header = next(i for i, line in enumerate(lines) if line.startswith("| round |"))
    width = len(_cells(lines[header]))
    table = lines[header : header + 4]
    assert [len(_cells(line)) for line in table] == [width] * 4  # header, rule, two rows
    assert lines[header + 4] == ""  # the table ends where it should: no row split in two
    assert "a \\| b \\|\\| c second line third \\`tick\\`" in table[2]
    assert "&lt;script&gt;" in table[2]
    stopped = next(line for line in lines if line.startswith("**Stopped:**"))
    assert "because " in stopped and "second line" in stopped  # one line
    _check_plain(_outside_fences(md))


def test_experiment_md_examples_survive_a_hostile_record(tmp_path: Path) -> None:
    hostile = {"id": "id`1|x<b>", "instruction": HOSTILE, "input": "", "output": "````\n" + HOSTILE}
    (tmp_path / "f").mkdir()
    plain = {"id": "ok", "instruction": "Name a colour.", "input": "", "output": "Blue."}
    (tmp_path / "full.jsonl").write_text(json.dumps(hostile) + "\n" + json.dumps(plain) + "\n")
    (tmp_path / "f" / "kept.jsonl").write_text(json.dumps(plain) + "\n", encoding="utf-8")
    reject = {**hostile, "reject": {"stage": "quality", "reason": "too | odd\n<i>x</i>"}}
    (tmp_path / "f" / "rejected.jsonl").write_text(json.dumps(reject) + "\n", encoding="utf-8")
    full = Variant("full", "full", str(tmp_path / "full.jsonl"), 1, "s", "c", "k")
    filt = Variant("f", "filtered", str(tmp_path / "f" / "kept.jsonl"), 0, "s", "c", "k")
    md = "\n".join(examples(full, filt, 5))
    assert not CONTROLS.search(md)
    outside = _outside_fences(md)
    (item,) = [line for line in outside if line.startswith("- ")]  # the hostile record only
    assert item.startswith("- ``id`1|x<b>`` (quality: too \\| odd &lt;i&gt;x&lt;/i&gt;)"), item
    _check_plain([line.replace("``id`1|x<b>``", "") for line in outside])
    inside = md[md.index("  `````text") :]
    assert "third `tick` ``` fence" in inside and "<script>alert(1)</script>" in inside
