"""Kronecker-product basics, each one checked against qsim's circuit simulation.

Run: ``python examples/kronecker_basics.py`` (prints what it shows; writes no files).

Bit order: qubit 0 is the leftmost Kronecker factor and the leftmost character of a label, so
``ket("10")`` is ``|1>⊗|0>``, qubit 0 in |1>.
"""

from __future__ import annotations

import numpy as np

import qsim
from qsim import Circuit, ket, kron, proj


def _rounded(probabilities: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 12) for k, v in probabilities.items()}


def main() -> None:
    np.set_printoptions(precision=4, suppress=True, linewidth=100)

    # 1. The Kronecker product of two 2x2 matrices: each entry a_ij of A scales a copy of B.
    a = np.array([[1, 2], [3, 4]])
    b = np.array([[0, 5], [6, 7]])
    expected = np.array([[0, 5, 0, 10],
                         [6, 7, 12, 14],
                         [0, 15, 0, 20],
                         [18, 21, 24, 28]])
    ab = kron(a, b)
    assert np.array_equal(ab, expected)
    print("[[1,2],[3,4]] ⊗ [[0,5],[6,7]] =")
    print(ab)

    # 2. It is not commutative: X⊗Y (X on qubit 0, Y on qubit 1) differs from Y⊗X. On |00> both
    #    give i|11>, but on |+0> they give i|+1> and -i|-1>: a final h on qubit 0 tells them apart.
    x = qsim.gates.gate_matrix("x")
    y = qsim.gates.gate_matrix("y")
    xy, yx = kron(x, y), kron(y, x)
    assert not np.allclose(xy, yx)
    state_xy = qsim.simulate(Circuit(2).x(0).y(1), initial_state="+0").data
    state_yx = qsim.simulate(Circuit(2).y(0).x(1), initial_state="+0").data
    assert np.allclose(state_xy, xy @ ket("+0")) and np.allclose(state_xy, 1j * ket("+1"))
    assert np.allclose(state_yx, yx @ ket("+0")) and np.allclose(state_yx, -1j * ket("-1"))
    seen_xy = qsim.simulate(Circuit(2).h(0).x(0).y(1).h(0)).probabilities()
    seen_yx = qsim.simulate(Circuit(2).h(0).y(0).x(1).h(0)).probabilities()
    assert list(seen_xy) == ["01"] and np.isclose(seen_xy["01"], 1.0)
    assert list(seen_yx) == ["11"] and np.isclose(seen_yx["11"], 1.0)
    print("\nX⊗Y != Y⊗X:")
    print("X⊗Y =")
    print(xy)
    print("Y⊗X =")
    print(yx)
    print("h(0); X⊗Y; h(0) from |00> gives", _rounded(seen_xy), "but h(0); Y⊗X; h(0) gives",
          _rounded(seen_yx))

    # 3. A Bell state from kets equals the state of the circuit h(0); cx(0, 1).
    bell = (kron(ket("0"), ket("0")) + kron(ket("1"), ket("1"))) / np.sqrt(2)
    simulated = qsim.simulate(Circuit(2).h(0).cx(0, 1)).data
    assert np.allclose(bell, simulated, atol=1e-12)
    assert np.allclose(bell, qsim.bell("phi+"))
    print("\nBell state (|00> + |11>)/√2 from kets:", bell)
    print("simulate(Circuit(2).h(0).cx(0, 1)).data:", simulated)

    # 4. CNOT from projectors, control on qubit 0: |0><0|⊗I + |1><1|⊗X.
    cnot = kron(proj("0"), np.eye(2)) + kron(proj("1"), x)
    assert np.array_equal(cnot, qsim.gates.gate_matrix("cx"))
    assert np.array_equal(cnot, qsim.controlled(x))
    assert np.array_equal(cnot @ ket("10"), ket("11"))
    flipped = qsim.simulate(Circuit(2).cx(0, 1), initial_state="10")
    assert np.allclose(flipped.data, ket("11"))
    assert list(flipped.probabilities()) == ["11"]
    print("\nCNOT = |0><0|⊗I + |1><1|⊗X =")
    print(cnot.real)
    print("CNOT|10> = |11> (qubit 0 is the control):", _rounded(flipped.probabilities()))

    # 5. An operator on qubits that are not the leading ones: embed(CNOT, [2, 0], 3) is the CNOT
    #    with control 2 and target 0 on three qubits (I⊗I⊗|0><0| + X⊗I⊗|1><1|), the same as cx(2, 0).
    cx20 = qsim.embed(cnot, [2, 0], 3)
    assert np.allclose(cx20, kron(np.eye(4), proj("0")) + kron(x, np.eye(2), proj("1")))
    prepared = qsim.simulate(Circuit(3).h(1).ry(0.3, 2).cx(2, 0))
    before = qsim.simulate(Circuit(3).h(1).ry(0.3, 2)).data
    assert np.allclose(cx20 @ before, prepared.data, atol=1e-12)
    assert np.allclose(qsim.kron_apply(cnot, [2, 0], before), prepared.data, atol=1e-12)
    print("\nembed(CNOT, [2, 0], 3) = I⊗I⊗|0><0| + X⊗I⊗|1><1| matches cx(2, 0):",
          _rounded(prepared.probabilities()))


if __name__ == "__main__":
    main()
