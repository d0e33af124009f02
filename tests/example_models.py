"""The example model files a student derives by hand: every ``examples/*.sbp`` small enough for
a worksheet. The CNN's 5,050 scalar parameters are left to the tensor tests (tests/test_tensor*.py),
which check its entries against the path sums and PyTorch instead of one hand answer each."""

from pathlib import Path

import symbackprop as sbp

MAX_HAND_PARAMETERS = 64
EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.sbp"))
HAND_SIZED = [model for model in EXAMPLES if len(sbp.load(model).parameters) <= MAX_HAND_PARAMETERS]
