"""Text diagrams (qsim.draw): layout rules checked on small circuits drawn by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

import qsim
from qsim import Circuit
from qsim.circuit import GateDefinition
from qsim.draw import draw_text, format_angle, moments


def rows(text: str) -> list[str]:
    """The qubit rows of a one-page diagram. (Issue #16: spacer lines are drawn only where a
    vertical line crosses them, so the rows are no longer simply every other line; they are the
    lines that start with a qubit name, spacer lines start with blanks.)"""
    return [line for line in text.split("\n") if line[:1].strip()]


def test_bell_diagram_exact() -> None:
    # Drawn by hand from the rules: prefix "q[i]: ", one wire char each side of every column,
    # a closing wire char; the control's vertical line sits under the ● column.
    expected = "q[0]: ─H──●──\n" \
               "          │\n" \
               "q[1]: ────X──"
    assert draw_text(Circuit(2).h(0).cx(0, 1)) == expected


def test_top_level_draw_text_is_the_module_function() -> None:
    c = Circuit(3).h(0).cx(0, 2).rz(0.25, 1)
    assert qsim.draw_text(c, width=30) == draw_text(c, width=30)


def test_x_on_qubit_1_of_3_only_on_its_wire() -> None:
    r = rows(draw_text(Circuit(3).x(1)))
    assert "X" in r[1] and "X" not in r[0] and "X" not in r[2]
    assert [s.split(":")[0] for s in r] == ["q[0]", "q[1]", "q[2]"]  # qubit 0 on top


@pytest.mark.parametrize("value, text", [
    (math.pi / 4, "π/4"), (3 * math.pi / 4, "3π/4"), (-math.pi / 2, "-π/2"), (math.pi, "π"),
    (-math.pi, "-π"), (2 * math.pi, "2π"), (0.0, "0"), (0.3, "0.3"), (1.23456789, "1.235"),
    (math.pi / 64, "π/64"),
    # Power-of-two denominators up to 2**10 (QFT angles); other values keep 4 significant digits.
    (math.pi / 128, "π/128"), (3 * math.pi / 256, "3π/256"), (-math.pi / 1024, "-π/1024"),
    (5 * math.pi / 512, "5π/512"), (math.pi / 2048, "0.001534"), (math.pi / 3, "π/3"),
    (2 * math.pi / 96, "π/48"), (1e-10, "1e-10"), (-0.001, "-0.001"), (float("nan"), "nan"),
    (np.float64(math.pi / 2), "π/2"), (np.float32(0.25), "0.25"),
])
def test_format_angle(value: float, text: str) -> None:
    assert format_angle(value) == text


def test_parameters_compact_in_labels() -> None:
    text = draw_text(Circuit(1).rz(math.pi / 4, 0).u3(math.pi, 0, -math.pi / 2, 0))
    assert "Rz(π/4)" in text and "U3(π,0,-π/2)" in text


def test_gap_between_non_adjacent_qubits_is_crossed() -> None:
    text = draw_text(Circuit(3).cx(0, 2))
    lines = text.split("\n")
    col = lines[0].index("●")
    assert lines[4][col] == "X"          # target on q[2], same column
    assert lines[2][col] == "┼"          # q[1] crossed, not acted on
    assert lines[1][col] == lines[3][col] == "│"


def test_controlled_and_symmetric_gate_symbols() -> None:
    text = draw_text(Circuit(3).ccx(0, 1, 2).cz(0, 1).swap(1, 2).crz(math.pi / 2, 2, 0))
    r = rows(text)
    assert r[0].count("●") == 2          # ccx control, cz
    assert "Rz(π/2)" in r[0]             # crz(π/2): control q[2], target q[0]
    assert r[1].count("●") == 2 and r[1].count("×") == 1
    assert r[2].count("×") == 1 and "X" in r[2] and r[2].count("●") == 1


def test_asymmetric_gates_number_their_qubits() -> None:
    c = Circuit(2)
    c.define(GateDefinition("mine", ("a",), ("x", "y"), ()))
    c.append("mine", (1, 0), (math.pi,))
    c.unitary(np.eye(4), (0, 1), label="V")
    r = rows(draw_text(c))
    assert "mine(π)" in r[1] and "#2" in r[0]
    assert "V" in r[0] and "#2" in r[1]


def test_measurement_shows_clbit_and_registers() -> None:
    c = Circuit(2)
    c.add_creg("a", 1)
    c.add_creg("b", 1)
    c.measure(1, 0).measure(0, 1)
    r = rows(draw_text(c))
    assert "M→a[0]" in r[1] and "M→b[0]" in r[0]


def test_conditions_barriers_resets() -> None:
    c = Circuit(2, 1).h(0).barrier().measure(0, 0).x(1).c_if("c", 1).reset(0)
    text = draw_text(c)
    r = rows(text)
    assert "X if c==1" in r[1]
    assert "|0>" in r[0]
    assert r[0].count("░") == 1 and r[1].count("░") == 1 and text.split("\n")[1].count("░") == 1
    # The conditional X reads c, so it comes after the measurement that writes c[0].
    assert r[1].index("X if") > r[0].index("M→c[0]")


def test_moments_pack_independent_gates() -> None:
    c = Circuit(3).h(0).h(1).cx(0, 1).h(2).h(0)
    got = [[(i.name, i.qubits) for i in m] for m in moments(c)]
    assert got == [[("h", (0,)), ("h", (1,)), ("h", (2,))], [("cx", (0, 1))], [("h", (0,))]]
    # A gate spanning q0..q2 blocks q1 too, since its vertical line passes through it.
    got = [[i.qubits for i in m] for m in moments(Circuit(3).cx(0, 2).h(1))]
    assert got == [[(0, 2)], [(1,)]]


def test_wrapping_respects_width_and_keeps_all_gates() -> None:
    c = Circuit(2)
    for k in range(30):
        c.rz(0.1 * (k + 1), k % 2)
    text = draw_text(c, width=40)
    assert all(len(line) <= 40 for line in text.split("\n"))
    first_rows = [line for line in text.split("\n") if line.startswith("q[0]:")]
    assert len(first_rows) > 1           # one q[0] row per page
    assert first_rows[0].endswith("»") and first_rows[1][6] == "«"
    assert all(r.endswith("»") for r in first_rows[:-1]) and not first_rows[-1].endswith("»")
    assert text.count("Rz(") == 30
    for w in (0, None):                  # no wrapping: one page
        assert sum(line.startswith("q[0]:") for line in draw_text(c, width=w).split("\n")) == 1


def test_ascii_mode_has_only_ascii() -> None:
    c = Circuit(3, 1).h(0).cx(0, 2).rz(math.pi / 4, 1).sdg(1).barrier().measure(2, 0)
    text = draw_text(c, ascii=True)
    assert all(ord(ch) < 128 for ch in text)
    assert "Rz(pi/4)" in text and "Sdg" in text and "M->c[0]" in text


def test_register_names_and_empty_circuits() -> None:
    c = Circuit()
    c.add_qreg("a", 1)
    c.add_qreg("b", 2)
    assert [s.split(":")[0].strip() for s in rows(draw_text(c))] == ["a[0]", "b[0]", "b[1]"]
    assert "0 qubits" in draw_text(Circuit())


# --- issue #16 ---------------------------------------------------------------------------------
def qft(n: int) -> Circuit:
    c = Circuit(n)
    for j in range(n):
        c.h(j)
        for k in range(j + 1, n):
            c.cp(math.pi / 2 ** (k - j), k, j)
    for j in range(n // 2):
        c.swap(j, n - 1 - j)
    return c


OPAQUE_QASM = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nopaque magic(a) q, r;\nqreg q[2];\n'
               'magic(0.5) q[0], q[1];\n')


def opaque_circuit() -> Circuit:
    """The circuit OPAQUE_QASM describes, built directly."""
    c = Circuit(2)
    c.define(GateDefinition("magic", ("a",), ("q", "r"), None))
    return c.append("magic", (0, 1), (0.5,))


@pytest.mark.parametrize("width", [40, 60, 80, 100])
def test_qft_lines_fit_width_including_continuation_pages(width: int) -> None:
    text = draw_text(qft(12), width=width)
    assert max(len(line) for line in text.split("\n")) <= width
    assert any(line.startswith("q[0] : «") for line in text.split("\n"))  # it did wrap


def test_qft_is_compact_and_shows_every_gate() -> None:
    c = qft(12)
    text = draw_text(c, width=80)
    lines = text.split("\n")
    assert len(lines) <= 215                # 239 before issue #16 (a spacer under every wire)
    assert text.count("H") == 12
    assert text.count("P(") == 66 and text.count("●") == 66
    assert text.count("×") == 12
    assert "P(π/128)" in text and "P(π/1024)" in text and "0.02454" not in text
    # Spacers only where a vertical line crosses: no blank spacer line inside a page.
    for block in text.split("\n\n"):
        assert all(line.strip() for line in block.split("\n"))
    # Every wire of every page is still there.
    assert sum(line.startswith("q[11]:") for line in lines) == text.count("\n\n") + 1


def test_uncrossed_spacers_are_dropped() -> None:
    # Deliberate change (issue #16): no spacer line between wires that no vertical line crosses.
    assert draw_text(Circuit(3).h(0).x(2)) == "q[0]: ─H──\nq[1]: ────\nq[2]: ─X──"
    text = draw_text(Circuit(3).cx(0, 1).h(2))
    assert text.split("\n") == ["q[0]: ─●──", "       │", "q[1]: ─X──", "q[2]: ─H──"]


def test_opaque_gate_draws_as_a_box() -> None:
    r = rows(draw_text(opaque_circuit()))
    assert "magic(0.5)" in r[0] and "#2" in r[1]


def test_opaque_gate_from_qasm_draws() -> None:
    # Loading for drawing keeps opaque calls (allow_opaque); loading to simulate refuses them.
    c = qsim.loads_qasm(OPAQUE_QASM, allow_opaque=True)
    r = rows(draw_text(c))
    assert "magic(0.5)" in r[0] and "#2" in r[1]


# --- draw_figure (issue #16) -------------------------------------------------------------------
def _texts(fig: object) -> list:
    return [t for ax in fig.axes for t in ax.texts]  # type: ignore[attr-defined]


def test_figure_saves_png_and_svg(tmp_path) -> None:  # noqa: ANN001
    from matplotlib.figure import Figure

    from qsim.draw_figure import draw_figure
    fig = draw_figure(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]))
    assert isinstance(fig, Figure)
    fig.savefig(tmp_path / "c.png")
    fig.savefig(tmp_path / "c.svg")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "c.svg").read_bytes()


def test_figure_bell_texts() -> None:
    from qsim.draw_figure import draw_figure
    texts = [t.get_text() for t in _texts(draw_figure(
        Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])))]
    assert "H" in texts and "c[0]" in texts and "c[1]" in texts
    assert "q[0]" in texts and "q[1]" in texts
    assert "X" not in texts                 # the cx target is ⊕, drawn, not written


def test_figure_qft_labels_do_not_overlap_and_size_is_capped() -> None:
    from qsim.draw_figure import MAX_HEIGHT_IN, MAX_WIDTH_IN, draw_figure
    fig = draw_figure(qft(12))
    fig.canvas.draw()
    texts = _texts(fig)
    labels = [t.get_text() for t in texts if t.get_gid() == "gate-label"]
    assert labels.count("H") == 12 and len(labels) == 12 + 66
    assert "P(π/128)" in labels
    boxes = [t.get_window_extent() for t in texts]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())
    w, h = fig.get_size_inches()
    assert w <= MAX_WIDTH_IN + 1e-6 and h <= MAX_HEIGHT_IN + 1e-6
    small = draw_figure(Circuit(2).h(0))
    assert small.get_size_inches()[0] < w     # grows with the circuit
    assert draw_figure(Circuit(2).h(0), scale=2).get_size_inches()[0] == pytest.approx(
        2 * small.get_size_inches()[0])


def test_figure_opaque_conditions_barriers_resets(tmp_path) -> None:  # noqa: ANN001
    from qsim.draw_figure import draw_figure
    fig = draw_figure(opaque_circuit())
    fig.savefig(tmp_path / "o.png")
    assert "magic(0.5)" in [t.get_text() for t in _texts(fig)]
    c = Circuit(3, 1).h(0).barrier().measure(0, 0).x(1).c_if("c", 1).reset(0).ccx(0, 1, 2)
    c.swap(1, 2).rzz(math.pi / 128, 0, 1)
    texts = [t.get_text() for t in _texts(draw_figure(c))]
    assert "if c==1" in texts and "|0>" in texts and "Rzz(π/128)" in texts
    assert "0 qubits" in _texts(draw_figure(Circuit()))[0].get_text()


def test_bell_histogram_example_keeps_make_demo_output(tmp_path) -> None:  # noqa: ANN001
    # Issue #16: the example wrote bell_histogram.png, the file `make demo` writes.
    import os
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "examples" / "bell_histogram.py"
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "bell_histogram_example.png" in proc.stdout and "00:" in proc.stdout
    assert (tmp_path / "bell_histogram_example.png").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "bell_histogram.png").exists()
