"""Start a headless Chromium through Selenium for browser tests.

No network: the driver and browser are the Debian packages at fixed paths (Selenium
Manager is never asked to download anything), and Chromium's background services
are switched off. When Chromium is missing the test is skipped, or failed with a
clear message when the CI environment variable is set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def _unavailable(reason: str) -> None:
    message = f"browser tests need Chromium: {reason}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def require_chromium() -> None:
    """Skip (or fail under CI) unless Chromium, chromedriver and selenium are present."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        _unavailable(
            "not found: " + ", ".join(missing) + " (apt-get install chromium chromium-driver)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        _unavailable("the selenium package is not installed (pip install -e '.[test]')")


@contextmanager
def chromium(window: tuple[int, int] = (1400, 1000)) -> Iterator[WebDriver]:
    """A headless Chromium WebDriver with a throwaway profile; quit on exit."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = Path(tempfile.mkdtemp(prefix="evals-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        if flag.startswith("--window-size="):
            flag = f"--window-size={window[0]},{window[1]}"
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    service = Service(executable_path=CHROMEDRIVER)
    try:
        # Installed but failing to start is a real error: let it propagate.
        driver = webdriver.Chrome(service=service, options=options)
    except BaseException:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
