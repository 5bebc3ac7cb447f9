"""Circuits as plain data: a list of instructions over numbered qubits and classical bits.

Qubits and classical bits are numbered in register declaration order (``qregs``/``cregs``); qubit 0
is the leftmost Kronecker factor and the leftmost bitstring character. ``Circuit(2)`` has one
quantum register ``q`` of 2 qubits and no classical bits; ``Circuit(2, 2)`` adds register ``c``.

>>> c = Circuit(2).h(0).cx(0, 1).measure_all()
>>> len(c)
4
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeGuard

import numpy as np

from .errors import CircuitError
from .expr import Expr, Param, evaluate_param
from .gates import GATES, gate_matrix, inverse_of
from .resources import DEFAULT_MAX_GATES

#: Deepest chain of gate definitions :meth:`Circuit.expand` follows (an OpenQASM file's definitions
#: only use earlier ones, so only a recursive definition built in Python can reach it).
MAX_DEFINITION_DEPTH = 100_000


# --- argument checks (the Python API's; the QASM loader checks its own and skips these) ----------
def _show(value: Any) -> str:
    """``repr(value)`` on one line and at most 60 characters, for error messages."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _as_index(value: Any) -> int | None:
    """``value`` as an index (an int, a numpy integer, anything with ``__index__``) or None when it
    is not one. Bools are not indices, nor are floats, even integral ones (``2.0``)."""
    if type(value) is int:
        return value
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _index(value: Any, where: str, what: str) -> int:
    """``value`` as an index, else CircuitError ``"h: qubit must be an integer index, got 1.5"``."""
    i = _as_index(value)
    if i is None:
        raise CircuitError(f"{where}: {what} must be an integer index, got {_show(value)}")
    return i


def _is_many(value: Any, where: str, what: str) -> TypeGuard[Iterable[Any]]:
    """True when ``value`` is a collection of indices, False when it is one index; CircuitError
    for anything else (a float, a string, None)."""
    if _as_index(value) is not None:
        return False
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        return True
    raise CircuitError(f"{where}: {what} must be an integer index, got {_show(value)}")


def _indices(values: Any, where: str, what: str) -> tuple[int, ...]:
    """One index or a collection of them as a tuple of ints, else CircuitError (see
    :func:`_index`). Fast for the common case, a tuple or list of ints."""
    t = type(values)
    if t is tuple or t is list:
        for v in values:
            if type(v) is not int:
                break
        else:
            return tuple(values)
    elif t is int:
        return (values,)
    if _is_many(values, where, what):
        return tuple(_index(v, where, what) for v in values)
    return (_index(values, where, what),)


def _params(values: Any, where: str) -> tuple[float | Expr, ...]:
    """One parameter or a collection of them as a tuple of finite floats, else CircuitError (see
    :func:`_param`). Fast for the common case, a tuple or list of finite floats."""
    t = type(values)
    if t is tuple or t is list:
        for v in values:
            if type(v) is not float or v - v != 0.0:  # v - v is nan for nan and inf
                break
        else:
            return tuple(values)
    elif isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        values = (values,)
    else:
        values = tuple(values)
    return tuple(_param(v, where, i, len(values)) for i, v in enumerate(values))


def _size(value: Any, where: str, what: str, minimum: int) -> int:
    """A register size or count, ``>= minimum``, else CircuitError naming ``what``."""
    i = _as_index(value)
    if i is None or i < minimum:
        kind = "non-negative" if minimum == 0 else "positive"
        raise CircuitError(f"{where}: {what} must be a {kind} integer, got {_show(value)}")
    return i


def _param(value: Any, where: str, pos: int, count: int) -> float | Expr:
    """A gate parameter as a finite float, or a parameter expression (:class:`qsim.Parameter`
    and arithmetic on it) that still names a parameter: ints, floats and numpy real scalars are
    numbers; bools, strings, None, complex numbers and NaN/inf are refused with CircuitError."""
    if type(value) is float:
        x = value
    elif isinstance(value, Expr):
        if value.free_names():
            return value
        try:
            x = value.evaluate()
        except (ArithmeticError, ValueError) as exc:
            raise CircuitError(f"{where}: parameter {value} cannot be evaluated: {exc}") from None
    else:
        what = "parameter" if count == 1 else f"parameter {pos + 1} of {count}"
        if isinstance(value, str):
            raise CircuitError(f"{where}: parameter {value!r} must be a real number or a "
                               f"qsim.Parameter (qsim.Parameter({value!r}) makes a symbol), got "
                               f"{_show(value)}")
        real = isinstance(value, numbers.Real) or (
            isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf")
        if not real or isinstance(value, (bool, np.bool_)):
            raise CircuitError(f"{where}: {what} must be a real number, got {_show(value)}")
        try:
            x = float(value)
        except OverflowError:
            x = math.inf
    if not math.isfinite(x):
        what = "parameter" if count == 1 else f"parameter {pos + 1} of {count}"
        raise CircuitError(f"{where}: {what} must be a finite real number, got "
                           f"{_show(x if math.isnan(x) else value)}")
    return x


class Instruction(NamedTuple):
    """One operation: a gate (library or defined), ``unitary``, ``measure``, ``reset`` or ``barrier``.

    Immutable (instructions are shared between circuits: :meth:`Circuit.copy` copies the list,
    not the instructions); :meth:`replace` makes a changed copy. ``qubits``/``clbits`` are flat
    indices; ``params`` are floats (radians). ``condition`` is ``(creg name, value)``: the
    instruction runs only when that register, read as an unsigned integer with its bit 0 as the
    least significant bit, equals ``value``. ``matrix`` is set only for ``unitary`` (a ``2**k``
    square read-only matrix, first qubit leftmost).
    """

    # A named tuple rather than a frozen dataclass: as cheap to build as a mutable record (files
    # of millions of gates build millions of these), and immutable all the same.
    name: str
    qubits: tuple[int, ...]
    # Numbers, or parameter expressions until bound (lowering refuses those: see compile.lower).
    params: tuple[float, ...] = ()
    clbits: tuple[int, ...] = ()
    condition: tuple[str, int] | None = None
    matrix: np.ndarray | None = None
    label: str | None = None

    def replace(self, **changes: Any) -> Instruction:
        """A copy with the given fields changed (``ins.replace(condition=("c", 1))``)."""
        return self._replace(**changes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instruction):
            return NotImplemented
        if (self.name, self.qubits, self.clbits, self.condition) != (
                other.name, other.qubits, other.clbits, other.condition):
            return False
        if len(self.params) != len(other.params) or not all(
                _same_param(a, b) for a, b in zip(self.params, other.params)):
            return False
        if self.matrix is None or other.matrix is None:
            return self.matrix is None and other.matrix is None
        return self.matrix.shape == other.matrix.shape and bool(
            np.allclose(self.matrix, other.matrix, atol=1e-12))

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __str__(self) -> str:
        s = self.name
        if self.params:
            s += "(" + ", ".join(str(p) if isinstance(p, Expr) else f"{p:.6g}"
                                 for p in self.params) + ")"
        s += " " + ",".join(f"q{q}" for q in self.qubits)
        if self.clbits:
            s += " -> " + ",".join(f"c{b}" for b in self.clbits)
        if self.condition:
            s = f"if({self.condition[0]}=={self.condition[1]}) " + s
        return s


def _binding(values: Any, names: Sequence[str]) -> dict[str, float]:
    """``values`` (a mapping of parameters or names, or a sequence in ``names`` order) as
    ``{name: float}``."""
    if isinstance(values, Mapping):
        env: dict[str, float] = {}
        for key, value in values.items():
            name = key.name if isinstance(key, Param) else key
            if not isinstance(name, str) or name not in names:
                raise CircuitError(f"bind: {key!r} is not a parameter of the circuit (its "
                                   f"parameters: {', '.join(names) or 'none'})")
            env[name] = _number(value, names.index(name), len(names))
        return env
    seq = list(np.ravel(np.asarray(values, dtype=object))) if not isinstance(values, str) else None
    if seq is None or len(seq) != len(names):
        got = "a string" if seq is None else f"{len(seq)} value(s)"
        raise CircuitError(f"bind: expected {len(names)} value(s), one per parameter "
                           f"({', '.join(names) or 'none'}), got {got}")
    return {n: _number(v, i, len(names)) for i, (n, v) in enumerate(zip(names, seq))}


def _number(value: Any, pos: int, count: int) -> float:
    x = _param(value, "bind", pos, count)
    if isinstance(x, Expr):
        raise CircuitError(f"bind: values must be numbers, got the expression {x}")
    return x


def _same_param(a: Any, b: Any) -> bool:
    if isinstance(a, Expr) or isinstance(b, Expr):
        return isinstance(a, Expr) and isinstance(b, Expr) and str(a) == str(b)
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


# Unhashable, as equality is approximate (set after the class: a NamedTuple body takes only fields).
Instruction.__hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class DefinitionOp:
    """One operation inside a gate definition: ``qubits`` index the definition's formal qubits;
    ``params`` are floats or expression nodes over the definition's formal parameter names."""

    name: str
    params: tuple[Any, ...]
    qubits: tuple[int, ...]


@dataclass(frozen=True)
class GateDefinition:
    """A user (or QASM) gate definition; ``body is None`` marks an opaque gate."""

    name: str
    params: tuple[str, ...]
    qubits: tuple[str, ...]
    body: tuple[DefinitionOp, ...] | None

    @property
    def num_qubits(self) -> int:
        return len(self.qubits)

    @property
    def num_params(self) -> int:
        return len(self.params)


class Circuit:
    """A quantum circuit: registers, gate definitions and an ordered list of instructions.

    Build it fluently (``Circuit(2).h(0).cx(0, 1)``; parameters come before qubits:
    ``c.rz(0.3, 2)``), or with :meth:`append`. Every mutating method returns ``self``.
    """

    def __init__(self, num_qubits: int = 0, num_clbits: int = 0, *, name: str | None = None):
        num_qubits = _size(num_qubits, "Circuit", "num_qubits", 0)
        num_clbits = _size(num_clbits, "Circuit", "num_clbits", 0)
        self.qregs: list[tuple[str, int]] = []
        self.cregs: list[tuple[str, int]] = []
        self.instructions: list[Instruction] = []
        self.definitions: dict[str, GateDefinition] = {}
        #: Where each register was declared (``"file:line:col"``), when loaded from OpenQASM.
        self.register_locations: dict[str, str] = {}
        self.name = name
        self._nq = self._nc = 0
        if num_qubits:
            self.add_qreg("q", num_qubits)
        if num_clbits:
            self.add_creg("c", num_clbits)

    # --- registers -----------------------------------------------------------------------------
    @property
    def num_qubits(self) -> int:
        return self._nq

    @property
    def num_clbits(self) -> int:
        return self._nc

    def _check_new_register(self, where: str, name: str, size: Any) -> int:
        if not isinstance(name, str):
            raise CircuitError(f"{where}: name must be a string, got {_show(name)}")
        if any(name == r for r, _ in self.qregs + self.cregs):
            raise CircuitError(f"register {name!r} already exists")
        i = _as_index(size)
        if i is None:
            raise CircuitError(f"{where}: size of register {name!r} must be a positive integer, "
                               f"got {_show(size)}")
        if i < 1:
            raise CircuitError(f"register {name!r} must have size >= 1, got {i}")
        return i

    def add_qreg(self, name: str, size: int) -> int:
        """Add a quantum register; returns the flat index of its qubit 0."""
        size = self._check_new_register("add_qreg", name, size)
        self.qregs.append((name, size))
        self._nq += size
        return self._nq - size

    def add_creg(self, name: str, size: int) -> int:
        """Add a classical register; returns the flat index of its bit 0."""
        size = self._check_new_register("add_creg", name, size)
        self.cregs.append((name, size))
        self._nc += size
        return self._nc - size

    @staticmethod
    def _indices(regs: list[tuple[str, int]], name: str, kind: str) -> range:
        off = 0
        for r, size in regs:
            if r == name:
                return range(off, off + size)
            off += size
        raise CircuitError(f"no {kind} register named {name!r}")

    def qreg_indices(self, name: str) -> range:
        """Flat qubit indices of quantum register ``name``."""
        return self._indices(self.qregs, name, "quantum")

    def creg_indices(self, name: str) -> range:
        """Flat bit indices of classical register ``name`` (bit 0 first)."""
        return self._indices(self.cregs, name, "classical")

    # --- definitions ---------------------------------------------------------------------------
    def define(self, definition: GateDefinition) -> Circuit:
        """Add a gate definition; its name shadows a library gate of the same name."""
        self.definitions[definition.name] = definition
        return self

    def gate_signature(self, name: str) -> tuple[int, int]:
        """(num_qubits, num_params) of a defined or library gate; CircuitError if unknown."""
        d = self.definitions.get(name)
        if d is not None:
            return d.num_qubits, d.num_params
        g = GATES.get(name)
        if g is None:
            raise CircuitError(f"unknown gate {name!r}")
        return g.num_qubits, g.num_params

    # --- appending -----------------------------------------------------------------------------
    def _check_qubits(self, name: str, qubits: tuple[int, ...]) -> None:
        for q in qubits:
            if not 0 <= q < self._nq:
                raise CircuitError(f"{name}: qubit {q} out of range for a circuit of "
                                   f"{self._nq} qubit(s)")
        if len(set(qubits)) != len(qubits):
            raise CircuitError(f"{name}: duplicate qubit arguments {list(qubits)}")

    def append(self, name: str, qubits: Sequence[int] | int,
               params: Sequence[float] | float = (), *, clbits: Sequence[int] | int = (),
               condition: tuple[str, int] | None = None,
               matrix: np.ndarray | None = None) -> Circuit:
        """Append one instruction after validating it (CircuitError names the gate and qubit).

        ``qubits`` (and ``clbits``) are integer indices (numpy integers too; not bools, not
        floats), one or a sequence; ``params`` are finite real numbers (one or a sequence).
        """
        qs = _indices(qubits, name, "qubit")
        cs = _indices(clbits, name, "clbit")
        ps = _params(params, name)
        if name == "barrier":
            self._check_qubits(name, qs)
        elif name in ("measure", "reset"):
            if len(qs) != 1:
                raise CircuitError(f"{name} acts on one qubit, got {len(qs)}")
            self._check_qubits(name, qs)
            if name == "measure":
                if len(cs) != 1 or not 0 <= cs[0] < self._nc:
                    raise CircuitError(f"measure: classical bit {list(cs)} out of range for "
                                       f"{self._nc} bit(s)")
        elif name == "unitary":
            if matrix is None:
                raise CircuitError("unitary needs a matrix")
            matrix = _checked_unitary(matrix, len(qs))
            self._check_qubits(name, qs)
        else:
            nq, npar = self.gate_signature(name)
            if len(qs) != nq:
                raise CircuitError(f"gate {name!r} acts on {nq} qubit(s), got {len(qs)}: "
                                   f"{list(qs)}")
            if len(ps) != npar:
                raise CircuitError(f"gate {name!r} takes {npar} parameter(s), got {len(ps)}")
            self._check_qubits(name, qs)
        if condition is not None:
            condition = self._checked_condition(condition, name)
        self.instructions.append(Instruction(name, qs, ps, cs, condition,  # type: ignore[arg-type]
                                             matrix))
        return self

    def _append_unchecked(self, instruction: Instruction) -> None:
        """Append an instruction already validated by the caller (the QASM loader)."""
        self.instructions.append(instruction)

    def _checked_condition(self, condition: tuple[str, int], where: str) -> tuple[str, int]:
        if not isinstance(condition, (tuple, list)) or len(condition) != 2:
            raise CircuitError(f"{where}: condition must be a (register name, value) pair, got "
                               f"{_show(condition)}")
        reg, value = condition
        if not isinstance(reg, str):
            raise CircuitError(f"{where}: condition register must be a register name (a "
                               f"string), got {_show(reg)}")
        i = _as_index(value)
        if i is None:
            raise CircuitError(f"{where}: condition value must be a non-negative integer, got "
                               f"{_show(value)}")
        value = i
        size = len(self.creg_indices(reg))
        if value < 0 or value.bit_length() > size:
            raise CircuitError(f"condition value {value} does not fit register {reg!r} of "
                               f"{size} bit(s)")
        return reg, value

    def _broadcast(self, name: str, params: Sequence[float], qargs: Sequence[Any]) -> Circuit:
        for q in qargs:
            if type(q) is not int:
                break
        else:  # the common case: one qubit index per argument
            return self.append(name, qargs, params)
        many = [_is_many(q, name, "qubit") for q in qargs]
        if not any(many):
            return self.append(name, qargs, params)
        lists = [list(q) if m else q for q, m in zip(qargs, many)]
        lengths = {len(q) for q, m in zip(lists, many) if m}
        if len(lengths) != 1:
            raise CircuitError(f"{name}: qubit lists of different lengths {sorted(lengths)}")
        (k,) = lengths
        cols = [q if m else [q] * k for q, m in zip(lists, many)]
        for row in zip(*cols):
            self.append(name, row, params)
        return self

    def gate(self, name: str, *args: Any) -> Circuit:
        """Append gate ``name``: parameters first, then qubits (``gate("rz", 0.3, 2)``).

        A qubit argument may be a sequence, which broadcasts (``c.h(range(3))``).
        """
        _, npar = self.gate_signature(name)
        if len(args) < npar:
            raise CircuitError(f"gate {name!r} takes {npar} parameter(s), got {len(args)} "
                               "argument(s) in all")
        return self._broadcast(name, args[:npar], args[npar:])

    def unitary(self, matrix: Any, qubits: Sequence[int] | int, label: str | None = None
                ) -> Circuit:
        """Append a user unitary (checked); ``qubits[0]`` is the matrix's leftmost factor."""
        if label is not None and not isinstance(label, str):
            raise CircuitError(f"unitary: label must be a string, got {_show(label)}")
        self.append("unitary", qubits, matrix=_as_matrix(matrix))
        if label is not None:
            self.instructions[-1] = self.instructions[-1].replace(label=label)
        return self

    def measure(self, qubit: int | Sequence[int], clbit: int | Sequence[int]) -> Circuit:
        """Measure qubit(s) into classical bit(s) (equal-length sequences pair up)."""
        qs: list[Any] = list(qubit) if _is_many(qubit, "measure", "qubit") else [qubit]
        cs: list[Any] = list(clbit) if _is_many(clbit, "measure", "clbit") else [clbit]
        if len(qs) != len(cs):
            raise CircuitError(f"measure: {len(qs)} qubit(s) but {len(cs)} classical bit(s)")
        for q, b in zip(qs, cs):
            self.append("measure", (q,), clbits=(b,))
        return self

    def measure_all(self) -> Circuit:
        """Add a classical register ``meas`` of num_qubits bits and measure qubit i into meas[i].

        A circuit without qubits is left as it is."""
        if self._nq == 0:
            return self
        name = "meas"
        while any(name == r for r, _ in self.qregs + self.cregs):
            name += "_"
        off = self.add_creg(name, self._nq)
        return self.measure(list(range(self._nq)), list(range(off, off + self._nq)))

    def reset(self, qubit: int | Sequence[int]) -> Circuit:
        """Reset qubit(s) to |0>."""
        qs: list[Any] = list(qubit) if _is_many(qubit, "reset", "qubit") else [qubit]
        for q in qs:
            self.append("reset", (q,))
        return self

    def barrier(self, *qubits: int | Sequence[int]) -> Circuit:
        """A barrier on the given qubits (all qubits when none are given); no effect on the state.

        An argument may be a sequence of qubits (``barrier(range(3))``)."""
        flat: list[Any] = []
        for q in qubits:
            if _is_many(q, "barrier", "qubit"):
                flat.extend(q)
            else:
                flat.append(q)
        return self.append("barrier", tuple(flat) if qubits else tuple(range(self._nq)))

    def c_if(self, creg: str, value: int) -> Circuit:
        """Make the last instruction conditional on ``creg == value`` (c[0] = least significant)."""
        if not self.instructions:
            raise CircuitError("c_if needs a preceding instruction")
        last = self.instructions[-1]
        if last.name == "barrier":
            raise CircuitError("a barrier cannot be conditional")
        self.instructions[-1] = last.replace(condition=self._checked_condition((creg, value),
                                                                               "c_if"))
        return self

    # --- parameters -----------------------------------------------------------------------------
    @property
    def parameters(self) -> tuple[Param, ...]:
        """The unbound parameters (:class:`qsim.Parameter`), in order of first appearance."""
        seen: dict[str, None] = {}
        for ins in self.instructions:
            for p in ins.params:
                if type(p) is not float and isinstance(p, Expr):
                    for name in p.names():
                        seen.setdefault(name, None)
        return tuple(Param(n) for n in seen)

    def bind(self, values: Any) -> Circuit:
        """A copy with parameters replaced by numbers: ``values`` maps parameters (or their
        names) to floats, or lists one value per :attr:`parameters`, in that order. Parameters
        left out stay symbolic. Instructions without parameters are shared with this circuit, not
        copied. CircuitError for unknown parameters, a wrong number of values, or a value that
        is not a finite real number."""
        names = [p.name for p in self.parameters]
        env = _binding(values, names)
        out = self.copy()
        out.instructions = [
            ins if not any(type(x) is not float and isinstance(x, Expr) for x in ins.params)
            else ins.replace(params=_params(
                tuple(x.subs(env) if isinstance(x, Expr) else x for x in ins.params), ins.name))
            for ins in self.instructions]
        return out

    # --- whole-circuit operations -----------------------------------------------------------------
    def copy(self) -> Circuit:
        """A shallow copy: new instruction list and registers, shared (immutable) instructions."""
        c = Circuit(name=self.name)
        c.qregs, c.cregs = list(self.qregs), list(self.cregs)
        c._nq, c._nc = self._nq, self._nc
        c.instructions = list(self.instructions)
        c.definitions = dict(self.definitions)
        c.register_locations = dict(self.register_locations)
        return c

    def inverse(self) -> Circuit:
        """The inverse circuit (gates reversed and inverted); measurements and resets refuse."""
        out = self.copy()
        out.instructions = []
        for ins in reversed(self.flatten().instructions if self.definitions else
                            self.instructions):
            if ins.name in ("measure", "reset") or ins.condition is not None:
                raise CircuitError(f"cannot invert a circuit containing {ins.name!r}"
                                   + (" with a condition" if ins.condition else ""))
            if ins.name == "barrier":
                out.instructions.append(ins)
                continue
            inv = inverse_of(ins.name, ins.params) if ins.name in GATES else None
            if inv is not None:
                out.instructions.append(ins.replace(name=inv[0], params=inv[1]))
            else:
                if any(isinstance(x, Expr) for x in ins.params):
                    raise CircuitError(f"inverse: {ins.name} with unbound parameters has no "
                                       "library inverse; bind the parameters first")
                m = ins.matrix if ins.matrix is not None else gate_matrix(ins.name, ins.params)
                out.instructions.append(Instruction("unitary", ins.qubits,
                                                    matrix=np.ascontiguousarray(m.conj().T),
                                                    label=f"{ins.label or ins.name}_dg"))
        out.definitions = {}
        return out

    def compose(self, other: Circuit, qubits: Sequence[int] | None = None,
                clbits: Sequence[int] | None = None) -> Circuit:
        """A new circuit: this one followed by ``other`` mapped onto ``qubits``/``clbits``."""
        qmap = (list(range(other.num_qubits)) if qubits is None else
                [_index(q, "compose", "qubit") for q in qubits])
        cmap = (list(range(other.num_clbits)) if clbits is None else
                [_index(b, "compose", "clbit") for b in clbits])
        if len(qmap) != other.num_qubits or len(cmap) != other.num_clbits:
            raise CircuitError("compose: qubit/clbit maps must match the other circuit's sizes")
        if other.num_qubits > self._nq or other.num_clbits > self._nc:
            raise CircuitError("compose: the other circuit is wider than this one")
        out = self.copy()
        for name, d in other.definitions.items():
            if name in out.definitions and out.definitions[name] != d:
                raise CircuitError(f"compose: conflicting definitions of gate {name!r}")
            out.definitions[name] = d
        for ins in other.instructions:
            cond = ins.condition
            if cond is not None:
                regs = dict(other.cregs)
                if cond[0] not in dict(out.cregs) or dict(out.cregs)[cond[0]] != regs[cond[0]]:
                    raise CircuitError(f"compose: condition register {cond[0]!r} not found")
            out.append(ins.name, [qmap[q] for q in ins.qubits], ins.params,
                       clbits=[cmap[b] for b in ins.clbits], condition=cond, matrix=ins.matrix)
        return out

    def flatten(self, max_gates: int | None = None) -> Circuit:
        """A copy with every defined gate expanded (recursively) into library gates.

        The expanded size is counted first (per definition, never built): more than
        ``max_gates`` instructions (default :data:`qsim.resources.DEFAULT_MAX_GATES`) is a
        CircuitError, so exponentially nested definitions are refused at once."""
        limit = DEFAULT_MAX_GATES if max_gates is None else int(max_gates)
        total = self.expanded_size()
        if total > limit:
            raise CircuitError(f"flatten: the circuit expands to {total:,} instructions, more "
                               f"than the limit of {limit:,} (max_gates)")
        out = self.copy()
        out.definitions = {}
        out.instructions = []
        for ins in self.instructions:
            out.instructions.extend(self.expand(ins))
        return out

    def expanded_size(self) -> int:
        """Instructions :meth:`flatten` would produce, counted per definition (never built)."""
        defs = self.definitions
        size: dict[str, int] = {}

        def of(name: str) -> int:
            stack = [name]
            while stack:
                top = stack[-1]
                if top in size:
                    stack.pop()
                    continue
                body = defs[top].body or ()
                todo = [op.name for op in body if op.name in defs and op.name not in size]
                if todo:
                    if len(stack) > MAX_DEFINITION_DEPTH or any(t in stack for t in todo):
                        raise CircuitError(f"gate definitions nested too deeply at {todo[0]!r} "
                                           f"(more than {MAX_DEFINITION_DEPTH} levels: a "
                                           "recursive definition?)")
                    stack.extend(todo)
                    continue
                size[top] = sum(size[op.name] if op.name in defs else 1 for op in body)
                stack.pop()
            return size[name]

        return sum(of(ins.name) if ins.name in defs and defs[ins.name].body is not None else 1
                   for ins in self.instructions)

    def expand(self, ins: Instruction) -> Iterator[Instruction]:
        """Yield the library-gate instructions an instruction stands for (itself if not defined).

        Definitions are expanded with an explicit stack, not recursion: any nesting depth a file
        can hold works, in time proportional to the gates yielded.  A chain deeper than
        ``MAX_DEFINITION_DEPTH`` (only a recursive definition reaches it) raises CircuitError.
        """
        definitions = self.definitions
        d = definitions.get(ins.name)
        if d is None:
            yield ins
            return
        if d.body is None:
            raise CircuitError(f"gate {ins.name!r} is opaque: it has no definition to simulate")
        stack = [(ins, dict(zip(d.params, ins.params)), iter(d.body))]
        while stack:
            parent, env, body = stack[-1]
            op = next(body, None)
            if op is None:
                stack.pop()
                continue
            try:
                params = tuple(evaluate_param(p, env) for p in op.params)
            except TypeError:
                raise CircuitError(f"gate {parent.name!r} is called with unbound parameters "
                                   f"({', '.join(map(str, parent.params))}): bind them first"
                                   ) from None
            except (ArithmeticError, ValueError) as exc:
                raise CircuitError(f"gate {parent.name!r}: cannot evaluate the parameters of "
                                   f"{op.name!r} with {parent.name}{parent.params}: "
                                   f"{exc}") from None
            sub = Instruction(op.name, tuple(parent.qubits[i] for i in op.qubits), params,
                              condition=parent.condition)
            d = definitions.get(op.name)
            if d is None:
                yield sub
                continue
            if d.body is None:
                raise CircuitError(f"gate {op.name!r} is opaque: it has no definition to "
                                   "simulate")
            if len(stack) >= MAX_DEFINITION_DEPTH:
                raise CircuitError(f"gate definitions nested too deeply at {op.name!r} (more "
                                   f"than {MAX_DEFINITION_DEPTH} levels: a recursive definition?)")
            stack.append((sub, dict(zip(d.params, params)), iter(d.body)))

    # --- inspection ------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Number of instructions (barriers and measurements included)."""
        return len(self.instructions)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self.instructions)

    def count_ops(self) -> dict[str, int]:
        """Number of instructions per name, most frequent first."""
        counts: dict[str, int] = {}
        for ins in self.instructions:
            counts[ins.name] = counts.get(ins.name, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def depth(self) -> int:
        """Circuit depth: longest path of operations over qubit and classical-bit wires.

        Barriers are not counted; a conditional instruction also occupies its register's bits.
        """
        level = np.zeros(self._nq + self._nc, dtype=np.int64)
        for ins in self.instructions:
            if ins.name == "barrier":
                continue
            wires = list(ins.qubits) + [self._nq + b for b in ins.clbits]
            if ins.condition is not None:
                wires += [self._nq + b for b in self.creg_indices(ins.condition[0])]
            d = int(level[wires].max()) + 1
            level[wires] = d
        return int(level.max()) if level.size else 0

    def has_measurements(self) -> bool:
        return any(ins.name == "measure" for ins in self.instructions)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Circuit):
            return NotImplemented
        return (self.qregs == other.qregs and self.cregs == other.cregs
                and self.definitions == other.definitions
                and self.instructions == other.instructions)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """One line: sizes and the first 8 instructions, bits named by register
        (``measure q[0] -> c[1]``)."""
        body = "; ".join(self._repr_instruction(i) for i in self.instructions[:8])
        if len(self.instructions) > 8:
            body += f"; ... ({len(self.instructions) - 8} more)"
        return (f"Circuit({self._nq} qubits, {self._nc} clbits, {len(self.instructions)} "
                f"instructions: {body})")

    def _repr_instruction(self, ins: Instruction) -> str:
        """``str(ins)`` with qubits and clbits named ``reg[i]`` after their registers."""
        def names(regs: list[tuple[str, int]], bits: tuple[int, ...], kind: str) -> str:
            out = []
            for b in bits:
                off = 0
                for name, size in regs:
                    if b < off + size:
                        out.append(f"{name}[{b - off}]")
                        break
                    off += size
                else:
                    out.append(f"{kind}{b}")
            return ",".join(out)

        s = ins.name
        if ins.params:
            s += "(" + ", ".join(str(p) if isinstance(p, Expr) else f"{p:.6g}"
                                 for p in ins.params) + ")"
        if ins.qubits:
            s += " " + names(self.qregs, ins.qubits, "q")
        if ins.clbits:
            s += " -> " + names(self.cregs, ins.clbits, "c")
        if ins.condition:
            s = f"if({ins.condition[0]}=={ins.condition[1]}) " + s
        return s

    def __str__(self) -> str:
        """The text drawing (:func:`qsim.draw_text`), as ``print(circuit)`` shows it."""
        from .draw import draw_text

        return draw_text(self)

    def _repr_html_(self) -> str:
        """The text drawing in a ``<pre>`` block, for notebooks."""
        import html

        from .draw import draw_text

        return f'<pre style="line-height: 1.2">{html.escape(draw_text(self))}</pre>'


def _as_matrix(matrix: Any) -> np.ndarray:
    """``matrix`` as a complex array, else CircuitError."""
    try:
        return np.array(matrix, dtype=complex)
    except (TypeError, ValueError):
        raise CircuitError(f"unitary: matrix must be a square array of numbers, got "
                           f"{_show(matrix)}") from None


def _checked_unitary(matrix: Any, k: int) -> np.ndarray:
    m = _as_matrix(matrix)
    if m.ndim != 2 or m.shape != (2**k, 2**k):
        raise CircuitError(f"unitary on {k} qubit(s) needs a {2**k}x{2**k} matrix, got shape "
                           f"{m.shape}")
    if not np.allclose(m.conj().T @ m, np.eye(2**k), atol=1e-8):
        raise CircuitError("unitary: the matrix is not unitary (U†U != I within 1e-8)")
    m.setflags(write=False)
    return m


def _make_gate_method(name: str) -> Any:
    g = GATES[name]

    def method(self: Circuit, *args: Any) -> Circuit:
        return self.gate(name, *args)

    method.__name__ = name
    pnames = ", ".join(["θ", "φ", "λ", "γ"][: g.num_params])
    qnames = ", ".join(f"q{i}" for i in range(g.num_qubits))
    method.__doc__ = f"Append {name}({pnames}) on {qnames}: {g.doc}."
    return method


for _name in GATES:
    if _name.isidentifier() and not hasattr(Circuit, _name) and _name.islower():
        setattr(Circuit, _name, _make_gate_method(_name))
Circuit.i = Circuit.id  # type: ignore[attr-defined]

