"""Gradients of expectation values: ``d<psi(theta)|H|psi(theta)>/d theta`` for every parameter of a
parametrised circuit (issue #13).

:func:`gradient` differentiates ``E(theta) = <psi|H|psi>``, ``|psi> = U(theta)|0...0>``, with
respect to each :class:`qsim.Parameter` of the circuit (``circuit.parameters`` order), by one of two
exact methods:

* ``method="adjoint"`` (Jones & Gacon 2020, as PennyLane lightning's adjoint Jacobian): one forward
  simulation gives ``|psi>``, then ``|lambda> = H|psi>``; walking the gates backwards, ``k = N..1``,
  each parameter slot ``p`` of gate ``k`` contributes ``2 Re <lambda_k| dU_k/dp U_k^dagger |psi_k>``
  (``psi_k`` the state after gate ``k``, ``lambda_k = U_{k+1}^dagger...U_N^dagger H|psi>``) before
  ``U_k^dagger`` is un-applied from both vectors. The work is O(gates) state-vector passes for all
  parameters together, on three vectors (psi, conj(lambda) and a scratch one), applied in place
  with the dense kernels, never a full matrix. ``H|psi>`` is computed once, term group by term
  group from the Pauli masks (:meth:`qsim.PauliSum.apply`). A gate's slots are all read off one
  ``2**k x 2**k`` "cross" matrix ``R[a, b] = sum_rest conj(lambda)[a, rest] psi[b, rest]``
  (``<lambda|M|psi> = sum_ab M[a, b] R[a, b]``; reading only the entries M needs costs one read of
  the two vectors for a Pauli generator, no write). Gates are un-applied in blocks: a layer of
  parametrised gates on distinct qubits is read at one point and un-applied fused
  (:func:`_adjoint`), so a layer of rotations or a CNOT ladder costs a few passes, not one per
  gate.
* ``method="parameter-shift"``: every parameter occurrence is shifted and the circuit simulated
  again (:func:`qsim.simulate`, then :meth:`qsim.PauliSum.expectation_value`): the two-term rule
  ``[E(p + pi/2) - E(p - pi/2)] / 2`` for rotations ``exp(-i p/2 P)`` and the phase-like parameters,
  the four-term rule for controlled rotations (see :data:`SHIFT_RULES`). Two or four simulations
  per occurrence: the exact reference the adjoint method is checked against, and what hardware
  would do.

**dU/dp per gate** (adjoint). A gate with a ``generator`` Pauli string G (``rx ry rz rxx ryy rzz
rzx``) is ``exp(-i p/2 G)``, so ``dU/dp U^dagger = -i/2 G`` exactly. Every other parameter of the
library enters its matrix as ``cos(p/2)``, ``sin(p/2)``, ``exp(+-i p/2)`` or ``exp(+-i p)``: each entry
is a trigonometric polynomial with frequencies in ``{0, +-1/2, +-1}``, whose derivative is *exactly*
(up to rounding, ~1e-16) the general parameter-shift combination of four matrices
(:func:`matrix_derivative`)::

    dU/dp = c1 [U(p + pi/2) - U(p - pi/2)] - c2 [U(p + 3pi/2) - U(p - 3pi/2)],
    c1 = (sqrt2 + 1) / (4 sqrt2),  c2 = (sqrt2 - 1) / (4 sqrt2)

(tests/test_gradients.py checks it against a numerical derivative for every parametrised library
gate). No finite differences for the library; only a gate registered later without an entry in
:data:`SHIFT_RULES` (spectrum unknown) falls back to a fourth-order central difference of its
matrix function, error ~1e-12 (:func:`matrix_derivative`).

**Circuits.** Unitary circuits only: barriers are dropped; terminal measurements are ignored (as
:func:`qsim.simulate` does: the state before them); a reset of a qubit nothing has touched yet is
a no-op. A gate after a measurement on its qubit, a later reset, or any classical condition is a
:class:`qsim.CircuitError`. Gate definitions are expanded here, keeping their parameters as
expressions of the circuit's parameters (the definition's formal parameters substituted by the
call's expressions), so a defined gate called with ``2*theta`` is differentiated through its body by
the chain rule: ``dE/dtheta = sum_k sum_slots dE/de_k * de_k/dtheta``
(``de_k/dtheta = e_k.diff(theta).evaluate(values)``). ``unitary`` instructions are constant.

**Backends and precision.** ``backend`` and ``precision`` are those of :func:`qsim.simulate` and
are used for every simulation; the adjoint method's backward pass runs on the host with the dense
kernels (:mod:`qsim.backends.dense.kernels`) in the same precision. ``precision="single"`` gives
gradients good to about 1e-5.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backends import get_backend
from ..backends.base import precision_dtype
from ..backends.dense import kernels
from ..backends.dense.state import DEFAULT_FUSION
from ..circuit import MAX_DEFINITION_DEPTH, Circuit, Instruction
from ..compile.fusion import Gate, classify, fuse
from ..errors import CircuitError, SimulationError
from ..expr import BinOp, Call, Expr, Num, Param, UnaryOp
from ..gates import GATES
from ..resources import DEFAULT_MAX_GATES, check_state_memory
from .simulate import simulate

if TYPE_CHECKING:
    from ..pauli import PauliSum

__all__ = ["METHODS", "SHIFT_RULES", "gradient", "matrix_derivative", "native_ops"]

#: The differentiation methods :func:`gradient` knows.
METHODS = ("adjoint", "parameter-shift")

_SQ2 = math.sqrt(2.0)
#: Four-term coefficients: ``1 / (16 sin^2(pi/8))`` and ``1 / (16 sin^2(3pi/8))``.
_C1 = (_SQ2 + 1.0) / (4.0 * _SQ2)
_C2 = (_SQ2 - 1.0) / (4.0 * _SQ2)
_PI = math.pi

#: A shift rule: ``dE/dp = sum coeff * E(p + shift)``.
ShiftRule = tuple[tuple[float, float], ...]
#: Exact for E(p) with frequencies {1} (a generator with two eigenvalues one apart).
_TWO: ShiftRule = ((_PI / 2, 0.5), (-_PI / 2, -0.5))
#: Exact for frequencies {1/2, 1} (a controlled rotation: generator eigenvalues 0, +-1/2).
_FOUR: ShiftRule = ((_PI / 2, _C1), (-_PI / 2, -_C1), (3 * _PI / 2, -_C2), (-3 * _PI / 2, _C2))
#: Exact for frequencies {1, 2} (r's phi, which enters as rz(phi) rx(theta) rz(-phi)).
_FOUR_DOUBLE: ShiftRule = ((_PI / 4, 2 * _C1), (-_PI / 4, -2 * _C1), (3 * _PI / 4, -2 * _C2),
                           (-3 * _PI / 4, 2 * _C2))
_ZERO: ShiftRule = ()

#: Parameter-shift rules, per library gate, one per parameter slot. Why each is exact:
#: ``p``/``u1``/``cp``/``cu1`` = exp(i p |1><1|) (on the control's |1> block): two eigenvalues one
#: apart; ``U(θ,φ,λ) = P(φ) Ry(θ) P(λ)`` exactly, so each of its parameters is a rotation or a
#: phase (``u2`` likewise), and ``cu3``/``cu`` = CP(φ) CRy(θ) CP(λ) (· CP(γ) on the control) with
#: θ a controlled rotation; ``r(θ,φ) = exp(-iθ/2 (cos φ X + sin φ Y)) = Rz(φ) Rx(θ) Rz(-φ)``;
#: ``u0`` is the identity. Gates with a ``generator`` use the two-term rule.
SHIFT_RULES: dict[str, tuple[ShiftRule, ...]] = {
    "p": (_TWO,), "u1": (_TWO,), "cp": (_TWO,), "cu1": (_TWO,),
    "U": (_TWO, _TWO, _TWO), "u3": (_TWO, _TWO, _TWO), "u": (_TWO, _TWO, _TWO),
    "u2": (_TWO, _TWO),
    "r": (_TWO, _FOUR_DOUBLE),
    "crx": (_FOUR,), "cry": (_FOUR,), "crz": (_FOUR,),
    "cu3": (_FOUR, _TWO, _TWO), "cu": (_FOUR, _TWO, _TWO, _TWO),
    "u0": (_ZERO,),
}


# --- the circuit as native operations with expression parameters --------------------------------
@dataclass(frozen=True, slots=True)
class NativeOp:
    """One library gate (or ``unitary``) of the expanded circuit: ``params`` are numbers or
    expressions of the circuit's parameters."""

    name: str
    qubits: tuple[int, ...]
    params: tuple[float | Expr, ...] = ()
    matrix: np.ndarray | None = None


def _substitute(e: Expr, env: Mapping[str, Expr]) -> Expr:
    """``e`` with every parameter name replaced by its expression in ``env``."""
    if isinstance(e, Param):
        if e.name not in env:
            raise CircuitError(f"a gate definition refers to {e.name!r}, which is not one of its "
                               "parameters")
        return env[e.name]
    if isinstance(e, UnaryOp):
        return UnaryOp(e.op, _substitute(e.operand, env))
    if isinstance(e, BinOp):
        return BinOp(e.op, _substitute(e.left, env), _substitute(e.right, env))
    if isinstance(e, Call):
        return Call(e.func, _substitute(e.arg, env))
    return e


def _fold(e: float | Expr, where: str) -> float | Expr:
    """A number for an expression without free names (evaluated once), else the expression."""
    if not isinstance(e, Expr):
        return float(e)
    if e.free_names():
        return e
    try:
        return e.evaluate()
    except (ArithmeticError, ValueError) as exc:
        raise CircuitError(f"{where}: cannot evaluate the parameter {e}: {exc}") from None


def native_ops(circuit: Circuit) -> list[NativeOp]:
    """``circuit``'s unitary part as library gates and ``unitary`` instructions, in order, with
    gate definitions expanded and parameters kept as expressions of the circuit's parameters.

    Barriers and terminal measurements are dropped, and so are resets of qubits nothing has
    touched yet; CircuitError for a classical condition, any other reset, a gate on a measured
    qubit, an opaque or unknown gate, or more than
    :data:`qsim.resources.DEFAULT_MAX_GATES` gates once expanded."""
    if circuit.definitions:
        total = circuit.expanded_size()
        if total > DEFAULT_MAX_GATES:
            raise CircuitError(f"gradient: the circuit expands to {total:,} gates, more than the "
                               f"limit of {DEFAULT_MAX_GATES:,}")
    defs = circuit.definitions
    ops: list[NativeOp] = []
    measured: set[int] = set()
    touched: set[int] = set()
    for ins in circuit.instructions:
        name = ins.name
        if ins.condition is not None:
            raise CircuitError(f"gradient: the circuit has a classically controlled instruction "
                               f"({ins}); gradients need a unitary circuit")
        if name == "barrier":
            continue
        if name == "measure":
            measured.add(ins.qubits[0])
            continue
        if name == "reset":
            q = ins.qubits[0]
            if q in touched or q in measured:
                raise CircuitError(f"gradient: the circuit has a reset ({ins}); gradients need a "
                                   "unitary circuit")
            continue
        hit = measured.intersection(ins.qubits)
        if hit:
            raise CircuitError(f"gradient: {ins} acts on qubit {min(hit)} after it was measured "
                               "(a mid-circuit measurement); gradients need a unitary circuit "
                               "(measurements only at the end)")
        touched.update(ins.qubits)
        if name not in defs:
            ops.append(NativeOp(name, ins.qubits, tuple(_fold(p, name) for p in ins.params),
                                ins.matrix))
            continue
        _expand(defs, ins, ops)
    return ops


def _expand(defs: Mapping[str, Any], call: Instruction, out: list[NativeOp]) -> None:
    """Append the library gates of defined-gate ``call`` to ``out`` (iteratively, parameters as
    expressions)."""

    def frame(name: str, qubits: tuple[int, ...], params: Sequence[float | Expr]) -> Any:
        d = defs[name]
        if d.body is None:
            raise CircuitError(f"gate {name!r} is opaque: it has no definition to differentiate")
        env = {f: (p if isinstance(p, Expr) else Num(float(p))) for f, p in zip(d.params, params)}
        return name, qubits, env, iter(d.body)

    stack = [frame(call.name, call.qubits, call.params)]
    while stack:
        name, qubits, env, body = stack[-1]
        op = next(body, None)
        if op is None:
            stack.pop()
            continue
        if op.name == "barrier":
            continue
        params = tuple(_fold(_substitute(p, env) if isinstance(p, Expr) else p, op.name)
                       for p in op.params)
        qs = tuple(qubits[i] for i in op.qubits)
        if op.name in defs:
            if len(stack) >= MAX_DEFINITION_DEPTH:
                raise CircuitError(f"gate definitions nested too deeply at {op.name!r} (more "
                                   f"than {MAX_DEFINITION_DEPTH} levels: a recursive definition?)")
            stack.append(frame(op.name, qs, params))
        elif op.name in GATES:
            out.append(NativeOp(op.name, qs, params))
        else:
            raise CircuitError(f"gradient: {op.name!r} in the definition of {name!r} is not a "
                               "unitary gate")


# --- values, observables ---------------------------------------------------------------------
def _environment(names: Sequence[str], values: Any) -> dict[str, float]:
    """``values`` (mapping of parameters or names, or a sequence in ``names`` order) as
    ``{name: float}`` with every name bound; CircuitError otherwise."""
    if values is None:
        if names:
            raise CircuitError(f"gradient: the circuit has parameters ({', '.join(names)}): pass "
                               "their values")
        return {}
    env: dict[str, float] = {}
    if isinstance(values, Mapping):
        for key, value in values.items():
            name = key.name if isinstance(key, Param) else key
            if not isinstance(name, str) or name not in names:
                raise CircuitError(f"gradient: {key!r} is not a parameter of the circuit (its "
                                   f"parameters: {', '.join(names) or 'none'})")
            env[name] = _number(value, name)
        missing = [n for n in names if n not in env]
        if missing:
            raise CircuitError(f"gradient: no value for parameter(s) {', '.join(missing)}")
        return env
    if isinstance(values, (str, bytes)):
        raise CircuitError("gradient: values must be a mapping or a sequence of numbers, got a "
                           "string")
    seq = list(np.ravel(np.asarray(values, dtype=object)))
    if len(seq) != len(names):
        raise CircuitError(f"gradient: expected {len(names)} value(s), one per parameter "
                           f"({', '.join(names) or 'none'}), got {len(seq)}")
    return {n: _number(v, n) for n, v in zip(names, seq)}


def _number(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_, complex, np.complexfloating, str, bytes)) or value is None:
        raise CircuitError(f"gradient: the value of {name} must be a real number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise CircuitError(f"gradient: the value of {name} must be a real number, got "
                           f"{value!r}") from None
    if not math.isfinite(x):
        raise CircuitError(f"gradient: the value of {name} must be finite, got {value!r}")
    return x


class _Observable:
    """H as given (a PauliSum or a Hermitian matrix): ``apply(psi) = H psi`` and
    ``energy(psi) = <psi|H|psi>``."""

    def __init__(self, observable: Any, n: int) -> None:
        from ..pauli import PauliSum

        self.pauli: PauliSum | None = None
        self.matrix: Any = None
        if isinstance(observable, str):
            observable = PauliSum.from_string(observable, n)
        if isinstance(observable, PauliSum):
            if observable.num_qubits != n:
                raise CircuitError(f"gradient: the observable acts on {observable.num_qubits} "
                                   f"qubit(s), the circuit has {n}")
            if not observable.is_hermitian():
                raise CircuitError("gradient: the observable is not Hermitian (complex "
                                   "coefficients)")
            self.pauli = observable.simplify()
            return
        import scipy.sparse as sp

        if sp.issparse(observable):
            m: Any = sp.csr_matrix(observable)
            herm = abs(m - m.conj().T).max() <= 1e-10 if m.nnz else True
        else:
            try:
                m = np.asarray(observable, dtype=complex)
            except (TypeError, ValueError):
                raise CircuitError(f"gradient: the observable must be a PauliSum, a Pauli string "
                                   f"or a Hermitian matrix, got {type(observable).__name__}"
                                   ) from None
            herm = m.ndim == 2 and m.shape[0] == m.shape[1] and bool(
                np.allclose(m, m.conj().T, atol=1e-10))
        if m.shape != (1 << n, 1 << n):
            raise CircuitError(f"gradient: the observable must be a {1 << n}x{1 << n} matrix for "
                               f"{n} qubit(s), got shape {m.shape}")
        if not herm:
            raise CircuitError("gradient: the observable matrix is not Hermitian")
        self.matrix = m

    def apply(self, psi: np.ndarray) -> np.ndarray:
        """``H psi`` (a new vector of psi's dtype)."""
        if self.pauli is None:
            return np.asarray(self.matrix @ psi).astype(psi.dtype, copy=False)
        return self.pauli.apply(psi)

    def energy(self, psi: np.ndarray) -> float:
        if self.pauli is not None:
            return float(np.real(self.pauli.expectation_value(psi)))
        return float(np.vdot(psi, np.asarray(self.matrix @ psi)).real)


# --- the public entry point -------------------------------------------------------------------
def gradient(circuit: Circuit, observable: Any, values: Any = None, *, method: str = "adjoint",
             backend: str = "statevector", precision: str = "double") -> np.ndarray:
    """``d<psi|H|psi>/d theta`` for every parameter theta of ``circuit.parameters`` (that order),
    ``|psi> = U(values)|0...0>``, as a float64 array (empty when the circuit has no parameters).

    ``observable``: a :class:`qsim.PauliSum`, a string :meth:`qsim.PauliSum.from_string` accepts
    (``"0.5*ZZ + XI"``) or a Hermitian ``2**n x 2**n`` matrix (numpy or scipy.sparse).
    ``values``: ``{Parameter or name: float}`` binding every parameter, or a sequence in
    ``circuit.parameters`` order. ``method``: ``"adjoint"`` (one forward and one backward pass
    for all parameters) or ``"parameter-shift"`` (two or four simulations per parameter
    occurrence; CircuitError for a gate without a shift rule, see :data:`SHIFT_RULES`).
    ``backend``/``precision`` as in :func:`qsim.simulate`.

    CircuitError: values missing or not numbers, a mid-circuit measurement, reset or condition,
    an observable of the wrong size or not Hermitian. See the module docstring for the methods.

    >>> import qsim
    >>> theta = qsim.Parameter("theta")
    >>> c = qsim.Circuit(1).ry(theta, 0)
    >>> g = gradient(c, "Z", {theta: 0.5})      # d cos(theta) / d theta = -sin(theta)
    >>> bool(abs(g[0] + math.sin(0.5)) < 1e-12)
    True
    """
    if not isinstance(circuit, Circuit):
        raise CircuitError(f"gradient: expected a qsim.Circuit, got {type(circuit).__name__}")
    if method not in METHODS:
        raise SimulationError(f"gradient: method must be one of {', '.join(METHODS)}, got "
                              f"{method!r}")
    dtype = precision_dtype(precision)
    get_backend(backend)
    names = [p.name for p in circuit.parameters]
    env = _environment(names, values)
    obs = _Observable(observable, circuit.num_qubits)
    if not names:
        return np.zeros(0)
    ops = native_ops(circuit)
    numeric: list[tuple[float, ...]] = []
    # links[k] = [(slot, [(parameter index, d e_slot / d theta), ...]), ...] for gate k.
    links: dict[int, list[tuple[int, list[tuple[int, float]]]]] = {}
    index = {name: i for i, name in enumerate(names)}
    for k, op in enumerate(ops):
        vals: list[float] = []
        for j, p in enumerate(op.params):
            if not isinstance(p, Expr):
                vals.append(p)
                continue
            try:
                vals.append(p.evaluate(env))
                chain = [(index[name], p.diff(name).evaluate(env)) for name in p.names()]
            except (ArithmeticError, ValueError) as exc:
                raise CircuitError(f"gradient: cannot evaluate the parameter {p} of {op.name} "
                                   f"(or its derivative) at the values given: {exc}") from None
            if any(not math.isfinite(v) for v in (vals[-1], *(d for _, d in chain))):
                raise CircuitError(f"gradient: the parameter {p} of {op.name} (or its "
                                   "derivative) is not finite at the values given")
            links.setdefault(k, []).append((j, chain))
        numeric.append(tuple(vals))
    grad = np.zeros(len(names))
    if not links:
        return grad
    if method == "adjoint":
        per_slot = _adjoint(circuit, ops, numeric, links, obs, dtype, backend, precision)
    else:
        per_slot = _parameter_shift(circuit, ops, numeric, links, obs, backend, precision)
    for k, slots in links.items():
        for j, chain in slots:
            for i, d in chain:
                grad[i] += per_slot[k, j] * d
    return grad


def _bound_circuit(circuit: Circuit, ops: Sequence[NativeOp],
                   values: Sequence[tuple[float, ...]]) -> Circuit:
    """The native gates with numeric parameters, as a circuit of ``circuit``'s registers."""
    out = circuit.copy()
    out.definitions = {}
    out.instructions = [Instruction(op.name, op.qubits, vals, matrix=op.matrix)
                        for op, vals in zip(ops, values)]
    return out


# --- parameter shift ---------------------------------------------------------------------------
def _shift_rule(name: str, slot: int) -> ShiftRule:
    g = GATES.get(name)
    if g is not None and g.generator is not None:
        return _TWO
    rules = SHIFT_RULES.get(name)
    if rules is None:
        raise CircuitError(f"gradient: gate {name!r} has no parameter-shift rule; use "
                           "method='adjoint'")
    return rules[slot]


def _parameter_shift(circuit: Circuit, ops: Sequence[NativeOp],
                     values: Sequence[tuple[float, ...]],
                     links: Mapping[int, Sequence[tuple[int, Any]]], obs: _Observable,
                     backend: str, precision: str) -> dict[tuple[int, int], float]:
    rules = {(k, j): _shift_rule(ops[k].name, j) for k, slots in links.items()
             for j, _ in slots}
    base = _bound_circuit(circuit, ops, values)
    out: dict[tuple[int, int], float] = {}
    for (k, j), rule in rules.items():
        total = 0.0
        for shift, coeff in rule:
            vals = list(values[k])
            vals[j] += shift
            shifted = base.copy()
            shifted.instructions[k] = base.instructions[k].replace(params=tuple(vals))
            psi = simulate(shifted, backend=backend, precision=precision).data
            total += coeff * obs.energy(psi)
        out[k, j] = total
    return out


# --- adjoint -----------------------------------------------------------------------------------
def matrix_derivative(name: str, params: Sequence[float], slot: int) -> np.ndarray:
    """``d U / d params[slot]`` of library gate ``name``, exactly.

    A gate with a generator G: ``-i/2 G U``. The other gates of :data:`SHIFT_RULES` (all the
    library's parametrised gates): the four-term combination of the module docstring, exact for
    matrix entries with frequencies in {0, +-1/2, +-1} in that parameter, which they have. A gate
    registered later and not listed there (its frequencies unknown) falls back to the fourth-order
    central difference ``[-U(p+2h) + 8U(p+h) - 8U(p-h) + U(p-2h)] / 12h`` with ``h = 1e-3``: error
    about ``h^4/30 |U^(5)| + 1e-16/h``, ~1e-12 for frequencies up to 2."""
    g = GATES[name]
    p = [float(x) for x in params]
    if g.generator is not None:
        return _generator_term(g.generator) @ np.asarray(g.matrix_fn(*p), dtype=complex)

    def at(shift: float) -> np.ndarray:
        q = list(p)
        q[slot] += shift
        return np.asarray(g.matrix_fn(*q), dtype=complex)

    if name in SHIFT_RULES:
        return _C1 * (at(_PI / 2) - at(-_PI / 2)) - _C2 * (at(3 * _PI / 2) - at(-3 * _PI / 2))
    h = _FALLBACK_STEP
    return (8.0 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12.0 * h)


#: Step of the finite-difference fallback of :func:`matrix_derivative` (gates of unknown spectrum).
_FALLBACK_STEP = 1e-3


_PAULI = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]),
          "Z": np.diag([1.0, -1.0])}


@lru_cache(maxsize=64)
def _generator_term(label: str) -> np.ndarray:
    """``-i/2 G`` for the Pauli string ``label`` (first qubit leftmost)."""
    m = np.ones((1, 1), dtype=complex)
    for ch in label:
        m = np.kron(m, _PAULI[ch])
    m = -0.5j * m
    m.setflags(write=False)
    return m


def _slot_operators(op: NativeOp, vals: tuple[float, ...], u: np.ndarray,
                    slots: Sequence[int]) -> list[np.ndarray]:
    """``dU/dp_j U^dagger`` for each slot j (what acts on the state after the gate)."""
    g = GATES[op.name]
    if g.generator is not None:
        return [_generator_term(g.generator)] * len(slots)
    return [matrix_derivative(op.name, vals, j) @ u.conj().T for j in slots]


def _adjoint(circuit: Circuit, ops: Sequence[NativeOp], values: Sequence[tuple[float, ...]],
             links: Mapping[int, Sequence[tuple[int, Any]]], obs: _Observable, dtype: np.dtype,
             backend: str, precision: str) -> dict[tuple[int, int], float]:
    """dE/dp for every slot of ``links``: the backward pass of the module docstring, by blocks.

    A block is a run of gates, taken backwards from the current point, in which every
    parametrised gate acts on qubits that no later gate of the block touches. Then each of its
    slots can be read at the block's end: for gate k followed (within the block) by gates V
    disjoint from it, ``<lambda| V (dU U^dagger) V^dagger |psi> = <lambda| dU U^dagger |psi>``.
    The whole block is then un-applied from both vectors at once, fused
    (:func:`qsim.compile.fusion.fuse`) into a few operators: a layer of one-qubit rotations or a
    CNOT ladder costs a few passes over the state, not one per gate.

    A one-qubit parametrised gate whose qubit only one-qubit gates V of the block follow (ry then
    rz on a qubit) joins the block too: its operator M is read at the block's end as
    ``V M V^dagger``. The diagonal parts of all the block's one-qubit operators come from one
    shared pass (:func:`_diagonal_marginals`); only off-diagonal parts need a cross matrix each."""
    n = circuit.num_qubits
    # psi (from the forward simulation), conj(lambda), and one scratch vector (H psi's diagonal,
    # or the copy of the fallback in _cross_expectations).
    check_state_memory(n, dtype.itemsize, None, 3)
    sv = simulate(_bound_circuit(circuit, ops, values), backend=backend, precision=precision)
    psi = np.require(np.asarray(sv.data, dtype=dtype).reshape(-1), requirements=["C", "W", "O"])
    lamc = obs.apply(psi)
    np.conjugate(lamc, out=lamc)
    first = min(links)
    threads = kernels.default_threads()
    if psi.size < kernels.MIN_PARALLEL:
        threads = 1
    ws = kernels.Workspace(dtype, kernels.CHUNK, threads)
    scratch: list[np.ndarray] = []
    out: dict[tuple[int, int], float] = {}
    with kernels.single_threaded_blas():
        k = len(ops) - 1
        while k >= first:
            block: list[tuple[int, np.ndarray]] = []  # (index, matrix), latest first
            # Per qubit touched by the block so far: the product V of the one-qubit gates on it
            # (latest leftmost), or None once a multi-qubit gate of the block acts on it.
            after: dict[int, np.ndarray | None] = {}
            carried: dict[int, np.ndarray] = {}  # gate index -> V of its qubit
            while k >= first:
                op = ops[k]
                if k in links and op.qubits and any(q in after for q in op.qubits):
                    v = after.get(op.qubits[0]) if len(op.qubits) == 1 else None
                    if v is None:
                        break
                    carried[k] = v
                if op.name == "unitary":
                    assert op.matrix is not None
                    u = np.asarray(op.matrix, dtype=complex)
                else:
                    u = np.asarray(GATES[op.name].matrix_fn(*values[k]), dtype=complex)
                block.append((k, u))
                if len(op.qubits) == 1:
                    q = op.qubits[0]
                    if q not in after:
                        after[q] = u
                    elif after[q] is not None:
                        after[q] = after[q] @ u
                else:
                    for q in op.qubits:
                        after[q] = None
                k -= 1
            # One-qubit slots: the diagonal of V M V^dagger from the shared marginals, the rest
            # through the cross matrix (one pattern for an off-diagonal M).
            diagonal: list[tuple[int, int, np.ndarray]] = []
            for i, u in block:
                slots = links.get(i)
                if not slots:
                    continue
                js = [j for j, _ in slots]
                mats = _slot_operators(ops[i], values[i], u, js)
                if i in carried:
                    v = carried[i]
                    mats = [v @ m @ v.conj().T for m in mats]
                if len(ops[i].qubits) != 1:
                    for j, val in zip(js, _cross_expectations(lamc, psi, mats, ops[i].qubits,
                                                              ws, threads, scratch)):
                        out[i, j] = 2.0 * float(val.real)
                    continue
                off = []
                for j, m in zip(js, mats):
                    diagonal.append((i, j, m))
                    o = np.array(m)
                    o[0, 0] = o[1, 1] = 0
                    off.append(o)
                if any(o.any() for o in off):
                    for j, val in zip(js, _cross_expectations(lamc, psi, off, ops[i].qubits,
                                                              ws, threads, scratch)):
                        out[i, j] = 2.0 * float(val.real)
                else:
                    for j in js:
                        out[i, j] = 0.0
            if diagonal:
                marg = _diagonal_marginals(lamc, psi, {ops[i].qubits[0] for i, _, _ in diagonal},
                                           scratch)
                for i, j, m in diagonal:
                    s0, s1 = marg[ops[i].qubits[0]]
                    out[i, j] += 2.0 * float((m[0, 0] * s0 + m[1, 1] * s1).real)
            if k >= first:
                _unapply(ops, block, psi, lamc, ws, threads)
    return out


def _diagonal_marginals(lamc: np.ndarray, psi: np.ndarray, qubits: set[int],
                        scratch: list[np.ndarray]) -> dict[int, tuple[complex, complex]]:
    """``(S0, S1)`` per qubit q of ``qubits``: ``S_b = sum_{j: bit q of j = b} lamc[j] psi[j]``,
    so that ``<lambda| diag(m0, m1)_q |psi> = m0 S0 + m1 S1``. One pass over the two vectors for
    all the qubits (their product, written to the scratch vector), then its row and column sums
    as a ``(2**hi, 2**lo)`` matrix (qubits ``< hi`` are row bits, the others column bits)."""
    n = kernels.num_qubits_of(psi)
    if not scratch:
        scratch.append(np.empty_like(psi))
    w = scratch[0]
    np.multiply(lamc, psi, out=w)
    lo = n // 2
    hi = n - lo
    wm = w.reshape(1 << hi, 1 << lo)
    rows = wm.sum(axis=1)
    cols = wm.sum(axis=0)
    out: dict[int, tuple[complex, complex]] = {}
    for q in qubits:
        v, pos = (rows, q) if q < hi else (cols, q - hi)
        s = v.reshape(1 << pos, 2, -1).sum(axis=(0, 2))
        out[q] = (complex(s[0]), complex(s[1]))
    return out


def _unapply(ops: Sequence[NativeOp], block: Sequence[tuple[int, np.ndarray]], psi: np.ndarray,
             lamc: np.ndarray, ws: kernels.Workspace, threads: int) -> None:
    """psi <- U^dagger psi and conj(lambda) <- U^T conj(lambda) (= conj(U^dagger lambda)) for
    each gate U of ``block`` (latest first), fused."""
    back: list[Gate] = []
    back_t: list[Gate] = []
    for i, u in block:
        g = GATES.get(ops[i].name)
        qs = ops[i].qubits
        if g is not None and g.diagonal and g.permutation:  # the identity
            continue
        kind = ("diag" if g.diagonal else "perm" if g.permutation else "dense") if g else classify(u)
        back.append(Gate(kind, qs, u.conj().T))
        back_t.append(Gate(kind, qs, u.T))
    for vec, gates in ((psi, back), (lamc, back_t)):
        for f in fuse(gates, DEFAULT_FUSION):
            if not f.qubits:
                vec *= f.data.reshape(-1)[0]
            elif f.kind == "diag":
                kernels.apply_sorted_diagonal(vec, f.data, f.qubits, threads=threads)
            elif f.kind == "perm":
                kernels.apply_sorted_permutation(vec, f.data, f.qubits, workspace=ws,
                                                 threads=threads)
            else:
                kernels.apply_sorted_matrix(vec, f.data, f.qubits, workspace=ws,
                                            threads=threads)


def _cross_expectations(lamc: np.ndarray, psi: np.ndarray, mats: Sequence[np.ndarray],
                        qubits: Sequence[int], ws: kernels.Workspace, threads: int,
                        scratch: list[np.ndarray]) -> list[complex]:
    """``<lambda| M |psi>`` for each small matrix M on ``qubits`` (``lamc`` = conj(lambda)).

    Through the cross matrix R (:func:`cross_matrix`) where the qubits' layout allows it: one read
    of both vectors per XOR pattern ``a ^ b`` of the matrices' nonzero entries (one for a Pauli
    generator), for all the matrices; otherwise per matrix a copy of psi, M applied to it, and a
    dot product."""
    n = kernels.num_qubits_of(psi)
    order = sorted(range(len(qubits)), key=lambda i: qubits[i])
    axes = tuple(qubits[i] for i in order)
    if order != list(range(len(qubits))):
        sorted_mats = [kernels.sort_matrix(m, order) for m in mats]
    else:
        sorted_mats = list(mats)
    nz = np.argwhere(sum(np.abs(m) for m in sorted_mats) > 0)
    patterns = sorted({int(a) ^ int(b) for a, b in nz})
    r = cross_matrix(lamc, psi, axes, n, patterns=patterns)
    if r is not None:
        return [complex(np.sum(m * r)) for m in sorted_mats]
    if not scratch:
        scratch.append(np.empty_like(psi))
    buf = scratch[0]
    vals = []
    for m in mats:
        np.copyto(buf, psi)
        kernels.apply_matrix(buf, m, qubits, workspace=ws, threads=threads)
        vals.append(complex(np.dot(lamc, buf)))
    return vals


#: The cross matrix is read with einsum when at least this many amplitudes follow the lowest
#: target qubit (long inner loops), ...
_EINSUM_MIN_INNER = 16
#: ... or with one GEMM over rows of this many amplitudes when every target is among the lowest
#: qubits.
_GEMM_MAX_WIDTH = 16


def cross_matrix(lamc: np.ndarray, psi: np.ndarray, axes: tuple[int, ...], n: int,
                 how: str | None = None, patterns: Sequence[int] | None = None
                 ) -> np.ndarray | None:
    """``R[a, b] = sum_rest lamc[a, rest] psi[b, rest]`` over the sorted target ``axes`` (a and b
    their basis indices, ``axes[0]`` most significant), or None when neither fast layout applies:

    * ``"einsum"``: at least :data:`_EINSUM_MIN_INNER` amplitudes follow the last target: for each
      XOR pattern x, ``D[a] = sum lamc[a, .] psi[a ^ x, .]`` is one einsum over reversed-axis views
      (2**k reads of both vectors, no writes);
    * ``"gemm"``: every target among the last log2(:data:`_GEMM_MAX_WIDTH`) qubits: the vectors
      are ``(rows, W)`` matrices, ``G = L^T P`` one GEMM, and R the trace of G over the non-target
      bits of the window.

    ``patterns``: only the entries ``R[a, a ^ x]`` for these x are needed (the einsum layout
    computes only those; the others are left zero). ``how`` forces a layout (tests)."""
    k = len(axes)
    K = 1 << k
    inner = n - 1 - axes[-1]
    width = n - axes[0]
    if how is None:
        how = ("einsum" if (1 << inner) >= _EINSUM_MIN_INNER else
               "gemm" if (1 << width) <= _GEMM_MAX_WIDTH else "")
    if how == "einsum":
        gaps = [axes[0]] + [axes[i] - axes[i - 1] - 1 for i in range(1, k)] + [inner]
        shape: list[int] = []
        for i in range(k):
            shape += [1 << gaps[i], 2]
        shape.append(1 << gaps[k])
        L = lamc.reshape(shape)
        P = psi.reshape(shape)
        sub = list(range(2 * k + 1))
        targets = [2 * i + 1 for i in range(k)]
        r = np.zeros((K, K), dtype=np.result_type(lamc, psi))
        a = np.arange(K)
        for x in range(K) if patterns is None else patterns:
            view = P[_flip_index(x, k)]
            d = np.einsum(L, sub, view, sub, targets).reshape(-1)
            r[a, a ^ x] = d
        return r
    if how == "gemm":
        W = 1 << width
        G = lamc.reshape(-1, W).T @ psi.reshape(-1, W)
        local = [ax - axes[0] for ax in axes]
        rows: list[int] = []
        cols: list[int] = []
        letter = 2 * k
        for pos in range(width):
            if pos in local:
                i = local.index(pos)
                rows.append(i)
                cols.append(k + i)
            else:
                rows.append(letter)
                cols.append(letter)
                letter += 1
        t = np.einsum(G.reshape((2,) * (2 * width)), rows + cols, list(range(2 * k)))
        return np.asarray(t).reshape(K, K)
    return None


def _flip_index(x: int, k: int) -> tuple[slice, ...]:
    """Index of the ``(gap, 2, gap, ..., 2, gap)`` view reversing target i where bit
    ``k-1-i`` of ``x`` is set."""
    idx: list[slice] = [slice(None)]
    for i in range(k):
        idx.append(slice(None, None, -1) if (x >> (k - 1 - i)) & 1 else slice(None))
        idx.append(slice(None))
    return tuple(idx)
