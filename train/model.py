"""Loading the base model (4-bit NF4, 8-bit or plain), finding its linear layers, adding LoRA."""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def compute_dtype(name: str) -> torch.dtype:
    """``auto``: bf16 on a GPU that has it, else fp16; fp32 on CPU (bf16 is emulated there: ~7× slower)."""
    if name != "auto":
        return DTYPES[name]
    if torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def load_tokenizer(path: str) -> Any:
    """The base model's tokenizer, with a pad token.

    Without one, pad falls back to unk, else to EOS. That is safe here because labels are built
    from example lengths, never from pad ids (masking pad = EOS is how alpaca-lora lost its EOS).
    """
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token_id is None:
        tok.pad_token = tok.unk_token if tok.unk_token is not None else tok.eos_token
    return tok


def quantization_config(kind: str, dtype: torch.dtype) -> Any:
    from transformers import BitsAndBytesConfig

    if kind == "4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
    if kind == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return None


def load_base(path: str, quantization: str, dtype: torch.dtype, attn: str = "sdpa") -> nn.Module:
    """``attn``: any transformers implementation, or ``auto`` / ``segment_sdpa`` (see train/attention.py)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from train import attention

    quant = quantization_config(quantization, dtype)
    device_map = {"": 0} if torch.cuda.is_available() else {"": "cpu"}
    attn, falcon = attention.choose(attn, AutoConfig.from_pretrained(path))
    model = AutoModelForCausalLM.from_pretrained(
        path,
        dtype=dtype,
        quantization_config=quant,
        device_map=device_map,
        attn_implementation=attn,
    )
    if falcon:
        attention.switch_falcon(model)
    log.info("attention: %s", "segment_sdpa (Falcon modules)" if falcon else attn)
    if quantization == "4bit":
        quantize_missed_linears(model, quant)
        keep_4bit_layout(model)
    return model


def keep_4bit_layout(model: nn.Module) -> int:
    """Stop bitsandbytes from repacking 4-bit weights in place on CPU; returns how many layers.

    bitsandbytes 0.49+ on a CPU with AVX512-BF16 converts a ``Linear4bit`` to a CPU-only layout on its
    first eval-mode forward without grad (``_convert_weight_packed_for_cpu``): the double-quantized
    absmax is dequantized and rounded to bf16, and matmuls go to a bf16 kernel (``gemv_4bit``) that
    has no autograd. ``state_dict()`` (every save, checkpoint and ``verify_saved``) converts back by
    quantizing the absmax again. So after the Trainer's first evaluation (measured, bnb 0.50.2):
    the in-memory base drifts from the one a reload gives (dequantized weights up to 2.4e-4 apart on
    the test's tiny Llama: a reloaded adapter's logits were 0.085 off), eval runs in bf16 (a layer's
    output 7.6e-3 off the fp32 one), and training steps between an evaluation and the next save get no
    input gradient through the quantized layers (torch only warns). Turned off, every forward
    dequantizes the weights as loaded, in the compute dtype, with autograd.
    """
    import bitsandbytes as bnb

    layers = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    for m in layers:
        m.support_avx512bf16_for_cpu = False
    return len(layers)


def linear_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Every linear layer (nn.Linear and its subclasses, bnb Linear4bit / Linear8bitLt) but the output head."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, nn.Linear) and m is not head and not name.endswith("lm_head")
    }


def quantize_missed_linears(model: nn.Module, quant: Any) -> int:
    """Quantize the linear layers transformers left in full precision.

    transformers 5.19 replaces only modules whose type *is* nn.Linear, so a subclass such as
    Falcon's ``FalconLinear`` (every layer of Falcon-7B) silently stays 16/32-bit.
    """
    import bitsandbytes as bnb

    missed = {
        n: m
        for n, m in linear_layers(model).items()
        if type(m).__module__.split(".")[0] != "bitsandbytes"
    }
    for name, old in missed.items():
        new = bnb.nn.Linear4bit(
            old.in_features,
            old.out_features,
            bias=old.bias is not None,
            compute_dtype=quant.bnb_4bit_compute_dtype,
            compress_statistics=quant.bnb_4bit_use_double_quant,
            quant_type=quant.bnb_4bit_quant_type,
            device="meta",
        )
        new.weight = bnb.nn.Params4bit(
            old.weight.data.to(torch.float16),
            requires_grad=False,
            compress_statistics=quant.bnb_4bit_use_double_quant,
            quant_type=quant.bnb_4bit_quant_type,
            module=new,
        ).to(old.weight.device)
        if old.bias is not None:
            new.bias = nn.Parameter(old.bias.data, requires_grad=False)
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, new)
    if missed:
        log.info("quantized %d linear layers transformers left in full precision", len(missed))
    return len(missed)


def auto_targets(model: nn.Module) -> list[str]:
    """The names LoRA should wrap: the last name part of every linear layer (never lm_head)."""
    names = sorted({n.rpartition(".")[2] for n in linear_layers(model)})
    head_name = next(
        (n for n, m in model.named_modules() if m is model.get_output_embeddings()), ""
    )
    if (
        head_name.rpartition(".")[2] in names
    ):  # a layer named like the head: list full names instead
        return sorted(linear_layers(model))
    return names


def add_lora(model: nn.Module, cfg: Any, quantized: bool, start_from: Any = None) -> nn.Module:
    """prepare_model_for_kbit_training (for 4/8-bit), then a LoRA adapter on the target modules:
    a fresh one, or the saved adapter in ``start_from`` loaded trainable (to go on training it)."""
    from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training

    if quantized:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=cfg.gradient_checkpointing
        )
    elif cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    if start_from is not None:
        return PeftModel.from_pretrained(model, str(start_from), is_trainable=True)
    targets = auto_targets(model) if cfg.lora.target_modules == "auto" else cfg.lora.target_modules
    lora = LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def dequantized(layer: nn.Module) -> torch.Tensor:
    """A linear layer's weight in fp32, as its forward uses it (4-bit / 8-bit dequantized)."""
    import bitsandbytes as bnb

    weight = layer.weight
    if isinstance(layer, bnb.nn.Linear4bit):
        # the values matmul_4bit multiplies by: NF4 codes × absmax, in the dtype quantized from
        return bnb.functional.dequantize_4bit(weight.data, weight.quant_state).float()
    if isinstance(layer, bnb.nn.Linear8bitLt):
        scale = weight.SCB if getattr(weight, "SCB", None) is not None else layer.state.SCB
        return bnb.functional.int8_vectorwise_dequant(weight.data, scale).float()
    return weight.detach().float()


def plain_linear(layer: nn.Module, weight: torch.Tensor) -> nn.Linear:
    """An nn.Linear with ``weight`` (and ``layer``'s bias in its dtype) in place of ``layer``."""
    new = nn.Linear(
        layer.in_features, layer.out_features, bias=layer.bias is not None, device="meta"
    )
    new.weight = nn.Parameter(weight, requires_grad=False)
    if layer.bias is not None:
        new.bias = nn.Parameter(layer.bias.detach().to(weight.dtype), requires_grad=False)
    return new
