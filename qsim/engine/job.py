"""A circuit made ready for one backend: lowered once, planned once per kind of plan, each run of
gates prepared once, and the memory guard asked before anything is allocated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from ..backends import get_backend
from ..backends.base import State, precision_dtype
from ..circuit import Circuit
from ..compile.lower import ChannelOp, LoweredOp, PlanOp, lower
from ..compile.plan import Plan, plan
from ..errors import CircuitError, SimulationError
from ..resources import DEFAULT_MAX_GATES
from ..statevector import Statevector


@dataclass
class Job:
    """``circuit`` for the State class ``backend`` with amplitudes of ``dtype``, starting from
    |0...0> or ``initial_state`` (a Statevector, array or label such as ``"01+"``; a
    DensityMatrix for the density backend). ``noise``: the NoiseModel whose channels ``ops``
    hold (None: noiseless); ``readout``: its confusion matrix per qubit (None: perfect)."""

    circuit: Circuit
    backend: type[State]
    dtype: np.dtype
    initial_state: Any = None
    max_memory: int | None = None
    ops: Sequence[PlanOp] = field(default_factory=list)
    threads: int | None = None
    noise: Any = None
    readout: list[np.ndarray | None] | None = None
    _plans: dict[bool, Plan] = field(default_factory=dict)
    _prepared: dict[int, list[Any]] = field(default_factory=dict)

    @property
    def num_qubits(self) -> int:
        return self.circuit.num_qubits

    def plan(self, defer: bool = True) -> Plan:
        """The plan (cached): measurements deferred where possible, or every one a step."""
        if defer not in self._plans:
            self._plans[defer] = plan(
                self.circuit, self.ops, defer=defer, zero_start=self.initial_state is None,
                channel_steps="channels" not in self.backend.capabilities)
        return self._plans[defer]

    def prepared(self, p: Plan) -> list[Any]:
        """The backend's prepared block for each step of ``p`` (None for measure/reset; a
        :class:`~qsim.engine.noisy.PreparedChannel` for a channel step)."""
        key = id(p)
        if key not in self._prepared:
            from .noisy import prepare_channel

            self._prepared[key] = [
                prepare_channel(self.backend, cast(ChannelOp, s.block[0]), self.num_qubits)
                if s.kind == "channel" else
                self.backend.prepare(cast(Sequence[LoweredOp], s.block), self.num_qubits)
                if s.block else None
                for s in p.steps]
        return self._prepared[key]

    def check_memory(self, copies: int = 1, extra: int = 0, extra_what: str = "") -> None:
        """SimulationError (with ``bytes_needed``) unless ``copies`` states and ``extra`` bytes
        for ``extra_what`` fit."""
        self.backend.check_memory(self.num_qubits, self.dtype, self.max_memory, copies, extra,
                                  extra_what)

    def check_gates(self, max_gates: int | None = None) -> None:
        """SimulationError unless the backend applies at most ``max_gates`` gates (default
        :data:`qsim.resources.DEFAULT_MAX_GATES`) for this circuit, nested definitions counted
        as the backend walks them, before anything is built."""
        limit = DEFAULT_MAX_GATES if max_gates is None else int(max_gates)
        work = self.backend.work(cast(Sequence[LoweredOp], self.ops))
        if work > limit:
            raise SimulationError(
                f"the circuit expands to {work:,} gates on the {self.backend.name} backend, "
                f"more than the limit of {limit:,} (max_gates, --max-gates)")

    def new_state(self) -> State:
        """A fresh state (callers check memory first)."""
        state = self.backend.allocate(self.num_qubits, self.dtype, self._initial_vector())
        state.threads = self.threads
        return state

    def _initial_vector(self) -> np.ndarray | None:
        init = self.initial_state
        if init is None:
            return None
        if hasattr(init, "purity"):  # a DensityMatrix
            if "density_matrix" not in self.backend.capabilities:
                raise CircuitError("a density matrix as initial state needs backend='density'")
            if init.num_qubits != self.num_qubits:
                raise CircuitError(f"initial density matrix of {init.num_qubits} qubit(s), the "
                                   f"circuit has {self.num_qubits}")
            return np.asarray(init.data).ravel()
        if isinstance(init, str):
            init = Statevector.from_label(init)
        data = init.data if isinstance(init, Statevector) else np.asarray(init).ravel()
        n = self.num_qubits
        if data.size != 1 << n:
            raise CircuitError(f"initial state has length {data.size}, the circuit needs "
                               f"{1 << n} ({n} qubits)")
        return data


def make_job(circuit: Circuit, *, backend: str = "statevector", precision: str = "double",
             initial_state: Any = None, max_memory: int | None = None,
             threads: int | None = None, noise: Any = None) -> Job:
    """Resolve the backend, precision and thread count (SimulationError for bad ones), lower
    ``circuit``'s definitions and apply the noise model ``noise`` (if any) to them."""
    dtype = precision_dtype(precision)
    cls = get_backend(backend)
    ops: Sequence[PlanOp] = lower(circuit)
    readout = None
    if noise is not None:
        from .noisy import has_quantum_noise, readout_matrices

        if hasattr(noise, "check"):  # qubits the circuit lacks, gate names it never uses
            noise.check(circuit)
        if has_quantum_noise(noise):
            from ..noise.insert import apply_noise

            ops = apply_noise(circuit, cast(Sequence[LoweredOp], ops), noise)
        readout = readout_matrices(noise, circuit.num_qubits)
    return Job(circuit, cls, dtype, initial_state, max_memory, ops, check_threads(threads),
               noise, readout)


def check_threads(threads: Any) -> int | None:
    """``threads``: None (the default) or a positive integer, else SimulationError."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise SimulationError(f"threads must be a positive integer, got {threads!r}")
    return int(threads)
