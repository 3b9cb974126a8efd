"""What the loop asks of `curate generate`: run ids, prompt_format, --adapter as a directory."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from generate_fakes import ScriptedBackend, respond

from curate.backends.registry import BackendSpec, register_backend, unregister_backend
from curate.config import ConfigError
from curate.generate.backend import open_backend
from curate.generate.config import GenerateConfig, run_id_of
from curate.generate.prompt_format import ChatPrompts, resolve, with_format


def adapter_dir(tmp: Path, template: str | None = "chatml") -> Path:
    d = tmp / "my-adapter"
    d.mkdir()
    (d / "adapter_config.json").write_text("{}")
    if template:
        (d / "train_config.yaml").write_text(f"template: {template}\nbase_model: x\n")
    return d


def test_run_id_is_a_stable_hash_of_the_settings_or_given() -> None:
    a = GenerateConfig(model="m", seed=1)
    assert run_id_of(a) == run_id_of(GenerateConfig(model="m", seed=1))
    assert len(run_id_of(a)) == 8 and run_id_of(a) != run_id_of(GenerateConfig(model="m", seed=2))
    # the stop rules and earlier runs are not settings of the records: same id
    assert run_id_of(a) == run_id_of(dataclasses.replace(a, target=5, previous=["x"]))
    assert run_id_of(dataclasses.replace(a, run_id="mine")) == "mine"


def test_prompt_format_auto_is_chat_for_a_trained_adapter_raw_for_a_base(tmp_path: Path) -> None:
    d = adapter_dir(tmp_path)
    assert resolve(GenerateConfig(model="m"))[0] == "raw"
    assert resolve(GenerateConfig(model="m", adapter=str(d)))[:2] == ("chat", "chatml")
    assert resolve(GenerateConfig(model="m", adapter=str(d), prompt_format="raw"))[0] == "raw"
    backend = ScriptedBackend(respond)
    wrapped, fmt = with_format(backend, GenerateConfig(model="m", adapter=str(d)))
    assert fmt == "chat:chatml" and isinstance(wrapped, ChatPrompts)
    assert wrapped.wrap("List tasks:\n1.") == (
        "<|im_start|>user\nList tasks:\n1.<|im_end|>\n<|im_start|>assistant\n"
    )
    alpaca = ChatPrompts(backend, "alpaca")
    assert alpaca.wrap("Do it.").endswith("### Instruction:\nDo it.\n\n### Response:\n")
    # a plain peft adapter (no train_config.yaml): auto stays raw, chat is refused in one line
    plain = adapter_dir(tmp_path / "p", template=None) if (tmp_path / "p").mkdir() is None else None
    assert resolve(GenerateConfig(model="m", adapter=str(plain)))[0] == "raw"
    with pytest.raises(ConfigError, match="prompt_format: chat needs the adapter's training"):
        resolve(GenerateConfig(model="m", adapter=str(plain), prompt_format="chat"))


def test_adapter_dir_becomes_the_served_name_for_a_name_backend(tmp_path: Path) -> None:
    seen = []
    spec = BackendSpec(
        "named", lambda o: seen.append(o) or ScriptedBackend(respond), "-", adapter="name"
    )
    register_backend(spec)
    try:
        d = adapter_dir(tmp_path)
        open_backend(GenerateConfig(model="m", backend="named", adapter=str(d)))
        open_backend(GenerateConfig(model="m", backend="named", adapter="served-lora"))
    finally:
        unregister_backend("named")
    assert [o.adapter for o in seen] == ["my-adapter", "served-lora"]
