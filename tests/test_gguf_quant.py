"""`--quant q4_0`'s per-tensor types (llama-quantize's Q4_0 rules) and the numpy Q6_K quantizer.

Synthetic f16 GGUF files, no converter: seconds. The exports of real tiny models per preset are in
test_train_export.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from train.gguf_quant import UnsupportedShape, quantize_q6_k, requantize_q4_0


def f16_gguf(path: Path, arch: str, shapes: dict[str, tuple[int, ...]], **kv: int) -> Path:
    import gguf

    rng = np.random.default_rng(0)
    writer = gguf.GGUFWriter(path, arch)
    for key, value in kv.items():
        writer.add_uint32(f"{arch}.{key}", value)
    for name, shape in shapes.items():
        data = rng.standard_normal(shape).astype(np.float32) * 0.05
        writer.add_tensor(name, data if len(shape) == 1 else data.astype(np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


LLAMA = {  # numpy shapes: (rows, row length); llama.cpp's ne[0] is the row length
    "token_embd.weight": (384, 256),
    "output.weight": (384, 256),
    "output_norm.weight": (256,),
    "blk.0.attn_norm.weight": (256,),
    "blk.0.attn_q.weight": (256, 256),
    "blk.0.attn_k.weight": (64, 256),
    "blk.0.attn_v.weight": (64, 256),
    "blk.0.ffn_down.weight": (256, 512),
}


def test_q4_0_types_follow_llama_quantize(tmp_path: Path, gguf_tensors) -> None:
    src = f16_gguf(tmp_path / "f16.gguf", "llama", LLAMA)
    types = requantize_q4_0(src, tmp_path / "q4.gguf")
    assert types == {
        "token_embd.weight": "Q4_0",  # untied: the preset's type
        "output.weight": "Q6_K",  # 256 divides its rows
        "output_norm.weight": "F32",
        "blk.0.attn_norm.weight": "F32",
        "blk.0.attn_q.weight": "Q4_0",
        "blk.0.attn_k.weight": "Q4_0",
        "blk.0.attn_v.weight": "Q4_0",
        "blk.0.ffn_down.weight": "Q4_0",
    }
    tensors, written = gguf_tensors(tmp_path / "q4.gguf")
    assert written == types
    original, _ = gguf_tensors(src)
    for name, want in original.items():
        err = np.abs(tensors[name] - want).max() / np.abs(want).max()
        assert err < {"Q6_K": 0.05, "Q4_0": 0.2, "F32": 1e-7}[types[name]], (name, err)


@pytest.mark.parametrize(
    ("arch", "shapes", "kv", "want"),
    [
        # tied embeddings: token_embd is the output, so it gets the output's type
        ("llama", {"token_embd.weight": (384, 256)}, {}, {"token_embd.weight": "Q6_K"}),
        # Q6_K needs rows of 256: llama.cpp falls back to Q8_0 (the tiny test models' case)
        ("llama", {"token_embd.weight": (384, 64), "output.weight": (384, 64)}, {}, {"token_embd.weight": "Q4_0", "output.weight": "Q8_0"}),
        # Falcon's output is always Q8_0
        ("falcon", {"token_embd.weight": (384, 256), "blk.0.attn_qkv.weight": (320, 256)}, {}, {"token_embd.weight": "Q8_0", "blk.0.attn_qkv.weight": "Q4_0"}),
        # 8 experts: attn_v / attn_k go to Q8_0
        ("llama", {"output.weight": (384, 256), "blk.0.attn_k.weight": (64, 256), "blk.0.attn_v.weight": (64, 256), "blk.0.attn_q.weight": (256, 256)}, {"expert_count": 8}, {"output.weight": "Q6_K", "blk.0.attn_k.weight": "Q8_0", "blk.0.attn_v.weight": "Q8_0", "blk.0.attn_q.weight": "Q4_0"}),
    ],
)  # fmt: skip
def test_q4_0_special_cases(
    tmp_path: Path, arch: str, shapes: dict, kv: dict, want: dict[str, str]
) -> None:
    src = f16_gguf(tmp_path / "f16.gguf", arch, shapes, **kv)
    assert requantize_q4_0(src, tmp_path / "q4.gguf") == want


def test_q4_0_refuses_rows_32_does_not_divide(tmp_path: Path) -> None:
    """llama.cpp has no fallback for Q4_0 (or the output's Q8_0): it stops, and so do we."""
    src = f16_gguf(tmp_path / "f16.gguf", "llama", {"blk.0.ffn_down.weight": (64, 48)})
    with pytest.raises(UnsupportedShape, match="ffn_down.weight: rows of 48 values"):
        requantize_q4_0(src, tmp_path / "q4.gguf")


def test_q6_k_round_trip() -> None:
    import gguf

    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 512)).astype(np.float32)
    x[0, :256] = 0  # an all-zero block
    x[1, 7] = 40.0  # an outlier: the block's 8-bit group scales get coarser
    q = quantize_q6_k(x)
    assert q.shape == (8, 2 * 210) and q.dtype == np.uint8
    assert not q[0, :210].any()
    y = gguf.quants.dequantize(q, gguf.GGMLQuantizationType.Q6_K)
    err = np.abs(y - x)
    assert err[2:].max() < 0.1  # 6 bits: about half a step of max/32
    assert err[1, 16:256].max() < 0.2 and err[1, 256:].max() < 0.1  # the outlier's group: coarse
    q4 = gguf.GGMLQuantizationType.Q4_0
    q4_err = np.abs(gguf.quants.dequantize(gguf.quants.quantize(x[2:], q4), q4) - x[2:])
    assert err[2:].mean() < 0.25 * q4_err.mean()
