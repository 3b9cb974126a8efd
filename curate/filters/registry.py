"""Every `curate filter` stage, one row each, in the default order: adding a stage is one new file
plus one row here.

A row names the stage, its config dataclass (the YAML section ``name`` with ``-`` → ``_``), its
class (a ``curate.filters.stage.Stage``), whether it judges each record on its own (then it may
run over chunks in worker processes), and the one line of help `--only/--skip` and the docs
show. FilterConfig's sections, the default config, the stage order, ``--only/--skip`` choices and
the worker-safety list all come from this table.

Order: cheap first, costly last. exact-dedup is one hash per record and removes the copies every
later stage would pay for; quality, cleaned and language are fast per-record checks that drop
the junk (cleaned after quality: Self-Instruct's blacklist, where a profile keeps it, names first);
decontam is a set lookup per n-gram; near-dedup (MinHash + LSH) is the first stage that compares
records with each other, so it runs on what survived; toxicity runs a neural model and so sees
the fewest records.
"""

from __future__ import annotations

from dataclasses import dataclass

from curate.filters.cleaned import CleanedConfig, CleanedStage
from curate.filters.decontam import DecontamConfig, DecontamStage
from curate.filters.exact_dedup import ExactDedupConfig, ExactDedupStage
from curate.filters.ifd import IfdConfig, IfdStage
from curate.filters.judge import JudgeConfig, JudgeStage
from curate.filters.language import LanguageConfig, LanguageStage
from curate.filters.near_dedup import NearDedupConfig, NearDedupStage
from curate.filters.pii import PiiConfig, PiiStage
from curate.filters.quality import QualityConfig, QualityStage
from curate.filters.stage import Stage
from curate.filters.toxicity import ToxicityConfig, ToxicityStage


@dataclass(frozen=True)
class StageSpec:
    name: str
    config: type
    stage: type[Stage]
    per_record: bool  # judges each record on its own: may run in worker processes
    help: str

    @property
    def section(self) -> str:
        """The config section: ``near-dedup`` → ``near_dedup``."""
        return self.name.replace("-", "_")


# fmt: off
STAGES: dict[str, StageSpec] = {s.name: s for s in [
    StageSpec("exact-dedup", ExactDedupConfig, ExactDedupStage, False, "same text after normalising case, space and punctuation"),
    StageSpec("quality", QualityConfig, QualityStage, True, "empty, refusing, echoing, repetitive, truncated records; instruction length, blacklist, start"),
    StageSpec("cleaned", CleanedConfig, CleanedStage, True, "AlpacaDataCleaned's defects: HTML entities, escapes, placeholder inputs, template leaks, merged tasks, missing media (cleaned.fix repairs)"),
    StageSpec("pii", PiiConfig, PiiStage, True, "e-mail, phone, IP, card numbers, API keys; off unless --set pii.enabled=true (pii.mode=reject|redact)"),
    StageSpec("language", LanguageConfig, LanguageStage, True, "instruction or output not in the expected language"),
    StageSpec("decontam", DecontamConfig, DecontamStage, True, "a long word n-gram shared with an eval set (--eval-set)"),
    StageSpec("near-dedup", NearDedupConfig, NearDedupStage, False, "MinHash + LSH near-duplicates, verified by exact Jaccard"),
    StageSpec("toxicity", ToxicityConfig, ToxicityStage, False, "detoxify scores (offline: alt-profanity-check)"),
    StageSpec("ifd", IfdConfig, IfdStage, False, "Instruction-Following Difficulty with a small LM (Cherry LLM); off unless --set ifd.enabled=true ifd.model=DIR"),
    StageSpec("judge", JudgeConfig, JudgeStage, False, "an LLM rates each record 0-5 (AlpaGasus); off unless --set judge.enabled=true judge.model=M"),
]}
# fmt: on
