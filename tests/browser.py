"""A real browser for the HTML report tests: Debian's chromium driven through its chromedriver
by Selenium (the `browser` extra).  Locally the tests are skipped, saying why, when either is
missing; in CI (CI=true) a missing browser is a failure, since .ci/run installs it."""
from __future__ import annotations

import os
import shutil

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> tuple[str | None, str | None, str]:
    """(browser binary, chromedriver binary, why not) ."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None, None, "selenium is not installed (pip install -e '.[browser]')"
    binary = next((p for p in map(shutil.which, BROWSERS) if p), None)
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        return None, None, ("no chromium/chromedriver on PATH (Debian: apt-get install chromium "
                            "chromium-driver; .ci/run does it)")
    return binary, driver, ""


def browser_or_skip():
    binary, driver, why = find_browser()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests, but: {why}")
        pytest.skip(f"browser tests skipped: {why}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000", "--disable-extensions", "--no-first-run"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(executable_path=driver), options=opts)
