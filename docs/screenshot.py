"""Redo docs/report.png: a real report (SmolLM2 on llama.cpp and the sim) in headless Chromium.

Runs the demo's suites with the embedded default runner profile (runners/local.yaml:
both endpoints start on 127.0.0.1 and stop with the run) into a throwaway store, opens
the report from disk and captures the page from the header to the case explorer, with
one case opened side by side.

    .venv/bin/python docs/screenshot.py                     # run, then capture
    .venv/bin/python docs/screenshot.py --report PATH.html  # capture an existing report
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import chromium  # noqa: E402

SUITES = ("suites/quickstart.yaml", "suites/facts.yaml")
WIDTH = 1600


def run_demo(work: Path) -> Path:
    """The demo's run in `work`; returns its report."""
    env = {**os.environ, "EVALS_HOME": str(work / "home")}
    out = work / "report"
    cmd = [str(ROOT / ".venv" / "bin" / "evals"), "run", *SUITES, "-r", "runners/local.yaml"]
    cmd += ["--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):  # 1: a gate failed, the report is still written
        sys.exit(f"evals run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return out / "index.html"


def capture(report: Path, png: Path) -> None:
    from selenium.webdriver.common.by import By

    with chromium() as driver:
        driver.set_window_size(WIDTH, 1000)
        driver.get(report.as_uri())
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        if errors:
            sys.exit(f"the report logged errors in the browser: {errors}")
        disagree = driver.find_elements(By.CSS_SELECTOR, "#cases-body button.case-open")
        if disagree:
            disagree[0].click()  # one case side by side, as a reader would open it
        bottom = driver.execute_script(
            "const t = document.getElementById('cases');"
            "return Math.min(t.getBoundingClientRect().top + window.scrollY + 420,"
            " document.body.scrollHeight);"
        )
        driver.set_window_size(WIDTH, int(bottom) + 20)
        driver.execute_script("window.scrollTo(0, 0)")
        png.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(png))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="an existing report to capture")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evals-shot-") as tmp:
        report = args.report or run_demo(Path(tmp))
        capture(report.resolve(), args.out)
    print(f"screenshot: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
