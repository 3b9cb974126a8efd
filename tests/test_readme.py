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


COMMANDS = {"curate filter": ("curate", "filter"), "curate generate": ("curate", "generate"),
            "curate convert": ("curate", "convert"), "train run": ("train", "run"),
            "curate loop": ("curate", "loop"), "train eval": ("train", "eval"),
            "curate translate": ("curate", "translate")}  # fmt: skip


def _option_names(script: str, name: str) -> set[str]:
    import typer

    from curate.cli import app as curate_app
    from train.cli import app as train_app

    group = typer.main.get_command(curate_app if script == "curate" else train_app)
    command = group.commands[name]  # type: ignore[attr-defined]
    return {opt for p in command.params for opt in (*p.opts, *getattr(p, "secondary_opts", []))}


def test_every_flag_in_a_readme_command_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    text = "\n".join(re.findall(r"```bash\n(.*?)\n```", readme, re.S)).replace("\\\n", " ")
    seen = set()
    for line in text.splitlines():
        for prefix, (script, name) in COMMANDS.items():
            if line.lstrip().startswith(prefix):
                seen.add(prefix)
                names = _option_names(script, name)
                for flag in re.findall(r"(?<![\w/])--[\w.-]+", line.split("#")[0]):
                    assert flag in names, f"README: {flag} is not an option of `{prefix}`"
    assert seen == set(COMMANDS)
