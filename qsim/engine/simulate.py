"""``simulate`` (final state vector) and ``run`` (sampled shots), for every backend.

Both compile the circuit once (:func:`qsim.engine.job.make_job`: definitions lowered, the one plan
of :mod:`qsim.compile.plan`) and talk to the backend only through the
:class:`~qsim.backends.base.State` protocol. When every measurement is terminal the circuit is
simulated once and the final distribution is sampled; otherwise the shots branch on the
mid-circuit measurements (:mod:`qsim.engine.branching`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..backends import get_backend
from ..backends.base import precision_dtype
from ..bits import check_bit_order
from ..circuit import Circuit
from ..density_matrix import DensityMatrix
from ..errors import SimulationError
from ..result import Result
from ..statevector import Statevector
from .branching import BranchStats, run_dynamic
from .job import Job, make_job
from .noisy import (
    check_noise,
    has_quantum_noise,
    prefer_density,
    read_distribution,
    read_width,
    scratch_states,
)
from .sampling import key_counts, sample_keys, sampling_bytes
from .trajectory import run_trajectory

#: ``run(method=...)`` values: how a noisy circuit is simulated.
METHODS = ("auto", "density", "trajectories")

#: Most shots one run takes (numpy's random counts are 64-bit).
MAX_SHOTS = 2**63 - 1


def _final_state(job: Job, seed: int | None) -> Statevector | DensityMatrix:
    plan = job.plan()
    if plan.terminal:
        job.check_memory()
        state = job.new_state()
        for block in job.prepared(plan):
            state.apply(block)
    else:
        plan = job.plan(defer=False)
        job.check_memory(1 + scratch_states(plan))
        state = job.new_state()
        run_trajectory(job.circuit, plan, job.prepared(plan), state, np.random.default_rng(seed),
                       np.zeros(job.circuit.num_clbits, np.uint8), job.readout)
    if "density_matrix" in job.backend.capabilities:
        side = 1 << job.num_qubits
        return DensityMatrix(state.to_host().reshape(side, side))
    if has_quantum_noise(job.noise) and job.num_qubits:
        # Sampled Kraus operators are applied unnormalised (qsim.engine.noisy).
        norm2 = float(state.probabilities([0]).sum())
        data = state.to_host()
        data *= 1 / np.sqrt(norm2)  # in place: the state is not used again
        return Statevector(data)
    return Statevector(state.to_host())


def simulate(circuit: Circuit, initial_state: Any = None, *, backend: str = "statevector",
             precision: str = "double", seed: int | None = None,
             max_memory: int | None = None, max_gates: int | None = None,
             threads: int | None = None, noise: Any = None) -> Any:
    """Final state vector of ``circuit`` (qubit 0 leftmost), starting from |0...0> or
    ``initial_state``; with ``backend="density"`` the final :class:`qsim.DensityMatrix`.

    ``noise``: a :class:`qsim.NoiseModel` applied when lowering (the circuit stays plain). With
    ``backend="density"`` its channels are applied exactly; with a state-vector backend one noisy
    trajectory is returned (each channel applies one Kraus operator drawn with ``seed``, as
    Cirq's ``Simulator`` does). Readout error does not change a state.

    Terminal measurements are ignored: the state just before them is returned. A circuit with
    mid-circuit measurement, reset or classical control follows one random trajectory drawn with
    ``seed``. ``precision="single"`` uses complex64. Raises SimulationError, before allocating, when
    the state vector would not fit in ``max_memory`` bytes (default: the memory available), or
    when the backend would apply more than ``max_gates`` gates (default
    :data:`qsim.resources.DEFAULT_MAX_GATES`; nested definitions counted, never expanded).
    ``threads``: threads for the gate kernels (default ``QSIM_NUM_THREADS`` or
    ``OMP_NUM_THREADS``, else the CPUs this process may use); the result is the same at every
    thread count.

    >>> simulate(Circuit(2).h(0).cx(0, 1)).probabilities()
    {'00': 0.4999999999999999, '11': 0.4999999999999999}
    """
    noise = check_noise(noise)
    _check_state_fits(circuit, backend, precision, max_memory)
    job = make_job(circuit, backend=backend, precision=precision, initial_state=initial_state,
                   max_memory=max_memory, threads=threads, noise=noise)
    job.check_gates(max_gates)
    return _final_state(job, seed)


def _check_state_fits(circuit: Circuit, backend: str, precision: str,
                      max_memory: int | None) -> None:
    """The cheap refusal first: a register too large for one state is refused before the
    circuit is copied, lowered or planned (a million-qubit register must not wait on those)."""
    get_backend(backend).check_memory(circuit.num_qubits, precision_dtype(precision), max_memory)


def _resolve_seed(seed: int | None) -> int:
    if seed is None:
        entropy = np.random.SeedSequence().entropy
        return int(entropy) % (2**63)  # type: ignore[arg-type]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SimulationError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def run(circuit: Circuit, shots: int = 1024, seed: int | None = None, *,
        backend: str = "statevector", precision: str = "double", bit_order: str = "big",
        memory: bool = False, initial_state: Any = None, max_memory: int | None = None,
        keep_state: bool = False, max_gates: int | None = None,
        threads: int | None = None, noise: Any = None, method: str = "auto") -> Result:
    """Sample ``shots`` runs of ``circuit``; counts keyed by classical bitstrings.

    Keys: registers in declaration order joined by a space, c[0] leftmost in each
    (``bit_order="little"`` gives Qiskit's keys). A circuit without measurements is measured on all
    qubits (``Result.implicit_measurement``). When every measurement is terminal the circuit is
    simulated once and the final distribution sampled. The same ``seed`` gives the same counts and
    memory on every platform; with ``seed=None`` a fresh seed is drawn and reported in
    ``Result.seed``. ``keep_state=True`` also returns the final state in ``Result.state``: the
    state before the terminal measurements, or for a dynamic circuit the one trajectory
    :func:`simulate` follows with the same seed.

    Memory: the guard (``max_memory``, default the memory available) counts the states, the
    outcome probabilities and the samples before anything is allocated. Up to 2**20 shots are
    drawn one by one; more are drawn as one multinomial, so memory grows with the number of
    distinct outcomes, not of shots, unless ``memory=True`` asks for every shot in order.
    ``max_gates`` and ``threads`` as in :func:`simulate`: the same seed gives the same counts
    at every thread count.

    Noise: ``noise`` is a :class:`qsim.NoiseModel`, applied when lowering. ``method`` says how:

    * ``"density"`` (also ``backend="density"``): the density matrix, channels applied exactly,
      the final distribution sampled (16 * 4**n bytes; refused when it does not fit);
    * ``"trajectories"``: noisy shots on the state vector (``backend``, default
      ``"statevector"``): the shot-branching walker splits the shots over each channel's Kraus
      outcomes (multinomially), so the work grows with the distinct error patterns that occur,
      not with the shots (``Result.branches`` says how many were simulated);
    * ``"auto"`` (default): the density matrix when it fits and is estimated cheaper (about
      ``2**n`` against the expected number of branches), else noisy shots. A backend other than
      ``"statevector"`` / ``"density"`` always gets noisy shots.

    Readout error (``NoiseModel.readout``) is exact on both: the distribution of the terminal
    measurements is multiplied by the per-qubit confusion matrices before sampling, and a
    mid-circuit measurement records a bit flipped with the confusion probability (one draw per
    measurement: a qubit measured into two clbits reads each independently). The same seed
    gives the same counts. ``Result.noise`` is the model, ``Result.backend`` the backend used.

    >>> run(Circuit(2).h(0).cx(0, 1).measure_all(), shots=1000, seed=7).counts
    {'00': 502, '11': 498}
    """
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
        raise SimulationError(f"shots must be a positive integer, got {shots!r}")
    if shots > MAX_SHOTS:
        raise SimulationError(f"shots must be at most 2**63 - 1, got {shots}")
    shots = int(shots)
    check_bit_order(bit_order)
    seed = _resolve_seed(seed)
    t0 = time.perf_counter()
    noise = check_noise(noise)
    if method not in METHODS:
        raise SimulationError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if noise is not None or method != "auto":
        backend = _noisy_backend(circuit, noise, backend, method, shots, precision, max_memory)
    _check_state_fits(circuit, backend, precision, max_memory)
    given = circuit
    implicit = not circuit.has_measurements()
    if implicit:
        circuit = circuit.copy()
        if not any(i.condition for i in circuit.instructions):
            circuit.cregs, circuit._nc = [], 0
        circuit.measure_all()
    rng = np.random.default_rng(seed)
    job = make_job(circuit, backend=backend, precision=precision, initial_state=initial_state,
                   max_memory=max_memory, threads=threads, noise=noise)
    job.check_gates(max_gates)
    stats = BranchStats()
    plan = job.plan()
    # Host memory for sampling one final state: the full probability vector while marginalising,
    # the measured qubits' distribution, and the draws (sample_counts).
    # (a qubit read into several clbits with a readout error: one read bit per clbit)
    width = read_width(plan.deferred, plan.tail_src, job.readout)
    extra = (8 << circuit.num_qubits) + (8 << width) + sampling_bytes(1 << width, shots, memory)
    final: Statevector | DensityMatrix | None = None
    shot_index: np.ndarray | None
    if plan.terminal:
        job.check_memory(1, extra, "the outcome probabilities and samples")
        state = job.new_state()
        for block in job.prepared(plan):
            state.apply(block)
        key_ids: dict[str, int] = {}
        p, src = read_distribution(state.probabilities(plan.deferred), plan.deferred,
                                   plan.tail_src, job.readout)
        drawn = sample_keys(p, shots, rng,
                            np.zeros(circuit.num_clbits, np.uint8), plan.tail_bits,
                            src, circuit.cregs, bit_order, key_ids, ordered=memory)
        keys = list(key_ids)
        counts_arr = key_counts([drawn], len(keys))
        shot_index = drawn.per_shot
        if keep_state:
            host = state.to_host()
            final = (DensityMatrix(host.reshape(1 << circuit.num_qubits, -1))
                     if "density_matrix" in job.backend.capabilities else Statevector(host))
        del state
    else:
        keys, counts_arr, shot_index = run_dynamic(job, shots, rng, bit_order, memory, extra,
                                                   stats)
        if keep_state:
            final = _final_state(make_job(given, backend=backend, precision=precision,
                                          initial_state=initial_state, max_memory=max_memory,
                                          threads=threads, noise=noise), seed)
    counts = {k: int(c) for k, c in sorted(zip(keys, counts_arr)) if c}
    mem = [keys[i] for i in shot_index] if memory and shot_index is not None else None
    return Result(counts=counts, shots=int(shots), seed=seed, registers=list(circuit.cregs),
                  bit_order=bit_order, memory=mem, backend=backend,
                  num_qubits=circuit.num_qubits, time_s=time.perf_counter() - t0,
                  implicit_measurement=implicit,
                  state=final if isinstance(final, Statevector) else None,
                  density_matrix=final if isinstance(final, DensityMatrix) else None,
                  branches=stats.leaves or 1, noise=noise)


def _noisy_backend(circuit: Circuit, noise: Any, backend: str, method: str, shots: int,
                   precision: str, max_memory: int | None) -> str:
    """The backend a noisy run uses (see :func:`run`'s ``method``)."""
    if method == "density" or backend == "density":
        if method == "trajectories":
            raise SimulationError("method='trajectories' needs a state-vector backend, not "
                                  "'density'")
        return "density"
    if method == "trajectories" or backend != "statevector" or not has_quantum_noise(noise):
        return backend
    density = get_backend("density")
    try:
        density.check_memory(circuit.num_qubits, precision_dtype(precision), max_memory)
    except SimulationError:
        return backend
    from ..compile.lower import lower
    from ..noise.insert import apply_noise

    ops = apply_noise(circuit, lower(circuit), noise)
    return "density" if prefer_density(circuit.num_qubits, ops, shots) else backend
