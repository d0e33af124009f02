"""The README's main job, examples/lecture.py, runs end to end and says what it should."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_main_job(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "lecture.py"), "-o", str(tmp_path), "--no-pdf"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "∂a/∂w11 = ∂a/∂m1·∂m1/∂z1·∂z1/∂w11 + ∂a/∂m2·∂m2/∂z1·∂z1/∂w11" in out
    assert "δ_z1 = δ_m1·f'(p11·z1 + p21·z2)·p11 + δ_m2·f'(p12·z1 + p22·z2)·p12" in out
    for lang in ("en", "ru"):
        html = (tmp_path / f"handout-{lang}.html").read_text(encoding="utf-8")
        assert "<math" in html and "<svg" in html
        assert (tmp_path / f"handout-{lang}.tex").stat().st_size > 1000
    # the network learns its teacher: validation loss near the noise level, far below the mean's
    line = next(l for l in out.splitlines() if "validation loss" in l)
    learned, mean = float(line.split()[2]), float(line.split("mean: ")[1].split(";")[0])
    assert learned < mean / 100, line
