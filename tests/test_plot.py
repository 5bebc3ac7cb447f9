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

from qsim.plot import (  # noqa: E402
    AUTO_TOP_THRESHOLD,
    DEFAULT_TOP,
    MAX_HEIGHT_IN,
    MAX_WIDTH_IN,
    OTHER,
    marginal_counts,
    plot_histogram,
    plot_probabilities,
    select_outcomes,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def bars(fig):  # noqa: ANN001, ANN201
    """(tick labels, heights of each dataset's bars) of a histogram figure."""
    ax = fig.axes[0]
    flat = is_horizontal(ax)
    labels = [t.get_text() for t in (ax.get_yticklabels() if flat else ax.get_xticklabels())]
    containers = ax.containers
    from matplotlib.container import BarContainer

    heights = [[float(p.get_width() if flat else p.get_height()) for p in c] for c in containers
               if isinstance(c, BarContainer)]
    return labels, heights


def is_horizontal(ax) -> bool:  # noqa: ANN001
    """Horizontal bar layout: the outcomes are on the y axis."""
    return ax.get_ylabel().startswith("outcome")


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


def test_top_keeps_largest_and_notes_the_rest() -> None:
    counts = {"000": 5, "001": 40, "010": 1, "011": 30, "100": 2, "101": 22}
    fig = plot_histogram(counts, top=3, probabilities=False)
    labels, heights = bars(fig)
    assert labels == ["001", "011", "101"]                # no "other" bar ...
    assert heights == [[40.0, 30.0, 22.0]]
    note = fig.axes[0].get_xlabel().split("\n")[1]       # ... but a note under the axes
    assert note == "+ 3 more outcomes: 8 shots (0.080 of the shots)"   # 5 + 1 + 2
    fig = plot_histogram(counts, top=3)
    assert fig.axes[0].get_xlabel().endswith("+ 3 more outcomes, 0.080 of the shots")
    fig = plot_histogram(counts, top=6)
    assert fig.axes[0].get_xlabel() == "outcome"          # nothing left out: no note


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
    labels, heights = select_outcomes([{"a": 1.0, "b": 3.0}, {"a": 4.0, "c": 2.0}], "count", 2,
                                      other=False)
    assert labels == ["a", "b"] and heights == [[1.0, 3.0], [4.0, 0.0]]


def test_labels_horizontal_and_not_overlapping_up_to_5_qubits() -> None:
    keys = [format(i, "05b") for i in range(0, 32, 32 // 24 + 1)] + ["11111"]
    assert len(keys) <= 24                                # vertical bars up to 24 of them
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


# --- readable at any size (issue #16): geometry read back from a drawn figure -------------------
def _drawn(fig):  # noqa: ANN001, ANN202
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _overlap(a, b) -> bool:  # noqa: ANN001
    """Boxes share some area (touching edges do not count)."""
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _outcome_labels(ax):  # noqa: ANN001, ANN202
    ticks = ax.get_yticklabels() if is_horizontal(ax) else ax.get_xticklabels()
    return [t for t in ticks if t.get_visible() and t.get_text()]


def uniform(n_qubits: int, step: int = 1) -> dict[str, int]:
    return {format(i, f"0{n_qubits}b"): 1 + (i % 7) * step for i in range(2 ** n_qubits)}


@pytest.mark.parametrize("counts", [
    {"0": 3, "1": 1},                                   # 2 outcomes
    {format(i, "05b"): i + 1 for i in range(32)},       # 32
    uniform(10),                                        # 1,024 (top 32 of them drawn)
    {format(i, "016b"): 1 for i in range(2 ** 16)},     # 65,536, uniform
], ids=["2", "32", "1024", "65536"])
def test_geometry_at_any_number_of_outcomes(counts: dict[str, int]) -> None:
    fig = plot_histogram(counts)
    r = _drawn(fig)
    ax = fig.axes[0]
    # (a) no two outcome labels overlap
    ticks = _outcome_labels(ax)
    assert ticks
    boxes = [t.get_window_extent(r) for t in ticks]
    assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    # (b) the figure stays bounded: at most 2,400 x 1,400 pixels at 100 dpi
    w, h = fig.get_size_inches()
    assert w <= MAX_WIDTH_IN and h <= MAX_HEIGHT_IN
    assert w * 100 <= 2400 and h * 100 <= 1400
    # (c) at most DEFAULT_TOP bars; the tallest drawn bar spans most of the value axis
    labels, heights = bars(fig)
    n = len(counts)
    assert len(labels) == (n if n <= AUTO_TOP_THRESHOLD else DEFAULT_TOP) and OTHER not in labels
    limit = ax.get_xlim()[1] if is_horizontal(ax) else ax.get_ylim()[1]
    assert max(heights[0]) / limit > 0.75
    # every outcome drawn is labelled, and the labels are the bars' outcomes
    assert len(ticks) == len(labels)
    # tick labels lie inside the figure
    fig_box = fig.bbox
    assert all(fig_box.x0 - 1 <= b.x0 and b.x1 <= fig_box.x1 + 1 for b in boxes)
    # what is left out is said under the axes
    value_label = ax.get_xlabel()
    if n > AUTO_TOP_THRESHOLD:
        assert f"+ {n - DEFAULT_TOP:,} more outcomes" in value_label


def test_1024_outcomes_keep_the_largest_and_note_the_rest() -> None:
    counts = uniform(10)
    counts["0000000000"] = 3000
    counts["1111111111"] = 2000
    fig = plot_histogram(counts, title="t")
    ax = fig.axes[0]
    assert is_horizontal(ax)                             # 10-character labels: horizontal bars
    labels, heights = bars(fig)
    assert labels[0] == "0000000000" and labels[-1] == "1111111111"   # binary order, top down
    assert labels == sorted(labels) and len(labels) == DEFAULT_TOP
    kept = sorted(counts, key=lambda k: (-counts[k], k))[:DEFAULT_TOP]
    assert set(labels) == set(kept)
    total = sum(counts.values())
    rest = total - sum(counts[k] for k in kept)
    assert ax.get_xlabel() == f"probability\n+ 992 more outcomes, {rest / total:.3f} of the shots"
    assert heights[0] == pytest.approx([counts[k] / total for k in labels])


def test_explicit_top_never_flattens_the_kept_bars() -> None:
    # 0.976 of the mass outside the top 4: no bar for it, the kept bars fill the axis
    counts = {format(i, "08b"): 1 for i in range(256)}
    for k in ("00000000", "00000001", "00000010", "00000011"):
        counts[k] = 2
    fig = plot_histogram(counts, top=4)
    r = _drawn(fig)
    ax = fig.axes[0]
    labels, heights = bars(fig)
    assert labels == ["00000000", "00000001", "00000010", "00000011"]
    assert ax.get_ylim()[1] < 1.5 * max(heights[0])
    assert all(p.get_window_extent(r).height > 0.6 * ax.get_window_extent(r).height
               for p in ax.patches)
    assert "+ 252 more outcomes, 0.969 of the shots" in ax.get_xlabel()


def test_large_top_thins_labels_without_overlap() -> None:
    fig = plot_histogram({format(i, "010b"): i + 1 for i in range(1024)}, top=300)
    r = _drawn(fig)
    ax = fig.axes[0]
    labels = _outcome_labels(ax)
    assert 1 < len(labels) < 300 and len(ax.patches) == 300
    boxes = [t.get_window_extent(r) for t in labels]
    assert not any(_overlap(a, b) for a, b in zip(boxes, boxes[1:]))
    assert max(fig.get_size_inches() - (MAX_WIDTH_IN, MAX_HEIGHT_IN)) <= 0
    assert not ax.texts                                   # no value labels when they cannot fit


def test_long_labels_switch_to_horizontal_bars() -> None:
    few_long = {format(i, "012b"): i + 1 for i in range(0, 4096, 512)}   # 8 bars, 12 characters
    many_short = {format(i, "05b"): i + 1 for i in range(25)}            # 25 bars, 5 characters
    short = {format(i, "08b"): i + 1 for i in range(0, 256, 16)}         # 16 bars, 8 characters
    assert is_horizontal(plot_histogram(few_long).axes[0])
    assert is_horizontal(plot_histogram(many_short).axes[0])
    assert not is_horizontal(plot_histogram(short).axes[0])
    for counts in (few_long, many_short, short):
        fig = plot_histogram(counts)
        r = _drawn(fig)
        boxes = [t.get_window_extent(r) for t in _outcome_labels(fig.axes[0])]
        assert len(boxes) == len(counts)
        assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
        # value labels do not overlap each other either
        vals = [t.get_window_extent(r) for t in fig.axes[0].texts]
        assert not any(_overlap(a, b) for i, a in enumerate(vals) for b in vals[i + 1:])


def _legend_clear(fig, values: bool = True) -> list:  # noqa: ANN001
    """Assert the legend overlaps no bar or value label; returns the overlapping boxes (none)."""
    r = _drawn(fig)
    ax = fig.axes[0]
    leg = ax.get_legend().get_window_extent(r)
    others = [p.get_window_extent(r) for p in ax.patches] + [
        t.get_window_extent(r) for t in ax.texts]
    assert ax.patches and (ax.texts or not values)
    hit = [b for b in others if _overlap(leg, b)]
    assert not hit, (leg, hit)
    return hit


@pytest.mark.parametrize("sets", [
    [{"00": 500, "11": 500}, {"00": 450, "01": 30, "10": 20, "11": 500}],
    [{"0": 1000}, {"0": 990, "1": 10}],                  # the tallest bars at the left edge
    [{format(i, "03b"): 1 for i in range(8)}, {format(i, "03b"): 1 + i % 2 for i in range(8)}],
])
def test_legend_does_not_cover_bars_or_value_labels(sets: list) -> None:
    assert _legend_clear(plot_histogram(sets, legend=["ideal", "a noisy device"])) == []
    from matplotlib.figure import Figure  # also inside a given Axes

    ax = Figure(figsize=(6.4, 4.8)).add_subplot()
    # (value labels only where they fit: 16 bars in 5 inches have none)
    assert _legend_clear(plot_histogram(sets, legend=["ideal", "a noisy device"], ax=ax),
                         values=len(sets[0]) < 8) == []


def test_legend_clear_in_horizontal_comparison() -> None:
    a = {format(i, "010b"): 1 for i in range(0, 1024, 64)}
    b = {k: 2 for k in a}
    fig = plot_histogram([a, b], legend=["x", "y"])
    assert is_horizontal(fig.axes[0])
    _legend_clear(fig)


# --- marginals ------------------------------------------------------------------------------------
def test_marginal_counts_by_hand() -> None:
    counts = {"000": 10, "011": 20, "101": 30, "111": 40}
    assert marginal_counts(counts, [0, 2]) == {"00": 10, "01": 20, "11": 70}
    assert marginal_counts(counts, [2, 0]) == {"00": 10, "10": 20, "11": 70}   # order kept
    assert marginal_counts(counts, [1]) == {"0": 40, "1": 60}
    assert marginal_counts(counts, [0, 1, 2]) == counts
    m = marginal_counts(counts, [0])
    assert all(isinstance(v, int) for v in m.values())    # ints stay ints
    # several registers: positions count the bits with the space removed
    assert marginal_counts({"01 1": 5, "10 0": 7, "11 1": 1}, [1, 2]) == {"00": 7, "11": 6}
    assert marginal_counts({"0": 0.25, "1": 0.75}, [0]) == {"0": 0.25, "1": 0.75}


@pytest.mark.parametrize("positions", [[3], [0, 0], [-1], [], [True]])
def test_marginal_counts_bad_positions(positions: list) -> None:
    with pytest.raises(ValueError):
        marginal_counts({"000": 1}, positions)


def test_plot_marginal_of_a_result() -> None:
    # GHZ on 3 qubits: 000 or 111; plus X on qubit 3 -> 0001 / 1111
    r = qsim.run(qsim.Circuit(4).h(0).cx(0, 1).cx(1, 2).x(3).measure_all(), shots=400, seed=3)
    fig = plot_histogram(r, qubits=[0, 3], probabilities=False)
    labels, heights = bars(fig)
    by_hand: dict[str, int] = {}
    for k, n in r.counts.items():
        by_hand[k[0] + k[3]] = by_hand.get(k[0] + k[3], 0) + n
    assert set(by_hand) == {"01", "11"}
    assert labels == ["01", "11"] and heights == [[by_hand["01"], by_hand["11"]]]
    assert fig.axes[0].get_xlabel() == "outcome of bits 0, 3"
    # several registers: positions in the key without the space
    res = qsim.Result(counts={"01 1": 5, "10 0": 7, "11 1": 1}, shots=13, seed=None,
                      registers=[("a", 2), ("b", 1)])
    labels, heights = bars(plot_histogram(res, qubits=[1, 2]))
    assert labels == ["00", "11"] and heights == [pytest.approx([7 / 13, 6 / 13])]
    labels, heights = bars(plot_probabilities({"00": 0.5, "11": 0.5}, qubits=[1]))
    assert labels == ["0", "1"] and heights == [[0.5, 0.5]]
    with pytest.raises(ValueError):
        plot_histogram(r, qubits=[4])


def test_given_axes_thins_labels_and_keeps_them_inside() -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.8))                      # like plt.figure(): no layout engine
    plot_histogram(uniform(12), ax=fig.add_subplot(), title="4,096 outcomes")
    r = _drawn(fig)
    ax = fig.axes[0]
    boxes = [t.get_window_extent(r) for t in _outcome_labels(ax)]
    assert 1 < len(boxes) <= DEFAULT_TOP and len(ax.patches) == DEFAULT_TOP
    assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    inside = fig.bbox
    for b in boxes + [ax.xaxis.label.get_window_extent(r)]:
        assert inside.x0 - 1 <= b.x0 and b.x1 <= inside.x1 + 1 and inside.y0 - 1 <= b.y0
