"""Files a CI job reads: the comparison as JSON, JUnit XML and a Markdown table.

JUnit: `<testsuites><testsuite name tests failures skipped><testcase classname
name time>`, the shape GitHub Actions, GitLab and Jenkins read. One testcase per
row (classname: the suite; name: prompt / model), a `<failure>` per worse row; a
row present in the base run only is a `<skipped>` testcase.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.decide.compare import Comparison, RowComparison

MAX_FLIPS_SHOWN = 20  # per row, in the Markdown (the JSON has them all)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def comparison_json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_json(), indent=2) + "\n"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.1f} pts"


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _signed(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, "+" + fmt)


def _interval(row: RowComparison) -> str:
    if row.ci_low is None or row.ci_high is None:
        return "n/a"
    return f"[{row.ci_low * 100:+.1f}, {row.ci_high * 100:+.1f}]"


def _testsuites(name: str, cases: list[ET.Element], failures: int, skipped: int) -> str:
    root = ET.Element("testsuites", name="evals", tests=str(len(cases)), failures=str(failures))
    suite = ET.SubElement(
        root,
        "testsuite",
        name=name,
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    suite.extend(cases)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _testcase(suite: str, prompt: str, model: str) -> ET.Element:
    return ET.Element("testcase", classname=suite, name=f"{prompt} / {model}", time="0")


def comparison_junit(comparison: Comparison) -> str:
    cases = []
    for row in comparison.rows:
        case = _testcase(*row.key)
        summary = (
            f"{row.label}: accuracy {_pct(row.base.accuracy)} -> {_pct(row.new.accuracy)}, "
            f"diff {_points(row.diff)} {_interval(row)}, p {_p(row.p_value)}, "
            f"p_adjusted {_p(row.p_adjusted)}, {row.n_paired} paired samples; "
            f"{sum(1 for f in row.flips if f['base_passed'])} passed before and fail now"
        )
        if row.verdict == "worse":
            failure = ET.SubElement(case, "failure", message=row.reason, type="regression")
            failure.text = summary + "\n" + "\n".join(_flip_lines(row))
        else:
            ET.SubElement(case, "system-out").text = f"{row.verdict}: {row.reason}\n{summary}"
        cases.append(case)
    for key in comparison.only_in_base:
        case = _testcase(*key)
        ET.SubElement(case, "skipped", message="row only in the base run: not run now")
        cases.append(case)
    name = f"evals compare {comparison.base.run_id} -> {comparison.new.run_id}"
    return _testsuites(name, cases, comparison.regressions, len(comparison.only_in_base))


def gate_junit(run_id: str, rows: Sequence[Mapping[str, Any]], fail_under: float | None) -> str:
    """One testcase per summary row, a failure when its accuracy is under `fail_under`."""
    cases, failures = [], 0
    for row in rows:
        case = _testcase(row["suite"], row["prompt"], row["model"])
        accuracy = row["accuracy"]
        text = f"accuracy {_pct(accuracy)} ({row['passed']} passed, {row['errors']} errors)"
        if fail_under is not None and (accuracy is None or accuracy < fail_under):
            failures += 1
            message = f"accuracy {_pct(accuracy)} is under --fail-under {fail_under}"
            ET.SubElement(case, "failure", message=message, type="fail-under").text = text
        else:
            ET.SubElement(case, "system-out").text = text
        cases.append(case)
    return _testsuites(f"evals run {run_id}", cases, failures, 0)


def _flip_lines(row: RowComparison) -> list[str]:
    return [
        f"{'pass -> fail' if f['base_passed'] else 'fail -> pass'}: case {f['case_id']}"
        + (f" repeat {f['repeat']}" if f["repeat"] else "")
        for f in row.flips
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_VERDICT_MARK = {"worse": "**worse**", "better": "better", "same": "same"}


def comparison_markdown(comparison: Comparison) -> str:
    base, new = comparison.base.run_id, comparison.new.run_id
    lines = [
        f"### evals compare: `{base}` → `{new}`",
        "",
        f"{comparison.regressions} of {len(comparison.rows)} rows worse "
        f"(alpha {comparison.alpha}, Holm-adjusted"
        + (f", --max-drop {comparison.max_drop}" if comparison.max_drop is not None else "")
        + ").",
        "",
        "| suite | prompt | model | base | new | diff (95% CI) | p | p adj. | verdict "
        "| n | Δ cost/case | Δ p50 s | Δ p95 s |",
        "|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for row in comparison.rows:
        data = row.to_json()
        cells = [
            *row.key,
            _pct(row.base.accuracy),
            _pct(row.new.accuracy),
            f"{_points(row.diff)} {_interval(row)}",
            _p(row.p_value),
            _p(row.p_adjusted),
            _VERDICT_MARK[row.verdict],
            str(row.n_paired),
            _signed(data["cost_per_case_usd_change"], ".3g"),
            _signed(data["latency_p50_s_change"], ".3f"),
            _signed(data["latency_p95_s_change"], ".3f"),
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    for row in comparison.rows:
        if not row.flips:
            continue
        shown = _flip_lines(row)[:MAX_FLIPS_SHOWN]
        more = len(row.flips) - len(shown)
        lines += ["", f"<details><summary>{_cell(row.label)}: {len(row.flips)} flipped</summary>"]
        lines += ["", *(f"- {line}" for line in shown)]
        lines += [f"- … and {more} more (see the JSON)"] if more else []
        lines += ["", "</details>"]
    for title, keys in (
        ("Only in the base run", comparison.only_in_base),
        ("Only in the new run", comparison.only_in_new),
    ):
        if keys:
            lines += ["", f"{title}: " + ", ".join(f"`{' / '.join(key)}`" for key in keys)]
    unpaired = [
        f"`{row.label}`: {len(row.only_in_base)} samples only in base, "
        f"{len(row.only_in_new)} only in new"
        for row in comparison.rows
        if row.only_in_base or row.only_in_new
    ]
    if unpaired:
        lines += ["", "Unpaired samples (left out of the test): " + "; ".join(unpaired)]
    return "\n".join(lines) + "\n"
