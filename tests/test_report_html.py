"""The self-contained HTML report: plain rendering checks and real-browser DOM checks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals.report.html import fmt_usd, render_html, write_html
from tests.browser import chromium
from tests.helpers import USD_TEXTS
from tests.test_report_explorer import listed, open_case

MALICIOUS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
TEMPLATE_VARS = "{{ 7*7 }}"
# `</script>` and `<!--` would end (or confuse) a script element holding them as JSON
XSS_OUTPUT = MALICIOUS + "<!--<script>window.__pwned=3</script>-->"
XSS_VARS = {"a": TEMPLATE_VARS, "b": "</td></tr></script><!--<script>window.__pwned=4</script>"}
LONG_OUTPUT = "\n".join(f"line {i}: " + "lorem ipsum " * 6 for i in range(40))

GPT = "gpt-4o-mini"
SMOL = "smollm2"


def _row(model: str, **kw: Any) -> dict[str, Any]:
    base = {
        "suite": "arithmetic",
        "prompt": "terse",
        "model": model,
        "cases": 4,
        "samples": 4,
        "errors": 0,
        "passed": 0,
        "accuracy": None,
        "ci_low": None,
        "ci_high": None,
        "mean_score": None,
        "latency_p50_s": None,
        "latency_p95_s": None,
        "ttft_p50_s": None,
        "prompt_tokens": None,
        "cached_tokens": None,
        "completion_tokens": None,
        "reasoning_tokens": None,
        "cost_usd": None,
        "grader_cost_usd": 0.0,
        "some_future_key": {"ignored": True},
    }
    base.update(kw)
    return base


# gpt-4o-mini: 3 of 4 passed, no errors. smollm2: 1 of 3 scored passed, 1 error.
ROWS = [
    _row(
        GPT,
        passed=3,
        accuracy=3 / 4,
        ci_low=0.30064,
        ci_high=0.95442,
        mean_score=0.75,
        latency_p50_s=0.512,
        latency_p95_s=1.2049,
        prompt_tokens=12345,
        cached_tokens=1024,
        completion_tokens=987,
        reasoning_tokens=0,
        cost_usd=0.000021,
    ),
    _row(
        SMOL,
        errors=1,
        passed=1,
        accuracy=1 / 3,
        ci_low=0.06149,
        ci_high=0.79230,
        mean_score=0.3333,
        latency_p50_s=2.5,
        latency_p95_s=7.0,
        prompt_tokens=11000,
        cached_tokens=0,
        completion_tokens=1500,
        reasoning_tokens=None,
        cost_usd=None,
    ),
]

SUMMARY: dict[str, Any] = {
    "run_id": "20250101-120000-abcd",
    "suites": ["arithmetic"],
    "started_at": "2025-01-01T12:00:00Z",
    "finished_at": "2025-01-01T12:01:30Z",
    "complete": True,
    "rows": ROWS,
    "warnings": ["no price known for model smollm2; cost shown as unknown"],
    "prices_as_of": "2025-01-01",
    "per_suite": {
        "arithmetic": {
            "comparisons": [
                # supports the "best" badge on gpt-4o-mini: significantly above smollm2
                {
                    "a": {"prompt": "terse", "model": GPT},
                    "b": {"prompt": "terse", "model": SMOL},
                    "n_paired": 3,
                    "diff": 0.4167,
                    "ci_low": 0.1,
                    "ci_high": 0.7,
                    "p_value": 0.004,
                    "p_adjusted": 0.008,
                    "test": "mcnemar-exact",
                    "significant": True,
                },
                {
                    "a": {"prompt": "terse", "model": GPT},
                    "b": {"prompt": "terse", "model": MALICIOUS},
                    "n_paired": 3,
                    "diff": 1 / 3,
                    "ci_low": -0.2,
                    "ci_high": 0.8,
                    "p_value": 0.5,
                    "p_adjusted": 0.5,
                    "test": "mcnemar-exact",
                    "significant": False,
                },
            ],
            "pareto": [{"prompt": "terse", "model": GPT}],
            "recommendation": f"not enough cases to tell {GPT} (terse) from {MALICIOUS}",
            "recommended": None,
        }
    },
}


def _case(model: str, case_id: str, **kw: Any) -> dict[str, Any]:
    base = {
        "suite": "arithmetic",
        "case_id": case_id,
        "prompt": "terse",
        "model": model,
        "repeat": 0,
        "vars": {"a": 2, "b": 3},
        "expect": "5",
        "output": "5",
        "passed": True,
        "score": 1.0,
        "grades": [
            {"type": "exact", "passed": True, "score": 1.0, "reason": "matched", "error": None}
        ],
        "error": None,
        "finish_reason": "stop",
        "latency_s": 0.5,
        "prompt_tokens": 30,
        "cached_tokens": 0,
        "completion_tokens": 2,
        "reasoning_tokens": 0,
        "cost_usd": 0.000005 if model == GPT else None,
    }
    base.update(kw)
    return base


def _fail(**kw: Any) -> dict[str, Any]:
    grade = {"type": "exact", "passed": False, "score": 0.0, "reason": "expected '5'"}
    return {"passed": False, "score": 0.0, "grades": [{**grade, "error": None}], **kw}


def make_cases() -> Iterator[dict[str, Any]]:
    """A generator, as the store would stream them."""
    yield _case(GPT, "add-001")
    yield _case(GPT, "add-002", output="6", **_fail())
    yield _case(GPT, "xss-003", vars=XSS_VARS, output="5")
    yield _case(GPT, "long-004", output=LONG_OUTPUT, finish_reason="length")
    yield _case(SMOL, "add-001")
    yield _case(
        SMOL,
        "add-002",
        output=None,
        passed=None,
        score=None,
        grades=[],
        error="endpoint timed out after 120 s",
        latency_s=None,
        prompt_tokens=None,
        completion_tokens=None,
    )
    yield _case(SMOL, "xss-003", vars={"a": TEMPLATE_VARS, "b": "1"}, output=XSS_OUTPUT, **_fail())
    yield _case(SMOL, "long-004", output="four", **_fail())


N_CASES = 8
N_PASS = 4  # gpt-4o-mini add-001, xss-003, long-004; smollm2 add-001


def _acc_text(row: dict[str, Any]) -> str:
    return f"{row['accuracy'] * 100:.1f}% [{row['ci_low'] * 100:.1f}–{row['ci_high'] * 100:.1f}]"


_DATA_BLOCK = re.compile(
    r'<script type="application/json" id="(explorer-rows|explorer-strings)">(.*?)</script>', re.S
)
_EXECUTABLE = re.compile(r"<script(?![^>]*\btype=\"application/json\")[^>]*>", re.I)


def explorer_samples(html: str) -> list[dict[str, Any]]:
    """The case explorer's samples as the page's JSON data holds them, strings resolved."""
    from evals.report.explorer import INTERNED

    blocks = dict(_DATA_BLOCK.findall(html))
    data = json.loads(blocks["explorer-rows"])
    strings = json.loads(blocks["explorer-strings"])
    samples = []
    for values in data["rows"]:
        sample = dict(zip(data["columns"], values, strict=True))
        for name in INTERNED:
            sample[name] = None if sample[name] is None else strings[sample[name]]
        sample["tags"] = [strings[t] for t in sample["tags"]]
        sample["grades"] = [
            [strings[kind], strings[status], score, strings[reason]]
            for kind, status, score, reason in sample["grades"]
        ]
        samples.append(sample)
    return samples


# --------------------------------------------------------------------------- no browser


def test_no_urls_at_all() -> None:
    html = render_html(SUMMARY, make_cases())
    assert "http://" not in html
    assert "https://" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?[a-z]+:""", html, re.I)


def test_data_is_escaped_and_not_templated() -> None:
    html = render_html(SUMMARY, make_cases())
    assert MALICIOUS not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html  # summary data: HTML-escaped
    assert "<img" not in html
    assert "<!--" not in html
    assert "{{ 7*7 }}" in html  # case data is text, never rendered as a template
    # one executable script (the report's own), and the explorer's two JSON data blocks
    assert len(_EXECUTABLE.findall(html)) == 1
    assert [name for name, _ in _DATA_BLOCK.findall(html)] == [
        "explorer-rows",
        "explorer-strings",
    ]
    assert html.count("</script") == 3  # no `</script>` in the data ends a block early
    # and the data reads back exactly as given
    samples = {(s["case"], s["model"]): s for s in explorer_samples(html)}
    assert samples[("xss-003", SMOL)]["output"] == XSS_OUTPUT
    assert json.loads(samples[("xss-003", GPT)]["vars"]) == XSS_VARS


def test_null_is_unknown_never_zero() -> None:
    html = render_html(SUMMARY, [])
    assert 'title="unknown">—</span>' in html
    assert explorer_samples(html) == []  # the explorer says "No cases." (a browser test)
    assert "No cases." in render_html({**SUMMARY, "rows": []}, [])  # and so does the page


def test_header_warnings_and_footer() -> None:
    html = render_html({**SUMMARY, "complete": False}, [], title="My <b>report</b>")
    assert "INCOMPLETE" in html
    assert "no price known for model smollm2" in html
    assert "prices as of 2025-01-01" in html
    assert "<title>My &lt;b&gt;report&lt;/b&gt;</title>" in html


def test_grades_without_type() -> None:
    """Grades stored as asdict(GradeResult): no `type`, `error` is a bool."""
    html = render_html(SUMMARY, [_case(GPT, "g-1", grades=UNTYPED_GRADES)])
    [sample] = explorer_samples(html)
    # no type: the label is left empty for the page to fill with the outcome
    assert sample["grades"] == [
        ["", "pass", 1.0, "ok"],
        ["", "error", 0.0, "bad regex"],
        ["", "error", 0.0, "grader error"],
        ["", "error", None, "regex compile failed"],
    ]


UNTYPED_GRADES = [
    {"passed": True, "score": 1.0, "reason": "ok", "error": False},
    {"passed": False, "score": 0.0, "reason": "bad regex", "error": True},
    {"passed": False, "score": 0.0, "reason": None, "error": True},
    {"passed": False, "score": None, "reason": "", "error": "regex compile failed"},
]


def test_minimal_summary() -> None:
    """Only the required keys; optional ones (warnings, prices_as_of, ttft) absent."""
    row = {k: v for k, v in ROWS[0].items() if k not in ("ttft_p50_s", "grader_cost_usd")}
    html = render_html({"run_id": "r1", "suites": ["s"], "complete": True, "rows": [row]}, [])
    assert "75.0%" in html
    assert "prices as of" not in html


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, None), *USD_TEXTS],
)
def test_fmt_usd(value: float | None, text: str | None) -> None:
    assert fmt_usd(value) == text


def test_write_html_streams_generator(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "report.html"
    consumed: list[str] = []

    def cases() -> Iterator[dict[str, Any]]:
        for c in make_cases():
            consumed.append(c["case_id"])
            yield c

    given = cases()
    write_html(out, SUMMARY, given)
    ids = [c["case_id"] for c in make_cases()]
    assert consumed == ids  # each sample taken once, in order
    assert next(given, None) is None
    text = out.read_text(encoding="utf-8")
    samples = explorer_samples(text)
    assert len(samples) == N_CASES
    assert [s["case"] for s in samples] == ids
    assert not list(tmp_path.glob("sub/*.tmp"))

    class Samples:  # iterable more than once: still read in one pass
        passes = 0

        def __iter__(self) -> Iterator[dict[str, Any]]:
            Samples.passes += 1
            return make_cases()

    write_html(out, SUMMARY, Samples())
    assert Samples.passes == 1
    assert len(explorer_samples(out.read_text(encoding="utf-8"))) == N_CASES


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_html(path, SUMMARY, make_cases())
    with chromium() as driver:
        driver.get(path.as_uri())
        _no_console_errors(driver)
        yield driver


def _visible_case_ids(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "#cases-body tr[data-status]")
    return [r.get_attribute("data-case-id") for r in rows if r.is_displayed()]


def _case_row(driver: Any, model: str, case_id: str) -> dict[str, Any]:
    return listed(driver).row(("arithmetic", case_id, "terse", model, 0))


def _set_filter(
    driver: Any, count: str, text: str | None = None, failures: bool | None = None
) -> None:
    """Type in the search box and pick the result filter as a user does; wait for `count`."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    if text is not None:
        box = driver.find_element(By.ID, "x-text")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.BACKSPACE)
        if text:
            box.send_keys(text)
    if failures is not None:
        Select(driver.find_element(By.ID, "x-status")).select_by_value(
            "failures" if failures else ""
        )
    try:
        WebDriverWait(driver, 3).until(lambda d: d.find_element(By.ID, "x-count").text == count)
    finally:
        assert driver.find_element(By.ID, "x-count").text == count


def _close_case(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, "#case-detail button.case-close").click()
    assert not driver.find_element(By.ID, "case-detail").is_displayed()


def test_browser_comparison_table(page: Any) -> None:
    from selenium.webdriver.common.by import By

    # one suite: one section, one table, no Suite column (the heading names the suite)
    [section] = page.find_elements(By.CSS_SELECTOR, "section.suite")
    assert section.get_attribute("data-suite") == "arithmetic"
    assert section.find_element(By.TAG_NAME, "h2").text == "arithmetic"
    assert page.find_elements(By.CSS_SELECTOR, "nav.contents") == []  # no contents for one
    [table] = page.find_elements(By.CSS_SELECTOR, "table.comparison")
    assert _headers(table)[:3] == ["Prompt", "Model", "Accuracy [95% CI]"]
    assert "Suite" not in _headers(table)
    assert not any(h.startswith("pass@") for h in _headers(table))  # no repeats
    rows = section.find_elements(By.CSS_SELECTOR, "table.comparison tbody tr")
    assert len(rows) == len(ROWS)
    for tr, row in zip(rows, ROWS, strict=True):
        assert tr.get_attribute("data-model") == row["model"]
        acc = tr.find_element(By.CSS_SELECTOR, ".acc-text .pct").text
        ci = tr.find_element(By.CSS_SELECTOR, ".acc-text .ci").text
        assert f"{acc} {ci}" == _acc_text(row)
        assert tr.find_element(By.CSS_SELECTOR, "td.passed").text == (
            f"{row['passed']} / {row['samples']}"
        )
        bar = tr.find_element(By.CSS_SELECTOR, ".bar-ci")
        assert bar.size["width"] > 0

    gpt, smol = rows
    assert "best" in gpt.find_element(By.CSS_SELECTOR, "td.acc").text
    assert "best" not in smol.find_element(By.CSS_SELECTOR, "td.acc").text
    assert gpt.find_element(By.CSS_SELECTOR, "td.cost").text.startswith("$0.000021")
    assert "cheapest" in gpt.find_element(By.CSS_SELECTOR, "td.cost").text
    assert gpt.find_element(By.CSS_SELECTOR, "td.cost-1k").text == "$0.00525"
    assert "12,345" in gpt.text
    assert gpt.find_element(By.CSS_SELECTOR, "td.p95").text == "1.20"

    for cell in ("td.cost", "td.cost-1k"):
        td = smol.find_element(By.CSS_SELECTOR, cell)
        assert td.text == "—"
        assert td.find_element(By.CSS_SELECTOR, ".na").get_attribute("title") == "unknown"


def test_browser_header_and_notice(page: Any) -> None:
    from selenium.webdriver.common.by import By

    assert page.find_element(By.ID, "run-id").text == SUMMARY["run_id"]
    assert page.find_element(By.ID, "run-status").text == "complete"
    assert "no price known for model smollm2" in page.find_element(By.ID, "warnings").text
    assert "prices as of 2025-01-01" in page.find_element(By.TAG_NAME, "footer").text


def test_browser_decisions(page: Any) -> None:
    from selenium.webdriver.common.by import By

    suite = page.find_element(By.CSS_SELECTOR, 'section.suite[data-suite="arithmetic"]')
    [section] = suite.find_elements(By.CSS_SELECTOR, ".decision")
    assert page.find_elements(By.CSS_SELECTOR, ".decision") == [section]
    text = section.find_element(By.CSS_SELECTOR, ".recommendation").text
    assert text == f"Recommendation: not enough cases to tell {GPT} (terse) from {MALICIOUS}"
    rows = section.find_elements(By.CSS_SELECTOR, "table.comparisons tbody tr")
    assert len(rows) == 2
    cells = [td.text for td in rows[0].find_elements(By.TAG_NAME, "td")]
    assert cells[:2] == [f"{GPT} · terse", f"{SMOL} · terse"]
    assert cells[-1] == "differ"
    cells = [td.text for td in rows[1].find_elements(By.TAG_NAME, "td")]
    # a - b = 1/3 as points with a sign; the interval as given; raw and Holm p
    assert cells == [
        f"{GPT} · terse", f"{MALICIOUS} · terse", "3", "+33.3", "[-20.0, +80.0]",
        "0.500", "0.500", "mcnemar-exact", "not shown to differ",
    ]  # fmt: skip


def _pwned(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert driver.find_elements(By.TAG_NAME, "img") == []


def test_browser_no_script_injection(page: Any) -> None:
    from selenium.webdriver.common.by import By

    _pwned(page)
    executable = page.find_elements(By.CSS_SELECTOR, 'script:not([type="application/json"])')
    assert len(executable) == 1
    data = page.find_elements(By.CSS_SELECTOR, 'script[type="application/json"]')
    assert [d.get_attribute("id") for d in data] == ["explorer-rows", "explorer-strings"]
    # not run, only read: their text is the data, whole
    rows = page.execute_script(
        "return JSON.parse(document.getElementById('explorer-rows').textContent).rows.length"
    )
    assert rows == N_CASES

    # in the list: the output as text
    row = _case_row(page, SMOL, "xss-003")
    assert row["output"] == XSS_OUTPUT
    assert MALICIOUS in row["output"]
    [cell] = [
        c
        for c in page.find_elements(
            By.CSS_SELECTOR, '#cases-body tr[data-case-id="xss-003"] td.out'
        )
        if MALICIOUS in c.text
    ]
    assert cell.is_displayed()

    # side by side: the outputs and the vars as text, the template not rendered
    got = open_case(page, "arithmetic", "xss-003")
    assert [c[0] for c in got["columns"]] == [GPT, SMOL]
    assert [c["pre"] for c in got["by_label"]["Output"]] == ["5", XSS_OUTPUT]
    vars_text = dict(got["facts"])["Vars"]
    assert json.loads(vars_text) == XSS_VARS  # the first sample's (the case's) vars
    assert TEMPLATE_VARS in vars_text
    assert "49" not in vars_text
    assert MALICIOUS in page.find_element(By.ID, "case-detail").text
    _pwned(page)
    _close_case(page)
    _no_console_errors(page)


def test_browser_long_output_collapsed(page: Any) -> None:
    from selenium.webdriver.common.by import By

    assert len(LONG_OUTPUT) > 300
    row = _case_row(page, GPT, "long-004")
    assert row["output"] == LONG_OUTPUT[:300] + "…"  # the list shows a preview
    assert "line 39:" not in row["output"]

    got = open_case(page, "arithmetic", "long-004")  # the case view shows it all
    assert [c[0] for c in got["columns"]] == [GPT, SMOL]
    gpt, smol = got["by_label"]["Output"]
    assert gpt["pre"] == LONG_OUTPUT
    assert smol["pre"] == "four"
    section = page.find_element(By.ID, "case-detail")
    assert section.is_displayed()
    assert "line 39:" in section.text
    gpt, smol = got["by_label"]["Latency"]
    assert "finish: length" in gpt["text"]
    assert "finish" not in smol["text"]  # "stop" is not worth a word
    _close_case(page)  # leave it as found


def test_browser_filter(page: Any) -> None:
    every = f"{N_CASES} of {N_CASES} samples in 4 cases"
    assert page.find_element("id", "x-count").text == every
    assert len(_visible_case_ids(page)) == N_CASES

    _set_filter(page, f"2 of {N_CASES} samples in 1 cases", text="add-002")
    assert _visible_case_ids(page) == ["add-002", "add-002"]

    _set_filter(page, every, text="")
    assert len(_visible_case_ids(page)) == N_CASES

    _set_filter(page, f"{N_CASES - N_PASS} of {N_CASES} samples in 3 cases", failures=True)
    visible = _visible_case_ids(page)
    assert len(visible) == N_CASES - N_PASS
    assert sorted(visible) == sorted(["add-002", "add-002", "xss-003", "long-004"])
    # cases whose models disagree (xss-003, long-004: gpt-4o-mini passed) before add-002
    assert visible == ["xss-003", "long-004", "add-002", "add-002"]

    # both together: smollm2 failures and errors
    _set_filter(page, f"3 of {N_CASES} samples in 3 cases", text=SMOL)
    assert _visible_case_ids(page) == ["xss-003", "long-004", "add-002"]

    _set_filter(page, every, text="", failures=False)
    assert len(_visible_case_ids(page)) == N_CASES
    _no_console_errors(page)


def test_browser_untyped_grades(browser: Any) -> None:
    """Grades without a type are labelled with their outcome, in the list and side by side."""
    driver = browser(SUMMARY, "grades", [_case(GPT, "g-1", grades=UNTYPED_GRADES)])
    [row] = listed(driver).rows
    assert row["grades"] == [
        ["grade pass", "pass", "pass ok"],
        ["grade error", "error", "error bad regex"],
        ["grade error", "error", "error grader error"],
        ["grade error", "error", "error regex compile failed"],
    ]
    got = open_case(driver, "arithmetic", "g-1")
    [cell] = got["by_label"]["Graders"]
    assert [[g[0], g[1].strip(), g[2], g[3]] for g in cell["grades"]] == [
        ["grade pass", "pass", "1.000", "ok"],
        ["grade error", "error", "0.000", "bad regex"],
        ["grade error", "error", "0.000", "grader error"],
        ["grade error", "error", None, "regex compile failed"],
    ]
    _no_console_errors(driver)


def test_browser_no_network(page: Any) -> None:
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert page.execute_script("return typeof window.__pwned") == "undefined"


# ------------------------------------------------------------------- header, sorting, badges


def _cmp(a: str, b: str, significant: bool) -> dict[str, Any]:
    return {
        "a": {"prompt": "terse", "model": a},
        "b": {"prompt": "terse", "model": b},
        "n_paired": 4,
        "diff": 0.25,
        "ci_low": 0.05 if significant else -0.1,
        "ci_high": 0.5,
        "p_value": 0.01 if significant else 0.4,
        "p_adjusted": 0.02 if significant else 0.4,
        "test": "mcnemar-exact",
        "significant": significant,
    }


STOPPED: dict[str, Any] = {
    **SUMMARY,
    "complete": False,
    "stopped_reason": "budget",
    "started_at": "2025-01-01T12:00:00Z",
    "finished_at": "2025-01-01T13:02:10Z",
    "spend_usd": 0.00001,
    "rows": [
        {**ROWS[0], "cache_hits": 2, "grader_cost_usd": 0.001},
        {**ROWS[1], "cost_usd": 0.0001, "grader_cost_usd": 0.002, "errors": 3},
    ],
    "setup": {
        "models": [
            {"id": GPT, "endpoint": "openai", "api_model": "gpt-4o-mini-2024-07-18"},
            {"id": SMOL, "endpoint": "local", "api_model": "SmolLM2-135M"},
        ],
        "prompts_by_suite": {"arithmetic": ["terse", "cot"]},
    },
}

# Four rows for sorting: p95 unknown on one, text and numbers in mixed order.
SORT_ROWS = [
    _row("m-b", passed=2, accuracy=0.5, latency_p95_s=3.0, cost_usd=0.002),
    _row("m-d", passed=1, accuracy=0.25, latency_p95_s=None, cost_usd=None),
    _row("m-a", passed=4, accuracy=1.0, latency_p95_s=10.0, cost_usd=0.001),
    _row("m-c", passed=3, accuracy=0.75, latency_p95_s=0.5, cost_usd=0.004),
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A second Chromium for pages other than `page`'s (each test loads its own)."""
    folder = tmp_path_factory.mktemp("reports")
    with chromium() as driver:

        def load(summary: dict[str, Any], name: str, cases: Any = None, charts: Any = None) -> Any:
            path = folder / f"{name}.html"
            write_html(path, summary, make_cases() if cases is None else cases, charts=charts)
            driver.get(path.as_uri())
            _no_console_errors(driver)
            return driver

        yield load


def _no_console_errors(driver: Any) -> None:
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []


def _text(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def test_browser_header_complete(browser: Any) -> None:
    driver = browser(SUMMARY, "complete")
    assert _text(driver, "run-state") == "complete · 1 error"
    assert _text(driver, "run-duration") == "1 min 30 s"
    assert _text(driver, "run-models") == f"{GPT}; {SMOL}"  # old summary: no setup
    assert _text(driver, "run-prompts") == "arithmetic: terse"
    assert _text(driver, "run-cases") == "4"
    assert _text(driver, "run-samples") == "8"
    assert _text(driver, "run-total-cost") == "—"  # smollm2's cost is unknown
    assert _text(driver, "run-grader-cost") == "$0.00"
    assert _text(driver, "run-prices-as-of") == "2025-01-01"
    _no_console_errors(driver)


def test_browser_header_budget_stopped(browser: Any) -> None:
    driver = browser(STOPPED, "stopped")
    assert _text(driver, "run-state") == ("incomplete: stopped by the --max-cost budget · 3 errors")
    assert _text(driver, "run-status") == "INCOMPLETE"
    assert _text(driver, "run-duration") == "1 h 02 min"
    assert _text(driver, "run-models") == (
        f"{GPT} (openai · gpt-4o-mini-2024-07-18); {SMOL} (local · SmolLM2-135M)"
    )
    assert _text(driver, "run-prompts") == "arithmetic: terse, cot"
    assert _text(driver, "run-total-cost") == "$0.000121"
    assert _text(driver, "run-new-spend") == "$0.00001 (2 cache hits)"
    assert _text(driver, "run-grader-cost") == "$0.003"
    _no_console_errors(driver)


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("interrupted", "incomplete: interrupted"),
        ("failed", "incomplete: no request succeeded"),
        ("disk full", "incomplete: disk full"),
        (None, "incomplete"),
    ],
)
def test_header_state_words(reason: str | None, words: str) -> None:
    html = render_html({**SUMMARY, "complete": False, "stopped_reason": reason}, [])
    assert f'<dd id="run-state">{words} · ' in html


def _headers(table: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead tr:last-child th")]


def _suite_table(driver: Any, suite: str | None = None) -> Any:
    """The comparison table of `suite`'s section; without a suite, the page's only one."""
    from selenium.webdriver.common.by import By

    if suite is None:
        [table] = driver.find_elements(By.CSS_SELECTOR, "table.comparison")
        return table
    return driver.find_element(
        By.CSS_SELECTOR, f'section.suite[data-suite="{suite}"] table.comparison'
    )


def _models(table: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [r.get_attribute("data-model") for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def _sorted_models(
    driver: Any, header: str, suite: str | None = None
) -> tuple[list[str], str | None]:
    from selenium.webdriver.common.by import By

    table = _suite_table(driver, suite)
    [th] = [
        th
        for th in table.find_elements(By.CSS_SELECTOR, "thead tr:last-child th")
        if th.text == header
    ]
    th.click()
    return _models(table), th.get_attribute("aria-sort")


def test_browser_sort(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    driver = browser({**SUMMARY, "rows": SORT_ROWS, "per_suite": {}}, "sort")
    assert _sorted_models(driver, "p95") == (["m-c", "m-b", "m-a", "m-d"], "ascending")
    assert _sorted_models(driver, "p95") == (["m-a", "m-b", "m-c", "m-d"], "descending")
    # the raw number, not the formatted text: "$0.004" > "$0.002" > "$0.001", unknown last
    assert _sorted_models(driver, "Total") == (["m-a", "m-b", "m-c", "m-d"], "ascending")
    assert _sorted_models(driver, "Total") == (["m-c", "m-b", "m-a", "m-d"], "descending")
    assert _sorted_models(driver, "Model") == (["m-a", "m-b", "m-c", "m-d"], "ascending")
    assert _sorted_models(driver, "Model") == (["m-d", "m-c", "m-b", "m-a"], "descending")
    sorted_by = driver.find_elements(By.CSS_SELECTOR, "th[aria-sort]")
    assert [th.text for th in sorted_by] == ["Model"]  # one column at a time
    assert _sorted_models(driver, "Accuracy [95% CI]")[0] == ["m-d", "m-b", "m-c", "m-a"]
    table = _suite_table(driver)
    cell = table.find_element(By.CSS_SELECTOR, 'tr[data-model="m-c"] td.p95')
    assert cell.get_attribute("data-sort") == "0.5"
    unknown = table.find_element(By.CSS_SELECTOR, 'tr[data-model="m-d"] td.p95')
    assert unknown.get_attribute("data-sort") is None
    _no_console_errors(driver)


def _best_models(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    rows = _suite_table(driver).find_elements(By.CSS_SELECTOR, "tbody tr")
    return [
        r.get_attribute("data-model")
        for r in rows
        if r.find_elements(By.CSS_SELECTOR, ".mark.best")
    ]


def test_browser_best_badge_only_when_supported(browser: Any) -> None:
    three = [
        _row("m-a", passed=4, accuracy=1.0),
        _row("m-b", passed=2, accuracy=0.5),
        _row("m-c", passed=1, accuracy=0.25),
    ]
    significant = [_cmp("m-a", "m-b", True), _cmp("m-a", "m-c", True), _cmp("m-b", "m-c", True)]
    supported = {
        **SUMMARY,
        "rows": three,
        "per_suite": {"arithmetic": {"comparisons": significant}},
    }
    assert _best_models(browser(supported, "best-yes")) == ["m-a"]

    # one comparison of the top row is not significant: no badge anywhere
    weak = [significant[0], _cmp("m-a", "m-c", False), significant[2]]
    unsupported = {**supported, "per_suite": {"arithmetic": {"comparisons": weak}}}
    assert _best_models(browser(unsupported, "best-no")) == []

    # a pair with no paired samples (no comparison) is not evidence either
    missing = {**supported, "per_suite": {"arithmetic": {"comparisons": significant[:1]}}}
    assert _best_models(browser(missing, "best-missing")) == []

    # never on 0%, even when "significant"
    zeros = [_row("m-a", accuracy=0.0), _row("m-b", accuracy=0.0)]
    zero = {
        **SUMMARY,
        "rows": zeros,
        "per_suite": {"arithmetic": {"comparisons": [_cmp("m-a", "m-b", True)]}},
    }
    assert _best_models(browser(zero, "best-zero")) == []

    # old summaries without per_suite: the highest accuracy, as before
    old = {k: v for k, v in unsupported.items() if k != "per_suite"}
    assert _best_models(browser(old, "best-old")) == ["m-a"]
    _no_console_errors(browser(supported, "best-yes"))


# --------------------------------------------------------------------------- per-suite sections


def _reading(model: str, **kw: Any) -> dict[str, Any]:
    return _row(model, suite="reading", **kw)


def _repeated(k: int, at_1: float | None, at_k: float | None) -> dict[str, Any]:
    """Four cases, each sampled k times."""
    return {
        "repeats": k,
        "samples": 4 * k,
        "pass_at_1": at_1,
        "pass_at_k": at_k,
        "pass_at_k_cases": 4,
    }


# Three suites, rows interleaved: "reading" (repeated three times) listed first, then
# "arithmetic"; "misc" is not in the summary's suites, so its section comes last.
MULTI_ROWS = [
    _row("m-b", passed=2, accuracy=0.5, latency_p95_s=3.0),
    _reading("r-x", passed=9, accuracy=0.75, latency_p95_s=1.0, **_repeated(3, 0.75, 0.9375)),
    _row("m-a", passed=4, accuracy=1.0, latency_p95_s=10.0),
    _row("x-1", suite="misc", passed=1, accuracy=0.25, latency_p95_s=2.0),
    _reading("r-y", passed=3, accuracy=0.25, latency_p95_s=0.2, **_repeated(3, 0.25, 0.578125)),
    _reading("r-z", passed=0, accuracy=None, latency_p95_s=5.0, **_repeated(3, None, None)),
    _row("m-d", passed=1, accuracy=0.25, latency_p95_s=0.5),
]
MULTI_ORDER = ["reading", "arithmetic", "misc"]
MULTI: dict[str, Any] = {
    **SUMMARY,
    "suites": ["reading", "arithmetic"],
    "rows": MULTI_ROWS,
    "per_suite": {
        "arithmetic": {
            "comparisons": [_cmp("m-a", "m-b", True), _cmp("m-a", "m-d", False)],
            "pareto": [{"prompt": "terse", "model": "m-a"}],
            "recommendation": "arithmetic: m-a",
        },
        "reading": {
            "comparisons": [_cmp("r-x", "r-y", True)],
            "pareto": [],
            "recommendation": "reading: r-x",
        },
    },
}


def _chart(suite: str, kind: str) -> Any:
    from evals.report.charts import Chart

    svg = f'<svg width="10" height="10"><title>{kind}</title></svg>'
    return Chart(suite, kind, f"{kind} of {suite}", f"how to read {suite}'s {kind}", svg)


MULTI_CHARTS = {
    "reading": [_chart("reading", "accuracy_cost"), _chart("reading", "consistency")],
    "arithmetic": [_chart("arithmetic", "latency")],
}


def _sections(driver: Any) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "section.suite")


def test_browser_one_section_per_suite(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    driver = browser(MULTI, "multi", charts=MULTI_CHARTS)
    sections = _sections(driver)
    assert [s.get_attribute("data-suite") for s in sections] == MULTI_ORDER
    assert [s.find_element(By.TAG_NAME, "h2").text for s in sections] == MULTI_ORDER
    ids = driver.execute_script("return Array.from(document.querySelectorAll('[id]'), e => e.id)")
    assert len(ids) == len(set(ids))  # every id once
    # the contents line links each section, in order, then the cases
    links = driver.find_elements(By.CSS_SELECTOR, "nav.contents a")
    assert [a.text for a in links] == [*MULTI_ORDER, "Cases"]
    assert [a.get_attribute("href").split("#")[1] for a in links] == [
        *(s.get_attribute("id") for s in sections),
        "explorer",
    ]
    for section, suite in zip(sections, MULTI_ORDER, strict=True):
        # the table holds exactly this suite's rows, in the summary's order
        [table] = section.find_elements(By.CSS_SELECTOR, "table.comparison")
        got = [
            (
                tr.get_attribute("data-suite"),
                tr.get_attribute("data-prompt"),
                tr.get_attribute("data-model"),
            )
            for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")
        ]
        assert got == [
            (r["suite"], r["prompt"], r["model"]) for r in MULTI_ROWS if r["suite"] == suite
        ]
        assert "Suite" not in _headers(table)
        # the group row spans exactly the columns, and every row fills them
        spans = driver.execute_script(
            "var t = arguments[0], h = t.tHead.rows;"
            "return [Array.from(h[0].cells).reduce((n, c) => n + c.colSpan, 0),"
            " h[h.length - 1].cells.length, Array.from(t.tBodies[0].rows, r => r.cells.length)];",
            table,
        )
        assert spans[0] == spans[1] and set(spans[2]) == {spans[1]}
        # then its decisions, then its charts: the section's parts in that order
        parts = [e.get_attribute("class") for e in section.find_elements(By.XPATH, "./*")]
        decided = suite in MULTI["per_suite"]
        charted = suite in MULTI_CHARTS
        assert parts == [
            "", "scroll", *(["decision"] if decided else []), *(["suite-charts"] if charted else [])
        ]  # fmt: skip
        if decided:
            text = section.find_element(By.CSS_SELECTOR, ".decision .recommendation").text
            assert text == f"Recommendation: {MULTI['per_suite'][suite]['recommendation']}"
            rows = section.find_elements(By.CSS_SELECTOR, "table.comparisons tbody tr")
            assert len(rows) == len(MULTI["per_suite"][suite]["comparisons"])
        figures = section.find_elements(By.CSS_SELECTOR, "div.charts figure.chart")
        assert [f.get_attribute("data-kind") for f in figures] == [
            c.kind for c in MULTI_CHARTS.get(suite, [])
        ]
        for figure, chart in zip(figures, MULTI_CHARTS.get(suite, []), strict=True):
            assert figure.find_element(By.CSS_SELECTOR, ".caption").text == chart.caption
    # "best" where the statistics support it: r-x beats every other scored reading row;
    # m-a beats m-b but is not shown to beat m-d, so arithmetic has none
    best = driver.find_elements(By.CSS_SELECTOR, "section.suite tr:has(.mark.best)")
    assert [(tr.get_attribute("data-suite"), tr.get_attribute("data-model")) for tr in best] == [
        ("reading", "r-x")
    ]
    _no_console_errors(driver)


def test_browser_sorting_one_suite_leaves_the_others(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    driver = browser(MULTI, "multi-sort")
    before = {suite: _models(_suite_table(driver, suite)) for suite in MULTI_ORDER}
    assert before["arithmetic"] == ["m-b", "m-a", "m-d"]

    assert _sorted_models(driver, "p95", "reading") == (["r-y", "r-x", "r-z"], "ascending")
    assert _models(_suite_table(driver, "arithmetic")) == before["arithmetic"]
    assert _models(_suite_table(driver, "misc")) == before["misc"]
    for suite in ("arithmetic", "misc"):
        assert _suite_table(driver, suite).find_elements(By.CSS_SELECTOR, "th[aria-sort]") == []

    # sorting another table keeps this one as it was sorted, header mark included
    assert _sorted_models(driver, "Model", "arithmetic") == (["m-a", "m-b", "m-d"], "ascending")
    assert _models(_suite_table(driver, "reading")) == ["r-y", "r-x", "r-z"]
    sorted_by = _suite_table(driver, "reading").find_elements(By.CSS_SELECTOR, "th[aria-sort]")
    assert [(th.text, th.get_attribute("aria-sort")) for th in sorted_by] == [("p95", "ascending")]
    assert _sorted_models(driver, "p95", "reading") == (["r-z", "r-x", "r-y"], "descending")
    assert _models(_suite_table(driver, "arithmetic")) == ["m-a", "m-b", "m-d"]
    _no_console_errors(driver)


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def test_browser_pass_at_k_only_where_repeated(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    driver = browser(MULTI, "multi-pass-k")
    for suite in ("arithmetic", "misc"):  # no repeats: no column
        table = _suite_table(driver, suite)
        assert not any(h.startswith("pass@") for h in _headers(table))
        assert table.find_elements(By.CSS_SELECTOR, "td.pass-k") == []
    table = _suite_table(driver, "reading")
    assert _headers(table)[2:5] == ["Accuracy [95% CI]", "pass@3", "Passed"]
    reading = [r for r in MULTI_ROWS if r["suite"] == "reading"]
    for row in reading:
        cell = table.find_element(By.CSS_SELECTOR, f'tr[data-model="{row["model"]}"] td.pass-k')
        if row["pass_at_k"] is None:
            assert cell.text == "—"
            assert cell.get_attribute("data-sort") is None
            continue
        assert cell.text == _pct(row["pass_at_k"])
        assert float(cell.get_attribute("data-sort")) == row["pass_at_k"]
        title = cell.get_attribute("title")
        assert "pass@3" in title and f"pass@1 {_pct(row['pass_at_1'])}" in title
        assert f"over {row['pass_at_k_cases']} cases" in title
    # numerically, unknown last either way
    assert _sorted_models(driver, "pass@3", "reading") == (["r-y", "r-x", "r-z"], "ascending")
    assert _sorted_models(driver, "pass@3", "reading") == (["r-x", "r-y", "r-z"], "descending")
    _no_console_errors(driver)


def test_browser_pass_at_k_rows_differ_in_k(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    rows = [
        _reading("r-3", accuracy=0.5, **_repeated(3, 0.5, 0.8)),
        _reading("r-5", accuracy=0.4, **_repeated(5, 0.4, 0.9)),
        _reading("r-1", accuracy=0.6),  # not repeated
    ]
    driver = browser({**SUMMARY, "suites": ["reading"], "rows": rows, "per_suite": {}}, "mixed-k")
    table = _suite_table(driver, "reading")
    assert "pass@k" in _headers(table)
    cells = {
        tr.get_attribute("data-model"): tr.find_element(By.CSS_SELECTOR, "td.pass-k")
        for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    }
    for row in rows[:2]:
        cell = cells[row["model"]]
        assert cell.text == _pct(row["pass_at_k"])
        assert cell.get_attribute("title").startswith(f"pass@{row['repeats']}:")
    assert cells["r-1"].text == "—"
    assert cells["r-1"].find_element(By.CSS_SELECTOR, ".na").get_attribute("title") == (
        "not repeated"
    )
    assert _sorted_models(driver, "pass@k", "reading")[0] == ["r-3", "r-5", "r-1"]
    _no_console_errors(driver)


def test_sections_escape_suite_names() -> None:
    rows = [_row(GPT, suite=MALICIOUS), _row(SMOL, suite="plain")]
    summary = {**SUMMARY, "suites": [MALICIOUS, "plain"], "rows": rows, "per_suite": {}}
    html = render_html(summary, [])
    assert MALICIOUS not in html
    assert "<h2>&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert html.count('<section class="suite"') == 2
    assert '<a href="#suite-1">&lt;script&gt;' in html


def test_summary_setup_written_only_when_present() -> None:
    from evals.report.model import Summary

    base = Summary("r1", ["s"], "2025-01-01T00:00:00Z", None, True, [], 0.0, None)
    assert "setup" not in base.to_json()
    setup = {"models": [{"id": "m", "endpoint": "e", "api_model": "m-1"}], "prompts_by_suite": {}}
    base.setup = setup
    assert base.to_json()["setup"] == setup
