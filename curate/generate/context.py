"""Everything a round needs that outlives it: config, backend, seeds, pool, novelty index, stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from curate.backends.base import Backend, SamplingParams
from curate.filters.quality import check_instruction
from curate.filters.verdict import KEEP, Verdict
from curate.generate.config import GenerateConfig
from curate.generate.novelty import Novelty
from curate.generate.prompts import template_sha256
from curate.records import Record


@dataclass
class Context:
    cfg: GenerateConfig
    backend: Backend
    seed_tasks: list[Record]  # one record per human seed task
    pool: list[Record]  # machine instructions accepted so far
    novelty: Novelty
    quality: Any  # curate.filters.quality.QualityConfig, for the instruction checks
    stages: list[Any] = field(default_factory=list)  # `curate filter` stages run on new triples
    kept: list[Record] = field(default_factory=list)  # every record kept so far (dedup reference)
    run_id: str = ""  # in every generated id and its provenance
    prompt_format: str = "raw"  # raw | chat, as resolved (curate/generate/prompt_format.py)

    def provenance(self, round_no: int, **extra: Any) -> dict[str, Any]:
        prov: dict[str, Any] = {
            "round": round_no,
            "backend": self.backend.name,
            "model": self.backend.model,
            "adapter": self.cfg.adapter or self.backend.adapter,  # the directory, as configured
            "template": self.cfg.template,
            "template_sha256": template_sha256(self.cfg.template),
            "run_id": self.run_id,
            "prompt_format": self.prompt_format,
        }
        prov.update(extra)
        if "prompt_ids" in extra:  # the seed and pool records shown in the prompt that made it
            prov["parents"] = list(extra["prompt_ids"])
        return prov

    def sampling(self, max_tokens: int, **kw: Any) -> SamplingParams:
        s = self.cfg.sampling
        return SamplingParams(temperature=s.temperature, top_p=s.top_p, max_tokens=max_tokens, **kw)

    def check_instruction(self, rec: Record) -> Verdict:
        """Quality's instruction checks, then novelty against the pool and this batch."""
        verdict = check_instruction(rec.instruction, self.quality)
        if not verdict.keep:
            return verdict if verdict.stage else verdict._replace(stage="quality")
        return self.novelty.check(rec) if self.cfg.novelty.enabled else KEEP
