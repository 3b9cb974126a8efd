"""The backend registry: one row per backend is all the CLI, the config and the loop know of."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from generate_fakes import ScriptedBackend, respond
from typer.testing import CliRunner

from curate.backends import registry
from curate.backends.registry import BackendSpec, register_backend, unregister_backend
from curate.cli import app
from curate.config import ConfigError, build
from curate.generate.config import GenerateConfig, load_config

PACKAGE = Path(__file__).resolve().parent.parent / "curate"
SHIPPED = {"vllm": "engine", "openai": "openai", "transformers": "transformers", "mt": None}


def generate(tmp_path: Path, *args: str):
    return CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "o"), *args])


def test_the_registry_lists_exactly_the_shipped_backends() -> None:
    assert registry.names() == tuple(SHIPPED)
    assert {s.name: s.section for s in registry.SHIPPED} == SHIPPED
    assert registry.names(structured=True) == ("vllm", "openai")
    assert registry.names(adapter="name") == ("openai",)
    # their sections close GenerateConfig, in registry order: config.yaml keeps its shape
    # (mt has none: it only translates, its section lives in curate translate's config)
    fields = [f.name for f in dataclasses.fields(GenerateConfig)]
    assert fields[-3:] == [s for s in SHIPPED.values() if s]
    for spec in registry.SHIPPED:
        if spec.section:
            assert isinstance(getattr(GenerateConfig(), spec.section), spec.config)
        module, _, cls = str(spec.factory).partition(":")
        assert callable(getattr(importlib.import_module(module), cls).from_options)


def test_no_backend_library_loads_until_a_backend_opens() -> None:
    code = (
        "import sys, curate.cli, curate.generate.backend; "
        "print([m for m in ('vllm', 'torch', 'openai', 'transformers') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_an_unknown_backend_is_one_line_listing_the_choices(tmp_path: Path) -> None:
    result = generate(tmp_path, "--model", "m", "--backend", "nope")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: --backend: expected one of vllm, openai, transformers, mt, got 'nope'"
    )
    (tmp_path / "g.yaml").write_text("model: m\nbackend: nope\n")
    result = generate(tmp_path, "--config", str(tmp_path / "g.yaml"))
    assert result.output.strip() == (
        f"error: {tmp_path / 'g.yaml'}:2: backend: expected one of vllm, openai, transformers, mt, "
        "got 'nope'"
    )


def test_a_plugin_backend_runs_end_to_end_through_the_cli(fake_backend, tmp_path: Path) -> None:
    result = generate(
        tmp_path, "--model", "scripted", "--backend", "fake", "--target", "4", "--batch-size", "1"
    )
    assert result.exit_code == 0, result.output
    assert "target reached" in result.output
    out = tmp_path / "o"
    kept = [json.loads(line) for line in (out / "records.jsonl").open()]
    assert len(kept) >= 4
    assert {r["meta"]["generation"]["backend"] for r in kept} == {"fake"}
    assert "backend: fake\n" in (out / "config.yaml").read_text()
    # the choices a user is shown come from the registry too
    result = generate(tmp_path, "--model", "m", "--backend", "nope")
    assert "expected one of vllm, openai, transformers, mt, fake, got 'nope'" in result.output


def _needs_adapter(opts) -> None:
    if not opts.adapter:
        raise ValueError("--backend echo needs --adapter")


@pytest.fixture
def echo() -> Iterator[BackendSpec]:
    spec = BackendSpec(
        "echo",
        lambda opts: ScriptedBackend(respond, model=opts.model),
        "answers with the prompt",
        validate=_needs_adapter,
    )
    register_backend(spec)
    yield spec
    unregister_backend("echo")


def test_config_checks_come_from_the_rows(echo: BackendSpec, tmp_path: Path) -> None:
    result = generate(tmp_path, "--model", "m", "--backend", "echo")
    assert result.exit_code == 1 and "--backend echo needs --adapter" in result.output
    result = generate(
        tmp_path, "--model", "m", "--backend", "echo", "--adapter", "a", "--structured"
    )
    assert "--structured needs --backend vllm or openai (echo cannot constrain output)" in (
        result.output
    )
    with pytest.raises(ValueError, match="already registered"):
        register_backend(echo)


def test_a_row_with_a_config_gets_its_own_yaml_section() -> None:
    @dataclass
    class EchoConfig:
        repeat: int = 1

    register_backend(BackendSpec("echo2", "nowhere:Echo", "x", EchoConfig, "echo2"))
    try:

        @dataclass
        @registry.with_backend_sections
        class Config:
            model: str = ""

        cfg = build(Config, {"echo2": {"repeat": 3}}, "g.yaml", "")
        assert cfg.echo2 == EchoConfig(repeat=3) and cfg.engine.dtype == "auto"
        with pytest.raises(ConfigError, match="g.yaml: echo2.repeat: expected an integer"):
            build(Config, {"echo2": {"repeat": "x"}}, "g.yaml", "")
        with pytest.raises(ValueError, match="backend 'vllm': section 'engine' is taken"):
            registry.with_backend_sections(Config)  # a row cannot shadow a key already there
    finally:
        unregister_backend("echo2")


def test_the_shipped_yaml_sections_still_load(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(
        "engine: {max_model_len: 64}\nopenai: {api: chat}\ntransformers: {batch_size: 2}\n"
    )
    cfg = load_config(path)
    assert cfg.engine.max_model_len == 64 and cfg.engine.dtype == "auto"
    assert cfg.openai.api == "chat" and cfg.transformers.batch_size == 2


def _imports_by_name_and_reads_env(tree: ast.AST) -> bool:
    names = {n.attr if isinstance(n, ast.Attribute) else n.id for n in ast.walk(tree)
             if isinstance(n, (ast.Attribute, ast.Name))}  # fmt: skip
    by_name = bool(names & {"import_module", "__import__"})
    return by_name and bool(names & {"environ", "getenv"})


def test_the_package_ships_no_fake_and_no_env_import_hook() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "fake" not in text.lower(), f"{path}: test-only code belongs in tests/"
        assert not _imports_by_name_and_reads_env(ast.parse(text)), (
            f"{path}: imports a module by name in a file that reads the environment"
        )
