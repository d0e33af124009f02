"""The handout as a reader sees it: opened in headless Chromium, measured from the rendered page.

A copy of the page gets a small probe script (the handout itself has none) that records, after
layout, the size and display of every ``<math>`` and ``<svg>`` and every resource the page
fetched; ``--dump-dom`` hands the record back. A PNG screenshot is kept as a test artifact.
"""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import symbackprop as sbp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
              pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")]

LECTURE = Path(__file__).resolve().parent.parent / "examples" / "lecture.sbp"
PROBE = """<script>
window.addEventListener('load', () => {
  const size = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
  const style = e => getComputedStyle(e);
  const record = {
    maths: [...document.querySelectorAll('math')].map(m => ({size: size(m), display: style(m).display})),
    fractions: [...document.querySelectorAll('mfrac')].map(size),
    letters: [...document.querySelectorAll('mi')].slice(0, 50).map(size),
    svgs: [...document.querySelectorAll('svg')].map(s => ({size: size(s), visibility: style(s).visibility,
                                                           shapes: s.querySelectorAll('g.node').length})),
    resources: performance.getEntriesByType('resource').map(r => r.name),
    external: [...document.querySelectorAll('[src], link[href], [href^="http"]')].length,
  };
  const out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify(record);
  document.body.appendChild(out);
});
</script>"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module", params=["en", "ru"])
def rendered(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp(f"browser-{request.param}")
    page = sbp.handout(sbp.load(str(LECTURE)), wrt=["w11", "p11"], lang=request.param).html()
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = chromium(tmp_path, "--virtual-time-budget=5000", "--window-size=1200,2000", "--dump-dom",
                    probed.as_uri())
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert match, f"the probe did not run: {done.stderr[-2000:]}"
    plain = tmp_path / "handout.html"
    plain.write_text(page, encoding="utf-8")
    return request.param, tmp_path, plain, json.loads(html.unescape(match.group(1)))


def test_mathml_is_laid_out_natively(rendered):
    _, _, _, record = rendered
    maths = record["maths"]
    assert len(maths) > 50
    assert all(w > 0 and h > 0 for w, h in (m["size"] for m in maths))
    # Laid out as MathML (display: math / block math), not as a run of inline text.
    assert {m["display"] for m in maths} <= {"math", "block math"} and "block math" in {m["display"] for m in maths}
    # A fraction is taller than a single letter: the mfrac really stacks ∂a over ∂w11.
    letter_height = max(h for _, h in record["letters"])
    assert min(h for _, h in record["fractions"]) > 1.3 * letter_height


def test_figures_are_present_and_visible(rendered):
    _, _, _, record = rendered
    svgs = record["svgs"]
    assert len(svgs) == 3  # the network and one highlighted drawing per parameter
    for figure in svgs:
        width, height = figure["size"]
        assert width > 200 and height > 50 and figure["visibility"] == "visible"
        assert figure["shapes"] >= 7


def test_nothing_requests_the_network(rendered):
    _, _, _, record = rendered
    assert record["resources"] == [] and record["external"] == 0


def test_screenshot_artifact(rendered):
    lang, tmp_path, plain, _ = rendered
    shot = tmp_path / f"handout-{lang}.png"
    chromium(tmp_path, "--window-size=1000,2600", "--hide-scrollbars", f"--screenshot={shot}", plain.as_uri())
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 50_000  # text, formulas and figures, not a blank page
    print(f"screenshot ({lang}): {shot}")
