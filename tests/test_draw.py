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
    """The qubit rows (every other line of a one-page diagram)."""
    return text.split("\n")[::2]


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
