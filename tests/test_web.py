"""The web page at GET /, driven end to end in Debian's headless Chromium (Selenium + the system chromedriver).

Screenshots of what a person would see are kept in test-artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from api.testing import LocalServer

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian's chromium and chromium-driver packages")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = str(tmp_path_factory.mktemp("web") / "jobs.sqlite")
    with LocalServer("--workers", "2", job_store=store, env={"A64EQ_API_KEY": ""}) as server:
        yield server


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,1100",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def fill(browser, source: str, candidate: str) -> None:
    for name, text in (("source", source), ("candidate", candidate)):
        editor = browser.find_element(By.ID, name)
        editor.clear()
        editor.send_keys(text)


def check(browser, expected_verdict: str) -> None:
    browser.find_element(By.ID, "check").click()
    WebDriverWait(browser, 60).until(expected_conditions.text_to_be_present_in_element((By.ID, "verdict"),
                                                                                       expected_verdict))
    WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "check").is_enabled())


def screenshot(browser, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def visible_text(browser, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def test_the_page_loads_with_nothing_from_outside(browser, server):
    browser.get(server.url + "/")
    assert "a64eq" in browser.title
    assert browser.find_element(By.ID, "source").is_displayed()
    assert browser.find_element(By.ID, "candidate").is_displayed()
    assert browser.find_element(By.ID, "check").text == "Check"
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(url.startswith(server.url) for url in resources)  # no CDN: works offline


def test_an_equivalent_pair(browser, server):
    browser.get(server.url + "/")
    fill(browser, "add x0, x0, x0", "lsl x0, x0, #1")
    browser.find_element(By.ID, "live_out").send_keys("x0, flags")
    check(browser, "Equivalent")
    assert "verdict-equivalent" in browser.find_element(By.ID, "verdict").get_attribute("class")
    assert "same exit and same x0, flags" in visible_text(browser, "reason")
    assert not browser.find_element(By.ID, "counterexample").is_displayed()
    timings = visible_text(browser, "timings")
    assert "solve" in timings and "total" in timings and " ms" in timings
    screenshot(browser, "web-equivalent")


def test_a_non_equivalent_pair_shows_the_counterexample(browser, server):
    browser.get(server.url + "/")
    fill(browser, "add w0, w1, w2", "add x0, x1, x2")
    check(browser, "Not equivalent")
    assert visible_text(browser, "reason").startswith("x0 differs")
    inputs = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#inputs tbody tr")]
    assert any(row.startswith("x1 ") for row in inputs) and any(row.startswith("x2 ") for row in inputs)
    rows = browser.find_elements(By.CSS_SELECTOR, "#differences tbody tr")
    assert [row.find_element(By.TAG_NAME, "td").text for row in rows] == ["x0"]
    source, candidate = (cell.text for cell in rows[0].find_elements(By.TAG_NAME, "td")[1:])
    assert source.startswith("0x") and candidate.startswith("0x") and len(source) == len(candidate)  # aligned
    assert int(source, 16) < 2**32 <= int(candidate, 16)  # the 32-bit sum wraps, the 64-bit one does not
    marked = rows[0].find_elements(By.TAG_NAME, "mark")
    assert marked and all(mark.value_of_css_property("font-weight") == "700" for mark in marked)
    assert visible_text(browser, "exits") == "Exits: source falls through, candidate falls through"
    assert visible_text(browser, "replay-note") == "Replayed on unicorn: confirmed."
    screenshot(browser, "web-not-equivalent")


def test_an_invalid_line_is_marked(browser, server):
    browser.get(server.url + "/")
    fill(browser, "add x0, x0, x0", "lsl x0, x0, #1\naddd x1, x1, x2\nret")
    check(browser, "Invalid input")
    assert "candidate, line 2 [opcode]" in visible_text(browser, "error-where")
    marked = browser.find_elements(By.CSS_SELECTOR, "#error-listing li.bad")
    assert [item.text for item in marked] == ["addd x1, x1, x2"]
    gutter = browser.find_elements(By.CSS_SELECTOR, '.editor[data-snippet="candidate"] .gutter .bad')
    assert [number.text for number in gutter] == ["2"]
    screenshot(browser, "web-invalid")


def test_a_malformed_option_is_reported_not_hidden(browser, server):
    browser.get(server.url + "/")
    browser.find_element(By.ID, "live_out").send_keys("x99")
    check(browser, "Request failed")
    assert "unknown observable 'x99'" in visible_text(browser, "reason")


def test_the_fp_timeout_field_is_sent(browser, server):
    browser.get(server.url + "/")
    assert browser.find_element(By.ID, "fp_timeout").get_attribute("value") == "30"
    fill(browser, "fdiv d0, d1, d2\nfmul d0, d0, d2", "fmov d0, d1")  # 2-14 s of FP solving to decide
    browser.find_element(By.ID, "live_out").send_keys("d0")
    fp_timeout = browser.find_element(By.ID, "fp_timeout")
    fp_timeout.clear()
    fp_timeout.send_keys("0.05")
    check(browser, "Unknown")
    assert "FP time limit of 0.05 s" in visible_text(browser, "reason")


def test_with_an_api_key_the_page_works_after_the_browsers_login(browser, tmp_path):
    """The 401 challenges the browser for Basic credentials (any user name, the key as password); once
    given, the page and its own API calls carry them."""
    key = "web-test-key"
    env = {"A64EQ_API_KEY": key, "A64EQ_WORKERS": "1"}
    with LocalServer(env=env, job_store=str(tmp_path / "jobs.sqlite")) as secured:
        browser.get(secured.url.replace("http://", f"http://anyone:{key}@") + "/")
        fill(browser, "add x0, x0, x0", "lsl x0, x0, #1")
        check(browser, "Equivalent")
