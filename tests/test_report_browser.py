"""The report in a real browser: Debian's chromium, headless, driven by Selenium.

A small corpus plus a small fuzz run (a planted discrepancy, so buckets exist whatever the JAX
version) plus one bucket folder full of hostile strings. The page must load with no console
error (a Content-Security-Policy violation is one), every chart must be a decoded, non-blank
image, the bucket table must have one row per bucket folder and sort on click, and no hostile
string may run. A screenshot is saved in the test's temporary folder.

Skipped, with the reason, when chromium, chromedriver or selenium is missing (``.ci/run``
installs them). The browser never downloads anything: the system binaries are named
explicitly, so Selenium Manager is not used, and networking features are switched off.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import HOSTILE_KEY, SCRIPT, write_hostile_bucket

from fuzzjax.cli.main import main
from fuzzjax.corpus.build import build_corpus
from fuzzjax.fuzzing.campaign import FuzzConfig, run_fuzz
from fuzzjax.fuzzing.reference import TEST_BREAK_ENV
from fuzzjax.generation.generator import generate
from fuzzjax.program import GenOptions

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
]
OPTIONS = GenOptions(max_depth=2, category="math")
PLANTED = "softplus"  # the NumPy reference of this alias is broken on purpose (TEST_BREAK_ENV)
CHARTS = ["depth", "category", "dtype", "ops", "lengths", "duplicates"]

if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "chromium and chromedriver are not installed "
        "(Debian: apt-get install -y chromium chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(report.html, failures folder) for a small corpus and a small planted fuzz run."""
    root = tmp_path_factory.mktemp("browser")
    db = root / "corpus.sqlite"
    build_corpus(db, count=20, options=GenOptions(max_depth=3), workers=0)
    seeds = [s for s in range(400) if PLANTED in generate(s, OPTIONS).aliases][:2]
    assert len(seeds) == 2
    failures = root / "failures"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TEST_BREAK_ENV, PLANTED)  # inherited by the spawn worker
        config = FuzzConfig(
            out=failures, options=OPTIONS, seeds=seeds, workers=1, timeout=60, shrink_seconds=20
        )
        summary = run_fuzz(config, echo=lambda line: None)
    assert summary.hits, "the planted discrepancy was not found"
    write_hostile_bucket(failures)
    out = root / "report.html"
    assert main(["report", "--db", str(db), "--failures", str(failures), "--out", str(out)]) == 0
    return out, failures


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="fuzzjax-chromium-")
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page(browser: Any, report: tuple[Path, Path]) -> Any:
    browser.get(report[0].as_uri())
    return browser


def test_page_loads_without_console_errors(page: Any) -> None:
    assert page.title == "fuzzjax report"
    logs = page.get_log("browser")
    assert [entry for entry in logs if entry["level"] in ("SEVERE", "WARNING")] == []


def test_every_chart_is_a_decoded_non_blank_image(page: Any) -> None:
    charts = page.execute_script(
        """
        return Array.from(document.querySelectorAll("figure.chart")).map(function (figure) {
          var img = figure.querySelector("img");
          var canvas = document.createElement("canvas");
          canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
          var context = canvas.getContext("2d");
          context.drawImage(img, 0, 0);
          var data = context.getImageData(0, 0, canvas.width, canvas.height).data;
          var colours = new Set();
          for (var i = 0; i < data.length; i += 4 * 97) colours.add(data[i] + "," + data[i + 1]);
          return {id: figure.id, complete: img.complete, width: img.naturalWidth,
                  height: img.naturalHeight, shown: img.getBoundingClientRect().width,
                  colours: colours.size};
        });
        """
    )
    assert [c["id"] for c in charts] == [f"chart-{name}" for name in CHARTS]
    for chart in charts:
        assert chart["complete"] and chart["width"] == 800 and chart["height"] >= 400, chart
        assert chart["shown"] >= 700, chart  # shown near its 800 px, not shrunk
        assert chart["colours"] >= 3, chart  # bars/points/text, not a blank image


def test_bucket_table_has_one_row_per_bucket_and_sorts(
    page: Any, report: tuple[Path, Path]
) -> None:
    failures = report[1]
    folders = [p for p in failures.iterdir() if p.is_dir() and not p.name.startswith(".")]
    expected = set()
    for folder in folders:
        try:  # raw, not read_meta: the hostile folder fails its checks but is shown escaped
            expected.add(json.loads((folder / "meta.json").read_text())["key"])
        except (OSError, ValueError, KeyError):
            continue  # the broken folder: listed as unreadable, not as a row
    assert any(key.startswith(HOSTILE_KEY) for key in expected) and len(expected) >= 2
    keys = page.execute_script(
        "return Array.from(document.querySelectorAll('#bucket-table tbody tr'))"
        ".map(function (r) { return r.getAttribute('data-key'); });"
    )
    assert sorted(keys) == sorted(expected)
    from selenium.webdriver.common.by import By

    header = page.find_elements(By.CSS_SELECTOR, "#bucket-table thead th")[5]
    assert header.text.startswith("hits")
    for direction in ("ascending", "descending"):
        header.click()
        assert header.get_attribute("aria-sort") == direction
        hits = page.execute_script(
            "return Array.from(document.querySelectorAll('#bucket-table tbody tr'))"
            ".map(function (r) { return Number(r.cells[5].getAttribute('data-sort')); });"
        )
        assert hits == sorted(hits, reverse=direction == "descending")


def test_hostile_strings_stay_text(page: Any, report: tuple[Path, Path]) -> None:
    state = page.execute_script(
        """
        return {pwned: window.__pwned === undefined ? null : window.__pwned,
                scripts: document.scripts.length,
                images: Array.from(document.images).filter(function (i) {
                  return i.src.indexOf("data:image/png;base64,") !== 0; }).length,
                handlers: Array.from(document.querySelectorAll("*")).filter(function (e) {
                  return Array.from(e.attributes).some(function (a) {
                    return a.name.indexOf("on") === 0; }); }).length,
                text: document.body.innerText};
        """
    )
    assert state["pwned"] is None and state["scripts"] == 1
    assert state["images"] == 0 and state["handlers"] == 0
    assert SCRIPT in state["text"]  # shown as text, not run


def test_screenshot(page: Any, report: tuple[Path, Path]) -> None:
    """Saved for a person to look at (the path is printed with -s)."""
    height = page.execute_script("return document.documentElement.scrollHeight")
    page.set_window_size(1280, min(int(height), 12000))
    page.execute_script("window.scrollTo(0, 0)")
    path = report[0].with_name("report.png")
    assert page.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {path}")
