"""Generation on several GPUs or nodes: the parallel settings reach vLLM, checked on CPU.

tensor/pipeline parallel and the executor go to ``vllm.LLM`` (a stand-in LLM records its
keywords: no GPU, no model); data parallel is a vLLM server's business, so curate stops with the
`vllm serve` command, and vLLM's own argument parser reads that command back.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch

from curate.backends.base import BackendError
from curate.backends.vllm_backend import (
    EngineConfig,
    VLLMBackend,
    engine_kwargs,
    ray_data_llm_config,
    serve_command,
)
from curate.generate.config import load_config


class _RecordingLLM:
    seen: dict = {}

    def __init__(self, **kwargs: object) -> None:
        type(self).seen = kwargs


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> type[_RecordingLLM]:
    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=_RecordingLLM))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the GPU defaults, on CPU
    return _RecordingLLM


def test_parallel_keys_load_from_yaml_and_reach_vllm_llm(
    tmp_path: Path, fake_vllm: type[_RecordingLLM]
) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(
        "engine:\n  tensor_parallel_size: 4\n  pipeline_parallel_size: 2\n"
        "  distributed_executor_backend: ray\n"
    )
    engine = load_config(path).engine
    VLLMBackend(str(tmp_path), engine=engine)
    kw = fake_vllm.seen
    assert kw["tensor_parallel_size"] == 4 and kw["pipeline_parallel_size"] == 2
    assert kw["distributed_executor_backend"] == "ray"
    assert kw["gpu_memory_utilization"] == 0.9 and kw["model"] == str(tmp_path)


def test_one_gpu_defaults_send_no_parallel_keys_but_tensor_parallel_1() -> None:
    kw = engine_kwargs("m", EngineConfig(), None)
    assert kw["tensor_parallel_size"] == 1
    assert "pipeline_parallel_size" not in kw and "distributed_executor_backend" not in kw
    assert "data_parallel_size" not in kw  # vLLM refuses it in-process


def test_data_parallel_stops_with_the_server_command(
    tmp_path: Path, fake_vllm: type[_RecordingLLM]
) -> None:
    fake_vllm.seen = {}
    engine = EngineConfig(data_parallel_size=2, tensor_parallel_size=2)
    with pytest.raises(BackendError) as info:
        VLLMBackend(str(tmp_path), engine=engine)
    message = str(info.value)
    assert f"vllm serve {tmp_path} --host 127.0.0.1 --port 8000" in message
    assert "--data-parallel-size 2" in message and "--tensor-parallel-size 2" in message
    assert "--backend openai --base-url http://127.0.0.1:8000/v1" in message
    assert fake_vllm.seen == {}  # no engine was started


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("data_parallel_size", 0, "engine.data_parallel_size: expected an integer >= 1, got 0"),
        ("distributed_executor_backend", "slurm", "expected one of mp, ray or null"),
    ],
)
def test_bad_parallel_settings_are_one_line(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    from typer.testing import CliRunner

    from curate.cli import app

    args = ["generate", "--out", str(tmp_path / "o"), "--model", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--set", f"engine.{key}={value}"])
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.vllm
def test_vllm_reads_the_server_command_back(tmp_path: Path) -> None:
    pytest.importorskip("vllm")
    from vllm.engine.arg_utils import EngineArgs
    from vllm.entrypoints.launchers.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    (tmp_path / "adapter_config.json").write_text('{"r": 8}')
    engine = EngineConfig(
        tensor_parallel_size=2,
        pipeline_parallel_size=3,
        data_parallel_size=4,
        distributed_executor_backend="ray",
        max_model_len=2048,
    )
    model = tmp_path / "model"  # a local directory: no hub look-up
    model.mkdir()
    cmd = serve_command(str(model), engine, adapter=str(tmp_path), port=8100)
    assert cmd[:3] == ["vllm", "serve", str(model)]
    args = make_arg_parser(FlexibleArgumentParser()).parse_args(["--model", cmd[2], *cmd[3:]])
    parsed = EngineArgs.from_cli_args(args)
    assert (parsed.tensor_parallel_size, parsed.pipeline_parallel_size) == (2, 3)
    assert parsed.data_parallel_size == 4 and parsed.distributed_executor_backend == "ray"
    assert parsed.max_model_len == 2048 and parsed.enable_lora and parsed.max_lora_rank == 8
    assert (args.host, args.port) == ("127.0.0.1", 8100)


def test_ray_data_llm_route_gets_the_same_engine_arguments(
    fake_vllm: type[_RecordingLLM],
) -> None:
    engine = EngineConfig(tensor_parallel_size=2, data_parallel_size=8, max_model_len=4096)
    cfg = ray_data_llm_config("org/model", engine)
    assert cfg["model_source"] == "org/model" and cfg["concurrency"] == 8
    assert cfg["engine_kwargs"] == {
        k: v for k, v in engine_kwargs("org/model", engine, None).items() if k != "model"
    }
    assert cfg["engine_kwargs"]["tensor_parallel_size"] == 2
    config = pytest.importorskip("ray.data.llm", reason="the ray extra").vLLMEngineProcessorConfig
    built = config(**cfg)  # Ray accepts them (building the processor needs vLLM and GPUs)
    assert built.engine_kwargs["tensor_parallel_size"] == 2 and built.concurrency == 8
