"""--backend mt with a tiny random-init Marian model built in the test (MarianTokenizer on two
SentencePiece models trained on the fly; nothing downloaded): codes, batching, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.backends.base import BackendError, SamplingParams
from curate.backends.mt_codes import marian_target_token, nllb_code
from curate.cli import app


@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_marian import build_tiny_marian

    return build_tiny_marian(tmp_path_factory.mktemp("tiny-marian") / "opus-mt-en-es")


def test_iso_codes_map_to_each_family_s_own() -> None:
    assert nllb_code("es", {}) == "spa_Latn" and nllb_code("zh", {}) == "zho_Hans"
    assert nllb_code("es", {"es": "spa_Latn2"}) == "spa_Latn2"
    with pytest.raises(ValueError, match="no NLLB code known for 'xx'"):
        nllb_code("xx", {})
    multi = {">>es<<": 3, ">>deu<<": 4, "hola": 5}
    assert marian_target_token("es", multi, {}) == ">>es<<"
    assert marian_target_token("de", multi, {}) == ">>deu<<"  # the ISO 639-3 token
    assert marian_target_token("es", {"hola": 1}, {}) is None  # a per-pair model
    with pytest.raises(ValueError, match=">>ja<<"):
        marian_target_token("ja", multi, {})


def test_the_tiny_marian_model_translates_in_batches(tiny_marian: Path) -> None:
    from curate.backends.mt_backend import MTBackend, MTConfig

    backend = MTBackend(str(tiny_marian), config=MTConfig(batch_size=2))
    m = backend._load(str(tiny_marian))
    assert m.family == "marian"
    assert backend._codes(m, "en", "es")[0] == ">>es<< "  # multi-target: the target token first
    texts = ["Give three tips for staying healthy.", "Write a short poem about the sea.", "Hi."]
    out = backend.translate(texts, "en", "es", max_tokens=8)
    assert len(out) == 3
    for c in out:
        assert c.prompt_tokens > 0 and 0 < c.completion_tokens <= 8
        assert c.finish_reason in ("stop", "length")
    with pytest.raises(BackendError, match="only translates"):
        backend.complete(["x"], SamplingParams())
    backend.close()


def test_per_pair_models_load_from_a_src_tgt_template(tiny_marian: Path) -> None:
    from curate.backends.mt_backend import MTBackend

    template = str(tiny_marian).replace("en-es", "{src}-{tgt}")
    backend = MTBackend(template)
    assert backend.model_for("en", "es") == str(tiny_marian)
    assert len(backend.translate(["Hello there, my friend."], "en", "es", max_tokens=4)) == 1
    with pytest.raises(BackendError, match="no such model directory"):
        backend.translate(["Hello."], "en", "de")


def test_curate_translate_with_backend_mt_accounts_for_every_record(
    tiny_marian: Path, project_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bx"
    result = CliRunner().invoke(
        app,
        [
            "translate", str(project_data / "samples" / "alpaca.json"), "--langs", "es",
            "--backend", "mt", "--model", str(tiny_marian), "--out", str(out),
            "--set", "sampling.max_tokens=12", "--set", "mt.batch_size=8",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    kept = [json.loads(x) for x in (out / "es.jsonl").open()]
    rejected = [json.loads(x) for x in (out / "rejected.jsonl").open()]
    assert len(kept) + len(rejected) == 10
    for r in rejected:  # a random model's output fails checks, each with its reason
        assert r["reject"]["stage"] in ("translate", "language") and r["reject"]["reason"]
    for r in kept + rejected:
        t = r["meta"]["translation"]
        assert (t["backend"], t["model"], t["prompt_sha256"]) == ("mt", str(tiny_marian), None)
    stats = json.loads((out / "stats.json").read_text())["languages"]["es"]
    assert stats["completion_tokens"] > 0
