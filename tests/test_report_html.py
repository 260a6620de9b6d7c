"""`a64eq report --html` opened in a real headless Chromium: the table reads back with the hand-computed
numbers, the charts are inline, and the page loads nothing from anywhere.

Needs Debian's `chromium` and `chromium-driver` (apt-get install -y chromium chromium-driver).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from test_report import EXPECTED, expected_bleu, graded_corpus


@pytest.fixture
def browser(tmp_path):
    driver_path = shutil.which("chromedriver")
    assert driver_path and shutil.which("chromium"), "apt-get install -y chromium chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_html_report_table_reads_back_in_chromium(tmp_path_factory, tmp_path, browser):
    results = graded_corpus(tmp_path_factory)
    page = tmp_path / "report.html"
    run = subprocess.run([sys.executable, "-m", "verifier.cli", "report", str(results), "--html", str(page)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr

    browser.get(page.as_uri())
    header = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#metrics thead th")]
    assert header[:4] == ["Model", "n", "Syntactic", "EMR"]
    rows = {cells[0]: dict(zip(header, cells)) for cells in (
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in browser.find_elements(By.CSS_SELECTOR, "#metrics tbody tr"))}
    assert rows.keys() == EXPECTED["table"].keys()
    for model, expected in EXPECTED["table"].items():
        row = rows[model]
        assert int(row["n"]) == expected["n"]
        assert row["Syntactic"].split()[0] == str(expected["syntactic"])
        assert row["EMR"].split()[0] == f"{expected['exact_match']}/{expected['with_reference']}"
        assert row["BLEU"] == f"{expected_bleu(model):.1f}"
        for column, name in (("Equivalent", "equivalent"), ("Not equivalent", "not_equivalent"),
                             ("Unknown", "unknown"), ("Unsupported", "unsupported"), ("Invalid", "invalid"),
                             ("Improved", "improved")):
            assert row[column].split()[0] == str(expected[name]), (model, column)
        assert row["Matches/beats ref"].split()[0] == f"{expected['matches_or_beats_reference']}/{expected['with_reference']}"

    taxonomy = {cells[0].text: [c.text for c in cells[1:]] for cells in (
        row.find_elements(By.TAG_NAME, "td") for row in browser.find_elements(By.CSS_SELECTOR, "#taxonomy tbody tr"))}
    assert taxonomy == {"alpha": ["2", "1", "1", "1", "1", "0"], "beta": ["1", "1", "1", "1", "0", "2"]}

    # charts: metrics, taxonomy, times, drawn inline; examples of counterexamples as the CLI prints them
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure > svg")) == 3
    assert "Inputs (everything not listed is irrelevant)" in browser.find_element(By.CSS_SELECTOR, "pre.counterexample").text
    # self-contained: the browser fetched nothing besides the page itself
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert json.loads(browser.execute_script("return JSON.stringify([...document.querySelectorAll('[src],[href]')]"
                                             ".map(e => e.getAttribute('src') || e.getAttribute('href'))"
                                             ".filter(u => !u.startsWith('#')))")) == []
