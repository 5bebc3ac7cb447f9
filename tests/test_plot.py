"""Histograms (qsim.plot): bar heights and labels read back from the matplotlib objects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import qsim

mpl = pytest.importorskip("matplotlib")

from qsim.plot import OTHER, plot_histogram, plot_probabilities, select_outcomes  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def bars(fig):  # noqa: ANN001, ANN201
    """(tick labels, heights of each dataset's bars) of a histogram figure."""
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    containers = ax.containers
    from matplotlib.container import BarContainer

    heights = [[float(p.get_height()) for p in c] for c in containers
               if isinstance(c, BarContainer)]
    return labels, heights


def test_counts_heights_and_labels() -> None:
    counts = {"11": 30, "00": 50, "01": 20}
    labels, heights = bars(plot_histogram(counts, probabilities=False))
    assert labels == ["00", "01", "11"]                  # sort="outcome": binary order
    assert heights == [[50.0, 20.0, 30.0]]
    labels, heights = bars(plot_histogram(counts))        # probabilities: count / total
    assert heights == [pytest.approx([0.5, 0.2, 0.3])]
    labels, heights = bars(plot_histogram(counts, sort="count", probabilities=False))
    assert labels == ["00", "11", "01"] and heights == [[50.0, 30.0, 20.0]]


def test_result_input_bell() -> None:
    # Bell state: only 00 and 11 can occur, each about half of the shots.
    r = qsim.run(qsim.Circuit(2).h(0).cx(0, 1).measure_all(), shots=1000, seed=5)
    fig = plot_histogram(r, probabilities=False, title="bell")
    labels, heights = bars(fig)
    assert labels == ["00", "11"]
    assert heights == [[float(r.counts["00"]), float(r.counts["11"])]]
    assert sum(heights[0]) == 1000 and abs(heights[0][0] - 500) < 4 * np.sqrt(250)
    assert fig.axes[0].get_title() == "bell"
    # bar value annotations read the same numbers
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == sorted(str(r.counts[k]) for k in ("00", "11"))


def test_top_keeps_largest_and_other() -> None:
    counts = {"000": 5, "001": 40, "010": 1, "011": 30, "100": 2, "101": 22}
    labels, heights = bars(plot_histogram(counts, top=3, probabilities=False))
    assert labels == ["001", "011", "101", OTHER]
    assert heights == [[40.0, 30.0, 22.0, 8.0]]          # 5 + 1 + 2 in "other"
    labels, _ = bars(plot_histogram(counts, top=6))
    assert OTHER not in labels                            # nothing left out: no "other" bar


def test_grouped_bars_for_several_results() -> None:
    ideal = {"00": 500, "11": 500}
    noisy = {"00": 450, "01": 30, "10": 20, "11": 500}
    fig = plot_histogram([ideal, noisy], legend=["ideal", "noisy"])
    labels, heights = bars(fig)
    assert labels == ["00", "01", "10", "11"]
    assert heights[0] == pytest.approx([0.5, 0.0, 0.0, 0.5])
    assert heights[1] == pytest.approx([0.45, 0.03, 0.02, 0.5])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ideal", "noisy"]
    # side by side: the two bars of one outcome do not overlap and straddle the tick
    from matplotlib.container import BarContainer

    c0, c1 = [c for c in ax.containers if isinstance(c, BarContainer)]
    for k, (a, b) in enumerate(zip(c0, c1)):
        assert a.get_x() + a.get_width() <= b.get_x() + 1e-12
        assert a.get_x() < k < b.get_x() + b.get_width()


def test_select_outcomes_sort_by_peak_over_datasets() -> None:
    labels, heights = select_outcomes([{"a": 1.0, "b": 3.0}, {"a": 4.0, "c": 2.0}], "count", 2)
    assert labels == ["a", "b", OTHER] and heights == [[1.0, 3.0, 0.0], [4.0, 0.0, 2.0]]


def test_labels_horizontal_and_not_overlapping_up_to_5_qubits() -> None:
    keys = [format(i, "05b") for i in range(32)]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plot_histogram({k: i + 1 for i, k in enumerate(keys)})
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ticks = fig.axes[0].get_xticklabels()
    assert [t.get_text() for t in ticks] == keys
    assert all(t.get_rotation() == 0 for t in ticks)
    r = canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in ticks]
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:]))  # left to right, no overlap


def test_labels_rotated_beyond_5_qubits() -> None:
    fig = plot_histogram({format(i, "06b"): 1 for i in range(0, 64, 7)})
    assert all(t.get_rotation() != 0 for t in fig.axes[0].get_xticklabels())


def test_png_file_is_a_valid_image(tmp_path: Path) -> None:
    from matplotlib.image import imread

    fig = plot_histogram({"0": 3, "1": 1})
    out = tmp_path / "h.png"
    fig.savefig(out, dpi=50)
    data = out.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000
    img = imread(out)
    w, h = fig.get_size_inches() * 50
    assert img.shape[:2] == (round(h), round(w))
    assert img.std() > 0                               # not a blank image


def test_svg_and_pdf_files(tmp_path: Path) -> None:
    fig = plot_histogram({"0": 3, "1": 1})
    fig.savefig(tmp_path / "h.svg")
    fig.savefig(tmp_path / "h.pdf")
    assert b"<svg" in (tmp_path / "h.svg").read_bytes()[:2000]
    assert (tmp_path / "h.pdf").read_bytes()[:5] == b"%PDF-"


def test_plot_probabilities_statevector_and_dict() -> None:
    # GHZ(3): exactly 1/2 on 000 and 111.
    sv = qsim.simulate(qsim.Circuit(3).h(0).cx(0, 1).cx(1, 2))
    labels, heights = bars(plot_probabilities(sv))
    assert labels == ["000", "111"] and heights == [pytest.approx([0.5, 0.5])]
    labels, heights = bars(plot_probabilities({"1": 0.75, "0": 0.25}, sort="count"))
    assert labels == ["1", "0"] and heights == [[0.75, 0.25]]
    labels, heights = bars(plot_probabilities([sv, {"000": 1.0}], legend=["ghz", "zero"]))
    assert heights[1] == [1.0, 0.0]


def test_draws_into_given_axes() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert plot_histogram({"1": 2}, ax=ax) is fig
    assert [float(p.get_height()) for p in ax.patches] == [1.0]


def test_lazy_attribute_on_package() -> None:
    assert qsim.plot_histogram is plot_histogram
    assert qsim.plot_probabilities is plot_probabilities


@pytest.mark.parametrize("kwargs, exc", [
    ({"sort": "size"}, ValueError), ({"top": 0}, ValueError), ({"legend": ["a", "b"]}, ValueError),
])
def test_bad_arguments(kwargs: dict, exc: type) -> None:
    with pytest.raises(exc):
        plot_histogram({"0": 1}, **kwargs)


def test_bad_input_type() -> None:
    with pytest.raises(TypeError):
        plot_histogram(42)
    with pytest.raises(TypeError):
        plot_probabilities([3.0])


def _headless_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    env.update(extra)
    return env


SCRIPT = """
import sys, matplotlib
{pre}
import qsim
fig = qsim.plot_histogram({{"0": 1, "1": 3}})
fig.savefig(sys.argv[1])
print(matplotlib.get_backend().lower(), "matplotlib.pyplot" in sys.modules)
"""


def test_headless_selects_agg_without_pyplot(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(pre=""), str(tmp_path / "a.png")],
                         env=_headless_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["agg", "False"]
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG_SIGNATURE


def test_user_backend_choice_is_kept(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(pre="matplotlib.use('svg')"),
                          str(tmp_path / "b.png")],
                         env=_headless_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "svg"
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(pre=""), str(tmp_path / "c.png")],
                         env=_headless_env(MPLBACKEND="pdf"), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "pdf"
