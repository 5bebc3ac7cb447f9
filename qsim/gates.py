"""The gate library: every gate as plain data (name, arity, parameter count, matrix function, flags).

Matrix convention: the first qubit argument is the *leftmost* Kronecker factor (qsim's bit order), so
``cx`` is ``|0><0|⊗I + |1><1|⊗X`` with the control first. Matrices equal Qiskit's gate definitions
(and OpenQASM 2's qelib1.inc definitions) written in this big-endian order:

* ``U(θ,φ,λ)`` = ``u3`` = ``u`` = ``[[cos θ/2, -e^{iλ} sin θ/2], [e^{iφ} sin θ/2, e^{i(φ+λ)} cos θ/2]]``,
  as Qiskit defines it. The 2017 OpenQASM paper writes U as ``Rz(φ)Ry(θ)Rz(λ)``, which differs by the
  global phase ``e^{-i(φ+λ)/2}``; OpenQASM 2 has no controlled modifiers, so that phase is unobservable.
* ``u2(φ,λ) = U(π/2,φ,λ)``, ``u1(λ) = p(λ) = diag(1, e^{iλ})`` and ``rz(λ) = diag(e^{-iλ/2}, e^{iλ/2})``
  (so ``rz`` and ``u1`` differ by a global phase, exactly as in Qiskit).
* Two-qubit rotations ``rxx, ryy, rzz, rzx`` are ``exp(-iθ/2 · P⊗Q)`` with P on the first qubit.
* ``rccx``, ``rc3x``, ``ecr`` and ``dcx`` are computed from their qelib1 / Qiskit definitions, so their
  relative phases are exactly those definitions'.

Constant matrices are cached and read-only; parametrised ones are built on each call.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import CircuitError
from .kron import controlled, embed


@dataclass(frozen=True)
class GateDef:
    """One gate of the library.

    ``matrix_fn(*params)`` returns the ``2**num_qubits`` square unitary (first qubit leftmost).
    ``diagonal``: the matrix is diagonal. ``permutation``: a 0/1 permutation matrix.
    ``num_controls``: the leading qubits are controls (on |1>) of the remaining target block.
    """

    name: str
    num_qubits: int
    num_params: int
    matrix_fn: Callable[..., np.ndarray]
    diagonal: bool = False
    permutation: bool = False
    num_controls: int = 0
    doc: str = ""


GATES: dict[str, GateDef] = {}


def _reg(name: str, num_qubits: int, num_params: int, fn: Callable[..., np.ndarray],
         doc: str, *, diagonal: bool = False, permutation: bool = False,
         num_controls: int = 0) -> None:
    GATES[name] = GateDef(name, num_qubits, num_params, fn, diagonal, permutation,
                          num_controls, doc)


def _const(m: Sequence[Sequence[complex]] | np.ndarray) -> Callable[[], np.ndarray]:
    arr = np.array(m, dtype=complex)
    arr.setflags(write=False)
    return lambda: arr


# --- one-qubit building blocks -------------------------------------------------------------
I2 = np.eye(2, dtype=complex)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
Z = np.array([[1, 0], [0, -1]], dtype=complex)
H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)
S = np.diag([1, 1j]).astype(complex)
T = np.diag([1, cmath.exp(1j * math.pi / 4)])
SX = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]], dtype=complex) / 2
for _m in (I2, X, Y, Z, H, S, T, SX):
    _m.setflags(write=False)


def u_matrix(theta: float, phi: float, lam: float) -> np.ndarray:
    """Qiskit's U(θ,φ,λ) (see the module docstring for the global phase versus the 2017 paper)."""
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -cmath.exp(1j * lam) * s],
                     [cmath.exp(1j * phi) * s, cmath.exp(1j * (phi + lam)) * c]], dtype=complex)


def p_matrix(lam: float) -> np.ndarray:
    return np.array([[1, 0], [0, cmath.exp(1j * lam)]], dtype=complex)


def rx_matrix(theta: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -1j * s], [-1j * s, c]], dtype=complex)


def ry_matrix(theta: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def rz_matrix(lam: float) -> np.ndarray:
    return np.array([[cmath.exp(-0.5j * lam), 0], [0, cmath.exp(0.5j * lam)]], dtype=complex)


def r_matrix(theta: float, phi: float) -> np.ndarray:
    """Qiskit's R(θ,φ) = exp(-iθ/2 (cos φ X + sin φ Y))."""
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -1j * cmath.exp(-1j * phi) * s],
                     [-1j * cmath.exp(1j * phi) * s, c]], dtype=complex)


def _pauli_rotation(p: np.ndarray, q: np.ndarray) -> Callable[[float], np.ndarray]:
    pq = np.kron(p, q)

    def fn(theta: float) -> np.ndarray:
        return math.cos(theta / 2) * np.eye(4, dtype=complex) - 1j * math.sin(theta / 2) * pq

    return fn


def _rzz(theta: float) -> np.ndarray:
    a, b = cmath.exp(-0.5j * theta), cmath.exp(0.5j * theta)
    return np.diag([a, b, b, a])


def _compose(n: int, ops: Sequence[tuple[np.ndarray, Sequence[int]]]) -> np.ndarray:
    """Matrix of a gate sequence (applied left to right) on n qubits, qubit 0 leftmost."""
    m = np.eye(2**n, dtype=complex)
    for u, qs in ops:
        m = embed(u, qs, n) @ m
    return m


def _ctrl(u: np.ndarray, k: int = 1) -> np.ndarray:
    return controlled(u, k)


# --- registry ---------------------------------------------------------------------------------
_PI = math.pi
_CX = _ctrl(X)

# OpenQASM built-ins and the one-qubit gates.
_reg("U", 1, 3, u_matrix, "OpenQASM built-in U(θ,φ,λ), Qiskit's matrix")
_reg("u3", 1, 3, u_matrix, "u3(θ,φ,λ) = U(θ,φ,λ)")
_reg("u", 1, 3, u_matrix, "u(θ,φ,λ) = U(θ,φ,λ) (Qiskit)")
_reg("u2", 1, 2, lambda phi, lam: u_matrix(_PI / 2, phi, lam), "u2(φ,λ) = U(π/2,φ,λ)")
_reg("u1", 1, 1, p_matrix, "u1(λ) = diag(1, e^{iλ})", diagonal=True)
_reg("p", 1, 1, p_matrix, "phase p(λ) = diag(1, e^{iλ})", diagonal=True)
_reg("u0", 1, 1, lambda gamma: np.eye(2, dtype=complex), "u0(γ): identity (legacy idle gate)",
     diagonal=True, permutation=True)
_reg("id", 1, 0, _const(I2), "identity", diagonal=True, permutation=True)
_reg("x", 1, 0, _const(X), "Pauli X", permutation=True)
_reg("y", 1, 0, _const(Y), "Pauli Y")
_reg("z", 1, 0, _const(Z), "Pauli Z", diagonal=True)
_reg("h", 1, 0, _const(H), "Hadamard")
_reg("s", 1, 0, _const(S), "S = diag(1, i)", diagonal=True)
_reg("sdg", 1, 0, _const(S.conj().T), "S† = diag(1, -i)", diagonal=True)
_reg("t", 1, 0, _const(T), "T = diag(1, e^{iπ/4})", diagonal=True)
_reg("tdg", 1, 0, _const(T.conj().T), "T† = diag(1, e^{-iπ/4})", diagonal=True)
_reg("sx", 1, 0, _const(SX), "√X = (1/2)[[1+i, 1-i], [1-i, 1+i]]")
_reg("sxdg", 1, 0, _const(SX.conj().T), "√X†")
_reg("rx", 1, 1, rx_matrix, "rx(θ) = exp(-iθX/2)")
_reg("ry", 1, 1, ry_matrix, "ry(θ) = exp(-iθY/2)")
_reg("rz", 1, 1, rz_matrix, "rz(λ) = exp(-iλZ/2) = diag(e^{-iλ/2}, e^{iλ/2})", diagonal=True)
_reg("r", 1, 2, r_matrix, "r(θ,φ) = exp(-iθ/2 (cos φ X + sin φ Y)) (Qiskit)")

# Two-qubit gates (first qubit = control where there is one).
_reg("CX", 2, 0, _const(_CX), "OpenQASM built-in CNOT", permutation=True, num_controls=1)
_reg("cx", 2, 0, _const(_CX), "CNOT = |0><0|⊗I + |1><1|⊗X", permutation=True, num_controls=1)
_reg("cy", 2, 0, _const(_ctrl(Y)), "controlled Y", num_controls=1)
_reg("cz", 2, 0, _const(_ctrl(Z)), "controlled Z", diagonal=True, num_controls=1)
_reg("ch", 2, 0, _const(_ctrl(H)), "controlled H", num_controls=1)
_reg("cs", 2, 0, _const(_ctrl(S)), "controlled S", diagonal=True, num_controls=1)
_reg("csdg", 2, 0, _const(_ctrl(S.conj().T)), "controlled S†", diagonal=True, num_controls=1)
_reg("csx", 2, 0, _const(_ctrl(SX)), "controlled √X", num_controls=1)
_reg("swap", 2, 0, _const(np.eye(4)[[0, 2, 1, 3]]), "SWAP", permutation=True)
_reg("iswap", 2, 0, _const([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]]),
     "iSWAP")
_reg("dcx", 2, 0, _const(_compose(2, [(_CX, (0, 1)), (_CX, (1, 0))])),
     "double CNOT: cx a,b; cx b,a", permutation=True)
_reg("cp", 2, 1, lambda lam: _ctrl(p_matrix(lam)), "controlled phase diag(1,1,1,e^{iλ})",
     diagonal=True, num_controls=1)
_reg("cu1", 2, 1, lambda lam: _ctrl(p_matrix(lam)), "cu1(λ) = cp(λ)", diagonal=True,
     num_controls=1)
_reg("crx", 2, 1, lambda t: _ctrl(rx_matrix(t)), "controlled rx", num_controls=1)
_reg("cry", 2, 1, lambda t: _ctrl(ry_matrix(t)), "controlled ry", num_controls=1)
_reg("crz", 2, 1, lambda t: _ctrl(rz_matrix(t)), "controlled rz", diagonal=True,
     num_controls=1)
_reg("cu3", 2, 3, lambda t, f, l: _ctrl(u_matrix(t, f, l)), "controlled U(θ,φ,λ)",
     num_controls=1)
_reg("cu", 2, 4, lambda t, f, l, g: _ctrl(cmath.exp(1j * g) * u_matrix(t, f, l)),
     "Qiskit's cu(θ,φ,λ,γ): controlled e^{iγ}U(θ,φ,λ)", num_controls=1)
_reg("rxx", 2, 1, _pauli_rotation(X, X), "exp(-iθ/2 X⊗X)")
_reg("ryy", 2, 1, _pauli_rotation(Y, Y), "exp(-iθ/2 Y⊗Y)")
_reg("rzz", 2, 1, _rzz, "exp(-iθ/2 Z⊗Z)", diagonal=True)
_reg("rzx", 2, 1, _pauli_rotation(Z, X), "exp(-iθ/2 Z⊗X): Z on the first qubit, X on the second")
_reg("ecr", 2, 0, _const(_compose(2, [(_pauli_rotation(Z, X)(_PI / 4), (0, 1)), (X, (0,)),
                                      (_pauli_rotation(Z, X)(-_PI / 4), (0, 1))])),
     "echoed cross-resonance: rzx(π/4) a,b; x a; rzx(-π/4) a,b")

# Three and more qubits.
_reg("ccx", 3, 0, _const(_ctrl(X, 2)), "Toffoli", permutation=True, num_controls=2)
_reg("ccz", 3, 0, _const(_ctrl(Z, 2)), "doubly controlled Z", diagonal=True, num_controls=2)
_reg("cswap", 3, 0, _const(_ctrl(np.eye(4)[[0, 2, 1, 3]])), "Fredkin", permutation=True,
     num_controls=1)


def _rccx() -> np.ndarray:
    # qelib1: u2(0,pi) c; u1(pi/4) c; cx b,c; u1(-pi/4) c; cx a,c; u1(pi/4) c; cx b,c;
    #         u1(-pi/4) c; u2(0,pi) c;
    h2, t, td = u_matrix(_PI / 2, 0, _PI), p_matrix(_PI / 4), p_matrix(-_PI / 4)
    return _compose(3, [(h2, (2,)), (t, (2,)), (_CX, (1, 2)), (td, (2,)), (_CX, (0, 2)),
                        (t, (2,)), (_CX, (1, 2)), (td, (2,)), (h2, (2,))])


def _rc3x() -> np.ndarray:
    # qelib1's rc3x a,b,c,d definition, gate by gate.
    h2, t, td = u_matrix(_PI / 2, 0, _PI), p_matrix(_PI / 4), p_matrix(-_PI / 4)
    seq = [(h2, (3,)), (t, (3,)), (_CX, (2, 3)), (td, (3,)), (h2, (3,)), (_CX, (0, 3)),
           (t, (3,)), (_CX, (1, 3)), (td, (3,)), (_CX, (0, 3)), (t, (3,)), (_CX, (1, 3)),
           (td, (3,)), (h2, (3,)), (t, (3,)), (_CX, (2, 3)), (td, (3,)), (h2, (3,))]
    return _compose(4, seq)


_reg("rccx", 3, 0, _const(_rccx()), "relative-phase Toffoli (qelib1 definition)")
_reg("c3x", 4, 0, _const(_ctrl(X, 3)), "triply controlled X", permutation=True, num_controls=3)
_reg("c3sqrtx", 4, 0, _const(_ctrl(SX, 3)), "triply controlled √X", num_controls=3)
_reg("rc3x", 4, 0, _const(_rc3x()), "relative-phase 3-controlled X (qelib1 definition)")
_reg("c4x", 5, 0, _const(_ctrl(X, 4)), "4-controlled X", permutation=True, num_controls=4)

#: Gates the 2017 qelib1.inc (Cross et al.) defines, plus the built-ins U and CX.
QELIB1_2017: frozenset[str] = frozenset({
    "u3", "u2", "u1", "cx", "id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "rx", "ry", "rz",
    "cz", "cy", "ch", "ccx", "crz", "cu1", "cu3",
})
#: Gates Qiskit's qelib1.inc adds over the 2017 one.
QISKIT_QELIB1_EXTRA: frozenset[str] = frozenset({
    "u0", "u", "p", "sx", "sxdg", "swap", "cswap", "crx", "cry", "cp", "csx", "cu", "rxx", "rzz",
    "rccx", "rc3x", "c3x", "c3sqrtx", "c4x",
})
#: Names that are not gates but instructions.
NON_GATE_INSTRUCTIONS: frozenset[str] = frozenset({"measure", "reset", "barrier", "unitary"})

_SELF_INVERSE = {"id", "x", "y", "z", "h", "CX", "cx", "cy", "cz", "ch", "swap", "ccx", "ccz",
                 "cswap", "c3x", "c4x", "u0"}
_INVERSE_PAIRS = {"s": "sdg", "sdg": "s", "t": "tdg", "tdg": "t", "sx": "sxdg", "sxdg": "sx",
                  "cs": "csdg", "csdg": "cs"}
_NEGATE = {"rx", "ry", "rz", "p", "u1", "cp", "cu1", "crx", "cry", "crz", "rxx", "ryy", "rzz",
           "rzx"}


def inverse_of(name: str, params: Sequence[float]) -> tuple[str, tuple[float, ...]] | None:
    """The library gate (name, params) that inverts ``name(params)``, or None if there is none."""
    p = tuple(params)
    if name in _SELF_INVERSE:
        return name, p
    if name in _INVERSE_PAIRS:
        return _INVERSE_PAIRS[name], p
    if name in _NEGATE:
        return name, tuple(-x for x in p)
    if name in ("U", "u3", "u", "cu3"):
        return name, (-p[0], -p[2], -p[1])
    if name == "cu":
        return name, (-p[0], -p[2], -p[1], -p[3])
    if name == "u2":
        return "u3", (-_PI / 2, -p[1], -p[0])
    if name == "r":
        return name, (-p[0], p[1])
    return None


@lru_cache(maxsize=4096)
def _cached_matrix(name: str, params: tuple[float, ...]) -> np.ndarray:
    m = np.asarray(GATES[name].matrix_fn(*params), dtype=complex)
    if m.flags.writeable:
        m.setflags(write=False)
    return m


def gate_matrix(name: str, params: Sequence[float] = ()) -> np.ndarray:
    """The read-only unitary of library gate ``name`` with ``params`` (radians), first qubit leftmost."""
    try:
        g = GATES[name]
    except KeyError:
        raise CircuitError(f"unknown gate {name!r}") from None
    p = tuple(float(x) for x in params)
    if len(p) != g.num_params:
        raise CircuitError(f"gate {name!r} takes {g.num_params} parameter(s), got {len(p)}")
    return _cached_matrix(name, p)
