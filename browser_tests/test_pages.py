"""The built book in headless Chromium, as a reader sees it: pages load without console errors, figures are there
and shown at their full size (never scaled down, so their text stays at least 9 pt: ``ihlib.viz``), no code or
output runs off its column, math is typeset offline, tables render, and the attention stepper's controls change
the frame.  A full-page screenshot of every page goes to test-artifacts/ (look at them)."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / os.environ.get("BOOK_HTML", "_build/html")
ARTIFACTS = ROOT / "test-artifacts"
CHAPTERS = {"01_iterative_tasks": 2, "02_model": 2, "03_emergence": 4, "04_handcrafted": 3,  # minimum figures
            "05_ablations": 3, "06_data": 3, "07_transfer": 3, "08_weight_decay": 2,
            "09_circuit": 4}
PAGES = ["intro", *CHAPTERS, "expectations"]


@pytest.fixture(scope="module")
def base_url():
    if not (HTML / "index.html").exists():
        pytest.fail(f"no book at {HTML}: build it first (bash scripts/book.sh), or set BOOK_HTML")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(HTML))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def chromium():
    """Headless Chromium (skipped where it is not installed, a failure in CI), logging the console."""
    browser, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and chromedriver):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are required in CI")
        pytest.skip("chromium/chromedriver not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,1600", f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    ARTIFACTS.mkdir(exist_ok=True)
    return webdriver.Chrome(service=Service(chromedriver), options=options)


@pytest.fixture(scope="module")
def driver():
    drv = chromium()
    yield drv
    drv.quit()


def severe_errors(drv) -> list[str]:
    """Console errors, except two that are not the book's: failed loads of external resources (this sandbox has no
    internet) and the theme's notice on a first visit, when no colour mode is stored yet
    (pydata-sphinx-theme logs "Got invalid theme mode: ." with console.error)."""
    return [entry["message"] for entry in drv.get_log("browser") if entry["level"] == "SEVERE"
            and not (entry["message"].startswith("https://") and "net::ERR_" in entry["message"])
            and "Got invalid theme mode: ." not in entry["message"]]


def full_page_screenshot(drv, path: Path) -> None:
    """The whole page, not only the window: the window is resized to the document's height for the shot."""
    width, height = drv.get_window_size()["width"], drv.get_window_size()["height"]
    full = drv.execute_script("return document.documentElement.scrollHeight")
    drv.set_window_size(width, min(full + 100, 30000))
    drv.save_screenshot(str(path))
    drv.set_window_size(width, height)


def wait_for_images(drv, seconds: float = 10) -> None:
    """Until every image of the article has its source and has loaded (or ``seconds`` pass: the check that follows
    then names the ones that did not).  An animation's frame gets its source from a script matplotlib defers
    (``setTimeout``), after the page's load event, so a check run at once can find it still empty."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        WebDriverWait(drv, seconds).until(lambda d: d.execute_script(
            "return Array.from(document.querySelectorAll('main article img'))"
            ".every(i => i.getAttribute('src') && i.complete)"))
    except TimeoutException:
        pass


@pytest.mark.parametrize("page", PAGES)
def test_page_fits_its_column_and_figures_are_shown_full_size(driver, base_url, page):
    driver.get(f"{base_url}/book/{page}.html")
    wait_for_images(driver)
    layout = driver.execute_script("""
      const main = document.querySelector('main');
      const wide = Array.from(main.querySelectorAll('pre, div.cell_output, table'))
        .filter(e => e.scrollWidth > e.clientWidth + 1)
        .map(e => `${e.tagName} ${e.scrollWidth} px in ${e.clientWidth}: ${e.innerText.slice(0, 50)}`);
      const images = Array.from(main.querySelectorAll('article img')).filter(i => !i.src.startsWith('https://'));
      // the stepper's frames are drawn at 150 dpi and shown at the player's width (ihlib.viz._PLAYER), on purpose
      const figures = images.filter(i => !i.closest('div.ih-stepper'));
      const broken = images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);
      const shrunk = figures.filter(i => i.naturalWidth > 0 && i.getBoundingClientRect().width < 0.97 * i.naturalWidth)
        .map(i => `${i.naturalWidth} px shown at ${Math.round(i.getBoundingClientRect().width)}`);
      return {wide, broken, shrunk};""")
    full_page_screenshot(driver, ARTIFACTS / f"page_{page}.png")
    assert layout == {"wide": [], "broken": [], "shrunk": []}, page


@pytest.mark.parametrize("chapter,min_figures", CHAPTERS.items())
def test_chapter_loads_with_figures_and_no_console_errors(driver, base_url, chapter, min_figures):
    driver.get(f"{base_url}/book/{chapter}.html")
    wait_for_images(driver)
    assert "Traceback (most recent call last)" not in driver.page_source
    images = driver.execute_script(
        "return Array.from(document.querySelectorAll('main img')).filter(i => i.complete && i.naturalWidth > 50).length")
    assert images >= min_figures, f"{chapter}: {images} rendered figures"
    driver.save_screenshot(str(ARTIFACTS / f"{chapter}.png"))
    assert severe_errors(driver) == []


def test_attention_stepper_controls_change_the_frame_and_the_counter(driver, base_url):
    driver.get(f"{base_url}/book/03_emergence.html")
    wait_for_images(driver)
    from selenium.webdriver.common.by import By
    stepper = driver.find_element(By.CSS_SELECTOR, "div.ih-stepper")
    driver.execute_script("arguments[0].scrollIntoView();", stepper)
    image = stepper.find_element(By.TAG_NAME, "img")
    slider = stepper.find_element(By.CSS_SELECTOR, "input[type=range]")
    counter = stepper.find_element(By.CSS_SELECTOR, "[data-counter]")
    first, first_count = image.get_attribute("src"), counter.text
    assert first_count.startswith("step 1 of ")
    driver.save_screenshot(str(ARTIFACTS / "animation_frame0.png"))
    stepper.find_element(By.CSS_SELECTOR, "button[data-step='1']").click()
    assert image.get_attribute("src") != first and slider.get_attribute("value") == "1"
    assert counter.text.startswith("step 2 of ")
    driver.execute_script("arguments[0].value = 3; arguments[0].oninput();", slider)
    assert slider.get_attribute("value") == "3" and image.get_attribute("src") != first
    assert counter.text.startswith("step 4 of ")
    driver.save_screenshot(str(ARTIFACTS / "animation_frame3.png"))
    assert severe_errors(driver) == []


@pytest.mark.parametrize("chapter", ["01_iterative_tasks", "03_emergence"])
def test_math_is_typeset_without_network_and_tables_render(driver, base_url, chapter):
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(f"{base_url}/book/{chapter}.html")
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.querySelectorAll('mjx-container').length"))
    text = driver.execute_script("return document.querySelector('main').innerText")
    assert "\\(" not in text and "|---" not in text and "|—|" not in text
    assert driver.execute_script("return document.querySelectorAll('main table').length") >= 1
