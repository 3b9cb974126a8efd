"""`--quant q4_0`: llama.cpp's own per-tensor choices for its Q4_0 preset, applied to an f16 GGUF.

Ported from llama.cpp ``src/llama-quant.cpp`` (ggml-org/llama.cpp 007dbbf3), with no importance
matrix, as ``llama-quantize model-f16.gguf out.gguf Q4_0`` runs:

- ``tensor_allows_quantization``: only tensors of 2+ dims whose name ends in ``weight`` are touched;
  norms, ``ffn_gate_inp``, position embeddings, token types and conv1d weights keep their type.
- ``llama_tensor_get_type_impl``: ``output.weight`` (or ``token_embd.weight`` when the model has no
  ``output.weight``: tied embeddings) becomes Q8_0 for Falcon or when its row length is not a multiple
  of Q4_0's block (32), else Q6_K. With 8 experts, ``attn_v``/``attn_qkv``/``attn_kv_b``/``attn_k``
  become Q8_0. Everything else keeps the preset's type, Q4_0 (``token_embd`` included when untied).
- ``tensor_type_fallback``: a row length the chosen block does not divide falls back Q6_K → Q8_0
  (→ F16 if 32 does not divide it either); Q4_0 and Q8_0 have no fallback and llama.cpp stops with
  "no tensor type fallback is defined", so we stop too.

Q6_K is written with a numpy port of ggml's ``quantize_row_q6_K_ref`` (``ggml/src/ggml-quants.c``,
01243c58), which is what ``quantize_q6_K`` runs without an importance matrix; ``gguf.quants`` only
dequantizes Q6_K. Q4_0 and Q8_0 come from ``gguf.quants`` (ports of the ``_ref`` quantizers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

QK_K = 256  # Q6_K super-block
QK = 32  # Q4_0 / Q8_0 block
GROUP_MAX_EPS = np.float32(1e-15)
KEEP = (  # substrings of tensors llama.cpp never quantizes (tensor_allows_quantization)
    "_norm.weight",
    "ffn_gate_inp.weight",
    "position_embd.weight",
    "token_types.weight",
    "ssm_conv1d",
    "shortconv.conv.weight",
    "attn_rel_b.weight",
    "altup",
    "laurel",
    "per_layer_model_proj",
    "time_mix_",
)
ATTN_V_LIKE = ("attn_v.weight", "attn_qkv.weight", "attn_kv_b.weight")


class UnsupportedShape(ValueError):
    pass


def q4_0_type(name: str, ncols: int, ndim: int, arch: str, tied: bool, n_expert: int) -> str | None:
    """The GGML type llama-quantize's Q4_0 preset gives a tensor; None: it keeps its type."""
    if ndim < 2 or not name.endswith("weight") or any(k in name for k in KEEP):
        return None
    if name == "output.weight" or (
        tied and name in ("token_embd.weight", "per_layer_token_embd.weight")
    ):
        qtype = "Q8_0" if arch == "falcon" or ncols % QK else "Q6_K"
    elif n_expert == 8 and (any(k in name for k in ATTN_V_LIKE) or "attn_k.weight" in name):
        qtype = "Q8_0"
    else:
        qtype = "Q4_0"
    if qtype == "Q6_K" and ncols % QK_K:
        qtype = "Q8_0"  # Q6_K was only chosen for rows that 32 divides, so Q8_0 fits
    elif ncols % QK:
        raise UnsupportedShape(
            f"{name}: rows of {ncols} values are not a multiple of 32, which {qtype} needs "
            "(llama.cpp's quantizer refuses this tensor too); export --quant q8_0 or f16"
        )
    return qtype


def _nearest_int(v: np.ndarray) -> np.ndarray:
    return np.rint(v).astype(np.float32)  # ggml's nearest_int: round half to even, in float32


def _make_qx_quants(x: np.ndarray, nmax: int) -> tuple[np.ndarray, np.ndarray]:
    """ggml ``make_qx_quants(16, nmax, x, L, rmse_type=1, NULL)`` for each row of ``x``.

    Sums run left to right in float32 as the C loop does; the 18 rescaled tries in the same order.
    """
    rows = np.arange(len(x))
    peak = x[rows, np.abs(x).argmax(axis=1)]  # first largest |x|, sign kept
    zero = np.abs(peak) < GROUP_MAX_EPS
    peak = np.where(zero, np.float32(1), peak)
    w = x * x

    def attempt(iscale: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lv = np.clip(_nearest_int(iscale[:, None] * x), -nmax, nmax - 1)
        sumlx = np.zeros(len(x), np.float32)
        suml2 = np.zeros(len(x), np.float32)
        for i in range(x.shape[1]):
            sumlx += w[:, i] * x[:, i] * lv[:, i]
            suml2 += w[:, i] * lv[:, i] * lv[:, i]
        return lv, sumlx, suml2

    with np.errstate(divide="ignore", invalid="ignore"):
        lv, sumlx, suml2 = attempt(np.float32(-nmax) / peak)
        levels = lv + nmax
        scale = np.where(suml2 != 0, sumlx / suml2, np.float32(0)).astype(np.float32)
        best = scale * sumlx
        for step in [s for s in range(-9, 10) if s]:
            iscale = -(np.float32(nmax) + np.float32(0.1) * np.float32(step)) / peak
            lv, sumlx, suml2 = attempt(iscale.astype(np.float32))
            better = (suml2 > 0) & (sumlx * sumlx > best * suml2)
            levels = np.where(better[:, None], lv + nmax, levels)
            scale = np.where(better, sumlx / suml2, scale).astype(np.float32)
            best = np.where(better, scale * sumlx, best).astype(np.float32)
    return np.where(zero, np.float32(0), scale), np.where(zero[:, None], np.float32(0), levels)


def _q6_k_blocks(blocks: np.ndarray) -> np.ndarray:
    """``quantize_row_q6_K_ref`` on (n, 256) float32 → (n, 210) bytes: ql, qh, scales, d."""
    n = len(blocks)
    sub_scales, levels = _make_qx_quants(blocks.reshape(n * 16, 16), 32)
    sub_scales, levels = sub_scales.reshape(n, 16), levels.reshape(n, QK_K)
    max_scale = sub_scales[np.arange(n), np.abs(sub_scales).argmax(axis=1)]
    zero = np.abs(max_scale) < GROUP_MAX_EPS
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = np.where(zero, np.float32(0), np.float32(-128) / max_scale).astype(np.float32)
        d = np.where(zero, np.float32(0), np.float32(1) / iscale).astype(np.float16)
        scales = np.minimum(127, _nearest_int(iscale[:, None] * sub_scales)).astype(np.int8)
        step = np.repeat(d.astype(np.float32)[:, None] * scales.astype(np.float32), 16, axis=1)
        requant = np.clip(_nearest_int(blocks / step), -32, 31) + 32
    # where a group's step is 0, make_qx_quants' levels stay, as in the C loop's `continue`
    levels = np.where(step != 0, requant, levels).astype(np.uint8)
    levels[zero], scales[zero] = 0, 0  # an all-zero block is all zero bytes
    q = levels.reshape(n, 2, 4, 32)  # two halves of 128, four runs of 32 in each
    ql = np.concatenate(
        [
            (q[:, :, 0] & 0xF) | ((q[:, :, 2] & 0xF) << 4),
            (q[:, :, 1] & 0xF) | ((q[:, :, 3] & 0xF) << 4),
        ],
        axis=2,
    )
    qh = (
        (q[:, :, 0] >> 4)
        | ((q[:, :, 1] >> 4) << 2)
        | ((q[:, :, 2] >> 4) << 4)
        | ((q[:, :, 3] >> 4) << 6)
    )
    return np.concatenate(
        [
            ql.reshape(n, 128),
            qh.reshape(n, 64),
            scales.view(np.uint8),
            d.view(np.uint8).reshape(n, 2),
        ],
        axis=1,
    )


def quantize_q6_k(data: np.ndarray, chunk: int = 1 << 15) -> np.ndarray:
    """Q6_K bytes for ``data`` (last dim a multiple of 256), shaped as ``gguf.quants.quantize`` returns."""
    blocks = np.ascontiguousarray(data, dtype=np.float32).reshape(-1, QK_K)
    out = np.concatenate(
        [_q6_k_blocks(blocks[i : i + chunk]) for i in range(0, len(blocks), chunk)]
    )
    return out.reshape(*data.shape[:-1], data.shape[-1] // QK_K * 210)


def requantize_q4_0(src: Path, dst: Path) -> dict[str, str]:
    """Write ``dst``: the f16 GGUF ``src`` with llama-quantize's Q4_0 mix; returns the new types."""
    import gguf

    reader = gguf.GGUFReader(src)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    expert_field = reader.fields.get(f"{arch}.expert_count")
    n_expert = int(expert_field.contents()) if expert_field is not None else 0
    tied = "output.weight" not in {t.name for t in reader.tensors}
    plan = {
        t.name: q4_0_type(t.name, int(t.shape[0]), len(t.shape), arch, tied, n_expert)
        for t in reader.tensors
    }
    writer = gguf.GGUFWriter(dst, arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        value = field.contents()
        if field.name == gguf.Keys.General.FILE_TYPE:
            value = int(gguf.LlamaFileType.MOSTLY_Q4_0)
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, value, vtype, sub_type=sub)
    types = {}
    for t in reader.tensors:
        qname = plan[t.name]
        data = np.asarray(t.data)
        if qname is None or qname == t.tensor_type.name:
            writer.add_tensor(t.name, data, raw_dtype=t.tensor_type)
            types[t.name] = t.tensor_type.name
            continue
        values = gguf.quants.dequantize(data, t.tensor_type)
        qtype = gguf.GGMLQuantizationType[qname]
        packed = quantize_q6_k(values) if qname == "Q6_K" else gguf.quants.quantize(values, qtype)
        writer.add_tensor(t.name, packed, raw_dtype=qtype)
        types[t.name] = qname
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return types
