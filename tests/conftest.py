"""Shared fixtures: the team's real benchmark data and tiny random-init models built on the fly."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from curate.backends.registry import BackendSpec

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/tiny_models.py


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the project (real third-party data: tests may read it, the tool may not)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(
            f"{SHARED_DATA} is missing: tests need the team's shared data beside the project"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def project_data() -> Path:
    return ROOT / "data"


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"), "llama")


@pytest.fixture(scope="session")
def tiny_falcon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-falcon"), "falcon")


@pytest.fixture
def fake_backend() -> Iterator[BackendSpec]:
    """``--backend fake`` (scripted answers, generate_fakes.respond) registered for one test."""
    from generate_fakes import fake_spec

    from curate.backends.registry import register_backend, unregister_backend

    spec = register_backend(fake_spec())
    try:
        yield spec
    finally:
        unregister_backend(spec.name)
