"""The report's case explorer in a real browser: case order, every filter, the pager and
one case side by side across models and prompts.

Every expected value comes from the input data built here (the specs, the planted search
words, the literal side-by-side table), never from the rendered page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evals.report.html import write_html
from tests.browser import chromium
from tests.helpers import USD_TEXTS

ALPHA = "m-alpha"
BETA = "m-beta"
MODELS = (ALPHA, BETA)
PROMPTS = {"arith": ("terse", "cot"), "qa": ("plain",)}
SYSTEM = {
    "terse": "Answer with the number only.",
    "cot": "Think step by step, then answer.",
    "plain": "Answer plainly.",
}
STATUS = {"p": "pass", "f": "fail", "e": "error"}

SUMMARY: dict[str, Any] = {"run_id": "r-explorer", "suites": ["arith", "qa"], "complete": True}

Key = tuple[str, str, str, str, int]  # suite, case id, prompt, model, repeat


@dataclass(frozen=True)
class Spec:
    """One case: its outcomes, one letter per sample ("p" pass, "f" fail, "e" error)
    in `keys` order (model by model, then prompt, then repeat)."""

    suite: str
    case_id: str
    tags: tuple[str, ...]
    outcomes: str
    repeats: int = 1

    @property
    def keys(self) -> list[tuple[str, str, int]]:
        prompts = PROMPTS[self.suite]
        return [(p, m, r) for m in MODELS for p in prompts for r in range(self.repeats)]

    @property
    def disagree(self) -> bool:
        return "p" in self.outcomes and any(o != "p" for o in self.outcomes)


SPECS = [
    Spec("arith", "a-01", ("easy",), "pppp"),
    Spec("arith", "a-02", ("easy", "carry"), "pfpp"),  # the side-by-side case (SIDE)
    Spec("arith", "a-03", ("carry",), "ffff"),
    Spec("arith", "a-04", (), "eeff"),
    Spec("qa", "q-01", ("facts",), "pp"),
    Spec("qa", "q-02", ("facts", "tricky"), "fe"),
    Spec("qa", "q-03", ("tricky",), "pf"),
    Spec("qa", "q-04", (), "pp"),  # flipped fail->pass (FLIPS)
    Spec("arith", "a-05", ("easy",), "pppf"),  # flipped pass->fail, and disagrees
    Spec("arith", "shared", (), "pppp"),  # the same case id in two suites
    Spec("qa", "shared", (), "ff"),
    Spec("qa", "q-05", (), "pfpp", repeats=2),  # m-alpha's two repeats disagree
]
SPEC = {(s.suite, s.case_id): s for s in SPECS}
FLIPS: dict[Key, str] = {
    ("qa", "q-04", "plain", BETA, 0): "fail->pass",
    ("arith", "a-05", "cot", BETA, 0): "pass->fail",
}
# Flipped cases first, then those whose samples disagree, then those with a failure or
# an error, then the rest; ties in the order the cases first appear in the data.
ORDER_WITH_FLIPS = [
    ("qa", "q-04"), ("arith", "a-05"),
    ("arith", "a-02"), ("qa", "q-03"), ("qa", "q-05"),
    ("arith", "a-03"), ("arith", "a-04"), ("qa", "q-02"), ("qa", "shared"),
    ("arith", "a-01"), ("qa", "q-01"), ("arith", "shared"),
]  # fmt: skip
ORDER_WITHOUT_FLIPS = [
    ("arith", "a-02"), ("qa", "q-03"), ("arith", "a-05"), ("qa", "q-05"),
    ("arith", "a-03"), ("arith", "a-04"), ("qa", "q-02"), ("qa", "shared"),
    ("arith", "a-01"), ("qa", "q-01"), ("qa", "q-04"), ("arith", "shared"),
]  # fmt: skip

IMAGE_DATA = "iVBORw0KGgoSECRETPIXELBYTES"

# Words planted in exactly one kind of searchable field (see test_text_search_fields).
CASE_FIELDS: dict[tuple[str, str], dict[str, Any]] = {
    ("arith", "a-02"): {"vars": {"a": 7, "b": 5}, "expect": "12"},
    ("qa", "q-01"): {
        "vars": {"q": "q-01", "animal": "narwhal"},
        "request": {
            "messages": [
                {"role": "system", "content": SYSTEM["plain"]},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What animal is this?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": f"data:image/png;base64,{IMAGE_DATA}"},
                        },
                    ],
                },
            ]
        },
    },
    ("qa", "q-03"): {"expect": "platypus"},
}
TOOL_CALLS = [
    {"id": "call_1", "type": "function",
     "function": {"name": "lookup_axolotl", "arguments": '{"q": 1}'}},
]  # fmt: skip
SAMPLE_FIELDS: dict[Key, dict[str, Any]] = {
    ("arith", "a-03", "cot", BETA, 0): {"output": "a zebra crossing"},
    ("arith", "a-03", "terse", ALPHA, 0): {
        "grades": [{"type": "exact", "passed": False, "score": 0.0, "reason": "ocelot mismatch"}]
    },
    ("arith", "a-04", "terse", ALPHA, 0): {"error": "quokka gateway timed out"},
    ("qa", "q-04", "plain", ALPHA, 0): {"output": "calling a tool", "tool_calls": TOOL_CALLS},
}
PLANTED: dict[str, list[Key]] = {
    "zebra": [("arith", "a-03", "cot", BETA, 0)],  # an output
    "quokka": [("arith", "a-04", "terse", ALPHA, 0)],  # an error
    "narwhal": [("qa", "q-01", "plain", ALPHA, 0), ("qa", "q-01", "plain", BETA, 0)],  # vars
    "platypus": [("qa", "q-03", "plain", ALPHA, 0), ("qa", "q-03", "plain", BETA, 0)],  # expect
    "axolotl": [("qa", "q-04", "plain", ALPHA, 0)],  # a tool call
    "ocelot": [("arith", "a-03", "terse", ALPHA, 0)],  # a grader's reason
}


def _grade(passed: bool, reason: str, type_: str = "exact", score: float | None = None):
    score = (1.0 if passed else 0.0) if score is None else score
    return {"type": type_, "passed": passed, "score": score, "reason": reason, "error": None}


# The side-by-side case arith/a-02: its four samples and what the page must show for each.
SIDE: dict[tuple[str, str], dict[str, Any]] = {
    ("terse", ALPHA): {
        "fields": {
            "output": "12",
            "cost_usd": 0.000021,
            "prompt_tokens": 1234,
            "cached_tokens": 200,
            "completion_tokens": 56,
            "reasoning_tokens": 7,
            "latency_s": 0.5,
            "ttft_s": 0.25,
            "grades": [_grade(True, "matched 12"), _grade(True, "terse and right", "judge", 0.9)],
        },
        "result": ("PASS", "score 1.000"),
        "grades": [
            ["grade pass", "exact pass", "1.000", "matched 12"],
            ["grade pass", "judge pass", "0.900", "terse and right"],
        ],  # fmt: skip
        "tokens": "in 1,234 (200 cached) · out 56 (7 reasoning)",
        "cost": "$0.000021",
        "latency": "0.50 s · TTFT 0.25 s",
        "list": {"tokens": "1,234 / 56", "cost": "$0.000021", "cached": None, "latency": "0.50 s"},
    },
    ("cot", ALPHA): {
        "fields": {
            "output": "Carry the one: 7 + 5 = 13",
            "cost_usd": 0.00228,
            "prompt_tokens": 2048,
            "cached_tokens": 0,
            "completion_tokens": 512,
            "reasoning_tokens": 0,
            "latency_s": 1.234,
            "finish_reason": "length",
            "grades": [
                _grade(False, "expected 12, got 13"),
                _grade(False, "an arithmetic slip", "judge", 0.2),
            ],
        },
        "result": ("FAIL", "score 0.000"),
        "grades": [
            ["grade fail", "exact fail", "0.000", "expected 12, got 13"],
            ["grade fail", "judge fail", "0.200", "an arithmetic slip"],
        ],  # fmt: skip
        "tokens": "in 2,048 · out 512",
        "cost": "$0.00228",
        "latency": "1.23 s · finish: length",
        "list": {"tokens": "2,048 / 512", "cost": "$0.00228", "cached": None, "latency": "1.23 s"},
    },
    ("terse", BETA): {
        "fields": {
            "output": "twelve",
            "cost_usd": 1234.567,
            "cache_hit": True,
            "prompt_tokens": 10,
            "cached_tokens": None,
            "completion_tokens": 1,
            "reasoning_tokens": None,
            "latency_s": None,
            "grades": [_grade(True, "matched twelve")],
        },
        "result": ("PASS", "score 1.000"),
        "grades": [["grade pass", "exact pass", "1.000", "matched twelve"]],
        "tokens": "in 10 · out 1",
        "cost": "$1,234.57 (cached)",
        "latency": "—",
        "list": {"tokens": "10 / 1", "cost": "$1,234.57", "cached": "cached", "latency": "—"},
    },
    ("cot", BETA): {
        "fields": {
            "output": "5 + 7 = 12",
            "cost_usd": None,
            "prompt_tokens": None,
            "cached_tokens": None,
            "completion_tokens": None,
            "reasoning_tokens": None,
            "latency_s": 2.0,
            "ttft_s": None,
            "grades": [_grade(True, "matched 12 (cot)")],
        },
        "result": ("PASS", "score 1.000"),
        "grades": [["grade pass", "exact pass", "1.000", "matched 12 (cot)"]],
        "tokens": "in — · out —",
        "cost": "—",
        "latency": "2.00 s",
        "list": {"tokens": "— / —", "cost": "—", "cached": None, "latency": "2.00 s"},
    },
}
for (_prompt, _model), _side in SIDE.items():
    SAMPLE_FIELDS[("arith", "a-02", _prompt, _model, 0)] = _side["fields"]


def _sample(spec: Spec, prompt: str, model: str, repeat: int, outcome: str, n: int):
    key = (spec.suite, spec.case_id, prompt, model, repeat)
    name = "/".join(map(str, key))
    passed = outcome == "p"
    sample: dict[str, Any] = {
        "suite": spec.suite,
        "case_id": spec.case_id,
        "prompt": prompt,
        "model": model,
        "repeat": repeat,
        "tags": list(spec.tags),
        "vars": {"q": spec.case_id},
        "expect": "42",
        "request": {
            "messages": [
                {"role": "system", "content": SYSTEM[prompt]},
                {"role": "user", "content": f"Question {spec.case_id}?"},
            ]
        },
        "output": f"answer for {name}",
        "passed": passed,
        "score": 1.0 if passed else 0.0,
        "grades": [_grade(passed, f"{'matched' if passed else 'mismatch'} for {name}")],
        "error": None,
        "finish_reason": "stop",
        "latency_s": 0.1 + n / 100,
        "ttft_s": None,
        "prompt_tokens": 100 + n,
        "cached_tokens": 0,
        "completion_tokens": 10 + n,
        "reasoning_tokens": 0,
        "cost_usd": (n + 1) / 10_000,
        "cache_hit": False,
    }
    if outcome == "e":
        sample.update(output=None, passed=None, score=None, grades=[])
        sample["error"] = f"upstream 503 for {name}"
    sample.update(CASE_FIELDS.get((spec.suite, spec.case_id), {}))
    sample.update(SAMPLE_FIELDS.get(key, {}))
    return sample


def _build() -> tuple[list[dict[str, Any]], dict[Key, str]]:
    """The samples in data order (model by model, as a run streams them) and their status."""
    samples, status = [], {}
    for model in MODELS:
        for spec in SPECS:
            assert len(spec.outcomes) == len(spec.keys), spec
            for (prompt, m, repeat), outcome in zip(spec.keys, spec.outcomes, strict=True):
                if m == model:
                    samples.append(_sample(spec, prompt, m, repeat, outcome, len(samples)))
                    status[_key(samples[-1])] = STATUS[outcome]
    return samples, status


def _key(sample: dict[str, Any]) -> Key:
    return (sample["suite"], sample["case_id"], sample["prompt"], sample["model"],
            sample["repeat"])  # fmt: skip


SAMPLES, STATUS_OF = _build()
TOTAL = len(SAMPLES)


def expected(
    order: list[tuple[str, str]] = ORDER_WITH_FLIPS,
    flips: dict[Key, str] = FLIPS,
    *,
    suite: str = "",
    prompt: str = "",
    model: str = "",
    status: str = "",
    tag: str = "",
    disagree: bool = False,
    keys: list[Key] | None = None,
) -> list[tuple[Key, str]]:
    """The (sample, status) rows the list must show, in order, worked out from the input."""
    flipped = {k[:2] for k in flips}
    rows = []
    for case in order:
        if disagree and not (SPEC[case].disagree or case in flipped):
            continue
        for s in SAMPLES:
            key, st = _key(s), STATUS_OF[_key(s)]
            if key[:2] != case or (keys is not None and key not in keys):
                continue
            if (suite and s["suite"] != suite) or (prompt and s["prompt"] != prompt):
                continue
            if (model and s["model"] != model) or (tag and tag not in s["tags"]):
                continue
            if status and (st == "pass" if status == "failures" else st != status):
                continue
            rows.append((key, st))
    return rows


def count_text(rows: list[tuple[Key, str]], total: int = TOTAL) -> str:
    cases = {key[:2] for key, _ in rows}
    return f"{len(rows):,} of {total:,} samples in {len(cases):,} cases"


# --------------------------------------------------------------------------- page reading

LIST_JS = r"""
const text = (e) => (e ? e.textContent : null);
const rows = [];
for (const tr of document.getElementById('cases-body').rows) {
  if (!tr.hasAttribute('data-status')) continue;
  const head = tr.querySelector(':scope > td.case');
  const cells = Array.from(tr.cells).filter((c) => c !== head);
  const out = tr.querySelector(':scope > td.out');
  const cost = cells[8];
  rows.push({
    case_id: tr.getAttribute('data-case-id'),
    status: tr.getAttribute('data-status'),
    head: head && {
      suite: text(head.firstElementChild),
      id: text(head.querySelector('button.case-open')),
      rowspan: head.rowSpan,
      marks: Array.from(head.querySelectorAll('span.mark'), (m) => [m.className, m.textContent]),
      tags: text(head.querySelector('div.tags')),
    },
    prompt: text(cells[0]),
    model: text(tr.querySelector(':scope > td.model')),
    repeat: text(cells[2]),
    badge: text(cells[3].querySelector('span.badge')),
    badge_class: cells[3].querySelector('span.badge').className,
    flip: text(cells[3].querySelector('span.mark.flip')),
    error: text(out.querySelector('div.err-text')),
    output: text(out.querySelector('pre.output')),
    grades: Array.from(tr.querySelectorAll(':scope > td.grades > div.grade'),
                       (g) => [g.className, text(g.querySelector('.gt')), g.textContent]),
    latency: text(cells[6]),
    tokens: text(cells[7]),
    cost: cost.firstChild ? cost.firstChild.textContent : '',
    cached: text(cost.querySelector('div')),
  });
}
const el = (id) => document.getElementById(id);
return {
  rows: rows, body: text(el('cases-body')), count: text(el('x-count')),
  page: text(el('x-page')), prev: el('x-prev').disabled, next: el('x-next').disabled,
};
"""


@dataclass
class Listing:
    rows: list[dict[str, Any]]  # each with "suite" and "key" added
    body: str
    count: str
    page: str
    prev_disabled: bool
    next_disabled: bool

    @property
    def samples(self) -> list[tuple[Key, str]]:
        return [(r["key"], r["status"]) for r in self.rows]

    @property
    def cases(self) -> list[tuple[str, str]]:
        return [(r["suite"], r["case_id"]) for r in self.rows if r["head"]]

    def row(self, key: Key) -> dict[str, Any]:
        [found] = [r for r in self.rows if r["key"] == key]
        return found

    def head(self, suite: str, case_id: str) -> dict[str, Any]:
        [found] = [r["head"] for r in self.rows if r["head"] and r["key"][:2] == (suite, case_id)]
        return found


def listed(driver: Any) -> Listing:
    """The list as shown, checked for shape: each case's rows follow its first row, which
    spans them all and names the case."""
    got = driver.execute_script(LIST_JS)
    rows, head, left = got["rows"], None, 0
    for r in rows:
        if r["head"]:
            assert left == 0, "a case's first row came before the previous case's rows ended"
            head, left = r["head"], r["head"]["rowspan"]
            assert head["id"] == r["case_id"]
        assert head is not None and r["case_id"] == head["id"]
        left -= 1
        r["suite"] = head["suite"]
        r["key"] = (head["suite"], r["case_id"], r["prompt"], r["model"], int(r["repeat"]))
        assert r["badge"] == r["status"].upper() and r["badge_class"] == f"badge {r['status']}"
    assert left == 0
    return Listing(rows, got["body"], got["count"], got["page"], got["prev"], got["next"])


DETAIL_JS = r"""
const text = (e) => (e ? e.textContent : null);
const d = document.getElementById('case-detail');
const messages = (box) => Array.from(
  box.querySelectorAll('div.message'),
  (m) => [text(m.querySelector('.role')), text(m.querySelector('pre'))]);
const h4 = Array.from(d.querySelectorAll('h4')).filter((h) => h.textContent === 'Messages');
const table = d.querySelector('table.side-by-side');
return {
  hidden: d.hidden,
  title: text(d.querySelector('h3')),
  close: d.querySelectorAll('button.case-close').length,
  tags: text(d.querySelector('p.tags')),
  facts: Array.from(d.querySelectorAll('dl.case-facts > dt'),
                    (dt) => [dt.textContent, dt.nextElementSibling.textContent]),
  shared_messages: h4.length ? messages(h4[0].nextElementSibling) : null,
  headings: h4.length,
  columns: table ? Array.from(
    table.querySelectorAll('thead th.col'),
    (th) => [th.firstChild.textContent, text(th.querySelector('div'))]) : [],
  lines: table ? Array.from(table.tBodies[0].rows, (tr) => ({
    label: tr.cells[0].tagName + ':' + tr.cells[0].textContent,
    cells: Array.from(tr.cells).slice(1).map((td) => ({
      text: td.textContent,
      pre: text(td.querySelector('pre')),
      pre_class: td.querySelector('pre') ? td.querySelector('pre').className : null,
      badge: text(td.querySelector('span.badge')),
      flip: text(td.querySelector('span.mark.flip')),
      grades: Array.from(td.querySelectorAll('div.grade'), (g) => [
        g.className, text(g.querySelector('.gt')),
        (text(g.querySelector(':scope > span.muted')) || '').trim() || null,
        text(g.querySelector('.reason'))]),
      messages: messages(td),
    })),
  })) : [],
};
"""


def detail(driver: Any) -> dict[str, Any]:
    got = driver.execute_script(DETAIL_JS)
    labels = [line["label"] for line in got["lines"]]
    assert all(label.startswith("TH:") for label in labels)
    got["labels"] = [label[3:] for label in labels]
    got["by_label"] = {
        label[3:]: line["cells"] for label, line in zip(labels, got["lines"], strict=True)
    }
    for cells in got["by_label"].values():
        assert len(cells) == len(got["columns"])
    return got


FIND_CASE_JS = r"""
const [suite, id] = arguments;
for (const td of document.querySelectorAll('#cases-body td.case')) {
  const open = td.querySelector('button.case-open');
  if (td.firstElementChild.textContent === suite && open.textContent === id) return open;
}
return null;
"""


def open_case(driver: Any, suite: str, case_id: str) -> dict[str, Any]:
    button = driver.execute_script(FIND_CASE_JS, suite, case_id)
    assert button is not None, f"{suite}/{case_id} is not on this page"
    button.click()
    return detail(driver)


SET_FILTERS_JS = r"""
const [values, done] = arguments;
const els = Object.keys(values).map((id) => document.getElementById(id));
for (const el of els) {
  const value = values[el.id];
  if (el.type === 'checkbox') el.checked = value; else el.value = value;
  if (el.tagName === 'SELECT' && el.value !== value) throw new Error('#' + el.id + ': no ' + value);
}
document.getElementById('x-count').textContent = '';
for (const el of els) {
  el.dispatchEvent(new Event(el.tagName === 'INPUT' && el.type !== 'checkbox' ? 'input' : 'change',
                             {bubbles: true}));
}
setTimeout(done, 0);  // after the search box's own (0 ms, below 5,000 samples) timer
"""

FILTER_IDS = {
    "suite": "x-suite",
    "prompt": "x-prompt",
    "model": "x-model",
    "status": "x-status",
    "tag": "x-tag",
    "text": "x-text",
    "disagree": "x-disagree",
}
CLEAR = {"suite": "", "prompt": "", "model": "", "status": "", "tag": "", "text": "",
         "disagree": False}  # fmt: skip


def set_filters(driver: Any, **values: Any) -> Listing:
    """Set filters as a user would leave them (each fires its own event); the list after."""
    driver.execute_async_script(SET_FILTERS_JS, {FILTER_IDS[k]: v for k, v in values.items()})
    shown = listed(driver)
    assert shown.count, "the explorer did not apply the filters"
    return shown


def options(driver: Any, element_id: str) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.getElementById(arguments[0]).options, (o) => o.value)",
        element_id,
    )


def severe_entries(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def no_console_errors(driver: Any) -> None:
    assert severe_entries(driver) == []


# --------------------------------------------------------------------------- pages

BIG_CASES = 130
PAGE = 50  # samples a page, about: pages end at the first case boundary at or after it


def big_samples() -> list[dict[str, Any]]:
    """130 cases × 2 models; every 13th case has a second m-alpha repeat (3 samples);
    m-beta fails every tenth case (those disagree and come first)."""
    out = []
    for model in MODELS:
        for i in range(BIG_CASES):
            for repeat in range(2 if model == ALPHA and i % 13 == 0 else 1):
                passed = not (model == BETA and i % 10 == 9)
                out.append(
                    {
                        "suite": "bulk",
                        "case_id": f"c-{i:03d}",
                        "prompt": "plain",
                        "model": model,
                        "repeat": repeat,
                        "output": f"bulk {i} {model} {repeat}",
                        "passed": passed,
                        "score": 1.0 if passed else 0.0,
                        "grades": [_grade(passed, "bulk")],
                    }
                )
    return out


def _cost_case(i: int, cost: float | None) -> dict[str, Any]:
    return {"suite": "fmt", "case_id": f"cost-{i}", "prompt": "p", "model": "m",
            "output": "x", "passed": True, "cost_usd": cost}  # fmt: skip


# the report's dollar format (tests/test_report_html.py::test_fmt_usd), in the list
COSTS = [(None, "—"), *USD_TEXTS]


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    with chromium() as d:
        yield d


@pytest.fixture(scope="module")
def pages(driver: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every page written once; each must load with no console errors."""
    folder = tmp_path_factory.mktemp("explorer")
    made = {
        "mixed": (SAMPLES, FLIPS),
        "no-flips": (SAMPLES, None),
        "big": (big_samples(), None),
        "empty": ([], None),
        "costs": ([_cost_case(i, c) for i, (c, _) in enumerate(COSTS)], None),
    }
    uris = {}
    for name, (samples, flips) in made.items():
        path = folder / f"{name}.html"
        write_html(path, SUMMARY, iter(samples), flips=flips)
        uris[name] = path.as_uri()
        driver.get(uris[name])
        assert severe_entries(driver) == [], name
    return uris


@pytest.fixture()
def show(driver: Any, pages: dict[str, str]) -> Callable[[str], Any]:
    """Load a page afresh (no filters set, no case open); no console errors on the way."""

    def load(name: str) -> Any:
        driver.get(pages[name])
        no_console_errors(driver)
        return driver

    return load


# --------------------------------------------------------------------------- order


def test_case_order_with_flips(show: Any) -> None:
    driver = show("mixed")
    shown = listed(driver)
    assert shown.samples == expected()
    assert shown.cases == ORDER_WITH_FLIPS
    assert shown.count == f"{TOTAL} of {TOTAL} samples in {len(SPECS)} cases"
    assert shown.page == "page 1 of 1"
    assert shown.prev_disabled and shown.next_disabled

    flipped = {k[:2] for k in FLIPS}
    for spec in SPECS:
        head = shown.head(spec.suite, spec.case_id)
        marks = []
        if (spec.suite, spec.case_id) in flipped:
            marks.append(["mark flip", "flipped"])
        if spec.disagree:
            marks.append(["mark disagree", "disagree"])
        assert head["marks"] == marks, spec
        assert head["tags"] == (", ".join(spec.tags) if spec.tags else None)
    for sample in SAMPLES:
        assert shown.row(_key(sample))["flip"] == FLIPS.get(_key(sample))
    no_console_errors(driver)


def test_case_order_without_flips(show: Any) -> None:
    """Without a baseline: disagreements before failures before agreements."""
    driver = show("no-flips")
    shown = listed(driver)
    assert shown.samples == expected(ORDER_WITHOUT_FLIPS, {})
    assert shown.cases == ORDER_WITHOUT_FLIPS
    assert all(r["flip"] is None for r in shown.rows)
    assert all(["mark flip", "flipped"] not in r["head"]["marks"] for r in shown.rows if r["head"])
    ranks = [
        0 if SPEC[c].disagree else 1 if set(SPEC[c].outcomes) != {"p"} else 2 for c in shown.cases
    ]
    assert ranks == sorted(ranks)


def test_list_cells(show: Any) -> None:
    driver = show("mixed")
    shown = listed(driver)
    for sample in SAMPLES:
        row = shown.row(_key(sample))
        assert row["status"] == STATUS_OF[_key(sample)]
        assert row["error"] == sample["error"]
        output = sample["output"]
        if sample.get("tool_calls"):
            output = f'{output}\nlookup_axolotl({{"q": 1}})'
        assert row["output"] == output
        assert [g[2] for g in row["grades"]] == [
            f"{g['type']} {g['reason']}" for g in sample["grades"]
        ]
        assert [g[0] for g in row["grades"]] == [
            "grade pass" if g["passed"] else "grade fail" for g in sample["grades"]
        ]
    for (prompt, model), side in SIDE.items():
        row = shown.row(("arith", "a-02", prompt, model, 0))
        assert {k: row[k] for k in side["list"]} == side["list"]
    first = ("arith", "a-01", "terse", ALPHA, 0)
    assert _key(SAMPLES[0]) == first  # n = 0 in _sample: 100 / 10 tokens, $0.0001, 0.10 s
    plain = shown.row(first)
    assert (plain["tokens"], plain["cost"], plain["latency"]) == ("100 / 10", "$0.0001", "0.10 s")


# --------------------------------------------------------------------------- filters


def test_filter_options(show: Any) -> None:
    driver = show("mixed")
    assert options(driver, "x-suite") == ["", *sorted({s["suite"] for s in SAMPLES})]
    assert options(driver, "x-prompt") == ["", *sorted({s["prompt"] for s in SAMPLES})]
    assert options(driver, "x-model") == ["", *sorted({s["model"] for s in SAMPLES})]
    assert options(driver, "x-tag") == ["", *sorted({t for s in SAMPLES for t in s["tags"]})]
    assert options(driver, "x-status") == ["", "pass", "fail", "error", "failures"]


SINGLE_FILTERS = [
    *({"suite": v} for v in PROMPTS),
    *({"prompt": v} for v in ("terse", "cot", "plain")),
    *({"model": v} for v in MODELS),
    *({"status": v} for v in ("pass", "fail", "error", "failures")),
    *({"tag": v} for v in ("easy", "carry", "facts", "tricky")),
    {"disagree": True},
]
COMBINED_FILTERS = [
    {"suite": "arith", "status": "failures"},
    {"model": BETA, "tag": "tricky"},
    {"suite": "qa", "prompt": "terse"},  # nothing: the qa suite has no such prompt
    {"disagree": True, "model": ALPHA},
    {"disagree": True, "status": "fail"},
    {"suite": "arith", "prompt": "cot", "model": BETA, "status": "pass", "tag": "easy"},
    {"suite": "qa", "status": "error", "tag": "facts", "disagree": False},
]


def test_every_filter_and_clearing(show: Any) -> None:
    driver = show("mixed")
    for filters in SINGLE_FILTERS + COMBINED_FILTERS:
        shown = set_filters(driver, **{**CLEAR, **filters})
        want = expected(**filters)
        assert shown.samples == want, filters
        assert shown.count == count_text(want), filters
        assert shown.page == "page 1 of 1"
        if not want:
            assert shown.body == "No cases match the filters."
        cleared = set_filters(driver, **CLEAR)
        assert cleared.samples == expected()
        assert cleared.count == count_text(expected())
    assert expected(suite="qa", prompt="terse") == []  # the data has one empty combination
    no_console_errors(driver)


def test_filters_combine_and_clear_one_at_a_time(show: Any) -> None:
    driver = show("mixed")
    steps = [("suite", "arith"), ("status", "failures"), ("tag", "carry"), ("model", BETA)]
    applied: dict[str, Any] = {}
    for name, value in steps:
        applied[name] = value
        shown = set_filters(driver, **{name: value})
        assert shown.samples == expected(**applied), applied
    assert expected(**applied)  # the data leaves something to show
    shown = set_filters(driver, text="zebra")
    assert shown.samples == expected(**applied, keys=PLANTED["zebra"])
    for name, _ in reversed(steps):
        del applied[name]
        shown = set_filters(driver, **{name: ""})
        assert shown.samples == expected(**applied, keys=PLANTED["zebra"])
    shown = set_filters(driver, text="")
    assert shown.samples == expected()
    assert shown.count == count_text(expected())


def _searchable(sample: dict[str, Any]) -> str:
    """Every searchable field of a sample, as the contract lists them."""
    parts = [sample["case_id"], sample["output"], sample["error"], json.dumps(sample["vars"]),
             sample["expect"], sample["model"], sample["prompt"]]  # fmt: skip
    parts += [f"{c['function']['name']}({c['function']['arguments']})" for c in
              sample.get("tool_calls") or []]  # fmt: skip
    parts += [g["reason"] for g in sample["grades"]]
    return "\n".join(str(p) for p in parts if p is not None).lower()


QUERIES = [
    *PLANTED.items(),
    ("ZEBRA", PLANTED["zebra"]),  # case does not matter
    ("  a-03   ocelot ", PLANTED["ocelot"]),  # every term must match, spaces ignored
    ("zebra ocelot", []),  # each matches a different sample: none has both
    ("q-05", [_key(s) for s in SAMPLES if s["case_id"] == "q-05"]),  # case id
    (BETA, [_key(s) for s in SAMPLES if s["model"] == BETA]),  # model
    ("cot", [_key(s) for s in SAMPLES if s["prompt"] == "cot"]),  # prompt
    ("no-such-word", []),
]


def test_search_words_are_where_planted() -> None:
    """The data itself: each planted word is in exactly the samples said and nowhere else
    in a sample (not in tags, messages or suite names either); each query's samples are
    those whose searchable fields hold all its terms."""
    for word, keys in PLANTED.items():
        assert [_key(s) for s in SAMPLES if word in json.dumps(s).lower()] == keys, word
    for query, keys in QUERIES:
        terms = query.lower().split()
        hits = [_key(s) for s in SAMPLES if all(t in _searchable(s) for t in terms)]
        assert hits == keys, query


@pytest.mark.parametrize(("query", "keys"), QUERIES)
def test_text_search_fields(show: Any, query: str, keys: list[Key]) -> None:
    driver = show("mixed")
    shown = set_filters(driver, text=query)
    want = expected(keys=keys)
    assert len(want) == len(keys)
    assert shown.samples == want
    assert shown.count == count_text(want)
    if not keys:
        assert shown.body == "No cases match the filters."
        assert shown.page == "page 1 of 1"
        assert shown.prev_disabled and shown.next_disabled


def test_filters_by_hand(show: Any) -> None:
    """The same controls driven by real clicks and typing (events as a user makes them)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = show("mixed")

    def settles(want: list[tuple[Key, str]]) -> None:
        text = count_text(want)
        WebDriverWait(driver, 3).until(lambda d: d.find_element(By.ID, "x-count").text == text)
        assert listed(driver).samples == want

    Select(driver.find_element(By.ID, "x-status")).select_by_value("failures")
    settles(expected(status="failures"))
    driver.find_element(By.ID, "x-disagree").click()
    settles(expected(status="failures", disagree=True))
    box = driver.find_element(By.ID, "x-text")
    box.send_keys(BETA)
    settles(expected(status="failures", disagree=True, model=BETA))
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    settles(expected(status="failures", disagree=True))
    driver.find_element(By.ID, "x-disagree").click()
    Select(driver.find_element(By.ID, "x-status")).select_by_value("")
    settles(expected())
    no_console_errors(driver)


# --------------------------------------------------------------------------- pages


def _big_expected() -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Case order and sizes of the big page, from the rules its data was built by."""
    sizes = {f"c-{i:03d}": 3 if i % 13 == 0 else 2 for i in range(BIG_CASES)}
    disagree = [f"c-{i:03d}" for i in range(BIG_CASES) if i % 10 == 9]
    rest = [f"c-{i:03d}" for i in range(BIG_CASES) if i % 10 != 9]
    return [("bulk", c) for c in disagree + rest], sizes


def _page_through(driver: Any) -> list[Listing]:
    from selenium.webdriver.common.by import By

    seen = [listed(driver)]
    while not seen[-1].next_disabled:
        driver.find_element(By.ID, "x-next").click()
        seen.append(listed(driver))
        assert len(seen) < 20
    return seen


def test_pager(show: Any) -> None:
    from selenium.webdriver.common.by import By

    driver = show("big")
    order, sizes = _big_expected()
    total = sum(sizes.values())
    assert total == 2 * BIG_CASES + len([i for i in range(BIG_CASES) if i % 13 == 0])
    seen = _page_through(driver)
    n = len(seen)
    assert n > 2
    largest = max(sizes.values())
    for i, page in enumerate(seen, 1):
        assert page.page == f"page {i} of {n}"
        assert page.count == f"{total} of {total} samples in {BIG_CASES} cases"
        assert page.prev_disabled == (i == 1)
        assert page.next_disabled == (i == n)
        # whole cases only: every case on the page has all its samples there
        for _suite, case in page.cases:
            assert sum(r["case_id"] == case for r in page.rows) == sizes[case]
        if i < n:  # about 50 samples: a page ends at the first case boundary at or after 50
            assert PAGE <= len(page.rows) < PAGE + largest
            assert len(page.rows) - sizes[page.cases[-1][1]] < PAGE
        else:
            assert 0 < len(page.rows) < PAGE + largest
    assert [c for page in seen for c in page.cases] == order  # in order, each case once
    assert sum(len(page.rows) for page in seen) == total

    # and back: the same pages in reverse
    for i in range(n - 1, 0, -1):
        driver.find_element(By.ID, "x-prev").click()
        back = listed(driver)
        assert back.page == f"page {i} of {n}"
        assert back.samples == seen[i - 1].samples
    assert listed(driver).prev_disabled
    driver.find_element(By.ID, "x-prev").click()  # disabled: nothing happens
    assert listed(driver).page == f"page 1 of {n}"
    no_console_errors(driver)


def test_pager_with_filters(show: Any) -> None:
    from selenium.webdriver.common.by import By

    driver = show("big")
    order, sizes = _big_expected()
    total = sum(sizes.values())
    driver.find_element(By.ID, "x-next").click()
    driver.find_element(By.ID, "x-next").click()
    assert listed(driver).page.startswith("page 3 of ")

    shown = set_filters(driver, model=BETA)  # one sample a case: pages of exactly 50
    assert shown.page == f"page 1 of {-(-BIG_CASES // PAGE)}"  # back to the first page
    assert shown.count == f"{BIG_CASES} of {total} samples in {BIG_CASES} cases"
    seen = _page_through(driver)
    assert [len(p.rows) for p in seen] == [PAGE, PAGE, BIG_CASES - 2 * PAGE]
    assert [c for p in seen for c in p.cases] == order

    failing = [c for c in order if int(c[1][2:]) % 10 == 9]
    shown = set_filters(driver, model="", status="fail")
    assert shown.cases == failing
    assert shown.count == f"{len(failing)} of {total} samples in {len(failing)} cases"
    assert shown.page == "page 1 of 1"
    assert shown.prev_disabled and shown.next_disabled

    shown = set_filters(driver, status="", disagree=True)
    assert shown.cases == failing  # the failing cases are the disagreeing ones
    assert len(shown.rows) == sum(sizes[c] for _, c in failing)
    no_console_errors(driver)


def test_empty_report(show: Any) -> None:
    driver = show("empty")
    shown = listed(driver)
    assert shown.rows == []
    assert shown.body == "No cases."
    assert shown.count == "0 of 0 samples in 0 cases"
    assert shown.page == "page 1 of 1"
    assert shown.prev_disabled and shown.next_disabled
    for element_id in ("x-suite", "x-prompt", "x-model", "x-tag"):
        assert options(driver, element_id) == [""]
        assert driver.execute_script(f"return document.getElementById('{element_id}').disabled")


# --------------------------------------------------------------------------- side by side


def _messages(sample: dict[str, Any]) -> list[list[str]]:
    out = []
    for m in sample["request"]["messages"]:
        content = m["content"]
        if isinstance(content, list):  # parts: the text, images as a placeholder
            content = "\n".join(p["text"] if p["type"] == "text" else "[image]" for p in content)
        out.append([m["role"], content])
    return out


def _case_samples(suite: str, case_id: str) -> list[dict[str, Any]]:
    return [s for s in SAMPLES if (s["suite"], s["case_id"]) == (suite, case_id)]


LABELS = ["Result", "Output", "Tool calls", "Error", "Graders", "Tokens", "Cost", "Latency"]


def test_side_by_side_two_prompts_two_models(show: Any) -> None:
    driver = show("mixed")
    got = open_case(driver, "arith", "a-02")
    samples = _case_samples("arith", "a-02")
    assert len(samples) == 4
    assert got["hidden"] is False
    assert got["title"] == "arith · a-02"
    assert got["close"] == 1
    assert got["tags"] == "tags: easy, carry"
    [(vars_label, vars_text), (expect_label, expect_text)] = got["facts"]
    assert (vars_label, expect_label) == ("Vars", "Expected")
    assert json.loads(vars_text) == {"a": 7, "b": 5}
    assert expect_text == "12"

    # the two prompts send different messages: a row of them, one per column
    assert got["headings"] == 0 and got["shared_messages"] is None
    assert got["labels"] == [LABELS[0], "Messages", *LABELS[1:]]
    assert got["columns"] == [[s["model"], f"{s['prompt']} · #{s['repeat']}"] for s in samples]
    lines = got["by_label"]
    for i, sample in enumerate(samples):
        side = SIDE[(sample["prompt"], sample["model"])]
        assert lines["Messages"][i]["messages"] == _messages(sample)
        assert lines["Result"][i]["badge"] == side["result"][0]
        assert side["result"][1] in lines["Result"][i]["text"]
        assert lines["Output"][i]["pre"] == sample["output"]
        assert lines["Output"][i]["pre_class"] == "output"
        assert lines["Tool calls"][i]["text"] == "—"
        assert lines["Error"][i]["text"] == "—"
        assert lines["Graders"][i]["grades"] == side["grades"]
        assert lines["Tokens"][i]["text"] == side["tokens"]
        assert lines["Cost"][i]["text"] == side["cost"]
        assert lines["Latency"][i]["text"] == side["latency"]

    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, "#case-detail button.case-close").click()
    assert detail(driver)["hidden"] is True
    no_console_errors(driver)


def test_side_by_side_shared_messages_tools_errors_flips(show: Any) -> None:
    driver = show("mixed")
    # q-01: both models got the same messages (an image shown as a placeholder, no bytes)
    got = open_case(driver, "qa", "q-01")
    samples = _case_samples("qa", "q-01")
    assert got["headings"] == 1
    assert got["shared_messages"] == _messages(samples[0]) == _messages(samples[1])
    assert got["shared_messages"][1][1] == "What animal is this?\n[image]"
    assert got["labels"] == LABELS
    assert json.loads(dict(got["facts"])["Vars"]) == CASE_FIELDS[("qa", "q-01")]["vars"]
    assert IMAGE_DATA not in driver.page_source
    assert driver.execute_script("return document.images.length") == 0

    # q-02: the error in its column, no output there; the other column the other way round
    got = open_case(driver, "qa", "q-02")  # opening another case replaces the view
    assert got["title"] == "qa · q-02"
    samples = _case_samples("qa", "q-02")
    assert [STATUS_OF[_key(s)] for s in samples] == ["fail", "error"]
    lines = got["by_label"]
    assert [c["pre"] for c in lines["Error"]] == [None, samples[1]["error"]]
    assert lines["Error"][1]["pre_class"] == "err-text"
    assert [c["text"] for c in lines["Error"]][0] == "—"
    assert [c["pre"] for c in lines["Output"]] == [samples[0]["output"], None]
    assert [c["badge"] for c in lines["Result"]] == ["FAIL", "ERROR"]
    assert lines["Graders"][1]["text"] == "—"

    # q-04: a tool call, and a flip
    got = open_case(driver, "qa", "q-04")
    samples = _case_samples("qa", "q-04")
    lines = got["by_label"]
    assert [c["pre"] for c in lines["Tool calls"]] == ['lookup_axolotl({"q": 1})', None]
    assert [c["flip"] for c in lines["Result"]] == [FLIPS.get(_key(s)) for s in samples]
    assert [c["flip"] for c in lines["Result"]] == [None, "fail->pass"]

    # q-05: repeats are columns of their own
    got = open_case(driver, "qa", "q-05")
    samples = _case_samples("qa", "q-05")
    assert got["columns"] == [[s["model"], f"plain · #{s['repeat']}"] for s in samples]
    assert [c["badge"] for c in got["by_label"]["Result"]] == [
        STATUS_OF[_key(s)].upper() for s in samples
    ]

    # the same case id in two suites: two cases, each with its own samples
    for suite in PROMPTS:
        got = open_case(driver, suite, "shared")
        samples = _case_samples(suite, "shared")
        assert got["title"] == f"{suite} · shared"
        assert [c["pre"] for c in got["by_label"]["Output"]] == [s["output"] for s in samples]
    no_console_errors(driver)


def test_side_by_side_shows_every_sample_of_a_filtered_case(show: Any) -> None:
    """Filters choose the cases; the case view still compares all its samples."""
    driver = show("mixed")
    shown = set_filters(driver, model=ALPHA, prompt="cot")
    assert [r["key"] for r in shown.rows if r["case_id"] == "a-02"] == [
        ("arith", "a-02", "cot", ALPHA, 0)
    ]
    got = open_case(driver, "arith", "a-02")
    assert [c["pre"] for c in got["by_label"]["Output"]] == [
        s["output"] for s in _case_samples("arith", "a-02")
    ]


# --------------------------------------------------------------------------- formats and bugs


@pytest.mark.parametrize(
    ("i", "text"),
    [pytest.param(i, text, id=repr(cost)) for i, (cost, text) in enumerate(COSTS)],
)
def test_cost_format(show: Any, i: int, text: str) -> None:
    driver = show("costs")
    [row] = [r for r in listed(driver).rows if r["case_id"] == f"cost-{i}"]
    assert row["cost"] == text


def test_non_finite_numbers(driver: Any, tmp_path: Path) -> None:
    nan = float("nan")
    samples = [
        {"suite": "s", "case_id": "n-1", "prompt": "p", "model": "m", "passed": False,
         "score": nan, "grades": [_grade(False, "zero vector", "similarity", nan)]},
        {"suite": "s", "case_id": "n-1", "prompt": "p", "model": "m2", "passed": True,
         "score": 1.0, "latency_s": float("inf")},
    ]  # fmt: skip
    summary = {**SUMMARY, "rows": [{"suite": "s", "prompt": "p", "model": "m", "samples": 2}]}
    path = tmp_path / "nan.html"
    write_html(path, summary, samples)
    driver.get(path.as_uri())
    assert severe_entries(driver) == []
    shown = listed(driver)
    assert shown.count == "2 of 2 samples in 1 cases"
    assert [r["latency"] for r in shown.rows] == ["—", "—"]


def test_values_named_like_object_members(driver: Any, tmp_path: Path) -> None:
    samples = [
        {"suite": "s", "case_id": "c", "prompt": "toString", "model": "constructor",
         "passed": True, "tags": ["__proto__", "hasOwnProperty", "plain"]},
        {"suite": "s", "case_id": "c", "prompt": "p", "model": "m", "passed": True,
         "tags": ["__proto__", "hasOwnProperty", "plain"]},
    ]  # fmt: skip
    path = tmp_path / "names.html"
    write_html(path, SUMMARY, samples)
    driver.get(path.as_uri())
    no_console_errors(driver)
    assert options(driver, "x-model") == ["", "constructor", "m"]
    assert options(driver, "x-prompt") == ["", "p", "toString"]
    assert options(driver, "x-tag") == ["", "__proto__", "hasOwnProperty", "plain"]
    assert listed(driver).head("s", "c")["tags"] == "__proto__, hasOwnProperty, plain"
