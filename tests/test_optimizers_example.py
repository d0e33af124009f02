"""examples/optimizers.py runs and writes its picture; the trajectories it draws come from the
compiled gradient, checked here against the surfaces' gradients written out by hand."""

import subprocess
import sys
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).parent.parent / "examples" / "optimizers.py"


def test_the_example_writes_a_png(tmp_path):
    output = tmp_path / "trajectories.png"
    run = subprocess.run([sys.executable, str(EXAMPLE), "-o", str(output)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p != output]  # no temporary file left behind


def test_trajectories_follow_the_hand_written_gradient():
    import importlib.util

    spec = importlib.util.spec_from_file_location("optimizers_example", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    import symbackprop as sbp

    surface = (1 - example.w1) ** 2 + 100 * (example.w2 - example.w1**2) ** 2
    model = sbp.compile(sbp.Graph({example.Q: surface}, parameters=[example.w1, example.w2]))
    path = example.trajectory(model, sbp.optim.GD(lr=1e-4), (-1.5, 2.0), 3)
    w = np.array([-1.5, 2.0])
    for point in path[1:]:
        a, b = w
        w = w - 1e-4 * np.array([-2 * (1 - a) - 400 * a * (b - a**2), 200 * (b - a**2)])
        assert np.allclose(point, w, rtol=1e-14)


def test_every_panel_holds_its_whole_trajectory_and_marks_its_ends():
    import importlib.util

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = importlib.util.spec_from_file_location("optimizers_example", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    import symbackprop as sbp

    for surface, start, steps, box, minimum, optimizers in example.SURFACES.values():
        model = sbp.compile(sbp.Graph({example.Q: surface}, parameters=[example.w1, example.w2]))
        for optimizer in optimizers:
            figure, ax = plt.subplots()
            path = example.draw(ax, surface, model, optimizer, "C0", start, steps, box, minimum)
            (left, right), (bottom, top) = ax.get_xlim(), ax.get_ylim()
            assert (left <= path[:, 0]).all() and (path[:, 0] <= right).all(), optimizer.name
            assert (bottom <= path[:, 1]).all() and (path[:, 1] <= top).all(), optimizer.name
            labels = ax.get_legend_handles_labels()[1]
            assert labels[:2] == ["start", "minimum"] and labels[2].startswith("end, Q = ")
            plt.close(figure)
