"""README's two commands are what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_installs_and_tests_the_readme_way() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    install_and_test = blocks[1]
    for step in install_and_test.split(" && "):
        if step.startswith(("python3 -m venv", ". .venv")):
            continue
        if step.startswith("python -m pytest"):
            assert "python -m pytest -q" in ci
        else:
            assert step in ci, f"README step {step!r} is not in .ci/run"
