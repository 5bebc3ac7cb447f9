"""The gate library: every gate as one plain record (:class:`GateDef`): name, arity, parameter count,
matrix function, flags, and what the rest of qsim needs to know about it (its inverse, how diagrams
draw it, where OpenQASM 2 gets it from). Adding a gate means one ``_reg(...)`` call here.

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
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from .errors import CircuitError
from .kron import controlled, embed

#: How a gate is inverted: params -> (name, params) of the library gate that undoes it.
InverseRule = Callable[[tuple[float, ...]], tuple[str, tuple[float, ...]]]
#: How :mod:`qsim.draw` shows a gate: one box (label on the first qubit, ``#2``... on the others),
#: controls ``●`` plus the label on the target qubits, or the same label on every qubit.
DrawStyle = Literal["box", "controlled", "symmetric"]
#: Where OpenQASM 2 gets a gate: a language built-in (``U``, ``CX``), the 2017 ``qelib1.inc``,
#: Qiskit's extended ``qelib1.inc``; None: nowhere, so the exporter writes a ``gate`` definition.
Library = Literal["builtin", "2017", "qiskit"]


@dataclass(frozen=True)
class QasmBody:
    """An OpenQASM 2 ``gate`` definition for a library gate that no ``qelib1.inc`` defines.

    ``body`` lines use qelib1 gates and the formal ``params``/``qubits``; ``{name}`` stands for
    another such library gate, written through its own definition (and renamed if it must be).
    """

    params: tuple[str, ...]
    qubits: tuple[str, ...]
    body: tuple[str, ...]

    @property
    def uses(self) -> tuple[str, ...]:
        """The library gates written as ``{name}`` in the body, in order of first use."""
        found = (f for line in self.body for _, f, _, _ in string.Formatter().parse(line) if f)
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class GateDef:
    """One gate of the library: everything qsim knows about it, in one record.

    ``matrix_fn(*params)`` returns the ``2**num_qubits`` square unitary (first qubit leftmost).
    ``diagonal``: the matrix is diagonal. ``permutation``: a 0/1 permutation matrix.
    ``num_controls``: the leading qubits are controls (on |1>) of the remaining target block.
    ``inverse``: the rule giving the library gate that undoes this one (None: there is none).
    ``label`` and ``draw_style``: how text diagrams show it (for ``"controlled"`` and
    ``"symmetric"`` the label is the target's / every qubit's symbol).
    ``library``: which OpenQASM 2 source defines it; ``qasm_body``: the definition the exporter
    writes when none does. ``generator``: the Pauli string P (first qubit leftmost) when the gate
    is exactly ``exp(-iθ/2 P)`` of its one parameter θ.
    """

    name: str
    num_qubits: int
    num_params: int
    matrix_fn: Callable[..., np.ndarray]
    diagonal: bool = False
    permutation: bool = False
    num_controls: int = 0
    doc: str = ""
    inverse: InverseRule | None = None
    label: str = ""
    draw_style: DrawStyle = "box"
    library: Library | None = None
    qasm_body: QasmBody | None = None
    generator: str | None = None


GATES: dict[str, GateDef] = {}


def _reg(name: str, num_qubits: int, num_params: int, fn: Callable[..., np.ndarray],
         doc: str, *, diagonal: bool = False, permutation: bool = False,
         num_controls: int = 0, inverse: str | InverseRule | None = None,
         label: str | None = None, draw: DrawStyle | None = None,
         library: Library | None = None, qasm_body: QasmBody | None = None,
         generator: str | None = None) -> None:
    """Register a gate. ``inverse`` is a rule or, compactly, ``"self"`` (its own inverse),
    ``"neg"`` (the same gate with every parameter negated) or the name of the inverse gate (same
    parameters). ``label`` defaults to the name; ``draw`` to ``"controlled"`` when the gate has
    controls, else ``"box"``."""
    GATES[name] = GateDef(
        name, num_qubits, num_params, fn, diagonal, permutation, num_controls, doc,
        inverse=_inverse_rule(name, inverse), label=label or name,
        draw_style=draw or ("controlled" if num_controls else "box"), library=library,
        qasm_body=qasm_body, generator=generator)


def _inverse_rule(name: str, spec: str | InverseRule | None) -> InverseRule | None:
    if spec is None or callable(spec):
        return spec
    if spec == "self":
        return lambda p: (name, p)
    if spec == "neg":
        return lambda p: (name, tuple(-x for x in p))
    return lambda p: (spec, p)


def _u_inverse(name: str) -> InverseRule:
    """U(θ,φ,λ)⁻¹ = U(-θ,-λ,-φ); further parameters (cu's phase γ) are negated."""
    return lambda p: (name, (-p[0], -p[2], -p[1], *(-x for x in p[3:])))


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
_reg("U", 1, 3, u_matrix, "OpenQASM built-in U(θ,φ,λ), Qiskit's matrix", inverse=_u_inverse("U"),
     library="builtin")
_reg("u3", 1, 3, u_matrix, "u3(θ,φ,λ) = U(θ,φ,λ)", inverse=_u_inverse("u3"), label="U3",
     library="2017")
_reg("u", 1, 3, u_matrix, "u(θ,φ,λ) = U(θ,φ,λ) (Qiskit)", inverse=_u_inverse("u"), label="U",
     library="qiskit")
_reg("u2", 1, 2, lambda phi, lam: u_matrix(_PI / 2, phi, lam), "u2(φ,λ) = U(π/2,φ,λ)",
     inverse=lambda p: ("u3", (-_PI / 2, -p[1], -p[0])), label="U2", library="2017")
_reg("u1", 1, 1, p_matrix, "u1(λ) = diag(1, e^{iλ})", diagonal=True, inverse="neg", label="U1",
     library="2017")
_reg("p", 1, 1, p_matrix, "phase p(λ) = diag(1, e^{iλ})", diagonal=True, inverse="neg",
     label="P", library="qiskit")
_reg("u0", 1, 1, lambda gamma: np.eye(2, dtype=complex), "u0(γ): identity (legacy idle gate)",
     diagonal=True, permutation=True, inverse="self", label="U0", library="qiskit")
_reg("id", 1, 0, _const(I2), "identity", diagonal=True, permutation=True, inverse="self",
     label="I", library="2017")
_reg("x", 1, 0, _const(X), "Pauli X", permutation=True, inverse="self", label="X",
     library="2017")
_reg("y", 1, 0, _const(Y), "Pauli Y", inverse="self", label="Y", library="2017")
_reg("z", 1, 0, _const(Z), "Pauli Z", diagonal=True, inverse="self", label="Z", library="2017")
_reg("h", 1, 0, _const(H), "Hadamard", inverse="self", label="H", library="2017")
_reg("s", 1, 0, _const(S), "S = diag(1, i)", diagonal=True, inverse="sdg", label="S",
     library="2017")
_reg("sdg", 1, 0, _const(S.conj().T), "S† = diag(1, -i)", diagonal=True, inverse="s", label="S†",
     library="2017")
_reg("t", 1, 0, _const(T), "T = diag(1, e^{iπ/4})", diagonal=True, inverse="tdg", label="T",
     library="2017")
_reg("tdg", 1, 0, _const(T.conj().T), "T† = diag(1, e^{-iπ/4})", diagonal=True, inverse="t",
     label="T†", library="2017")
_reg("sx", 1, 0, _const(SX), "√X = (1/2)[[1+i, 1-i], [1-i, 1+i]]", inverse="sxdg", label="√X",
     library="qiskit")
_reg("sxdg", 1, 0, _const(SX.conj().T), "√X†", inverse="sx", label="√X†", library="qiskit")
_reg("rx", 1, 1, rx_matrix, "rx(θ) = exp(-iθX/2)", inverse="neg", label="Rx", library="2017",
     generator="X")
_reg("ry", 1, 1, ry_matrix, "ry(θ) = exp(-iθY/2)", inverse="neg", label="Ry", library="2017",
     generator="Y")
_reg("rz", 1, 1, rz_matrix, "rz(λ) = exp(-iλZ/2) = diag(e^{-iλ/2}, e^{iλ/2})", diagonal=True,
     inverse="neg", label="Rz", library="2017", generator="Z")
_reg("r", 1, 2, r_matrix, "r(θ,φ) = exp(-iθ/2 (cos φ X + sin φ Y)) (Qiskit)",
     inverse=lambda p: ("r", (-p[0], p[1])), label="R",
     qasm_body=QasmBody(("theta", "phi"), ("a",), ("u3(theta, phi - pi/2, -phi + pi/2) a;",)))

# Two-qubit gates (first qubit = control where there is one).
_reg("CX", 2, 0, _const(_CX), "OpenQASM built-in CNOT", permutation=True, num_controls=1,
     inverse="self", label="X", library="builtin")
_reg("cx", 2, 0, _const(_CX), "CNOT = |0><0|⊗I + |1><1|⊗X", permutation=True, num_controls=1,
     inverse="self", label="X", library="2017")
_reg("cy", 2, 0, _const(_ctrl(Y)), "controlled Y", num_controls=1, inverse="self", label="Y",
     library="2017")
_reg("cz", 2, 0, _const(_ctrl(Z)), "controlled Z", diagonal=True, num_controls=1,
     inverse="self", label="●", draw="symmetric", library="2017")
_reg("ch", 2, 0, _const(_ctrl(H)), "controlled H", num_controls=1, inverse="self", label="H",
     library="2017")
_reg("cs", 2, 0, _const(_ctrl(S)), "controlled S", diagonal=True, num_controls=1,
     inverse="csdg", label="S", qasm_body=QasmBody((), ("a", "b"), ("cu1(pi/2) a,b;",)))
_reg("csdg", 2, 0, _const(_ctrl(S.conj().T)), "controlled S†", diagonal=True, num_controls=1,
     inverse="cs", label="S†", qasm_body=QasmBody((), ("a", "b"), ("cu1(-pi/2) a,b;",)))
_reg("csx", 2, 0, _const(_ctrl(SX)), "controlled √X", num_controls=1, label="√X",
     library="qiskit")
_reg("swap", 2, 0, _const(np.eye(4)[[0, 2, 1, 3]]), "SWAP", permutation=True, inverse="self",
     label="×", draw="symmetric", library="qiskit")
_reg("iswap", 2, 0, _const([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]]),
     "iSWAP", label="iSwap", draw="symmetric",
     qasm_body=QasmBody((), ("a", "b"), ("s a;", "s b;", "h a;", "cx a,b;", "cx b,a;", "h b;")))
_reg("dcx", 2, 0, _const(_compose(2, [(_CX, (0, 1)), (_CX, (1, 0))])),
     "double CNOT: cx a,b; cx b,a", permutation=True, label="DCX",
     qasm_body=QasmBody((), ("a", "b"), ("cx a,b;", "cx b,a;")))
_reg("cp", 2, 1, lambda lam: _ctrl(p_matrix(lam)), "controlled phase diag(1,1,1,e^{iλ})",
     diagonal=True, num_controls=1, inverse="neg", label="P", library="qiskit")
_reg("cu1", 2, 1, lambda lam: _ctrl(p_matrix(lam)), "cu1(λ) = cp(λ)", diagonal=True,
     num_controls=1, inverse="neg", label="U1", library="2017")
_reg("crx", 2, 1, lambda t: _ctrl(rx_matrix(t)), "controlled rx", num_controls=1, inverse="neg",
     label="Rx", library="qiskit")
_reg("cry", 2, 1, lambda t: _ctrl(ry_matrix(t)), "controlled ry", num_controls=1, inverse="neg",
     label="Ry", library="qiskit")
_reg("crz", 2, 1, lambda t: _ctrl(rz_matrix(t)), "controlled rz", diagonal=True,
     num_controls=1, inverse="neg", label="Rz", library="2017")
_reg("cu3", 2, 3, lambda t, f, l: _ctrl(u_matrix(t, f, l)), "controlled U(θ,φ,λ)",
     num_controls=1, inverse=_u_inverse("cu3"), label="U3", library="2017")
_reg("cu", 2, 4, lambda t, f, l, g: _ctrl(cmath.exp(1j * g) * u_matrix(t, f, l)),
     "Qiskit's cu(θ,φ,λ,γ): controlled e^{iγ}U(θ,φ,λ)", num_controls=1,
     inverse=_u_inverse("cu"), label="U", library="qiskit")
_reg("rxx", 2, 1, _pauli_rotation(X, X), "exp(-iθ/2 X⊗X)", inverse="neg", label="Rxx",
     draw="symmetric", library="qiskit", generator="XX")
_reg("ryy", 2, 1, _pauli_rotation(Y, Y), "exp(-iθ/2 Y⊗Y)", inverse="neg", label="Ryy",
     draw="symmetric", generator="YY",
     qasm_body=QasmBody(("theta",), ("a", "b"), (
         "rx(pi/2) a;", "rx(pi/2) b;", "cx a,b;", "rz(theta) b;", "cx a,b;", "rx(-pi/2) a;",
         "rx(-pi/2) b;")))
_reg("rzz", 2, 1, _rzz, "exp(-iθ/2 Z⊗Z)", diagonal=True, inverse="neg", label="Rzz",
     draw="symmetric", library="qiskit", generator="ZZ")
_reg("rzx", 2, 1, _pauli_rotation(Z, X), "exp(-iθ/2 Z⊗X): Z on the first qubit, X on the second",
     inverse="neg", label="Rzx", generator="ZX",
     qasm_body=QasmBody(("theta",), ("a", "b"),
                        ("h b;", "cx a,b;", "rz(theta) b;", "cx a,b;", "h b;")))
_reg("ecr", 2, 0, _const(_compose(2, [(_pauli_rotation(Z, X)(_PI / 4), (0, 1)), (X, (0,)),
                                      (_pauli_rotation(Z, X)(-_PI / 4), (0, 1))])),
     "echoed cross-resonance: rzx(π/4) a,b; x a; rzx(-π/4) a,b", label="ECR",
     qasm_body=QasmBody((), ("a", "b"), ("{rzx}(pi/4) a,b;", "x a;", "{rzx}(-pi/4) a,b;")))

# Three and more qubits.
_reg("ccx", 3, 0, _const(_ctrl(X, 2)), "Toffoli", permutation=True, num_controls=2,
     inverse="self", label="X", library="2017")
_reg("ccz", 3, 0, _const(_ctrl(Z, 2)), "doubly controlled Z", diagonal=True, num_controls=2,
     inverse="self", label="●", draw="symmetric",
     qasm_body=QasmBody((), ("a", "b", "c"), ("h c;", "ccx a,b,c;", "h c;")))
_reg("cswap", 3, 0, _const(_ctrl(np.eye(4)[[0, 2, 1, 3]])), "Fredkin", permutation=True,
     num_controls=1, inverse="self", label="×", library="qiskit")


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


_reg("rccx", 3, 0, _const(_rccx()), "relative-phase Toffoli (qelib1 definition)", label="RCCX",
     library="qiskit")
_reg("c3x", 4, 0, _const(_ctrl(X, 3)), "triply controlled X", permutation=True, num_controls=3,
     inverse="self", label="X", library="qiskit")
_reg("c3sqrtx", 4, 0, _const(_ctrl(SX, 3)), "triply controlled √X", num_controls=3, label="√X",
     library="qiskit")
_reg("rc3x", 4, 0, _const(_rc3x()), "relative-phase 3-controlled X (qelib1 definition)",
     label="RC3X", library="qiskit")
_reg("c4x", 5, 0, _const(_ctrl(X, 4)), "4-controlled X", permutation=True, num_controls=4,
     inverse="self", label="X", library="qiskit")

#: Gates the 2017 qelib1.inc (Cross et al.) defines (the built-ins U and CX are ``"builtin"``).
QELIB1_2017: frozenset[str] = frozenset(n for n, g in GATES.items() if g.library == "2017")
#: Gates Qiskit's qelib1.inc adds over the 2017 one.
QISKIT_QELIB1_EXTRA: frozenset[str] = frozenset(
    n for n, g in GATES.items() if g.library == "qiskit")
#: Names that are not gates but instructions.
NON_GATE_INSTRUCTIONS: frozenset[str] = frozenset({"measure", "reset", "barrier", "unitary"})


def inverse_of(name: str, params: Sequence[float]) -> tuple[str, tuple[float, ...]] | None:
    """The library gate (name, params) that inverts ``name(params)``, or None if there is none."""
    g = GATES.get(name)
    if g is None or g.inverse is None:
        return None
    return g.inverse(tuple(params))


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
