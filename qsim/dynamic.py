"""Circuits with mid-circuit measurement, reset or classical control: one trajectory per shot.

Each shot starts from a fresh copy of the initial state and runs every instruction, measurements
collapsing the state with the Born rule. Correct for every circuit; its cost grows with the number
of shots.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .circuit import Circuit
from .result import format_bits


def run_dynamic(circuit: Circuit, shots: int, rng: np.random.Generator, *,
                backend: str = "statevector", precision: str = "double", bit_order: str = "big",
                initial_state: Any = None, max_memory: int | None = None
                ) -> tuple[list[str], np.ndarray]:
    """Sample ``shots`` trajectories; return the distinct keys and, per shot (in order), the index
    of its key in that list."""
    from .simulator import initial_state_vector, run_trajectory

    start = initial_state_vector(circuit.num_qubits, initial_state, precision=precision,
                                 max_memory=max_memory)
    key_ids: dict[str, int] = {}
    shot_index = np.empty(shots, dtype=np.int64)
    for s in range(shots):
        clbits = np.zeros(circuit.num_clbits, dtype=np.uint8)
        run_trajectory(circuit, start.copy(), rng, clbits, backend)
        key = format_bits(clbits, circuit.cregs, bit_order)
        shot_index[s] = key_ids.setdefault(key, len(key_ids))
    return list(key_ids), shot_index
