"""Behaviour preserved, byte for byte: `curate filter` on the small cases and a scripted
`curate generate` run write exactly what tests/golden/filter_outputs.json recorded (see
bench/golden.py; after an intended change of behaviour, rewrite the digests with
`python bench/golden.py --write tests/golden/filter_outputs.json`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# by path: bench/ on sys.path would let bench/train.py shadow the train package for other tests
_spec = importlib.util.spec_from_file_location("bench_golden", HERE.parent / "bench" / "golden.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

CASES = golden.SMALL  # defects, toolformer, toolformer-decontam, gsm8k, roleplay, generate


@pytest.mark.slow
def test_outputs_are_byte_identical_to_the_golden_digests(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in golden.OFFLINE.items():  # restored after the test
        monkeypatch.setenv(key, value)
    path = HERE / "golden" / "filter_outputs.json"
    diffs = golden.check(path, CASES)
    changed = "\n".join(
        f"  {case}: {file} ({want[:12]} → {got[:12]})" for case, file, want, got in diffs
    )
    packages = golden.changed_versions(path)
    note = f"\n(packages differ from when the digests were written: {packages})" if packages else ""
    assert not diffs, f"outputs changed (case: file):\n{changed}{note}"
