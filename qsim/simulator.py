"""``simulate`` (final state vector) and ``run`` (sampled shots), for every backend.

A backend applies unitary instructions to a dense state vector (see :mod:`qsim.backends`); this
module handles what is common to all: the memory check, the initial state, measurement, reset and
classical control, and sampling. When every measurement is terminal the circuit is simulated once
and the final distribution is sampled; otherwise each shot follows its own trajectory
(:mod:`qsim.dynamic`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .backends import get_backend
from .circuit import Circuit, Instruction
from .errors import CircuitError, SimulationError
from .resources import check_state_memory
from .result import Result, check_bit_order
from .sampling import marginal_probabilities, measure_qubit, reset_qubit, sample_keys
from .statevector import Statevector

PRECISIONS = {"double": np.complex128, "single": np.complex64}


def _dtype(precision: str) -> type:
    try:
        return PRECISIONS[precision]
    except KeyError:
        raise SimulationError(f"precision must be 'double' or 'single', got {precision!r}") from None


def initial_state_vector(num_qubits: int, initial_state: Any = None, *,
                         precision: str = "double", max_memory: int | None = None) -> np.ndarray:
    """A fresh flat state vector: |0...0> by default, or a copy of ``initial_state`` (Statevector,
    array or label such as ``"01+"``). Refuses (SimulationError) before allocating too much."""
    dtype = _dtype(precision)
    check_state_memory(num_qubits, np.dtype(dtype).itemsize, max_memory)
    if initial_state is None:
        zero: np.ndarray = np.zeros(1 << num_qubits, dtype=dtype)
        zero[0] = 1
        return zero
    if isinstance(initial_state, str):
        initial_state = Statevector.from_label(initial_state)
    data = initial_state.data if isinstance(initial_state, Statevector) else np.asarray(
        initial_state).ravel()
    if data.size != 1 << num_qubits:
        raise CircuitError(f"initial state has length {data.size}, the circuit needs "
                           f"{1 << num_qubits} ({num_qubits} qubits)")
    return np.array(data, dtype=dtype, copy=True)


@dataclass(frozen=True)
class TerminalPlan:
    """A circuit whose measurements are all terminal: the gates, then measurements.

    ``measured``: the measured qubits (first-measurement order); ``sources[j]``: index into
    ``measured`` of the qubit that last wrote classical bit j, or -1 if the bit is never written.
    """

    gates: list[Instruction]
    measured: list[int]
    sources: list[int]


def terminal_plan(circuit: Circuit) -> TerminalPlan | None:
    """Split a circuit into gates + terminal measurements, or None if it needs trajectories
    (a conditional instruction, a reset after a qubit was used, or a gate after a measurement on
    the same qubit)."""
    gates: list[Instruction] = []
    measured: list[int] = []
    src = [-1] * circuit.num_clbits
    done: set[int] = set()
    touched: set[int] = set()
    for ins in circuit.instructions:
        if ins.condition is not None:
            return None
        if ins.name == "barrier":
            continue
        if ins.name == "measure":
            q, c = ins.qubits[0], ins.clbits[0]
            if q not in done:
                done.add(q)
                measured.append(q)
            src[c] = measured.index(q)
            continue
        if ins.name == "reset":
            q = ins.qubits[0]
            if q in touched or q in done:
                return None
            continue  # a reset of a qubit still in |0> does nothing
        if done.intersection(ins.qubits):
            return None
        touched.update(ins.qubits)
        gates.append(ins)
    return TerminalPlan(gates, measured, src)


def _segments(instructions: Sequence[Instruction]) -> list[tuple[str, list[Instruction]]]:
    """Group runs of unconditional gates (kind "gates") between other instructions (kind "op")."""
    out: list[tuple[str, list[Instruction]]] = []
    for ins in instructions:
        unitary = ins.name not in ("measure", "reset") and ins.condition is None
        if unitary and out and out[-1][0] == "gates":
            out[-1][1].append(ins)
        else:
            out.append(("gates" if unitary else "op", [ins]))
    return out


def run_trajectory(circuit: Circuit, state: np.ndarray, rng: np.random.Generator,
                   clbits: np.ndarray, backend: str = "statevector") -> np.ndarray:
    """Run every instruction on one trajectory: measurements collapse ``state`` with the Born rule
    and write ``clbits`` (uint8 array, flat bit order); conditions read it. Returns the state."""
    apply = get_backend(backend)
    for kind, block in _segments(circuit.instructions):
        if kind == "gates":
            state = apply(circuit, block, state)
            continue
        ins = block[0]
        if ins.condition is not None and not condition_holds(circuit, ins.condition, clbits):
            continue
        if ins.name == "measure":
            clbits[ins.clbits[0]] = measure_qubit(state, ins.qubits[0], rng)
        elif ins.name == "reset":
            reset_qubit(state, ins.qubits[0], rng)
        else:
            state = apply(circuit, [ins], state)
    return state


def condition_holds(circuit: Circuit, condition: tuple[str, int], clbits: np.ndarray) -> bool:
    """``creg == value`` with creg[0] the least significant bit (OpenQASM's convention)."""
    reg, value = condition
    bits = clbits[list(circuit.creg_indices(reg))]
    return int(sum(int(b) << i for i, b in enumerate(bits))) == value


def simulate(circuit: Circuit, initial_state: Any = None, *, backend: str = "statevector",
             precision: str = "double", seed: int | None = None,
             max_memory: int | None = None) -> Statevector:
    """Final state vector of ``circuit`` (qubit 0 leftmost), starting from |0...0> or
    ``initial_state``.

    Terminal measurements are ignored: the state just before them is returned. A circuit with
    mid-circuit measurement, reset or classical control follows one random trajectory drawn with
    ``seed``. ``precision="single"`` uses complex64. Raises SimulationError, before allocating, when
    the state vector would not fit in ``max_memory`` bytes (default: the memory available).

    >>> simulate(Circuit(2).h(0).cx(0, 1)).probabilities()
    {'00': 0.4999999999999999, '11': 0.4999999999999999}
    """
    state = initial_state_vector(circuit.num_qubits, initial_state, precision=precision,
                                 max_memory=max_memory)
    plan = terminal_plan(circuit)
    if plan is not None:
        state = get_backend(backend)(circuit, plan.gates, state)
    else:
        rng = np.random.default_rng(seed)
        state = run_trajectory(circuit, state, rng, np.zeros(circuit.num_clbits, np.uint8),
                               backend)
    return Statevector(state)


def _resolve_seed(seed: int | None) -> int:
    if seed is None:
        entropy = np.random.SeedSequence().entropy
        return int(entropy) % (2**63)  # type: ignore[arg-type]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SimulationError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def run(circuit: Circuit, shots: int = 1024, seed: int | None = None, *,
        backend: str = "statevector", precision: str = "double", bit_order: str = "big",
        memory: bool = False, initial_state: Any = None,
        max_memory: int | None = None) -> Result:
    """Sample ``shots`` runs of ``circuit``; counts keyed by classical bitstrings.

    Keys: registers in declaration order joined by a space, c[0] leftmost in each
    (``bit_order="little"`` gives Qiskit's keys). A circuit without measurements is measured on all
    qubits (``Result.implicit_measurement``). When every measurement is terminal the circuit is
    simulated once and the final distribution sampled. The same ``seed`` gives the same counts and
    memory on every platform; with ``seed=None`` a fresh seed is drawn and reported in
    ``Result.seed``.

    >>> run(Circuit(2).h(0).cx(0, 1).measure_all(), shots=1000, seed=7).counts
    {'00': 502, '11': 498}
    """
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
        raise SimulationError(f"shots must be a positive integer, got {shots!r}")
    check_bit_order(bit_order)
    seed = _resolve_seed(seed)
    t0 = time.perf_counter()
    implicit = not circuit.has_measurements()
    if implicit:
        circuit = circuit.copy()
        if not any(i.condition for i in circuit.instructions):
            circuit.cregs, circuit._nc = [], 0
        circuit.measure_all()
    rng = np.random.default_rng(seed)
    plan = terminal_plan(circuit)
    if plan is not None:
        state = initial_state_vector(circuit.num_qubits, initial_state, precision=precision,
                                     max_memory=max_memory)
        state = get_backend(backend)(circuit, plan.gates, state)
        keys, shot_index = _sample_terminal(state, plan, shots, rng, circuit, bit_order)
    else:
        from .dynamic import run_dynamic

        keys, shot_index = run_dynamic(circuit, shots, rng, backend=backend, precision=precision,
                                       bit_order=bit_order, initial_state=initial_state,
                                       max_memory=max_memory)
    counts_arr = np.bincount(shot_index, minlength=len(keys))
    counts = {k: int(c) for k, c in sorted(zip(keys, counts_arr)) if c}
    mem = [keys[i] for i in shot_index] if memory else None
    return Result(counts=counts, shots=int(shots), seed=seed, registers=list(circuit.cregs),
                  bit_order=bit_order, memory=mem, backend=backend,
                  num_qubits=circuit.num_qubits, time_s=time.perf_counter() - t0,
                  implicit_measurement=implicit)


def _sample_terminal(state: np.ndarray, plan: TerminalPlan, shots: int, rng: np.random.Generator,
                     circuit: Circuit, bit_order: str) -> tuple[list[str], np.ndarray]:
    """Sample the measured qubits' marginal distribution; return distinct keys and, per shot,
    the index of its key."""
    written = [j for j, src in enumerate(plan.sources) if src >= 0]
    key_ids: dict[str, int] = {}
    shot_keys = sample_keys(marginal_probabilities(state, plan.measured), shots, rng,
                            np.zeros(circuit.num_clbits, np.uint8), written,
                            [plan.sources[j] for j in written], circuit.cregs, bit_order, key_ids)
    return list(key_ids), shot_keys
