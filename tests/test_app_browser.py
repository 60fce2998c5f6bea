"""The app in a real (headless) browser, as an analyst uses it.

Each browser test opens a fresh page (a fresh Solara session) on the app served inside pytest, acts
through the page only, and saves a screenshot into test-artifacts/. Timings (a parameter
change to the first updated chart, the page's responsiveness while a comparison runs) are
measured and printed, not asserted: they depend on the machine.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

APP = "viz.app:Page"
LOAD_TIMEOUT = 90_000  # ms; the first page load of a session fetches ~15 MB of front end
RUN_TIMEOUT = 120_000

# In-page timers: when Enter was pressed, and when the labour-gap chart first changed after.
TIMERS_JS = """() => {
  window.__lf = {enter: null, chart: null};
  document.addEventListener('keydown', e => {
    if (e.key === 'Enter') { window.__lf.enter = performance.now(); window.__lf.chart = null; }
  }, true);
  const box = document.querySelector('.lf-chart-labor_gap');
  new MutationObserver(() => {
    if (window.__lf.enter !== null && window.__lf.chart === null) {
      window.__lf.chart = performance.now();
    }
  }).observe(box, {attributes: true, childList: true, subtree: true, characterData: true});
}"""

# The longest the browser's main thread went without painting a frame, from now on.
FRAME_GAPS_JS = """() => {
  window.__gap = {last: performance.now(), max: 0, on: true};
  const tick = t => {
    window.__gap.max = Math.max(window.__gap.max, t - window.__gap.last);
    window.__gap.last = t;
    if (window.__gap.on) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


@pytest.fixture
def app_url(solara_server, solara_app) -> Iterator[str]:
    with solara_app(APP):
        yield solara_server.base_url


@pytest.fixture
def app_page(page_session, app_url, artifacts, request):
    """The app freshly opened, its first charts drawn; console problems collected."""
    problems: list[str] = []
    requests: list[str] = []

    def on_console(msg) -> None:
        if msg.type == "error":
            problems.append(f"console error: {msg.text}")

    def on_page_error(err: str) -> None:
        # Known, not fixed (see the report of issue 13): when the window resizes, Plotly views
        # of charts Solara has already closed still answer, and the widget library raises
        # this; the page and every chart on it keep working.
        if err != "no comm channel defined":
            problems.append(f"page error: {err}")

    def on_request_failed(request) -> None:
        if request.failure == "net::ERR_ABORTED" and "/favicon." in request.url:
            return  # a second navigation (a link opened in the same tab) cuts the icon's load
        problems.append(f"request failed: {request.url} ({request.failure})")

    page = page_session
    host = app_url.split("//")[1].split("/")[0]
    cut_off_network(page, host)
    page.on("console", on_console)
    page.on("pageerror", lambda err: on_page_error(str(err)))
    page.on("requestfailed", on_request_failed)
    page.on("request", lambda r: requests.append(r.url))
    started = time.perf_counter()
    page.goto(app_url)
    page.wait_for_selector(".lf-chart-labor_gap .main-svg", timeout=LOAD_TIMEOUT)
    page.first_chart_s = time.perf_counter() - started
    wait_idle(page)
    page.problems = problems
    page.requests = requests
    yield page
    page.remove_listener("console", on_console)
    page.remove_listener("requestfailed", on_request_failed)
    report = getattr(request.node, "rep_call", None)  # set by pytest-playwright's hook
    if report is not None and report.failed:
        page.screenshot(path=str(artifacts / f"FAILED-{request.node.name}.png"))


# --- helpers ----------------------------------------------------------------------------


def cut_off_network(page, host: str) -> None:
    """Every request to another host fails, as on a machine without a network: the app and
    its charts must work from the files on this one."""

    def route(r) -> None:
        if r.request.url.split("//")[-1].startswith(host):
            r.continue_()
        else:
            r.abort()

    page.context.route("**/*", route)


def report_timing(text: str) -> None:
    """Shown with -s, and kept in test-artifacts/timings.txt (pytest hides a passing test's
    output): measured, never asserted."""
    print(f"\n[timing] {text}")
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / "timings.txt").open("a") as out:
        out.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")


def chart(page, name: str) -> str:
    return f".lf-chart-{name} .main-svg"


def day_of(page) -> int:
    text = page.inner_text(".lf-day")  # "day 1,096 of 1,096"
    return int(re.search(r"day ([\d,]+)", text).group(1).replace(",", ""))


def caption(page, chart: str) -> str:
    return page.inner_text(f".lf-chart-{chart} .lf-caption")


LIVE_CHARTS = ("labor_gap", "factory_map", "factories", "status", "crossings")


def wait_idle(page, timeout: float = RUN_TIMEOUT) -> None:
    """Until the run has drawn every chart for its current day and the browser shows them:
    no "running…", every chart there, and each dated caption on the date shown above."""
    plots = ", ".join(f".lf-chart-{name} .js-plotly-plot" for name in LIVE_CHARTS)
    captions = ", ".join(f".lf-chart-{name} .lf-caption" for name in DATED_CAPTIONS)
    page.wait_for_function(
        "([n, captions]) => { const day = document.querySelector('.lf-date');"
        " if (!day || !document.querySelector('.lf-day') || document.querySelector('.lf-busy'))"
        "   return false;"
        f" if (document.querySelectorAll('{plots}').length !== n) return false;"
        " return [...document.querySelectorAll(captions)].every("
        "   c => c.textContent.includes(day.textContent)); }",
        arg=[len(LIVE_CHARTS), captions],
        timeout=timeout,
    )


DATED_CAPTIONS = ("labor_gap", "factories", "status", "crossings")


def wait_day(page, day: int, timeout: float = RUN_TIMEOUT) -> None:
    page.wait_for_function(
        "d => { const e = document.querySelector('.lf-day');"
        " return e && e.textContent.startsWith('day ' + d + ' '); }",
        arg=f"{day:,}",
        timeout=timeout,
    )
    wait_idle(page, timeout)


def set_field(page, label: str, value: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")


def choose_preset(page, name: str, title_words: str) -> None:
    page.locator(".lf-preset").click()
    page.locator(".v-menu__content .v-list-item", has_text=name).first.click()
    page.get_by_text(title_words).first.wait_for(timeout=10_000)


def run_to_end(page) -> None:
    page.get_by_role("button", name="Run to end").click()
    wait_day(page, day_of_end(page))


def day_of_end(page) -> int:
    return int(page.inner_text(".lf-day").split(" of ")[1].replace(",", ""))


def shoot(page, artifacts: Path, name: str) -> Path:
    path = artifacts / name
    page.screenshot(path=str(path))
    return path


# --- the live view ------------------------------------------------------------------------


def test_page_loads_without_console_errors(app_page, app_url, artifacts):
    page = app_page
    assert page.inner_text(".lf-date") == "1 Jan 2018"
    for name in LIVE_CHARTS:
        page.locator(chart(page, name)).first.wait_for()
    assert "operating (200)" in caption(page, "factory_map")
    assert page.problems == []
    host = app_url.split("//")[1].split("/")[0]
    elsewhere = [u for u in page.requests if not u.split("//")[-1].startswith(host)]
    assert elsewhere == [], "the page must work offline: it asked other hosts"
    assert "Traceback" not in page.inner_text("body")
    report_timing(f"page opened to first (labour-gap) chart: {page.first_chart_s:.1f} s")
    keys = page.inner_text(".lf-keys")
    for label in (
        "Factories shut",
        "Positions lost",
        "Labour gap",
        "North Korean workers in China",
    ):
        assert label in keys
    assert "drops out of the gap" in page.inner_text(".lf-gap-help")
    shoot(page, artifacts, "live-start.png")


def test_live_view_steps_and_the_date_advances(app_page, artifacts):
    page = app_page
    page.get_by_role("button", name="Step").click()
    wait_day(page, 30)  # 30 days per step by default
    assert page.inner_text(".lf-date") == "30 Jan 2018"
    assert "30 Jan 2018" in caption(page, "labor_gap")

    page.locator(".lf-step-days button", has_text="7").click()
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(
        "() => /day (\\d+) /.test(document.querySelector('.lf-day').textContent) &&"
        " +document.querySelector('.lf-day').textContent.match(/day ([\\d,]+) /)[1]"
        ".replace(',', '') >= 51",
        timeout=RUN_TIMEOUT,
    )
    page.get_by_role("button", name="Pause").click()
    wait_idle(page)
    paused = day_of(page)
    assert paused >= 51 and (paused - 30) % 7 == 0
    time.sleep(1.0)
    assert day_of(page) == paused, "pause stops the run"
    assert page.problems == []
    shoot(page, artifacts, "live-stepped.png")


def test_changing_a_parameter_changes_the_labour_gap_chart(app_page, artifacts):
    page = app_page
    run_to_end(page)
    before = caption(page, "labor_gap")
    assert before.startswith("Labour gap on 31 Dec 2020")

    page.evaluate(TIMERS_JS)
    # Longer training-visa stays mean fewer renewal trips home, so fewer empty positions.
    set_field(page, "Training-visa stay", "90")
    page.wait_for_function("() => window.__lf.chart !== null", timeout=RUN_TIMEOUT)
    first_chart_ms = page.evaluate("() => window.__lf.chart - window.__lf.enter")
    wait_day(page, 1096)
    after = caption(page, "labor_gap")
    report_timing(
        f"Dandong scale, at the end date (1,096 days to re-run): parameter "
        f"change to first updated labour-gap chart: {first_chart_ms:.0f} ms"
    )
    assert after.startswith("Labour gap on 31 Dec 2020")
    assert after != before, "the labour-gap chart shows the new parameter's run"
    assert page.problems == []
    shoot(page, artifacts, "live-parameter-change.png")


def test_invalid_values_show_a_message_next_to_the_control(app_page, artifacts):
    page = app_page
    set_field(page, "Everyone gone by", "2019-01-01")  # before the start, 2019-06-01
    set_field(page, "Overstay share", "1.5")
    end_msg = page.locator(".lf-input-repatriation_end .v-messages__message")
    share_msg = page.locator(".lf-input-overstay_share .v-messages__message")
    end_msg.filter(has_text="1 Jan 2019 is before \u201cRepatriation starts\u201d").wait_for(
        timeout=10_000
    )
    share_msg.filter(has_text="1.5 is more than 1; write a number from 0 to 1").wait_for(
        timeout=10_000
    )
    assert "Traceback" not in page.inner_text("body")
    assert "_" not in end_msg.inner_text() + share_msg.inner_text()  # no parameter names
    page.locator(".lf-stale-banner", has_text="Charts show the last valid parameters").wait_for()
    assert page.locator(".lf-grid.lf-stale").count() == 1  # the charts are dimmed
    shoot(page, artifacts, "live-invalid-input.png")

    set_field(page, "Everyone gone by", "2019-12-22")
    set_field(page, "Overstay share", "0.5")
    share_msg.filter(has_text="share refused a visa").wait_for(timeout=10_000)
    assert page.locator(".lf-side .error--text").count() == 0
    page.locator(".lf-stale-banner").wait_for(state="detached", timeout=10_000)
    assert page.problems == []


SMALL_ABRUPT = "?preset=abrupt_return&n_workers=4000&n_factories=40"


def open_link(page, app_url: str, query: str) -> None:
    page.goto(app_url.rstrip("/") + "/" + query)
    page.wait_for_selector(".lf-chart-labor_gap .main-svg", timeout=LOAD_TIMEOUT)
    wait_idle(page)


def test_charts_hover_zoom_and_download_offline(app_page, app_url, artifacts):
    page = app_page
    open_link(page, app_url, SMALL_ABRUPT)
    run_to_end(page)
    plot = page.locator(chart(page, "labor_gap")).first
    box = plot.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.72, box["y"] + box["height"] * 0.55)
    # one box for the date under the pointer and every series' value (unified hover)
    page.wait_for_function(
        "() => /\\d \\w{3} 20\\d\\d/.test("
        "document.querySelector('.lf-chart-labor_gap .hoverlayer').textContent)",
        timeout=10_000,
    )
    text = page.locator(".lf-chart-labor_gap .hoverlayer").text_content()
    assert re.search(r"\d{1,2} \w{3} 20\d\d", text), text  # the date under the pointer
    assert "positions" in text
    page.locator(".lf-chart-labor_gap").screenshot(path=str(artifacts / "chart-hover.png"))
    # the date marks' labels sit in the strip above the plot, with their dates
    notes = page.locator(".lf-chart-labor_gap .annotation-text").evaluate_all(
        "els => els.map(e => e.textContent)"
    )
    assert "2397 deadline 22 Dec 2019" in notes and "abrupt return 22\u201328 Dec 2019" in notes
    # zoom: drag across the plot, the date axis narrows; the toolbar offers a PNG
    before = page.locator(".lf-chart-labor_gap .xtick").all_inner_texts()
    drag = page.locator(".lf-chart-labor_gap .nsewdrag").first.bounding_box()
    y = drag["y"] + drag["height"] / 2
    page.mouse.move(drag["x"] + drag["width"] * 0.55, y)
    page.mouse.down()
    page.mouse.move(drag["x"] + drag["width"] * 0.75, y, steps=6)
    page.mouse.up()
    page.wait_for_function(
        "b => JSON.stringify([...document.querySelectorAll('.lf-chart-labor_gap .xtick')]"
        ".map(e => e.textContent)) !== b",
        arg=str(before).replace("'", '"'),
        timeout=10_000,
    )
    assert page.locator('.lf-chart-labor_gap .modebar-btn[data-title*="png" i]').count() == 1
    with page.expect_download() as download:
        page.locator(".lf-chart-labor_gap .lf-svg button").click()
    assert b"<svg" in Path(download.value.path()).read_bytes()[:600]
    assert page.problems == []
    shoot(page, artifacts, "live-zoomed.png")


def test_a_link_restores_a_modified_run_which_downloads_and_joins_the_comparison(
    app_page, app_url, artifacts
):
    from model.scenario import load_scenario

    page = app_page
    open_link(page, app_url, "?preset=gradual_return&nk_wage_yuan_per_month=2500&n_workers=4000")
    assert page.get_by_label("North Korean wage", exact=True).input_value() == "2500"
    assert page.inner_text(".lf-run-name") == "Modified from gradual return"
    changes = page.inner_text(".lf-changes")
    assert "North Korean wage 2,500 yuan/month (preset: 2,000)" in changes
    assert "North Korean workers 4,000 (preset: 20,000)" in changes
    assert "The run so far (modified from gradual return)" in page.inner_text(".lf-headline")
    set_field(page, "Factories", "40")  # the address follows every change
    page.wait_for_function("() => location.search.includes('n_factories=40')", timeout=10_000)
    assert "preset=gradual_return" in page.url and "nk_wage_yuan_per_month=2500" in page.url
    shoot(page, artifacts, "live-modified-from-link.png")
    with page.expect_download() as download:
        page.get_by_role("button", name="Scenario file (TOML)").click()
    saved = Path(download.value.path()).with_suffix(".toml")
    saved.write_bytes(Path(download.value.path()).read_bytes())
    loaded = load_scenario(saved)
    assert loaded.params["nk_wage_yuan_per_month"] == 2500
    assert loaded.params["n_factories"] == 40 and loaded.params["repatriation_mode"] == "gradual"
    page.get_by_role("button", name="Add to comparison").click()
    # The box appears, then is ticked once the comparison takes the run (an effect after the
    # render): wait for the ticked box, not just the box, or a busy machine fails the test.
    added = page.locator(".lf-check-gradual_return_modified_1 input")
    page.locator(".lf-check-gradual_return_modified_1 input:checked").wait_for(timeout=10_000)
    assert added.is_checked()
    assert page.problems == []


def test_choosing_abrupt_on_the_status_quo_moves_its_dates(app_page, artifacts):
    page = app_page
    page.locator(".lf-mode button", has_text="abrupt").click()
    page.locator(".lf-mode-note", has_text="Dates set to 22 Dec 2019 to 28 Dec 2019").wait_for(
        timeout=10_000
    )
    assert page.get_by_label("Repatriation starts", exact=True).input_value() == "2019-12-22"
    assert page.get_by_label("Everyone gone by", exact=True).input_value() == "2019-12-28"
    assert page.locator(".lf-side .error--text").count() == 0
    page.wait_for_function(
        "() => document.querySelector('.lf-run-name').textContent === 'Modified from status quo'"
    )
    assert page.locator(".lf-stale-banner").count() == 0
    shoot(page, artifacts, "live-abrupt-on-status-quo.png")


def test_clicking_a_shut_factory_tells_its_story(app_page, app_url, artifacts):
    page = app_page
    open_link(page, app_url, SMALL_ABRUPT)
    run_to_end(page)
    text = caption(page, "factory_map")
    shut = int(re.search(r"shut \(([\d,]+)\)", text).group(1).replace(",", ""))
    assert shut > 0, text
    assert "Factories shut by 31 Dec 2020" in caption(page, "factories")
    # the shut factories are the map's last layer: click one of its points
    points = page.locator(".lf-chart-factory_map .scatterlayer .trace").last.locator(".point")
    points.first.click(force=True)
    story = page.locator(".lf-story")
    story.wait_for(timeout=20_000)
    story.locator(".lf-story-fate", has_text="shut on").wait_for(timeout=20_000)
    for key in ("history_staff", "history_wage", "history_cash"):
        story.locator(f".lf-story-{key} .main-svg").first.wait_for(timeout=20_000)
    story.scroll_into_view_if_needed()
    assert page.problems == []
    story.screenshot(path=str(artifacts / "factory-story.png"))
    shoot(page, artifacts, "live-abrupt-return.png")


# --- the compare view ---------------------------------------------------------------------


def answer_ms(page) -> float:
    """A round trip through the server: a bad seed typed, its message shown, then undone."""
    t0 = time.perf_counter()
    set_field(page, "Seed", "x")
    page.locator(".lf-input-seed .v-messages__message", has_text="whole number").wait_for()
    took = 1000 * (time.perf_counter() - t0)
    set_field(page, "Seed", "1")
    page.locator(".lf-input-seed .v-messages__message", has_text="same seed").wait_for()
    return took


def test_compare_view_produces_its_table_while_the_page_stays_responsive(app_page, artifacts):
    page = app_page
    idle_ms = answer_ms(page)
    page.get_by_role("tab", name="Compare scenarios").click()
    page.locator(".lf-check-gradual_return label").click()  # status quo against abrupt
    page.get_by_role("button", name="Run comparison").click()
    started = time.perf_counter()
    page.evaluate(FRAME_GAPS_JS)

    # While runs go on: the live view answers (a typed value is checked and its message
    # shown, a round trip through the server), and the browser keeps painting frames.
    # (measured once the first runs are back: the pool's start-up is over, the bands fill in)
    page.locator(".lf-progress-text", has_text=re.compile(r"^[1-9]\d* of .*running")).wait_for(
        timeout=RUN_TIMEOUT
    )
    page.get_by_role("tab", name="Live run").click()
    busy_ms = answer_ms(page)
    page.get_by_role("tab", name="Compare scenarios").click()
    still_running = "running" in page.inner_text(".lf-progress-text")

    page.locator(".lf-progress-text", has_text="complete").wait_for(timeout=RUN_TIMEOUT)
    took = time.perf_counter() - started
    max_gap = page.evaluate("() => { window.__gap.on = false; return window.__gap.max; }")
    report_timing(
        f"comparison of 2 scenarios x 4 seeds at Dandong scale: {took:.1f} s; "
        f"meanwhile a typed value was checked on the live view in {busy_ms:.0f} ms "
        f"({idle_ms:.0f} ms with nothing running; comparison still running then: "
        f"{still_running}); longest the browser went without painting: {max_gap:.0f} ms"
    )

    table = page.locator(".lf-results")
    assert "Factories shut" in table.inner_text()
    assert "abrupt return" in table.inner_text()
    assert "Difference from status quo" in table.inner_text()
    for band in ("labor_gap", "factories_shut", "nk_in_china"):
        page.locator(f".lf-band-{band} .main-svg").first.wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Table (CSV)").click()
    csv = Path(download.value.path()).read_text()
    assert csv.startswith("metric,scenario") and "abrupt_return" in csv
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Policy brief (HTML)").click()
    assert "<html" in Path(download.value.path()).read_text()[:500].lower()
    with page.expect_download(timeout=90_000) as download:
        page.get_by_role("button", name="Policy brief (PDF)").click()
    assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"
    assert page.problems == []
    shoot(page, artifacts, "compare.png")

    # a changed selection marks the results shown as stale, until run again
    page.locator(".lf-check-gradual_return label").click()
    page.locator(".lf-stale-banner", has_text="the selection has changed").wait_for()
    assert page.locator(".lf-stale .lf-results").count() == 1
    shoot(page, artifacts, "compare-stale.png")


def test_compare_asks_before_comparing_more_than_policy(app_page, artifacts):
    page = app_page
    page.get_by_role("tab", name="Compare scenarios").click()
    page.locator(".lf-check-gradual_return label").click()
    page.locator(".lf-check-abrupt_return label").click()
    page.locator(".lf-check-china_wide label").click()  # status quo at 100,000 workers
    warning = page.locator(".lf-unlike")
    warning.wait_for(timeout=10_000)
    text = warning.inner_text()
    assert "differ in more than policy" in text
    assert "North Korean workers: 100,000 in china wide, 20,000 in status quo" in text
    run = page.get_by_role("button", name="Run comparison")
    assert run.is_disabled()
    shoot(page, artifacts, "compare-unlike.png")
    warning.get_by_text("Compare anyway").click()
    page.wait_for_function(
        "() => ![...document.querySelectorAll('button')].find("
        "b => b.textContent.includes('Run comparison')).disabled"
    )
    assert page.problems == []


def test_response_curve_of_one_parameter(app_page, app_url, artifacts):
    page = app_page
    open_link(page, app_url, SMALL_ABRUPT)
    page.get_by_role("button", name="Add to comparison").click()
    page.locator(".lf-response").wait_for(timeout=10_000)
    page.locator(".lf-response-scenario").click()
    page.locator(".v-menu__content .v-list-item", has_text="abrupt_return_modified_1").click()
    card = page.locator(".lf-response")
    card.locator("button", has_text="3").first.click()  # three values
    card.locator("button", has_text="2").first.click()  # two seeds each
    set_field(page, "From", "1500")
    set_field(page, "To", "3500")
    started = time.perf_counter()
    page.get_by_role("button", name="Run response").click()
    progress = page.locator(".lf-response-progress", has_text="complete")
    progress.wait_for(timeout=RUN_TIMEOUT)
    report_timing(
        f"response of 3 values x 2 seeds (4,000 workers): "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    assert progress.inner_text().startswith("6 of 6 runs done")
    curve = page.locator(".lf-response-chart")
    curve.locator(".main-svg").first.wait_for()
    assert "Factories shut against North Korean wage" in curve.inner_text()
    assert page.problems == []
    curve.scroll_into_view_if_needed()
    shoot(page, artifacts, "compare-response.png")


# --- sessions -----------------------------------------------------------------------------


def test_two_browser_sessions_keep_their_own_parameters(
    browser, browser_context_args, app_url, artifacts
):
    contexts = [browser.new_context(**browser_context_args) for _ in range(2)]
    try:
        pages = [c.new_page() for c in contexts]
        for page in pages:
            page.goto(app_url)
            page.wait_for_selector(".lf-chart-labor_gap .main-svg", timeout=LOAD_TIMEOUT)
            wait_idle(page)
        a, b = pages
        set_field(a, "North Korean workers", "3000")
        set_field(b, "North Korean workers", "9000")
        for page in pages:
            page.get_by_role("button", name="Step").click()
        for page in pages:
            wait_day(page, 30)
        assert a.get_by_label("North Korean workers", exact=True).input_value() == "3000"
        assert b.get_by_label("North Korean workers", exact=True).input_value() == "9000"
        in_china = [
            int(
                re.search(r": ([\d,]+) North Korean", caption(p, "status"))
                .group(1)
                .replace(",", "")
            )
            for p in pages
        ]
        assert in_china[0] <= 3000 < in_china[1] <= 9000, in_china
        shoot(a, artifacts, "session-a.png")
        shoot(b, artifacts, "session-b.png")
    finally:
        for c in contexts:
            c.close()
