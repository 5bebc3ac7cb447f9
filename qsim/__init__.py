"""qsim: a state-vector quantum circuit simulator built on Kronecker products.

Bit order: qubit 0 is the leftmost Kronecker factor and the leftmost character of every bitstring;
classical bit c[0] is leftmost within its register, registers joined by a space in declaration
order. ``bit_order="little"`` gives Qiskit's order.

>>> import qsim
>>> bell = qsim.Circuit(2).h(0).cx(0, 1)
>>> qsim.simulate(bell).probabilities()
{'00': 0.4999999999999999, '11': 0.4999999999999999}
"""

from __future__ import annotations

from typing import Any

from . import gates
from .circuit import Circuit, DefinitionOp, GateDefinition, Instruction
from .density_matrix import DensityMatrix
from .engine import run, simulate
from .errors import CircuitError, QasmError, QsimError, QsimWarning, SimulationError
from .expr import Parameter
from .kron import bell, bra, controlled, embed, ghz, ket, kron, kron_apply, proj
from .noise import (
    Channel,
    NoiseModel,
    amplitude_damping,
    bit_flip,
    bit_phase_flip,
    depolarizing,
    kraus_channel,
    pauli_channel,
    phase_damping,
    phase_flip,
    reset_error,
    thermal_relaxation,
)
from .result import Result
from .statevector import Statevector

__version__ = "0.1.0"

# Loaded on first use so that ``import qsim`` does not pay for the parser, scipy or matplotlib.
_LAZY = {
    "load_qasm": ("qsim.qasm", "load_qasm"),
    "loads_qasm": ("qsim.qasm", "loads_qasm"),
    "draw_text": ("qsim.draw", "draw_text"),
    "to_qasm": ("qsim.qasm.export", "to_qasm"),
    "plot_histogram": ("qsim.plot", "plot_histogram"),
    "plot_probabilities": ("qsim.plot", "plot_probabilities"),
    "PauliSum": ("qsim.pauli", "PauliSum"),
    "expectation": ("qsim.engine.variational", "expectation"),
    "sweep": ("qsim.engine.variational", "sweep"),
    "gradient": ("qsim.engine.variational", "gradient"),
    "circuit_operator": ("qsim.backends.sparse", "circuit_operator"),
    "evolve": ("qsim.pauli", "evolve"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'qsim' has no attribute {name!r}")


__all__ = [
    "Circuit", "CircuitError", "DensityMatrix", "DefinitionOp", "GateDefinition", "Instruction", "QasmError",
    "Parameter", "QsimError", "QsimWarning", "Result", "SimulationError", "Statevector", "bell", "bra", "controlled", "embed",
    "gates", "ghz", "ket", "kron", "kron_apply", "proj", "run", "simulate", *_LAZY,
    # noise (qsim.noise)
    "Channel", "NoiseModel", "amplitude_damping", "bit_flip", "bit_phase_flip", "depolarizing",
    "kraus_channel", "pauli_channel", "phase_damping", "phase_flip", "reset_error",
    "thermal_relaxation",
]
