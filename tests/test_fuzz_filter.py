"""Fuzz `curate filter` end to end: random JSON Lines (hostile shapes, encodings' bytes, nesting,
NaN) through the real CLI. It never shows a traceback, and every non-blank input line ends up
in kept.jsonl or rejected.jsonl — none lost, none written twice."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from curate.cli import app

TEXT = st.text(alphabet=st.characters(codec=None), max_size=30)  # lone surrogates included
VALUE = st.none() | st.booleans() | st.integers() | st.floats() | TEXT | st.lists(TEXT, max_size=3)
ROW = st.dictionaries(
    st.sampled_from(["instruction", "input", "output", "messages", "meta", "id", "x"]), VALUE
) | st.fixed_dictionaries({"instruction": TEXT, "output": TEXT})
LINE = (
    ROW.map(lambda r: json.dumps(r, ensure_ascii=False))
    | TEXT
    | st.binary(max_size=20).map(lambda b: b.decode("latin-1"))
)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(LINE, min_size=1, max_size=12))
def test_filter_reads_or_rejects_every_line_and_never_tracebacks(lines: list[str]) -> None:
    body = "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_bytes(body.encode("utf-8", "surrogatepass"))
        out = Path(tmp) / "out"
        args = ["filter", str(src), "--out", str(out), "--lang", "en", "-q"]
        result = CliRunner().invoke(app, [*args, "--skip", "toxicity,language"])
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        if result.exit_code != 0:  # a whole-file refusal: one line naming the input
            errors = [x for x in result.output.splitlines() if x.startswith("error:")]
            assert len(errors) == 1 and str(src) in errors[0], result.output
            return
        nonblank = sum(1 for line in body.split("\n") if line.strip())  # JSON Lines: \n only
        kept = (out / "kept.jsonl").read_text(encoding="utf-8").split("\n")[:-1]
        rejected = (out / "rejected.jsonl").read_text(encoding="utf-8").split("\n")[:-1]
        for row in kept + rejected:
            json.loads(row, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        assert len(kept) + len(rejected) == nonblank
