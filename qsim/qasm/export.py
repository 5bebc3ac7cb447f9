"""Circuit -> OpenQASM 2.0 text that both qsim's loader and Qiskit's ``qiskit.qasm2`` load.

The text starts with ``OPENQASM 2.0;`` and ``include "qelib1.inc";``, then the gate definitions
the instructions need, the registers in declaration order, and one statement per instruction.

* Gates of the 2017 ``qelib1.inc`` (``QELIB1_2017``), of Qiskit's extended one
  (``QISKIT_QELIB1_EXTRA``) and the built-ins ``U``/``CX`` (each gate's ``GateDef.library``) are
  written by name, except ``u0(γ)`` with a non-integer γ (Qiskit refuses it), written as the
  identical ``id``.
* The other library gates (``ryy rzx ecr iswap dcx r cs csdg ccz``) are written as ``gate``
  definitions built from qelib1 gates: their standard decompositions, exact (``GateDef.qasm_body``).
* ``unitary`` on one qubit becomes ``u3`` (ZYZ angles; the global phase is dropped); on two qubits a
  ``gate unitary_k a,b`` defined by a cosine-sine decomposition into ``u3 u1 cu3 ry cx`` (exact up
  to a global phase). Larger unitaries raise :class:`~qsim.errors.CircuitError`.
* The circuit's own definitions are written in dependency order. A definition, register or formal
  name that is not a valid OpenQASM 2 identifier for both loaders (lowercase first letter, not a
  keyword), or that would clash with a qelib1 gate or another global name, is renamed consistently.
* Floats use ``repr`` (shortest round-tripping form, at most 17 significant digits); a value that is
  *exactly* a simple multiple of pi (as the parser computes it) is written ``pi/4``, ``3*pi/2``...

>>> from qsim import Circuit
>>> print(to_qasm(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])))
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q[0] -> c[0];
measure q[1] -> c[1];
<BLANKLINE>
"""

from __future__ import annotations

import cmath
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import CircuitError
from ..gates import GATES, QasmBody, u_matrix
from ..ir_view import CircuitLike, GateDefinitionLike, InstructionLike

__all__ = ["to_qasm", "format_float", "u3_angles", "two_qubit_ops"]


#: Library gates OpenQASM 2 knows by name (a built-in or a gate of either qelib1.inc).
_WRITTEN_BY_NAME = frozenset(n for n, g in GATES.items() if g.library is not None)
# The order these definitions have always been written in, kept so that exported text does not
# change; a new gate needs no entry here: unlisted ones follow, in library order.
_OLD_ORDER = ("ryy", "rzx", "ecr", "iswap", "dcx", "r", "cs", "csdg", "ccz")
#: Library gates written through a ``gate`` definition, in the order the definitions are written.
_EXTRA_BODIES: dict[str, QasmBody] = {
    n: g.qasm_body
    for n, g in sorted(GATES.items(), key=lambda item: (
        _OLD_ORDER.index(item[0]) if item[0] in _OLD_ORDER else len(_OLD_ORDER)))
    if g.qasm_body is not None}
#: Gate names the exported include provides (either loader) or that Qiskit's legacy mode treats
#: specially: a user definition with one of these names is renamed.
_TAKEN_BY_LIBRARY = _WRITTEN_BY_NAME | {"delay"}
_KEYWORDS = frozenset({
    "OPENQASM", "include", "qreg", "creg", "gate", "opaque", "measure", "reset", "barrier", "if",
    "pi", "sin", "cos", "tan", "exp", "ln", "sqrt", "U", "CX",
})
_IDENT = re.compile(r"[a-z][A-Za-z0-9_]*\Z")


# --- numbers -----------------------------------------------------------------------------------
def _pi_forms() -> list[tuple[int, int]]:
    forms = []
    for d in (1, 2, 3, 4, 6, 8, 12, 16, 32, 64):
        for k in range(1, 16 * d + 1):
            if math.gcd(k, d) == 1:
                forms.append((k, d))
    return forms


_PI_FORMS: dict[float, str] = {}
for _k, _d in _pi_forms():
    # Evaluated exactly as a parser evaluates the text: left to right, in doubles.
    _text = "pi" if _k == 1 else f"{_k}*pi"
    _value = math.pi if _k == 1 else _k * math.pi
    if _d != 1:
        _text += f"/{_d}"
        _value = _value / _d
    _PI_FORMS.setdefault(_value, _text)


def format_float(x: float) -> str:
    """A float as OpenQASM text that parses back to exactly the same double.

    Exact simple multiples of pi are written symbolically (``pi/4``, ``-3*pi/2``); everything else
    with ``repr`` (shortest round-tripping decimal, at most 17 significant digits).

    >>> format_float(math.pi / 2), format_float(-0.1), format_float(2.0)
    ('pi/2', '-0.1', '2.0')
    """
    x = float(x)
    if not math.isfinite(x):
        raise CircuitError(f"cannot write the non-finite parameter {x!r} in OpenQASM 2")
    if x == 0:
        return "0"
    text = _PI_FORMS.get(abs(x))
    if text is not None:
        return text if x > 0 else "-" + text
    return repr(x)


def _format_param(p: Any) -> str:
    if isinstance(p, (int, float, np.integer, np.floating)):
        return format_float(float(p))
    return str(p)


# --- one- and two-qubit unitaries ---------------------------------------------------------------
def u3_angles(m: np.ndarray) -> tuple[float, float, float, float]:
    """ZYZ angles of a 2x2 unitary: ``(theta, phi, lam, alpha)`` with
    ``m == exp(i*alpha) * U(theta, phi, lam)`` (Qiskit's U / qelib1's u3)."""
    m = np.asarray(m, dtype=complex)
    det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
    v = m / cmath.sqrt(det)  # in SU(2): [[a, -conj(b)], [b, conj(a)]]
    a, b = v[0, 0], v[1, 0]
    theta = 2.0 * math.atan2(abs(b), abs(a))
    pa, pb = cmath.phase(a), cmath.phase(b)
    phi, lam = pb - pa, -pa - pb
    alpha = cmath.phase(np.vdot(u_matrix(theta, phi, lam), m))
    return theta, phi, lam, alpha


Op = tuple[str, tuple[float, ...], tuple[int, ...]]


def _multiplexed(m0: np.ndarray, m1: np.ndarray) -> list[Op]:
    """``|0><0|⊗m0 + |1><1|⊗m1`` (control qubit 0, target qubit 1), up to a global phase:
    ``m0`` on the target, then controlled ``m1 m0†`` (its phase on the control)."""
    t0, p0, l0, _ = u3_angles(m0)
    t1, p1, l1, alpha = u3_angles(m1 @ m0.conj().T)
    return [("u3", (t0, p0, l0), (1,)), ("u1", (alpha,), (0,)), ("cu3", (t1, p1, l1), (0, 1))]


def _ops_matrix(ops: Sequence[Op]) -> np.ndarray:
    from ..kron import embed

    m = np.eye(4, dtype=complex)
    for name, params, qubits in ops:
        m = embed(GATES[name].matrix_fn(*params), qubits, 2) @ m
    return m


def two_qubit_ops(u: np.ndarray) -> list[Op]:
    """An exact decomposition (up to a global phase) of a 4x4 unitary into qelib1 gates.

    Cosine-sine decomposition ``u = (L0 ⊕ L1) · CS · (R0 ⊕ R1)`` (blocks indexed by qubit 0, the
    leftmost factor): the two multiplexed one-qubit gates become ``u3; u1; cu3`` each and the
    multiplexed ``ry`` on qubit 0 becomes ``ry; cx; ry; cx``. Returns ``(name, params, qubits)``
    in application order, qubits 0/1 meaning the unitary's first/second qubit.
    """
    from scipy.linalg import cossin

    u = np.asarray(u, dtype=complex)
    (l0, l1), theta, (r0, r1) = cossin(u, p=2, q=2, separate=True)
    a0, a1 = 2.0 * float(theta[0]), 2.0 * float(theta[1])
    ops = _multiplexed(r0, r1)
    ops += [("ry", ((a0 + a1) / 2,), (0,)), ("cx", (), (1, 0)),
            ("ry", ((a0 - a1) / 2,), (0,)), ("cx", (), (1, 0))]
    ops += _multiplexed(l0, l1)
    got = _ops_matrix(ops)
    if abs(abs(np.vdot(got, u)) - 4.0) > 1e-9:  # |tr(got† u)| == 4 iff equal up to a phase
        raise CircuitError("internal error: two-qubit decomposition does not reproduce the matrix")
    return ops


# --- names ------------------------------------------------------------------------------------
class _Names:
    """Allocates global OpenQASM names that are valid and distinct."""

    def __init__(self) -> None:
        self.taken: set[str] = set(_TAKEN_BY_LIBRARY | _KEYWORDS)

    def claim(self, wanted: str) -> str:
        base = _sanitize(wanted)
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name


def _sanitize(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not s or not ("a" <= s[0] <= "z"):
        s = "g" + ("_" if s and s[0] != "_" else "") + s
    return s


def _valid_local(name: str, taken: set[str]) -> bool:
    return bool(_IDENT.match(name)) and name not in _KEYWORDS and name not in taken


def _local_names(names: Sequence[str], prefix: str, avoid: Sequence[str] = ()) -> list[str]:
    """Formal names of a definition: kept when valid and distinct (also from ``avoid``)."""
    out: list[str] = []
    for i, n in enumerate(names):
        if not _valid_local(n, set(out) | set(avoid)):
            k = i
            n = f"{prefix}{k}"
            while not _valid_local(n, set(out) | set(names) | set(avoid)):
                k += 1
                n = f"{prefix}{k}"
        out.append(n)
    return out


def _rename_expr(p: Any, mapping: dict[str, str]) -> Any:
    """Rename parameter references inside an expression tree (floats pass through)."""
    from ..expr import BinOp, Call, Param, UnaryOp

    if isinstance(p, Param):
        return Param(mapping.get(p.name, p.name))
    if isinstance(p, UnaryOp):
        return replace(p, operand=_rename_expr(p.operand, mapping))
    if isinstance(p, BinOp):
        return replace(p, left=_rename_expr(p.left, mapping), right=_rename_expr(p.right, mapping))
    if isinstance(p, Call):
        return replace(p, arg=_rename_expr(p.arg, mapping))
    return p


def _definition_order(defs: Mapping[str, GateDefinitionLike]) -> list[str]:
    """Definitions so that each comes after those its body uses (stable otherwise)."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise CircuitError(f"gate definitions are recursive: {' -> '.join(path + (name,))}")
        state[name] = 1
        body = defs[name].body or ()
        for op in body:
            if op.name in defs and op.name != name:
                visit(op.name, path + (name,))
            elif op.name == name:
                raise CircuitError(f"gate definition {name!r} uses itself")
        state[name] = 2
        order.append(name)

    for name in defs:
        visit(name, ())
    return order


# --- the exporter -------------------------------------------------------------------------------
def to_qasm(circuit: CircuitLike) -> str:
    """OpenQASM 2.0 text for ``circuit`` (see the module docstring for what is written how).

    Loading the text back (``qsim.loads_qasm``) gives an equal circuit when every gate is a qelib1
    gate or one of the circuit's definitions with valid names; otherwise an equivalent one (same
    state up to a global phase). Raises CircuitError for a ``unitary`` on more than two qubits.
    """
    unbound = {name: None for ins in circuit.instructions for p in ins.params
               if not isinstance(p, (int, float)) for name in getattr(p, "names", list)()}
    if unbound:
        raise CircuitError(f"to_qasm: the circuit has unbound parameters ({', '.join(unbound)});"
                           " an OpenQASM 2 program is numeric: bind them first (circuit.bind)")
    names = _Names()
    defs = circuit.definitions
    def_names = {name: names.claim(name) for name in defs}
    qreg_names = [names.claim(r) for r, _ in circuit.qregs]
    creg_names = {r: names.claim(r) for r, _ in circuit.cregs}

    qubit_ref: list[str] = []
    for (_, size), rn in zip(circuit.qregs, qreg_names):
        qubit_ref.extend(f"{rn}[{i}]" for i in range(size))
    clbit_ref: list[str] = []
    for (r, size) in circuit.cregs:
        clbit_ref.extend(f"{creg_names[r]}[{i}]" for i in range(size))

    # Library gates that need a definition, with their dependencies.
    extras_needed: set[str] = set()

    def need_extra(name: str) -> None:
        if name not in extras_needed:
            for dep in _EXTRA_BODIES[name].uses:
                need_extra(dep)
            extras_needed.add(name)

    def resolve(name: str, where: str) -> str:
        if name in defs:
            return def_names[name]
        if name in _WRITTEN_BY_NAME:
            return name
        if name in _EXTRA_BODIES:
            need_extra(name)
            return "{extra:" + name + "}"
        raise CircuitError(f"{where}: gate {name!r} is neither a library gate nor defined")

    # Definitions (their text may refer to extras, resolved once all are known).
    def_lines: list[str] = []
    for name in _definition_order(defs):
        def_lines.extend(_definition_text(defs[name], def_names[name], resolve))

    unitary_lines: list[str] = []
    body_lines: list[str] = []
    for pos, ins in enumerate(circuit.instructions):
        text = _instruction_text(circuit, pos, ins, qubit_ref, clbit_ref, creg_names, resolve,
                                 names, unitary_lines)
        if text is not None:
            body_lines.append(text)

    extra_names = {n: names.claim(n) for n in _EXTRA_BODIES if n in extras_needed}
    extra_lines: list[str] = []
    for n, d in _EXTRA_BODIES.items():
        if n in extras_needed:
            head = extra_names[n] + (f"({','.join(d.params)})" if d.params else "")
            uses = {u: extra_names[u] for u in d.uses}
            stmts = " ".join(s.format(**uses) for s in d.body)
            extra_lines.append(f"gate {head} {','.join(d.qubits)} {{ {stmts} }}")

    def fill(line: str) -> str:
        return re.sub(r"\{extra:(\w+)\}", lambda m: extra_names[m.group(1)], line)

    lines = ['OPENQASM 2.0;', 'include "qelib1.inc";']
    lines += extra_lines
    lines += [fill(x) for x in def_lines]
    lines += unitary_lines
    lines += [f"qreg {rn}[{size}];" for (_, size), rn in zip(circuit.qregs, qreg_names)]
    lines += [f"creg {creg_names[r]}[{size}];" for r, size in circuit.cregs]
    lines += [fill(x) for x in body_lines]
    return "\n".join(lines) + "\n"


def _definition_text(d: GateDefinitionLike, name: str, resolve: Callable[[str, str], str]
                     ) -> list[str]:
    params = _local_names(d.params, "p")
    qubits = _local_names(d.qubits, "q", avoid=params)
    pmap = {old: new for old, new in zip(d.params, params) if old != new}
    head = name + (f"({','.join(params)})" if params else "")
    if d.body is None:
        return [f"opaque {head} {','.join(qubits)};"]
    stmts = []
    for op in d.body:
        if op.name == "barrier":
            stmts.append(f"barrier {','.join(qubits[i] for i in op.qubits)};")
            continue
        call = resolve(op.name, f"definition of {d.name!r}")
        if (call == "u0" and isinstance(op.params[0], (int, float))
                and not float(op.params[0]).is_integer()):
            stmts.append(f"id {qubits[op.qubits[0]]};")  # as for instructions, below
            continue
        ps = [_format_param(_rename_expr(p, pmap) if pmap else p) for p in op.params]
        if ps:
            call += "(" + ", ".join(ps) + ")"
        stmts.append(f"{call} {','.join(qubits[i] for i in op.qubits)};")
    return [f"gate {head} {','.join(qubits)} {{ {' '.join(stmts)} }}"]


def _instruction_text(circuit: CircuitLike, pos: int, ins: InstructionLike, qubit_ref: list[str],
                      clbit_ref: list[str], creg_names: dict[str, str],
                      resolve: Callable[[str, str], str],
                      names: _Names, unitary_lines: list[str]) -> str | None:
    prefix = ""
    if ins.condition is not None:
        prefix = f"if({creg_names[ins.condition[0]]}=={int(ins.condition[1])}) "
    qs = ",".join(qubit_ref[q] for q in ins.qubits)
    if ins.name == "measure":
        return f"{prefix}measure {qs} -> {clbit_ref[ins.clbits[0]]};"
    if ins.name == "reset":
        return f"{prefix}reset {qs};"
    if ins.name == "barrier":
        return f"barrier {qs};" if ins.qubits else None
    if ins.name == "unitary" and ins.name not in circuit.definitions:
        m = ins.matrix
        k = len(ins.qubits)
        if m is None or k > 2:
            label = f" ({ins.label!r})" if ins.label else ""
            raise CircuitError(f"cannot export instruction #{pos} 'unitary'{label} on {k} qubits "
                               f"{list(ins.qubits)} to OpenQASM 2: only 1- and 2-qubit unitaries "
                               "are decomposed")
        if k == 1:
            t, p, lam, _ = u3_angles(m)
            return f"{prefix}u3({format_float(t)}, {format_float(p)}, {format_float(lam)}) {qs};"
        gname = names.claim(f"unitary_{pos}")
        stmts = []
        formal = ("a", "b")
        for name, params, qubits in two_qubit_ops(m):
            call = name + ("(" + ", ".join(format_float(x) for x in params) + ")" if params
                           else "")
            stmts.append(f"{call} {','.join(formal[i] for i in qubits)};")
        unitary_lines.append(f"gate {gname} a,b {{ {' '.join(stmts)} }}")
        return f"{prefix}{gname} {qs};"
    if (ins.name == "u0" and "u0" not in circuit.definitions
            and not float(ins.params[0]).is_integer()):
        # u0(gamma) is the identity "idle for gamma cycles"; Qiskit refuses a non-integer gamma.
        return f"{prefix}id {qs};"
    call = resolve(ins.name, f"instruction #{pos}")
    if ins.params:
        call += "(" + ", ".join(format_float(p) for p in ins.params) + ")"
    return f"{prefix}{call} {qs};"
