"""`evals run --mode batch` end to end over real HTTP against `evals sim`'s Batch API.

Every expected figure comes from the sim's request log (what it was sent and what it
answered), never from the harness's own output: uploads and lines per file, which
custom_id got which answer, the usage each answer carried and so its cost.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evals.sim.server import start_in_thread
from tests.helpers import QUICKSTART, evals_cli, read_jsonl, store_query, stored_results, write

ONLINE = {"input": 0.40, "cached_input": 0.10, "output": 1.60}  # USD per 1M tokens
BATCH = {"batch_input": 0.20, "batch_output": 0.80}


def start_sim(tmp_path: Path, batch: str = "{}", name: str = "sim"):
    config = write(
        tmp_path / f"{name}.yaml",
        "models:\n  sim-good: {accuracy: 0.7, cache: true}\n  judge: {accuracy: 1.0}\n"
        f"batch: {batch}\n",
    )
    log = tmp_path / f"{name}.jsonl"
    return start_in_thread(config_path=str(config), log_path=str(log)), log


def runner(tmp_path: Path, base_url: str, endpoint: str = "", prices: dict | None = None) -> Path:
    price = json.dumps({**ONLINE, **BATCH} if prices is None else prices)
    return write(
        tmp_path / "runner.yaml",
        "endpoints:\n"
        f'  sim: {{base_url: "{base_url}", max_concurrency: 4, timeout_s: 10{endpoint}}}\n'
        "models:\n  - {id: sim-good, endpoint: sim}\n"
        f"pricing:\n  sim-good: {price}\n",
    )


def batch_run(tmp_path: Path, runner_path: Path, *args: str, **kwargs):
    return evals_cli(
        tmp_path,
        "run",
        str(QUICKSTART),
        "-r",
        str(runner_path),
        "--mode",
        "batch",
        "--poll-max",
        "0.2",
        *args,
        **kwargs,
    )


def batch_on_sim(tmp_path: Path, batch: str, *args: str, endpoint: str = ""):
    """A batch run of the quickstart on a sim with these `batch:` settings: (the finished
    process, the sim's request log)."""
    sim, log_path = start_sim(tmp_path, batch)
    try:
        done = batch_run(tmp_path, runner(tmp_path, sim.base_url, endpoint), *args)
    finally:
        sim.stop()
    assert done.returncode == 0, done.stderr
    return done, log_of(log_path)


def run_id_of(stderr: str) -> str:
    return stderr.split("run: ", 1)[1].split()[0]


def log_of(path: Path) -> list[dict]:
    return read_jsonl(path) if path.exists() else []


def uploads(log: list[dict]) -> list[dict]:
    return [e for e in log if e["path"] == "/v1/files" and e.get("status") == 200]


def creates(log: list[dict]) -> list[dict]:
    return [e for e in log if e["path"] == "/v1/batches" and e.get("status") == 200]


def answered_lines(log: list[dict]) -> list[dict]:
    return [e for e in log if e.get("via") == "batch"]


def online_chats(log: list[dict]) -> list[dict]:
    return [e for e in log if e["path"] == "/v1/chat/completions" and e.get("via") is None]


def cost(usage: dict, rates: dict) -> float:
    """Hand-computed cost of one logged usage object: OpenAI's shape."""
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    fresh = usage["prompt_tokens"] - cached
    return (
        fresh * rates["input"]
        + cached * rates["cached"]
        + usage["completion_tokens"] * rates["out"]
    ) / 1e6


BATCH_RATES = {"input": 0.20, "cached": min(0.10, 0.20), "out": 0.80}
ONLINE_RATES = {"input": 0.40, "cached": 0.10, "out": 1.60}


def summary_of(tmp_path: Path, run_id: str) -> dict:
    return json.loads((tmp_path / "reports" / run_id / "summary.json").read_text())


def test_a_normal_batch_is_stored_graded_and_priced_from_the_log(tmp_path: Path) -> None:
    done, log = batch_on_sim(tmp_path, "{delay_s: 0.5, shuffle: true}")
    assert len(uploads(log)) == 1 and len(creates(log)) == 1
    assert not online_chats(log)  # nothing went online
    lines = answered_lines(log)
    assert len(lines) == 20  # 10 cases x 2 prompts
    rows = stored_results(tmp_path)
    assert len(rows) == 20 and {r["via"] for r in rows} == {"batch"}
    # matched by custom_id: each stored answer is what the sim answered for that sample
    by_id: dict[tuple, dict] = {}
    for entry in lines:
        suite, case_id, prompt, model, repeat, _ = json.loads(entry["custom_id"])
        by_id[(case_id, prompt, repeat)] = entry
    for row in rows:
        entry = by_id[(row["case_id"], row["prompt"], row["repeat"])]
        assert row["output"] == entry["response_text"]
        assert json.loads(row["request"])["messages"] == entry["request"]["messages"]
        assert row["passed"] == entry["correct"]
    # the output file's order was not the input order, and still every row matched
    output_order = [e["custom_id"] for e in lines]
    assert len(set(output_order)) == 20
    summary = summary_of(tmp_path, run_id_of(done.stderr))
    want_batch = sum(cost(e["usage"], BATCH_RATES) for e in lines)
    want_online = sum(cost(e["usage"], ONLINE_RATES) for e in lines)
    got = sum(row["cost_usd"] for row in summary["rows"])
    assert got == pytest.approx(want_batch, rel=1e-9)
    assert sum(r["online_cost_usd"] for r in summary["rows"]) == pytest.approx(want_online)
    assert summary["mode"] == "batch"
    assert summary["batch"]["online_cost_usd"] == pytest.approx(want_online)
    assert summary["batch"]["cost_usd"] == pytest.approx(want_batch)
    passed = sum(e["correct"] for e in lines)
    assert sum(r["passed"] for r in summary["rows"]) == passed
    _check_report_in_a_browser(tmp_path / "reports" / summary["run_id"] / "index.html", summary)


def _check_report_in_a_browser(page_path: Path, summary: dict) -> None:
    """The header says how the run was sent and what it would have cost online."""
    from selenium.webdriver.common.by import By

    from evals.report.html import fmt_usd
    from tests.browser import chromium

    with chromium() as page:
        page.get(page_path.as_uri())
        assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []
        sent = page.find_element(By.ID, "run-batch-sent").text
        assert sent == "Batch API, 1 batch"
        online = page.find_element(By.ID, "run-online-cost").text
        batch = summary["batch"]
        saved = 1 - batch["cost_usd"] / batch["online_cost_usd"]
        assert online == f"{fmt_usd(batch['online_cost_usd'])} ({saved:.0%} less than online)"
        cells = page.find_elements(By.CSS_SELECTOR, "td.cost .online-cost")
        assert len(cells) == len(summary["rows"]) and all(c.is_displayed() for c in cells)


def test_a_second_run_replays_the_cache_and_uploads_nothing(tmp_path: Path) -> None:
    sim, log_path = start_sim(tmp_path)
    try:
        profile = runner(tmp_path, sim.base_url)
        first = batch_run(tmp_path, profile)
        second = batch_run(tmp_path, profile)
    finally:
        sim.stop()
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert len(uploads(log_of(log_path))) == 1
    rows = stored_results(tmp_path)
    latest = [r for r in rows if r["run_id"] == run_id_of(second.stderr)]
    assert len(latest) == 20 and all(r["cache_hit"] for r in latest)


@pytest.mark.parametrize(
    ("limit", "files"),
    [(", batch_max_requests: 6", [6, 6, 6, 2]), (", batch_max_bytes: 2048", None)],
)
def test_a_run_is_split_into_files_by_the_request_and_the_size_limit(
    tmp_path: Path, limit: str, files: list[int] | None
) -> None:
    _, log = batch_on_sim(tmp_path, "{}", endpoint=limit)
    sent = uploads(log)
    if files is not None:
        assert [e["lines"] for e in sent] == files
    else:
        assert len(sent) > 1 and all(e["bytes"] <= 2048 for e in sent)
        assert sum(e["lines"] for e in sent) == 20
    assert len(creates(log)) == len(sent)
    assert len(answered_lines(log)) == 20
    assert len(stored_results(tmp_path)) == 20


def test_failed_lines_are_retried_as_a_new_batch(tmp_path: Path) -> None:
    _, log = batch_on_sim(tmp_path, "{fail_rate: 0.4, fail_times: 1, fail_status: 500}")
    lines = answered_lines(log)
    first, second = (e["batch_id"] for e in creates(log))
    failed_first = {e["custom_id"] for e in lines if e["batch_id"] == first and e["status"] != 200}
    assert failed_first  # the sim failed some lines of the first batch
    retried = {e["custom_id"] for e in lines if e["batch_id"] == second}
    assert retried == failed_first  # exactly the failed ones, once more
    assert [e["lines"] for e in uploads(log)] == [20, len(failed_first)]
    rows = stored_results(tmp_path)
    assert len(rows) == 20 and all(r["error"] is None for r in rows)


def test_an_expired_batch_is_finished_online_with_fallback_online(tmp_path: Path) -> None:
    batch = "{expire: true, expire_completed: 0.5}"
    done, log = batch_on_sim(tmp_path, batch, "--fallback", "online")
    in_batch = {tuple(json.loads(e["custom_id"])[1:3]) for e in answered_lines(log)}
    online = online_chats(log)
    assert len(in_batch) == 10 and len(online) == 10
    rows = stored_results(tmp_path)
    assert len(rows) == 20 and all(r["error"] is None for r in rows)
    via = {(r["case_id"], r["prompt"]): r["via"] for r in rows}
    assert {k for k, v in via.items() if v == "batch"} == in_batch
    summary = summary_of(tmp_path, run_id_of(done.stderr))
    want = sum(cost(e["usage"], BATCH_RATES) for e in answered_lines(log)) + sum(
        cost(e["usage"], ONLINE_RATES) for e in online
    )
    assert sum(r["cost_usd"] for r in summary["rows"]) == pytest.approx(want)


def test_sigkill_while_polling_then_resume_uploads_nothing_twice(tmp_path: Path) -> None:
    sim, log_path = start_sim(tmp_path, "{delay_s: 4}")
    try:
        profile = runner(tmp_path, sim.base_url, ", batch_max_requests: 8")
        import os

        env = {**os.environ, "EVALS_HOME": str(tmp_path / ".evals")}
        args = [sys.executable, "-m", "evals", "run", str(QUICKSTART), "-r", str(profile)]
        proc = subprocess.Popen(
            [*args, "--mode", "batch", "--poll-max", "0.2"],
            cwd=tmp_path,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            polled = [e for e in log_of(log_path) if e["path"].startswith("/v1/batches/")]
            if len(polled) >= 3:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=30)
        run_id = run_id_of(stderr)
        states = store_query(tmp_path, "SELECT state, batch_id FROM batches ORDER BY batch_no")
        assert [s["state"] for s in states] == ["submitted"] * 3
        assert not stored_results(tmp_path)  # killed before any answer came back
        waiting = evals_cli(tmp_path, "runs")
        assert "WAITING" in waiting.stdout and "3 waiting" in waiting.stdout
        resumed = evals_cli(tmp_path, "run", "--resume", run_id, "--poll-max", "0.2")
    finally:
        sim.stop()
    assert resumed.returncode == 0, resumed.stderr
    log = log_of(log_path)
    assert [e["lines"] for e in uploads(log)] == [8, 8, 4]  # each file uploaded once
    assert len(creates(log)) == 3  # each batch created once
    assert len(answered_lines(log)) == 20
    assert len(stored_results(tmp_path)) == 20


def test_detach_then_resume(tmp_path: Path) -> None:
    sim, log_path = start_sim(tmp_path, "{delay_s: 0.3}")
    try:
        profile = runner(tmp_path, sim.base_url)
        detached = batch_run(tmp_path, profile, "--detach")
        run_id = run_id_of(detached.stderr)
        assert detached.returncode == 3, detached.stderr  # incomplete: it waits
        assert "--resume" in detached.stderr
        runs = json.loads(evals_cli(tmp_path, "runs", "--json").stdout)
        assert runs[0]["mode"] == "batch" and runs[0]["batches_waiting"] == 1
        time.sleep(0.4)
        resumed = evals_cli(tmp_path, "run", "--resume", run_id)
    finally:
        sim.stop()
    assert resumed.returncode == 0, resumed.stderr
    assert len(uploads(log_of(log_path))) == 1
    assert json.loads(evals_cli(tmp_path, "runs", "--json").stdout)[0]["complete"]


RUBRIC_SUITE = """\
name: rubric
prompt: "Repeat: {{ text }}"
cases:
  - {id: a, vars: {text: hello there world}, expect: hello there world}
  - {id: b, vars: {text: one two three}, expect: one two three}
  - {id: c, vars: {text: red green blue}, expect: red green blue}
graders: [{type: llm_rubric, rubric: "says the words back"}]
"""
JUDGE_RATES = {"input": 1.0, "cached": 1.0, "out": 2.0}  # batch: half of 2.0 / 4.0


def judged_runner(tmp_path: Path, base_url: str, judge_price: str) -> Path:
    return write(
        tmp_path / "runner.yaml",
        "endpoints:\n"
        f'  sim: {{base_url: "{base_url}", max_concurrency: 4, timeout_s: 10}}\n'
        "models:\n  - {id: sim-good, endpoint: sim}\n"
        "judge: {id: judge, endpoint: sim}\n"
        "pricing:\n"
        f"  sim-good: {json.dumps({**ONLINE, **BATCH})}\n"
        f"  judge: {judge_price}\n",
    )


def test_judge_calls_go_as_a_second_batch(tmp_path: Path) -> None:
    sim, log_path = start_sim(tmp_path)
    suite = write(tmp_path / "rubric.yaml", RUBRIC_SUITE)
    price = "{input: 2.0, output: 4.0, batch_input: 1.0, batch_output: 2.0}"
    profile = judged_runner(tmp_path, sim.base_url, price)
    try:
        args = ["run", str(suite), "-r", str(profile), "--poll-max", "0.2"]
        done = evals_cli(tmp_path, *args, "--mode", "batch", "--judge-mode", "batch")
        online_home = tmp_path / "online"
        online_home.mkdir()
        online = evals_cli(online_home, *args)
    finally:
        sim.stop()
    assert done.returncode == 0, done.stderr
    assert online.returncode == 0, online.stderr
    log = log_of(log_path)
    sample_batch, judge_batch = creates(log)[:2]
    judged = [e for e in answered_lines(log) if e["batch_id"] == judge_batch["batch_id"]]
    assert len(judged) == 3 and {e["model"] for e in judged} == {"judge"}
    run_id = run_id_of(done.stderr)
    online_calls = [e for e in log if e.get("model") == "judge" and e.get("via") != "batch"]
    assert len(online_calls) == 3  # the online run's three; the batch run called none online
    rows = {r["case_id"]: r for r in stored_results(tmp_path) if r["run_id"] == run_id}
    online_rows = {r["case_id"]: r for r in stored_results(online_home)}
    assert all(r["error"] is None for r in rows.values())
    assert {k: r["passed"] for k, r in rows.items()} == {
        k: r["passed"] for k, r in online_rows.items()
    }
    grader_cost = sum(r["grader_cost_usd"] for r in rows.values())
    assert grader_cost == pytest.approx(sum(cost(e["usage"], JUDGE_RATES) for e in judged))


def run_batch_over_http(source: Path, target: Path, base_url: str) -> list[dict]:
    """What `vllm run-batch -i SOURCE -o TARGET` does, against any OpenAI-compatible server:
    each line's body POSTed to its url; output lines written in reverse order."""
    import httpx2

    rows = []
    for number, line in enumerate(read_jsonl(source)):
        reply = httpx2.post(base_url + line["url"].removeprefix("/v1"), json=line["body"])
        rows.append(
            {
                "id": f"vllm-{number}",
                "custom_id": line["custom_id"],
                "response": {"status_code": reply.status_code, "body": reply.json()},
                "error": None,
            }
        )
    target.write_text("".join(json.dumps(row) + "\n" for row in reversed(rows)))
    return rows


def test_batch_files_are_written_then_ingested(tmp_path: Path) -> None:
    sim, log_path = start_sim(tmp_path)
    try:
        profile = runner(tmp_path, sim.base_url)
        args = ["run", str(QUICKSTART), "-r", str(profile), "--mode", "batch-file"]
        written = evals_cli(tmp_path, *args, "--out", "files")
        assert written.returncode == 3, written.stderr  # incomplete until ingested
        run_id = run_id_of(written.stderr)
        source = tmp_path / "files" / "sim-good.jsonl"
        assert "vllm run-batch -i files/sim-good.jsonl" in written.stderr
        assert len(read_jsonl(source)) == 20 and not stored_results(tmp_path)
        assert "WAITING" in evals_cli(tmp_path, "runs").stdout
        rows = run_batch_over_http(source, tmp_path / "out.jsonl", sim.base_url)
    finally:
        sim.stop()
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    lines = (tmp_path / "out.jsonl").read_text().splitlines(keepends=True)
    first.write_text("".join(lines[:12]))
    rest.write_text("".join(lines[12:]))
    partial = evals_cli(tmp_path, "ingest", run_id, str(first))
    assert partial.returncode == 3 and "8 requests have no answer" in partial.stderr
    done = evals_cli(tmp_path, "ingest", run_id, str(rest), str(first))
    assert done.returncode == 0, done.stderr
    stored = stored_results(tmp_path)
    assert len(stored) == 20 and {r["via"] for r in stored} == {"file"}
    answers = {r["custom_id"]: r["response"]["body"] for r in rows}
    for row in stored:
        key = [row["suite"], row["case_id"], row["prompt"], row["model"], row["repeat"]]
        body = next(b for cid, b in answers.items() if json.loads(cid)[:5] == key)
        assert row["output"] == body["choices"][0]["message"]["content"]
    chats = [e for e in log_of(log_path) if e["path"] == "/v1/chat/completions"]
    summary = summary_of(tmp_path, run_id)
    assert summary["complete"] and summary["mode"] == "batch-file"
    want = sum(cost(e["usage"], BATCH_RATES) for e in chats)
    assert sum(r["cost_usd"] for r in summary["rows"]) == pytest.approx(want)


def test_ingest_rejects_a_file_that_is_not_batch_output(tmp_path: Path) -> None:
    sim, _ = start_sim(tmp_path)
    try:
        profile = runner(tmp_path, sim.base_url)
        args = ["run", str(QUICKSTART), "-r", str(profile), "--mode", "batch-file"]
        run_id = run_id_of(evals_cli(tmp_path, *args, "--out", "files").stderr)
    finally:
        sim.stop()
    bad = write(tmp_path / "bad.jsonl", '{"custom_id": "x", "response": null}\nnot json\n')
    done = evals_cli(tmp_path, "ingest", run_id, str(bad))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{bad}:2:" in done.stderr
    missing = evals_cli(tmp_path, "ingest", "nope", str(bad))
    assert missing.returncode == 2 and "no run 'nope'" in missing.stderr


def test_max_cost_holds_at_batch_rates_and_the_rest_waits_for_a_resume(tmp_path: Path) -> None:
    sim, log_path = start_sim(tmp_path)
    try:
        profile = runner(tmp_path, sim.base_url)
        capped = batch_run(tmp_path, profile, "--max-cost", "0.0001")
        run_id = run_id_of(capped.stderr)
        sent_first = len(answered_lines(log_of(log_path)))
        resumed = evals_cli(
            tmp_path, "run", "--resume", run_id, "--max-cost", "1", "--poll-max", "0.2"
        )
    finally:
        sim.stop()
    assert capped.returncode == 3 and "--max-cost" in capped.stderr
    assert 0 < sent_first < 20
    first_upload = uploads(log_of(log_path))[0]
    assert first_upload["lines"] == sent_first  # only what the budget covered was sent
    first_batch = answered_lines(log_of(log_path))[:sent_first]
    assert sum(cost(e["usage"], BATCH_RATES) for e in first_batch) <= 0.0001
    assert resumed.returncode == 0, resumed.stderr
    assert [e["lines"] for e in uploads(log_of(log_path))] == [sent_first, 20 - sent_first]
    assert len(stored_results(tmp_path)) == 20


def test_batch_only_flags_need_batch_mode(tmp_path: Path) -> None:
    profile = runner(tmp_path, "http://127.0.0.1:9/v1")
    for flags in (["--detach"], ["--fallback", "online"], ["--judge-mode", "batch"]):
        done = evals_cli(tmp_path, "run", str(QUICKSTART), "-r", str(profile), *flags)
        assert done.returncode == 2 and "only apply with --mode batch" in done.stderr
    no_out = evals_cli(tmp_path, "run", str(QUICKSTART), "-r", str(profile), "--mode", "batch-file")
    assert no_out.returncode == 2 and "--out DIR" in no_out.stderr


def test_conversations_with_canned_tool_results_go_online(tmp_path: Path) -> None:
    from tests.helpers import REPO

    suite = REPO / "suites" / "reference" / "tools.yaml"
    sim, log_path = start_sim(tmp_path)
    try:
        profile = runner(tmp_path, sim.base_url)
        args = ["run", str(suite), "-r", str(profile), "--mode", "batch", "--poll-max", "0.2"]
        done = evals_cli(tmp_path, *args)
    finally:
        sim.stop()
    assert done.returncode == 0, done.stderr
    log = log_of(log_path)
    in_batch = {json.loads(e["custom_id"])[1] for e in answered_lines(log)}
    online = {e["request"]["messages"][-1]["content"] for e in online_chats(log)}
    rows = {r["case_id"]: r for r in stored_results(tmp_path)}
    assert "multi-step" not in in_batch and rows["multi-step"]["via"] is None
    assert len(online_chats(log)) >= 2  # the question, then its canned tool result
    assert any("Oslo" in text for text in online if isinstance(text, str))
    assert in_batch == set(rows) - {"multi-step"}
    assert all(rows[case]["via"] == "batch" for case in in_batch)


def test_an_endpoint_without_a_batch_api_says_so(tmp_path: Path) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class NoBatches(BaseHTTPRequestHandler):  # answers every request 404, as llama.cpp would
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = b'{"error": {"message": "File Not Found", "type": "not_found_error"}}'
            self.send_response(404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NoBatches)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        base_url = f"http://127.0.0.1:{server.server_port}/v1"
        done = batch_run(tmp_path, runner(tmp_path, base_url))
    finally:
        server.shutdown()
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert "no Batch API" in done.stderr and "--mode batch-file" in done.stderr
    assert store_query(tmp_path, "SELECT state FROM batches")[0]["state"] == "written"


def test_judge_batches_are_held_to_max_cost(tmp_path: Path) -> None:
    sim, log_path = start_sim(tmp_path)
    suite = write(tmp_path / "rubric.yaml", RUBRIC_SUITE)
    # a judge call's worst case at batch rates: 512 output tokens x $200/1M, about $0.10;
    # the three answers' (4096 tokens x $0.80/1M each) about $0.01 together
    price = "{input: 2.0, output: 400.0, batch_input: 1.0, batch_output: 200.0}"
    profile = judged_runner(tmp_path, sim.base_url, price)
    args = ["run", str(suite), "-r", str(profile), "--poll-max", "0.2"]
    try:
        capped = evals_cli(
            tmp_path, *args, "--mode", "batch", "--judge-mode", "batch", "--max-cost", "0.05"
        )
        waiting = stored_results(tmp_path)
        log_first = log_of(log_path)
        run_id = run_id_of(capped.stderr)
        resumed = evals_cli(tmp_path, "run", "--resume", run_id, "--max-cost", "1",
                            "--poll-max", "0.2")  # fmt: skip
    finally:
        sim.stop()
    assert capped.returncode == 3 and "--max-cost" in capped.stderr
    assert len(creates(log_first)) == 1, capped.stderr  # the answers' batch: no judge fit
    assert [r["error_class"] for r in waiting] == ["ungraded"] * 3  # waiting, not failed
    assert resumed.returncode == 0, resumed.stderr
    log = log_of(log_path)
    judged = [e for e in answered_lines(log) if e["model"] == "judge"]
    assert len(creates(log)) == 2 and len(judged) == 3  # one judge batch, each call once
    rows = stored_results(tmp_path)
    assert all(r["error"] is None and r["passed"] is not None for r in rows)
    rates = {"input": 1.0, "cached": 1.0, "out": 200.0}
    assert sum(r["grader_cost_usd"] for r in rows) == pytest.approx(
        sum(cost(e["usage"], rates) for e in judged)
    )
