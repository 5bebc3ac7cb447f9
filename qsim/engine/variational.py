"""Expectation values, parameter sweeps and gradients of parameterised circuits.

``expectation`` and ``sweep`` bind a circuit's :class:`qsim.Parameter` s and evaluate an
observable (a :class:`qsim.PauliSum`, a Pauli string such as ``"Z0 Z1 + 0.5 X0"`` or a dense
Hermitian matrix) exactly from the final state, or estimate it from ``shots`` samples with its
standard error (qubit-wise commuting groups, :meth:`qsim.PauliSum.estimate`). ``gradient`` is
:func:`qsim.engine.gradients.gradient` (adjoint or parameter-shift).

A sweep on the dense backend lowers, plans and fuses the circuit once: at each point only the
matrices of gates whose parameters change are recomputed, and only the fused blocks that hold
them are rebuilt.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..backends.dense.kernels import Workspace
from ..backends.dense.state import DEFAULT_FUSION, _library_gate, apply_ops
from ..circuit import Circuit, Instruction
from ..compile.fusion import FusedOp, Gate, block_op, plan_blocks
from ..compile.lower import lower
from ..compile.plan import plan
from ..errors import CircuitError
from ..expr import Expr, Param
from ..gates import gate_matrix
from ..statevector import Statevector
from .simulate import simulate

#: Sweeps with at least this many points show a progress bar on a terminal.
PROGRESS_MIN_POINTS = 200


def _observable(observable: Any, num_qubits: int) -> Any:
    """A PauliSum (strings parsed) or a dense matrix, checked against the register size."""
    from ..pauli import PauliSum

    if isinstance(observable, str):
        return PauliSum.from_string(observable, num_qubits=num_qubits)
    if isinstance(observable, PauliSum):
        if observable.num_qubits != num_qubits:
            raise CircuitError(f"the observable acts on {observable.num_qubits} qubit(s), the "
                               f"circuit has {num_qubits}")
        return observable
    m = np.asarray(observable)
    if m.shape != (1 << num_qubits,) * 2:
        raise CircuitError(f"an observable for {num_qubits} qubit(s) is a PauliSum, a Pauli "
                           f"string or a {1 << num_qubits}x{1 << num_qubits} matrix, got shape "
                           f"{m.shape}")
    return m


def _value(obs: Any, psi: np.ndarray) -> float:
    """<psi|obs|psi> (real part: observables are Hermitian)."""
    if isinstance(obs, np.ndarray):
        return float(np.real(np.vdot(psi, obs @ psi)))
    return float(np.real(obs.expectation_value(psi)))


def _check_terminal(circuit: Circuit, where: str) -> None:
    p = plan(circuit, circuit.instructions)
    if not p.terminal:
        raise CircuitError(f"{where}: {p.why_dynamic}; expectation values are defined here for "
                           "circuits whose measurements are all terminal")


def expectation(circuit: Circuit, observable: Any, values: Any = None, *,
                shots: int | None = None, seed: int | None = None,
                backend: str = "statevector", precision: str = "double",
                max_memory: int | None = None) -> Any:
    """``<psi|H|psi>`` for the state ``circuit`` prepares with its parameters bound to
    ``values`` (a mapping of parameters or names, or one value per ``circuit.parameters``).

    Exact (a float) by default; with ``shots``, estimated from that many samples of the final
    state, measured group by group in qubit-wise commuting bases: returns ``(estimate,
    standard_error)``, the error shrinking as 1/sqrt(shots). Terminal measurements are ignored.

    >>> import qsim
    >>> t = qsim.Parameter("t")
    >>> round(qsim.expectation(qsim.Circuit(1).ry(t, 0), "Z0", {t: 0.5}), 6)  # cos(0.5)
    0.877583
    """
    bound = circuit.bind(values) if values is not None else circuit
    _check_terminal(bound, "expectation")
    obs = _observable(observable, circuit.num_qubits)
    state = simulate(bound, backend=backend, precision=precision, max_memory=max_memory)
    if shots is None:
        return _value(obs, state.data)
    if isinstance(obs, np.ndarray):
        raise CircuitError("expectation: shots need a Pauli observable (PauliSum or string), "
                           "not a matrix")
    return obs.estimate(state, int(shots), np.random.default_rng(seed))


def _points(circuit: Circuit, points: Any, zipped: bool
            ) -> tuple[tuple[int, ...], list[dict[str, float]]]:
    """The sweep's shape and its points as ``{name: value}`` dicts (C order)."""
    names = [p.name for p in circuit.parameters]
    if isinstance(points, Mapping):
        axes: list[tuple[str, np.ndarray]] = []
        fixed: dict[str, float] = {}
        for key, vals in points.items():
            name = key.name if isinstance(key, Param) else key
            if name not in names:
                raise CircuitError(f"sweep: {key!r} is not a parameter of the circuit (its "
                                   f"parameters: {', '.join(names) or 'none'})")
            arr = np.asarray(vals, dtype=float)
            if arr.ndim == 0:
                fixed[name] = float(arr)
            else:
                axes.append((name, arr.ravel()))
        if zipped:
            lengths = {a.size for _, a in axes}
            if len(lengths) > 1:
                raise CircuitError(f"sweep(zip=True): the value lists have different lengths "
                                   f"{sorted(lengths)}")
            n = lengths.pop() if lengths else 1
            pts = [{**fixed, **{k: float(a[i]) for k, a in axes}} for i in range(n)]
            return (n,), pts
        shape = tuple(a.size for _, a in axes)
        pts = [{**fixed, **dict(zip([k for k, _ in axes], combo))}
               for combo in itertools.product(*[a.tolist() for _, a in axes])]
        return shape, pts
    arr = np.asarray(points, dtype=float)
    if arr.ndim == 1 and len(names) == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise CircuitError(f"sweep: points must be a mapping {{parameter: values}} or an array "
                           f"of shape (points, {len(names)}) in circuit.parameters order, got "
                           f"shape {arr.shape}")
    return (arr.shape[0],), [dict(zip(names, row.tolist())) for row in arr]


class _DenseSweep:
    """A terminal circuit without gate definitions, planned and fused once; each point
    recomputes the matrices of its parameterised gates and rebuilds only their blocks."""

    def __init__(self, circuit: Circuit, precision: str, first_point: Mapping[str, float]
                 ) -> None:
        self.template = [ins for ins in circuit.instructions
                         if ins.name not in ("barrier", "measure")]
        self.symbolic = [i for i, ins in enumerate(self.template)
                         if any(isinstance(p, Expr) for p in ins.params)]
        first = circuit.bind(dict(first_point))
        ops = lower(first, [ins for ins in first.instructions
                            if ins.name not in ("barrier", "measure")])
        self.gate_at: list[int | None] = []
        self.gates: list[Gate] = []
        for ins in ops:
            assert isinstance(ins, Instruction)  # no definitions on this path (supports())
            g = _library_gate(ins)
            self.gate_at.append(None if g is None else len(self.gates))
            if g is not None:
                self.gates.append(g)
        self.blocks = plan_blocks(self.gates, DEFAULT_FUSION)
        changing = {self.gate_at[i] for i in self.symbolic} - {None}
        self.fixed_ops: list[FusedOp | None] = [
            None if changing.intersection(idx) else block_op(kind, qs, [self.gates[i] for i in idx])
            for kind, qs, idx in self.blocks]
        self.n = circuit.num_qubits
        self.dtype = np.complex128 if precision == "double" else np.complex64
        self.workspace = Workspace(self.dtype)

    @staticmethod
    def supports(circuit: Circuit) -> bool:
        return (circuit.num_qubits > 0 and not circuit.definitions
                and all(ins.name != "reset" for ins in circuit.instructions))

    def state(self, env: Mapping[str, float]) -> np.ndarray:
        gates = list(self.gates)
        for i in self.symbolic:
            j = self.gate_at[i]
            if j is None:
                continue
            ins = self.template[i]
            params = [p.evaluate(env) if isinstance(p, Expr) else p for p in ins.params]
            gates[j] = Gate(gates[j].kind, gates[j].qubits, gate_matrix(ins.name, params))
        ops = [op if op is not None else block_op(kind, qs, [gates[i] for i in idx])
               for op, (kind, qs, idx) in zip(self.fixed_ops, self.blocks)]
        psi = np.zeros(1 << self.n, dtype=self.dtype)
        psi[0] = 1
        return apply_ops(psi, ops, workspace=self.workspace)


def _progress(total: int, enabled: bool | None) -> Any:
    """A tqdm bar on a terminal for long sweeps; a no-op otherwise."""
    if enabled is None:
        enabled = total >= PROGRESS_MIN_POINTS and sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="point", leave=False)


def sweep(circuit: Circuit, points: Any, observable: Any = None, *, zip: bool = False,
          shots: int | None = None, seed: int | None = None, backend: str = "statevector",
          precision: str = "double", progress: bool | None = None) -> Any:
    """Evaluate ``circuit`` at many parameter values.

    ``points``: a mapping ``{parameter: value or values}`` (a grid over the listed values, in the
    mapping's order; with ``zip=True`` the lists are walked together), or an array of shape
    ``(points, len(circuit.parameters))``. Returns, with ``observable``, the expectation values
    (an array of the sweep's shape; with ``shots``, a pair ``(estimates, standard_errors)``);
    without, the outcome probabilities (shape + ``(2**n,)``, qubit 0 leftmost) or, with
    ``shots``, sampled counts (int64, same shape). A progress bar shows on a terminal for sweeps
    of at least :data:`PROGRESS_MIN_POINTS` points (``progress=`` forces it on or off).

    >>> import numpy as np, qsim
    >>> t = qsim.Parameter("t")
    >>> qsim.sweep(qsim.Circuit(1).ry(t, 0), {t: [0, np.pi]}, "Z0").round(6).tolist()
    [1.0, -1.0]
    """
    _check_terminal(circuit, "sweep")
    shape, pts = _points(circuit, points, zip)
    obs = None if observable is None else _observable(observable, circuit.num_qubits)
    if obs is not None and shots is not None and isinstance(obs, np.ndarray):
        raise CircuitError("sweep: shots need a Pauli observable (PauliSum or string)")
    fast = backend == "statevector" and _DenseSweep.supports(circuit) and len(pts) > 1
    runner = _DenseSweep(circuit, precision, pts[0]) if fast else None
    rng = np.random.default_rng(seed)
    size = 1 << circuit.num_qubits
    values = np.empty(len(pts))
    errors = np.empty(len(pts))
    table: np.ndarray | None = None
    if obs is None:
        table = np.empty((len(pts), size), dtype=np.int64 if shots is not None else float)
    bar = _progress(len(pts), progress)
    try:
        for k, env in enumerate(pts):
            if runner is not None:
                psi = runner.state(env)
            else:
                psi = simulate(circuit.bind(env), backend=backend, precision=precision).data
            if obs is None:
                assert table is not None
                p = np.abs(psi.astype(np.complex128)) ** 2
                table[k] = p if shots is None else rng.multinomial(int(shots), p / p.sum())
            elif shots is None:
                values[k] = _value(obs, psi)
            else:
                values[k], errors[k] = obs.estimate(Statevector(psi), int(shots), rng)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if obs is None:
        assert table is not None
        return table.reshape(*shape, size)
    if shots is None:
        return values.reshape(shape)
    return values.reshape(shape), errors.reshape(shape)


def gradient(circuit: Circuit, observable: Any, values: Any = None, *,
             method: str = "adjoint", **options: Any) -> np.ndarray:
    """d<H>/d(parameter) for each of ``circuit.parameters`` at ``values``: ``method="adjoint"``
    (one forward and one backward pass for all parameters) or ``"parameter-shift"`` (two or four
    shifted simulations per parameter occurrence). See :mod:`qsim.engine.gradients`."""
    from .gradients import gradient as _gradient

    return _gradient(circuit, observable, values, method=method, **options)


__all__ = ["expectation", "gradient", "sweep"]

