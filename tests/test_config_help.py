"""Every config key explains itself: a one-line help text in its field, printed by --show-config."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from curate.cli import app as curate_app
from curate.config import Leaf, leaves
from curate.experiment.config import ExperimentConfig
from curate.filters.config import FilterConfig
from curate.generate.config import GenerateConfig
from curate.loop.config import LoopConfig
from curate.translate.config import TranslateConfig
from train.cli import app as train_app
from train.config import TrainConfig
from train.eval_config import EvalConfig

COMMANDS = [
    pytest.param(FilterConfig, curate_app, ["filter"], id="curate filter"),
    pytest.param(GenerateConfig, curate_app, ["generate"], id="curate generate"),
    pytest.param(TrainConfig, train_app, ["run"], id="train run"),
    pytest.param(EvalConfig, train_app, ["eval"], id="train eval"),
    pytest.param(LoopConfig, curate_app, ["loop"], id="curate loop"),
    pytest.param(TranslateConfig, curate_app, ["translate"], id="curate translate"),
    pytest.param(ExperimentConfig, curate_app, ["experiment"], id="curate experiment"),
]


def listed_keys(listing: str) -> dict[str, str]:
    """Dotted key → its line, from --show-config's indented YAML (two spaces per section)."""
    lines: dict[str, str] = {}
    path: list[str] = []
    for line in listing.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name, _, rest = line.strip().partition(":")
        del path[depth:]
        if not rest.strip():  # "section:" opens a section
            path.append(name)
            continue
        lines[".".join([*path, name])] = line
    return lines


@pytest.mark.parametrize(("cls", "app", "command"), COMMANDS)
def test_every_key_has_a_one_line_help(cls: type, app: typer.Typer, command: list[str]) -> None:
    missing = [leaf.key for leaf in leaves(cls) if not leaf.help.strip()]
    assert not missing, f"keys without help: {missing}"
    multiline = [leaf.key for leaf in leaves(cls) if "\n" in leaf.help]
    assert not multiline, f"help over several lines: {multiline}"


@pytest.mark.parametrize(("cls", "app", "command"), COMMANDS)
def test_show_config_prints_every_help(cls: type, app: typer.Typer, command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--show-config"])
    assert result.exit_code == 0, result.output
    lines = listed_keys(result.output)
    every: list[Leaf] = list(leaves(cls))
    assert list(lines) == [leaf.key for leaf in every]  # every key, in declaration order
    for leaf in every:
        value_and_comment = lines[leaf.key].split(":", 1)[1]
        assert f"; {leaf.help}" in value_and_comment, (leaf.key, lines[leaf.key])


def test_a_stage_section_names_the_reason_it_controls() -> None:
    helps = {leaf.key: leaf.help for leaf in leaves(FilterConfig)}
    assert "exact-duplicate" in helps["exact_dedup.enabled"]
    assert "near-duplicate" in helps["near_dedup.enabled"]
    assert "contaminated" in helps["decontam.enabled"]
    assert "lang-mismatch" in helps["language.enabled"]
    assert "toxic:" in helps["toxicity.enabled"]
    for reason in ("empty-output", "instruction-too-short", "blacklist:", "bad-start", "refusal",
                   "echo", "repetition", "truncated", "missing-context"):  # fmt: skip
        assert any(reason in text for key, text in helps.items() if key.startswith("quality.")), (
            reason
        )
