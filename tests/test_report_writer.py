"""The run report's writer: what the case explorer embeds when a run is larger than its cap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.report import writer
from evals.store import open_store
from tests.helpers import explorer_samples
from tests.test_store_contract import failed, record, start


def test_above_the_cap_flips_then_problems_come_first_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(tmp_path / "evals.sqlite")
    start(store)
    for i in range(8):
        store.add_result(record(f"ok-{i}"))
    store.add_result(record("wrong", passed=False, score=0.0))
    store.add_result(failed("broken"))
    store.finish_run("r1", "2026-01-01T00:01:00", True)
    monkeypatch.setattr(writer, "MAX_CASE_ROWS", 4)
    flips = {("s", "ok-5", "p", "m", 0): "fail->pass"}

    writer.write_report(store, "r1", tmp_path / "out", flips=flips)
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    shown = [s["case"] for s in explorer_samples(html)]
    # the flipped sample, then the error, then the failure, then one more: 4 of 10
    assert shown[:3] == ["ok-5", "broken", "wrong"] and len(shown) == 4
    notes = json.loads((tmp_path / "out" / "summary.json").read_text())["warnings"]
    assert not any("case explorer" in n for n in notes)  # summary.json is not cut
    assert "the case explorer holds 4 of 10 samples" in html
    store.close()


def test_below_the_cap_every_sample_is_embedded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store(tmp_path / "evals.sqlite")
    start(store)
    for i in range(3):
        store.add_result(record(f"c{i}", tags=json.dumps(["t"])))
    store.finish_run("r1", "2026-01-01T00:01:00", True)
    writer.write_report(store, "r1", tmp_path / "out")
    samples = explorer_samples((tmp_path / "out" / "index.html").read_text(encoding="utf-8"))
    assert sorted(s["case"] for s in samples) == ["c0", "c1", "c2"]
    assert {tuple(s["tags"]) for s in samples} == {("t",)}
    assert not (tmp_path / "reports").exists()  # an explicit folder: no history written
    writer.write_report(store, "r1")  # the default folder: the run's report and the history
    assert (tmp_path / "reports" / "r1" / "index.html").is_file()
    history = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert 'href="r1/index.html"' in history
    store.close()
