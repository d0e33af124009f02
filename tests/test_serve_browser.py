"""The checking page as a student uses it: Debian's Chromium, driven by Selenium through Debian's
chromedriver, types an answer, reads the live "read as" preview, checks it, and reads the verdict
and the highlighted diagram. The page fetches nothing but its own API, and breaks no rule of its
Content-Security-Policy.
"""

from __future__ import annotations

import os
import shutil

import pytest

pytest.importorskip("flask")
pytest.importorskip("waitress")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from test_serve import LECTURE, serving  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason="needs Debian's chromium and chromium-driver"),
              pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    os.environ.setdefault("SE_OFFLINE", "true")      # Selenium Manager must not look for drivers online
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,1600", f"--user-data-dir={tmp_path_factory.mktemp('profile')}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with serving(LECTURE) as port:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            yield driver, f"http://127.0.0.1:{port}"
        finally:
            driver.quit()


def classes(driver, arrow: str) -> set[str]:
    """The classes of the diagram's arrow titled ``arrow`` (``x1->z1``)."""
    return set(driver.execute_script(
        "for (const g of document.querySelectorAll('#network g.edge'))"
        "  if (g.querySelector('title').textContent === arguments[0]) return [...g.classList];"
        "return null;", arrow) or ())


def test_typing_an_answer_shows_the_reading_the_verdict_and_the_paths(page):
    driver, url = page
    driver.get(url + "/")
    wait = WebDriverWait(driver, 30)
    Select(driver.find_element(By.ID, "parameter")).select_by_value("w11")
    # Before any answer, the parameter's paths are traced on the diagram.
    assert "route" in classes(driver, "z1->m2") and "route" in classes(driver, "x1->z1")
    assert not classes(driver, "x2->z2") & {"route", "present", "missing"}
    answer = driver.find_element(By.ID, "answer")
    answer.send_keys("∂a/∂m1·∂m1/∂z1·∂z1/∂w11")                        # one of the two paths
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#reading math"))
    reading = driver.find_element(By.ID, "reading")
    assert reading.find_elements(By.CSS_SELECTOR, "msup") and "s" in reading.text   # Leibniz factors resolved
    driver.find_element(By.CSS_SELECTOR, "#check button").click()
    wait.until(lambda d: "incomplete" in d.find_element(By.ID, "verdict").text)
    verdict = driver.find_element(By.ID, "verdict")
    assert verdict.get_attribute("class") == "incorrect"
    assert verdict.text.startswith("✗ incomplete: 1 of 2 paths.")
    # The missing path is red on the diagram (its shared first arrow too), the present one green.
    assert "missing" in classes(driver, "z1->m2") and "missing" in classes(driver, "m2->a")
    assert "present" in classes(driver, "z1->m1") and "present" in classes(driver, "m1->a")
    assert "missing" in classes(driver, "x1->z1")
    stroke = driver.execute_script(
        "for (const g of document.querySelectorAll('#network g.edge.missing path')) return getComputedStyle(g).stroke;")
    assert stroke == "rgb(198, 40, 40)"
    listed = {li.get_attribute("data-path"): li.get_attribute("class")
              for li in driver.find_elements(By.CSS_SELECTOR, "#paths li")}
    assert listed == {"w11→z1→m1→a": "present", "w11→z1→m2→a": "missing"}


def test_a_right_answer_in_latex_and_a_hostile_one(page):
    driver, url = page
    driver.get(url + "/?lang=ru")
    wait = WebDriverWait(driver, 30)
    Select(driver.find_element(By.ID, "parameter")).select_by_value("p11")
    driver.find_element(By.CSS_SELECTOR, "input[name=format][value=latex]").click()
    answer = driver.find_element(By.ID, "answer")
    answer.send_keys(r"s_1 f'(p_{11} z_1 + p_{21} z_2) z_1")
    driver.find_element(By.CSS_SELECTOR, "#check button").click()
    wait.until(lambda d: d.find_element(By.ID, "verdict").text.startswith("✓ верно"))
    assert "present" in classes(driver, "z1->m1") and "present" in classes(driver, "m1->a")
    # A hostile answer: refused with its one-line message, shown as text; nothing it contains runs.
    answer.clear()
    driver.find_element(By.CSS_SELECTOR, "input[name=format][value=plain]").click()
    answer.send_keys('<img src=x onerror="document.title=1">')
    driver.find_element(By.CSS_SELECTOR, "#check button").click()
    wait.until(lambda d: "string literals are not allowed" in d.find_element(By.ID, "verdict").text)
    wait.until(lambda d: "string literals are not allowed" in d.find_element(By.ID, "reading").text)
    assert driver.find_element(By.ID, "reading").text.count("\n") == 0            # the preview: one line
    assert driver.find_element(By.ID, "verdict").get_attribute("class") == "error"
    assert not driver.find_elements(By.CSS_SELECTOR, "#verdict img, #reading img")
    assert driver.title != "1"


def test_the_page_fetches_only_from_its_server_and_keeps_its_policy(page):
    driver, url = page
    driver.get_log("browser")                     # reading the log empties it: only this test's entries count
    driver.get(url + "/")
    Select(driver.find_element(By.ID, "parameter")).select_by_value("s1")
    driver.find_element(By.ID, "answer").send_keys("m1")
    driver.find_element(By.CSS_SELECTOR, "#check button").click()
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "verdict").text.startswith("✓"))
    fetched = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
    assert fetched and all(name.startswith(url + "/api/") for name in fetched)
    problems = [entry["message"] for entry in driver.get_log("browser")
                if entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"]]
    assert not problems
