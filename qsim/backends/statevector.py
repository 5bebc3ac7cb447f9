"""Dense state-vector backend: applies a circuit's gates to a state vector in place.

Every gate goes through :func:`qsim.backends.kernels.apply_matrix` (or ``apply_diagonal`` for
diagonal gates); the 2**n x 2**n operator is never formed.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..circuit import Circuit, Instruction
from ..gates import GATES, gate_matrix
from .kernels import apply_diagonal, apply_matrix


def instruction_matrix(ins: Instruction) -> np.ndarray:
    """The unitary of a library-gate or ``unitary`` instruction (first qubit leftmost)."""
    if ins.matrix is not None:
        return ins.matrix
    return gate_matrix(ins.name, ins.params)


def apply_gates(circuit: Circuit, instructions: Iterable[Instruction],
                state: np.ndarray) -> np.ndarray:
    """Apply unitary instructions (gates, ``unitary``, barriers) to ``state`` (flat, 2**n).

    Definitions are expanded through ``circuit``. Measurement, reset and conditions are the
    caller's job (see :mod:`qsim.simulator`). Returns the state (the same array, updated).
    """
    for top in instructions:
        for ins in circuit.expand(top):
            if ins.name == "barrier":
                continue
            m = instruction_matrix(ins)
            g = GATES.get(ins.name)
            if g is not None and g.diagonal:
                state = apply_diagonal(state, np.diagonal(m), ins.qubits)
            else:
                state = apply_matrix(state, m, ins.qubits)
    return state
