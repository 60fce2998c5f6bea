"""The app's Robustness tab in a real (headless) browser: an ensemble runs in the background,
its figures and findings fill in, and a scenario that would fight the worlds is refused."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.test_app_browser import app_page, app_url, shoot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

ENSEMBLE_TIMEOUT = 300_000  # ms: 30 runs at Dandong scale on a busy 2-core machine


def test_robustness_tab_runs_an_ensemble_and_shows_what_holds(app_page, artifacts):  # noqa: F811
    page = app_page
    page.get_by_role("tab", name="Robustness").click()
    page.get_by_text("Run the ensemble:").wait_for()

    # china_wide sets the number of factories, which the worlds vary: refused, in words
    page.locator(".lf-rcheck-china_wide label").click()
    page.get_by_role("button", name="Run ensemble").click()
    refusal = page.locator(".lf-refused")
    refusal.wait_for(timeout=30_000)
    assert "parameters.n_factories: sets 1000 where status_quo has 200" in refusal.inner_text()
    page.locator(".lf-rcheck-china_wide label").click()
    refusal.wait_for(state="detached", timeout=10_000)

    page.locator(".lf-worlds").get_by_role("button", name="10", exact=True).click()
    page.get_by_role("button", name="Run ensemble").click()
    started = time.perf_counter()
    page.locator(".lf-robust-factories_shut img").wait_for(timeout=ENSEMBLE_TIMEOUT)
    first_picture = time.perf_counter() - started
    progress = page.locator(".lf-robust-progress")
    page.locator(".lf-robust-progress.lf-complete").wait_for(timeout=ENSEMBLE_TIMEOUT)
    took = time.perf_counter() - started
    print(
        f"\n[timing] robustness tab, 3 scenarios x 10 worlds x 1 seed at Dandong scale: "
        f"first figure after {first_picture:.1f} s, complete after {took:.1f} s"
    )
    assert re.search(r"30 of 30 runs done · 10 of 10 worlds done", progress.inner_text())
    for name in ("distribution", "driver", "factories_shut"):
        page.locator(f".lf-robust-{name} img").wait_for()
    findings = page.locator(".lf-findings").inner_text()
    assert "Factories shut: " in findings and "of 10 plausible worlds" in findings
    lead = page.get_by_text("plausible worlds an abrupt return does").inner_text()
    assert "than a gradual return" in lead or "depends on the assumptions" in lead
    table = page.locator(".lf-robust-table").inner_text()
    assert "Factories shut" in table and "abrupt return − gradual return" in table
    with page.expect_download() as download:
        page.get_by_role("button", name="Contrasts (CSV)").click()
    csv = Path(download.value.path()).read_text()
    assert csv.startswith("contrast,scenario,reference,metric") and "abrupt_return" in csv
    assert "Traceback" not in page.inner_text("body")
    assert page.problems == []
    shoot(page, artifacts, "robustness.png")
