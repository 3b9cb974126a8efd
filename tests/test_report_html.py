"""report.html: self-contained (nothing loaded from anywhere), hostile record text shown and never
run, a large audit's page bounded in size, duplicate clusters side by side, per-language counts;
and, where Chromium is installed, what a browser builds from it after its script ran."""

from __future__ import annotations

import base64
import importlib.util
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from test_judge import judges, run_judge_filter  # noqa: F401 (judges: test_judge's fixture)

from curate.filters.command import resolve_config
from curate.filters.pipeline import run_filter
from curate.report_html import scores_png, write_report_html
from curate.report_html_data import MAX_RECORDS, shares

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = '</script><script>alert(1)</script> "quoted" <!-- \u202eevil\u202c \x1b[31mred'
SCRIPT_TAIL = "</script><script>alert(1)</script>"


class _Page(HTMLParser):
    """Every element's tag and attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def _data(page: _Page) -> dict[str, Any]:
    blocks = [text for attrs, text in page.scripts if attrs.get("type") == "application/json"]
    assert len(blocks) == 1
    return json.loads(blocks[0])


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory, project_data: Path) -> Path:
    """The defects sample plus records whose text tries to break out of the page."""
    tmp = tmp_path_factory.mktemp("html")
    rows = (project_data / "samples" / "defects.jsonl").read_text(encoding="utf-8")
    story = (
        "Rivers carve valleys over thousands of years as water carries sand and stones "
        "downstream, grinding the bed deeper during every spring flood while the banks slowly "
        "widen, until a broad plain with meanders and oxbow lakes forms where the slope eases. "
    )
    extra = [
        {"instruction": f"Explain this {HOSTILE}", "input": "", "output": ""},  # empty-output
        {"instruction": f"Describe erosion {HOSTILE}", "input": "", "output": story + HOSTILE},
        {"instruction": f"Describe erosion {HOSTILE}", "input": "", "output": story + "Done."},
        {"id": HOSTILE, "instruction": "Name a colour.", "input": "", "output": ""},
    ]
    data = tmp / "hostile.jsonl"
    data.write_text(
        rows + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in extra), encoding="utf-8"
    )
    out = tmp / "run"
    cfg = resolve_config([str(data)], None, {"lang": "en"}, skip=["toxicity"])
    run_filter([str(data)], out, cfg)
    return out


def test_report_html_is_written_and_self_contained(hostile_run: Path) -> None:
    path = hostile_run / "report.html"
    text = path.read_text(encoding="utf-8")
    page = _parse(text)
    tags = [t for t, _ in page.tags]
    assert "link" not in tags and "iframe" not in tags and "object" not in tags
    for tag, attrs in page.tags:
        for key in ("src", "href", "action", "data"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "file:")), (tag, key, value)
        if tag == "img":
            assert (attrs.get("src") or "").startswith("data:image/png;base64,")
        if tag == "script":
            assert "src" not in attrs
    assert sum(1 for t in tags if t == "img") >= 4  # reasons, lengths, languages, clusters
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert path.stat().st_size < 1_000_000


def test_hostile_text_never_makes_an_element(hostile_run: Path) -> None:
    text = (hostile_run / "report.html").read_text(encoding="utf-8")
    page = _parse(text)
    scripts = [attrs for attrs, _ in page.scripts]
    assert len(scripts) == 2  # the JSON block and the page's own script, nothing else
    own = [body for attrs, body in page.scripts if attrs.get("type") != "application/json"]
    assert len(own) == 1 and "alert(1)" not in own[0]
    assert "</script><script>" not in text and "<!--" not in text
    assert "\u202e" not in text and "\x1b" not in text
    data = _data(page)
    shown = json.dumps(data, ensure_ascii=False)
    assert SCRIPT_TAIL in shown  # shown as text, whole (JSON.parse undoes the \u003c escapes)
    by_reason = {r["reason"]: r for r in data["reasons"]}
    ids = [row["id"] for row in by_reason["empty-output"]["rows"]]
    assert any(SCRIPT_TAIL in i for i in ids)


def test_each_reason_lists_its_records_with_evidence_and_file_line(hostile_run: Path) -> None:
    stats = json.loads((hostile_run / "stats.json").read_text())
    data = _data(_parse((hostile_run / "report.html").read_text(encoding="utf-8")))
    assert [r["reason"] for r in data["reasons"]] == list(stats["rejected_by_reason"])
    for r in data["reasons"]:
        assert r["total"] == stats["rejected_by_reason"][r["reason"]]
        assert len(r["rows"]) == r["total"]  # a small run embeds every rejected record
        for row in r["rows"]:
            assert row["src"].rsplit(":", 1)[1].isdigit(), row["src"]  # file:line
            assert isinstance(json.loads(row["ev"]), dict)


def test_duplicate_clusters_show_the_kept_record_beside_the_dropped(hostile_run: Path) -> None:
    data = _data(_parse((hostile_run / "report.html").read_text(encoding="utf-8")))
    near = [c for c in data["clusters"] if c["stage"] == "near-dedup"]
    exact = [c for c in data["clusters"] if c["stage"] == "exact-dedup"]
    assert near and exact and data["cluster_count"] == len(data["clusters"])
    for c in near:
        assert c["kept"]["id"] == c["kept_id"] and c["kept"]["f"]
        assert c["dropped"] and all(0.7 <= d["j"] <= 1 for d in c["dropped"])
    assert all(d["j"] == "exact" for c in exact for d in c["dropped"])
    hostile = [c for c in near if SCRIPT_TAIL in c["kept"]["f"][0][1]]
    assert hostile, "the hostile near-duplicate pair forms a cluster"


def test_language_counts_are_listed(hostile_run: Path) -> None:
    text = (hostile_run / "report.html").read_text(encoding="utf-8")
    stats = json.loads((hostile_run / "stats.json").read_text())
    assert '<section id="languages">' in text
    for code, n in stats["languages"].items():
        assert f'<td><code>{code}</code></td><td class="n">{n:,}</td>' in text


@pytest.mark.usefixtures("judges")
def test_judge_scores_histogram_and_threshold_are_shown(tmp_path: Path) -> None:
    """A judge run (test_judge's scripted backend): report.html shows the judge's histogram —
    the PNG report.md links, embedded — with its threshold and model, escaped."""
    run_judge_filter(tmp_path, model="judge-m <b>x</b>")
    out = tmp_path / "out"
    text = (out / "report.html").read_text(encoding="utf-8")
    assert '<a href="#scores">Model scores</a>' in text
    section = text.split('<section id="scores">', 1)[1].split("</section>", 1)[0]
    assert "<h3>judge</h3>" in section and "threshold: <b>4.5</b>" in section
    assert "<code>judge-m &lt;b&gt;x&lt;/b&gt;</code>" in section and "<b>x</b>" not in text
    assert "scored: 2 kept, 1 rejected" in section and "backend calls: 1" in section
    png = (out / scores_png("judge")).read_bytes()
    assert f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}" in section
    assert "## Scores: judge" in (out / "report.md").read_text()  # the same plot as report.md's


def test_no_scores_section_without_a_model_scored_stage(hostile_run: Path) -> None:
    text = (hostile_run / "report.html").read_text(encoding="utf-8")
    assert 'id="scores"' not in text and "#scores" not in text and "@@" not in text


def test_a_large_audit_page_stays_bounded(tmp_path: Path) -> None:
    """20,000 rejected records of 3 × 900 characters, a third of them "<" (escaped as 6 bytes in
    the page: 54 MB of text, 160 MB escaped) → a page under 10 MB."""
    reasons = {"near-duplicate": 15_000, "blacklist:file": 4_000, "refusal": 1_000}
    body = "<a " * 300
    with (tmp_path / "rejected.jsonl").open("w", encoding="utf-8") as f:
        n = 0
        for reason, count in reasons.items():
            stage = "near-dedup" if reason == "near-duplicate" else "quality"
            for _ in range(count):
                ev = (
                    {"duplicate_of": f"r{n % 500}", "jaccard": 0.8} if stage == "near-dedup" else {}
                )
                row = {"id": f"r{n + 1000}", "instruction": body, "input": body, "output": body}
                row["meta"] = {"source": f"big.jsonl:{n + 1}"}
                row["reject"] = {"stage": stage, "reason": reason, "evidence": ev}
                f.write(json.dumps(row) + "\n")
                n += 1
    stats = {
        "input": 40_000,
        "kept": 20_000,
        "rejected": 20_000,
        "rejected_by_reason": reasons,
        "reason_stage": {},
    }
    path = write_report_html(tmp_path, stats)
    assert 2_000_000 < path.stat().st_size < 10_000_000, path.stat().st_size
    data = _data(_parse(path.read_text(encoding="utf-8")))
    embedded = {r["reason"]: len(r["rows"]) for r in data["reasons"]}
    assert sum(embedded.values()) <= MAX_RECORDS and min(embedded.values()) > 0
    assert all(len(row["f"][0][1]) < 900 for r in data["reasons"] for row in r["rows"])
    assert data["cluster_count"] == 500 and 0 < len(data["clusters"]) <= 500


def test_shares_give_a_rare_reason_all_its_records() -> None:
    got = shares({"a": 10_000, "b": 7, "c": 3_000}, total=1000)
    assert got["b"] == 7 and got["a"] + got["c"] <= 993 and abs(got["a"] - got["c"]) <= 1


def test_report_html_redrawn_from_stats_alone_shows_the_examples(
    hostile_run: Path, tmp_path: Path
) -> None:
    stats = json.loads((hostile_run / "stats.json").read_text())
    data = _data(_parse(write_report_html(tmp_path, stats).read_text(encoding="utf-8")))
    assert data["from_examples"] and all(r["rows"] for r in data["reasons"])


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_report_screenshot", ROOT / "bench" / "report_screenshot.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chromium_renders_the_records_and_runs_no_injected_script(
    hostile_run: Path, tmp_path: Path
) -> None:
    bench = _bench()
    chromium = bench.find_chromium()
    if chromium is None:
        pytest.skip(
            "Chromium is not installed (apt-get install chromium): the page is not rendered"
        )
    dom = bench.dump_dom(chromium, hostile_run / "report.html")
    page = _parse(dom)
    assert len(page.scripts) == 2
    cards = [a for t, a in page.tags if t == "div" and "card" in (a.get("class") or "").split()]
    assert len(cards) >= 3  # the record list and the clusters were built by the script
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in dom  # shown as text
    png = tmp_path / "shot.png"
    bench.screenshot(chromium, hostile_run / "report.html", png, 1000, 1400)
    assert bench.ink(png) > 0.03


def _timing_free(value: Any) -> Any:
    """stats.json without the keys README says vary between identical runs."""
    if isinstance(value, dict):
        return {
            k: _timing_free(v)
            for k, v in value.items()
            if not (
                k == "seconds" or k.startswith("seconds_") or k.endswith(("_seconds", "_per_s"))
            )
        }
    if isinstance(value, list):
        return [_timing_free(v) for v in value]
    return value


def test_a_rerun_from_config_yaml_differs_only_in_the_timing(
    hostile_run: Path, tmp_path: Path
) -> None:
    import re

    first, second = hostile_run, tmp_path / "again"
    data = str(hostile_run.parent / "hostile.jsonl")
    run_filter([data], second, resolve_config([data], first / "config.yaml", {}))
    for name in ("kept.jsonl", "rejected.jsonl", "config.yaml", "lengths.png"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    md = [(d / "report.md").read_text().split("## Timing")[0] for d in (first, second)]
    assert md[0] == md[1] and "## Timing" in (first / "report.md").read_text()
    cut = re.compile(r'<section id="timing">.*?</section>', re.S)
    html = [cut.sub("", (d / "report.html").read_text()) for d in (first, second)]
    assert html[0] == html[1]
    stats = [json.loads((d / "stats.json").read_text()) for d in (first, second)]
    assert _timing_free(stats[0]) == _timing_free(stats[1])
