"""Semantic analysis: symbol tables, arity, index ranges and broadcasting -> Circuit.

Every check on an OpenQASM 2 program happens here, and every failure is a
:class:`~qsim.errors.QasmError` located at the offending token.  The output is a
:class:`~qsim.circuit.Circuit` that nothing downstream needs to validate again:

* registers become :meth:`Circuit.add_qreg` / :meth:`Circuit.add_creg` in declaration order, and
  :attr:`Circuit.register_locations` records where each was declared (``file:line:col`` of its
  name);
* ``include`` statements are resolved by :mod:`.includes` (which file, read once; the bundled
  ``qelib1.inc``); their statements are analysed here as if written in place;
* ``U``, ``CX``, the gates of ``qelib1.inc`` and the extra gates of Qiskit's ``qelib1.inc``
  (:data:`qsim.gates.QISKIT_QELIB1_EXTRA`) become instructions named after the gate, with float
  parameters; a file's own definition of an extra gate name (``gate sx a {...}``) wins over it;
* ``gate`` definitions are kept as :class:`~qsim.circuit.GateDefinition` (not inlined), with
  parameter expressions from :mod:`qsim.expr` (constants folded to floats);
* ``opaque`` declarations are kept with ``body=None``; *using* an opaque gate is an error, since it
  cannot be simulated.  The exception is ``opaque delay(t) q;``, how Qiskit exports an idle period
  (``Delay``): it is kept as a definition with an empty body, the identity, as Qiskit and Aer
  treat it;
* gate names and register names live in separate namespaces (a register may be called ``h``;
  Qiskit is stricter here), and a gate's parameter names are separate from its qubit names;
* register arguments broadcast as the specification says (``h q;``, ``cx q, r;``,
  ``cx q[0], r;``, ``measure q -> c;``); ``if (c == n) op;`` sets ``condition=(c, n)``;
* the instructions a program expands to are counted before any is built, statement by statement
  (a broadcast over a register of size k counts k; a call of a defined gate counts one: its body
  is counted before simulating), and the statement that takes the total past ``max_gates`` is an
  error.  Broadcasts are recorded as one pending entry each and expanded only once the whole
  program has been checked, so a small file that would expand to billions of instructions is
  refused at once, without building the ones before the limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import NamedTuple

from .. import resources
from ..circuit import Circuit, DefinitionOp, GateDefinition, Instruction
from ..errors import QasmError
from ..expr import BinOp, Call, Expr, Num, UnaryOp, evaluate_param
from ..gates import GATES, QELIB1_2017, QISKIT_QELIB1_EXTRA
from .ast import (
    Arg,
    Barrier,
    CallSpans,
    GateCall,
    GateDecl,
    If,
    Include,
    Measure,
    Program,
    RegDecl,
    Reset,
    Stmt,
)
from .includes import QELIB1, IncludeLinker, Inclusion
from .lexer import Lexer, Source
from .parser import call_spans

__all__ = ["build_circuit", "MAX_REGISTER_SIZE", "EXPANSION_CHECK_BUDGET"]

#: Largest register accepted (a circuit is only data, but broadcasting over a register of this
#: size already writes that many instructions).
MAX_REGISTER_SIZE = 1 << 20
#: Body operations evaluated per file to check calls of definitions that can fail for some values.
EXPANSION_CHECK_BUDGET = 200_000


@dataclass(slots=True)
class _Gate:
    """A gate name visible to the program."""

    name: str
    num_params: int
    num_qubits: int
    kind: str  # "builtin" (U, CX), "qelib1", "extra" (Qiskit's qelib1), "defined", "opaque"
    where: str | _Loc  # where it is defined: a position, or "qelib1.inc" / "built-in"
    used_at: _Loc | None = None  # for "extra": where the library gate was first used


@dataclass(slots=True)
class _Register:
    kind: str  # "qreg" or "creg"
    offset: int
    size: int
    where: _Loc


class _Loc:
    """A position, formatted as ``file:line:col`` only when a message needs it."""

    __slots__ = ("source", "pos")

    def __init__(self, source: Source, pos: int) -> None:
        self.source = source
        self.pos = pos

    def __str__(self) -> str:
        line, col = self.source.line_col(self.pos)
        return f"{self.source.name}:{line}:{col}"


def _where(stmt: Stmt, pos: int | None = None) -> _Loc:
    return _Loc(stmt.source, stmt.pos if pos is None else pos)


class _Spread:
    """The flat indices of a broadcast's arguments, row by row, without building the rows.

    ``cols`` holds one ``(offset, index)`` per argument: ``index`` None for a whole register
    (row i uses ``offset + i``), else the fixed flat index ``offset + index`` in every row.
    """

    __slots__ = ("cols", "size")

    def __init__(self, cols: tuple[tuple[int, int | None], ...], size: int) -> None:
        self.cols = cols
        self.size = size

    def row(self, i: int) -> tuple[int, ...]:
        return tuple(offset + (i if index is None else index) for offset, index in self.cols)

    def rows(self) -> Iterator[tuple[int, ...]]:
        size = self.size
        return zip(*[range(offset, offset + size) if index is None
                     else repeat(offset + index, size) for offset, index in self.cols])

    def first_duplicate(self) -> int | None:
        """The first row in which two arguments are the same flat index (None if none is):
        found from the columns, in time independent of the register size."""
        first = None
        cols = self.cols
        for a, (oa, ia) in enumerate(cols):
            for ob, ib in cols[a + 1:]:
                if ia is None and ib is None:  # two whole registers: the same one, or never
                    i = 0 if oa == ob else None
                elif ia is None:  # a whole register and a fixed qubit: meet in one row, if any
                    assert ib is not None
                    i = ob + ib - oa
                elif ib is None:
                    i = oa + ia - ob
                else:  # two fixed qubits: the same in every row, or in none
                    i = 0 if oa + ia == ob + ib else None
                if i is not None and 0 <= i < self.size and (first is None or i < first):
                    first = i
        return first


class _Pending(NamedTuple):
    """A broadcast statement, checked and counted, whose instructions are built at the end."""

    pos: int  # where its instructions go in the circuit's instruction list
    name: str
    qubits: _Spread
    params: tuple[float, ...]
    clbits: _Spread | None
    condition: tuple[str, int] | None

    def instructions(self) -> list[Instruction]:
        name, params, condition = self.name, self.params, self.condition
        clbits = repeat(()) if self.clbits is None else self.clbits.rows()
        return [Instruction(name, q, params, c, condition)
                for q, c in zip(self.qubits.rows(), clbits)]


class _Analyzer:
    def __init__(self, circuit: Circuit, linker: IncludeLinker, max_gates: int,
                 allow_opaque: bool = False) -> None:
        self.circuit = circuit
        self.linker = linker
        self.gates: dict[str, _Gate] = {
            "U": _Gate("U", 3, 1, "builtin", "built-in"),
            "CX": _Gate("CX", 0, 2, "builtin", "built-in"),
        }
        self.regs: dict[str, _Register] = {}
        # Per source: the offset and line number of the last register declaration located, so
        # that locating the next one counts only the lines in between.
        self.line_cursors: dict[Source, tuple[int, int]] = {}
        # Memo: argument tuple -> the validated flat qubit indices of a gate call (a broadcast's
        # as a _Spread); registers never change once declared, so a validated list stays valid.
        self.rows_memo: dict[tuple[Arg, ...], tuple[int, ...] | _Spread] = {}
        # Memo: barrier arguments -> the qubits of the barrier (shared by repeated barriers).
        self.barrier_memo: dict[tuple[Arg, ...], tuple[int, ...]] = {}
        # Memo: id(parameter tuple) -> (the tuple, its float values); the parser shares tuples.
        self.values_memo: dict[int, tuple[tuple[Expr, ...], tuple[float, ...]]] = {}
        self.append = circuit._append_unchecked
        # Gates already used once, validly: name -> (number of parameters, number of qubits).
        self.signatures: dict[str, tuple[int, int]] = {}
        # Defined gates whose expansion can fail for some parameter values (see _may_fail), the
        # (gate, values) pairs already checked, and how many more body operations to check.
        self.fallible: set[str] = set()
        self.expansion_ok: set[tuple[str, tuple[float, ...]]] = set()
        self.expansion_budget = EXPANSION_CHECK_BUDGET
        # Instructions the program expands to so far (built or pending), the limit on them, and
        # the broadcasts not yet built (see finish).
        self.count = 0
        self.max_gates = max_gates
        self.allow_opaque = allow_opaque
        self.pending: list[_Pending] = []

    # --- statements -------------------------------------------------------------------------------
    def program(self, program: Program) -> None:
        gate_call = self.gate_call
        for stmt in program.statements:
            if type(stmt) is GateCall:
                gate_call(stmt, None)
            elif type(stmt) is Measure:
                self.measure(stmt, None)
            elif type(stmt) is RegDecl:
                self.reg_decl(stmt)
            elif type(stmt) is GateDecl:
                self.gate_decl(stmt)
            elif type(stmt) is Include:
                self.include(stmt)
            elif type(stmt) is Barrier:
                self.barrier(stmt)
            elif type(stmt) is Reset:
                self.reset(stmt, None)
            elif type(stmt) is If:
                self.if_stmt(stmt)
            else:  # pragma: no cover - the parser builds only the types above
                raise TypeError(f"unknown statement {stmt!r}")

    def reg_decl(self, decl: RegDecl) -> None:
        old = self.regs.get(decl.name)
        if old is not None:
            raise self._error(decl, decl.name_pos, f"register '{decl.name}' is already declared "
                              f"(as {old.kind} at {old.where})")
        if decl.size < 1:
            raise self._error(decl, decl.size_pos, f"register '{decl.name}' must have at least "
                              f"one bit, got size {decl.size}")
        if decl.size > MAX_REGISTER_SIZE:
            raise self._error(decl, decl.size_pos, f"register '{decl.name}' of size {decl.size} "
                              f"is larger than the supported maximum {MAX_REGISTER_SIZE}")
        if decl.kind == "qreg":
            offset = self.circuit.add_qreg(decl.name, decl.size)
        else:
            offset = self.circuit.add_creg(decl.name, decl.size)
        self.regs[decl.name] = _Register(decl.kind, offset, decl.size, _where(decl, decl.name_pos))
        self.circuit.register_locations[decl.name] = self._location(decl.source, decl.name_pos)

    def _location(self, source: Source, pos: int) -> str:
        """``file:line:col`` of offset ``pos``, as :meth:`Source.line_col` gives it, counting only
        the lines since the previous declaration in the same file (``line_col`` would index
        every line of the file: a noticeable cost on a file of millions of gates)."""
        text = source.text
        start, line = self.line_cursors.get(source, (0, 1))
        if pos < start:
            start, line = 0, 1
        line += text.count("\n", start, pos)
        self.line_cursors[source] = (pos, line)
        col = pos - text.rfind("\n", 0, pos)
        return f"{source.name}:{line}:{col}"

    # --- gate calls -------------------------------------------------------------------------------
    def _lookup(self, call: GateCall, in_body: str | None = None) -> _Gate:
        name = call.name
        gate = self.gates.get(name)
        if gate is None:
            if name in self.regs:
                raise self._error(call, call.pos, f"'{name}' is a register, not a gate")
            if in_body is not None and name == in_body:
                raise self._error(call, call.pos, f"recursive gate definition: '{name}' is used "
                                  "inside its own body")
            hint = ""
            if not self.linker.qelib1_included and (
                name in QELIB1_2017 or name in QISKIT_QELIB1_EXTRA
            ):
                hint = " (did you forget 'include \"qelib1.inc\";'?)"
            raise self._error(call, call.pos, f"undefined gate '{name}'{hint}")
        if gate.kind == "opaque" and not self.allow_opaque:
            raise self._error(call, call.pos, f"gate '{name}' is opaque (declared at "
                              f"{gate.where}): it has no definition, so it cannot be simulated")
        n = len(call.params)
        if n != gate.num_params:
            raise self._error(
                call, _spans(call).params[gate.num_params] if n > gate.num_params else call.pos,
                f"gate '{name}' takes {_plural(gate.num_params, 'parameter')}, got {n}",
            )
        n = len(call.args)
        if n != gate.num_qubits:
            raise self._error(
                call, call.pos,
                f"gate '{name}' takes {_plural(gate.num_qubits, 'qubit argument')}, got {n}",
            )
        if gate.kind == "extra" and gate.used_at is None:
            gate.used_at = _where(call)
        return gate

    def gate_call(self, call: GateCall, condition: tuple[str, int] | None) -> None:
        # The hot path of a large file: a few dictionary look-ups per statement.
        params = call.params
        args = call.args
        name = call.name
        signature = self.signatures.get(name)
        if signature is None or signature[0] != len(params) or signature[1] != len(args):
            self._lookup(call)  # raises, or records the first use of the gate
            self.signatures[name] = (len(params), len(args))
        if not params:
            values: tuple[float, ...] = ()
        elif len(params) == 1 and type(params[0]) is Num and math.isfinite(params[0].value):
            values = (params[0].value,)
        else:
            memo = self.values_memo.get(id(params))
            if memo is not None and memo[0] is params:
                values = memo[1]
            else:
                values, constant = self._values(call)
                if not constant:  # expressions: worth remembering (the parser shares tuples)
                    self.values_memo[id(params)] = (params, values)
        if name in self.fallible:
            self._check_expansion(call, values)
        qubits = self.rows_memo.get(args)
        if qubits is None:
            qubits = self.rows_memo[args] = self._qubit_rows(call)
        if type(qubits) is tuple:
            count = self.count + 1
            if count > self.max_gates:
                raise self._too_many(call, 1)
            self.count = count
            self.append(Instruction(name, qubits, values, (), condition))
        else:
            assert isinstance(qubits, _Spread)
            self._defer(call, name, qubits, values, None, condition)

    def _defer(self, stmt: Stmt, name: str, qubits: _Spread, params: tuple[float, ...],
               clbits: _Spread | None, condition: tuple[str, int] | None) -> None:
        """Count a broadcast's instructions and record it, to be built by :meth:`finish`."""
        count = self.count + qubits.size
        if count > self.max_gates:
            raise self._too_many(stmt, qubits.size)
        self.count = count
        self.pending.append(_Pending(len(self.circuit.instructions), name, qubits, params,
                                     clbits, condition))

    def _too_many(self, stmt: Stmt, n: int) -> QasmError:
        what = "1 instruction" if n == 1 else f"{n:,} instructions"
        return self._error(stmt, stmt.pos, f"this statement expands to {what}, taking the "
                           f"program past the limit of {self.max_gates:,} (max_gates, "
                           "--max-gates)")

    def finish(self) -> None:
        """Build the pending broadcasts, each in its place among the other instructions."""
        if not self.pending:
            return
        built = self.circuit.instructions
        out: list[Instruction] = []
        start = 0
        for pending in self.pending:
            out += built[start:pending.pos]
            out += pending.instructions()
            start = pending.pos
        out += built[start:]
        self.pending = []
        self.circuit.instructions = out

    def _check_expansion(self, call: GateCall, values: tuple[float, ...]) -> None:
        """Evaluate the parameters of everything a call of a defined gate expands to, so that a
        value its expressions cannot take (``gate g(t) a { rx(1/t) a; }`` called with 0) is
        reported at the call instead of failing in the simulator.  Only definitions with
        divisions, powers, ln, sqrt or exp are checked, each (gate, values) once, within a
        budget of operations per file."""
        stack = [(call.name, values)]
        while stack and self.expansion_budget > 0:
            name, vals = stack.pop()
            if (name, vals) in self.expansion_ok:
                continue
            self.expansion_ok.add((name, vals))
            definition = self.circuit.definitions[name]
            assert definition.body is not None
            env = dict(zip(definition.params, vals))
            for op in definition.body:
                self.expansion_budget -= 1
                if op.name not in self.fallible and all(type(p) is float for p in op.params):
                    continue
                sub = []
                for p in op.params:
                    try:
                        value = evaluate_param(p, env)
                    except (ArithmeticError, ValueError) as exc:
                        reason = "division by zero" if isinstance(exc, ZeroDivisionError) else exc
                        raise self._error(call, call.pos, f"gate '{call.name}' cannot be applied "
                                          f"with parameters {_numbers_text(values)}: {reason} "
                                          f"evaluating '{p}' in the body of gate "
                                          f"'{name}'") from None
                    if not math.isfinite(value):
                        raise self._error(call, call.pos, f"gate '{call.name}' cannot be applied "
                                          f"with parameters {_numbers_text(values)}: '{p}' in "
                                          f"the body of gate '{name}' is {value}")
                    sub.append(value)
                if op.name in self.fallible:
                    stack.append((op.name, tuple(sub)))

    def _values(self, call: GateCall) -> tuple[tuple[float, ...], bool]:
        """Float values of the call's parameters, and whether all were plain literals."""
        out = []
        literal = True
        for i, p in enumerate(call.params):
            if type(p) is Num:
                value = p.value
            else:
                literal = False
                free = p.free_names()
                if free:
                    name = sorted(free)[0]
                    pos = _find_name(call.source, _spans(call).params[i], name)
                    raise self._error(call, pos, f"undefined parameter '{name}' (only gate "
                                      "definitions have named parameters; use pi or a number)")
                try:  # the spans (positions) are only needed, and computed, for an error
                    value = p.evaluate({})
                except (ArithmeticError, ValueError):
                    value = self._evaluate(p, call, _spans(call).params[i])
            if not math.isfinite(value):
                raise self._error(call, _spans(call).params[i], f"parameter {i + 1} of "
                                  f"'{call.name}' is not a finite number ({value})")
            out.append(value)
        return tuple(out), literal

    def _evaluate(self, expr: Expr, stmt: Stmt, pos: int) -> float:
        try:
            return expr.evaluate({})
        except ZeroDivisionError:
            raise self._error(stmt, pos, f"division by zero in '{expr}'") from None
        except (ValueError, OverflowError) as exc:
            raise self._error(stmt, pos, f"cannot evaluate '{expr}': {exc}") from None

    def _resolve(self, stmt: Stmt, arg: Arg, k: int, kind: str) -> tuple[int, int | None]:
        """(offset, index) for argument k; index None for a whole register."""
        reg = self.regs.get(arg.name)
        if reg is None:
            expected = "classical" if kind == "creg" else "quantum"
            if arg.name in self.gates:
                message = f"'{arg.name}' is a gate, not a register"
            else:
                message = f"undeclared register '{arg.name}'"
            raise self._error(stmt, _spans(stmt).args[k], f"{message} (expected a {expected} "
                              "register)")
        if reg.kind != kind:
            expected = "quantum" if kind == "qreg" else "classical"
            actual = "classical" if reg.kind == "creg" else "quantum"
            raise self._error(stmt, _spans(stmt).args[k], f"'{arg.name}' is a {actual} register "
                              f"({reg.kind} at {reg.where}); expected a {expected} register")
        if arg.index is not None and arg.index >= reg.size:
            raise self._error(stmt, _index_pos(stmt, k), f"index {arg.index} out of range for "
                              f"register '{arg.name}' of size {reg.size} (valid indices "
                              f"0..{reg.size - 1})")
        return reg.offset, arg.index

    def _broadcast(self, stmt: Stmt, args: Sequence[Arg], kinds: Sequence[str]
                   ) -> tuple[int, ...] | _Spread:
        """The flat indices of the arguments (one tuple), or a _Spread of them if one of them is
        a whole register (all of those must have the same size)."""
        cols: list[tuple[int, int | None]] = []
        size = None
        size_arg = None
        for k, arg in enumerate(args):
            offset, index = self._resolve(stmt, arg, k, kinds[k])
            if index is None:
                reg_size = self.regs[arg.name].size
                if size is None:
                    size, size_arg = reg_size, arg
                elif reg_size != size:
                    raise self._error(
                        stmt, _spans(stmt).args[k], f"register size mismatch in broadcast: "
                        f"'{size_arg}' has size {size} but '{arg.name}' has size {reg_size}"
                    )
            cols.append((offset, index))
        if size is None:
            return tuple(offset + index for offset, index in cols)  # type: ignore[operator]
        return _Spread(tuple(cols), size)

    def _qubit_rows(self, call: GateCall) -> tuple[int, ...] | _Spread:
        rows = self._broadcast(call, call.args, ["qreg"] * len(call.args))
        if len(call.args) > 1:
            if type(rows) is tuple:
                if len(set(rows)) != len(rows):
                    self._duplicate(call, call.args, rows, f"'{call.name}'")
            else:
                assert isinstance(rows, _Spread)
                i = rows.first_duplicate()
                if i is not None:
                    self._duplicate(call, call.args, rows.row(i), f"'{call.name}'")
        return rows

    def _duplicate(self, stmt: Stmt, args: Sequence[Arg], row: tuple[int, ...], what: str,
                   in_body: bool = False) -> None:
        seen: dict[int, int] = {}
        for k, q in enumerate(row):
            if q in seen:
                arg = args[k]
                if in_body:
                    text = f"'{arg.name}'"
                else:
                    index = arg.index
                    if index is None:
                        index = q - self.regs[arg.name].offset
                    text = f"{arg.name}[{index}]"
                raise self._error(stmt, _spans(stmt).args[k], f"duplicate qubit argument "
                                  f"{text} in {what}: the same qubit cannot be used twice in "
                                  "one gate")
            seen[q] = k

    # --- other quantum operations -----------------------------------------------------------------
    def measure(self, stmt: Measure, condition: tuple[str, int] | None) -> None:
        q, c = stmt.qarg, stmt.carg
        if (q.index is None) != (c.index is None):
            self._resolve(stmt, q, 0, "qreg")
            self._resolve(stmt, c, 1, "creg")
            k = 0 if q.index is None else 1
            raise self._error(stmt, _spans(stmt).args[k], f"register size mismatch in measure: "
                              f"cannot broadcast '{q}' -> '{c}' (measure a register into a "
                              "register of the same size, or one qubit into one bit)")
        rows = self._broadcast(stmt, (q, c), ("qreg", "creg"))
        if type(rows) is tuple:
            self._count_one(stmt)
            self.append(Instruction("measure", rows[:1], (), rows[1:], condition))
        else:
            assert isinstance(rows, _Spread)
            qcol, ccol = rows.cols
            self._defer(stmt, "measure", _Spread((qcol,), rows.size), (),
                        _Spread((ccol,), rows.size), condition)

    def reset(self, stmt: Reset, condition: tuple[str, int] | None) -> None:
        rows = self._broadcast(stmt, (stmt.arg,), ("qreg",))
        if type(rows) is tuple:
            self._count_one(stmt)
            self.append(Instruction("reset", rows, (), (), condition))
        else:
            assert isinstance(rows, _Spread)
            self._defer(stmt, "reset", rows, (), None, condition)

    def barrier(self, stmt: Barrier) -> None:
        key = tuple(stmt.args)
        qubits = self.barrier_memo.get(key)
        if qubits is None:
            seen: dict[int, None] = {}
            for k, arg in enumerate(stmt.args):
                offset, index = self._resolve(stmt, arg, k, "qreg")
                if index is None:
                    seen.update(dict.fromkeys(range(offset, offset + self.regs[arg.name].size)))
                else:
                    seen[offset + index] = None
            qubits = self.barrier_memo[key] = tuple(seen)
        self._count_one(stmt)
        self.append(Instruction("barrier", qubits))

    def _count_one(self, stmt: Stmt) -> None:
        if self.count >= self.max_gates:
            raise self._too_many(stmt, 1)
        self.count += 1

    def if_stmt(self, stmt: If) -> None:
        reg = self.regs.get(stmt.creg)
        if reg is None:
            raise self._error(stmt, stmt.creg_pos, f"undeclared register '{stmt.creg}' in the "
                              "condition (expected a classical register)")
        if reg.kind != "creg":
            raise self._error(stmt, stmt.creg_pos, f"'{stmt.creg}' is a quantum register "
                              f"(qreg at {reg.where}); a condition needs a classical register")
        if stmt.value.bit_length() > reg.size:
            raise self._error(stmt, stmt.value_pos, f"condition value {stmt.value} does not fit "
                              f"in register '{stmt.creg}' of {reg.size} bit(s) (at most "
                              f"{(1 << reg.size) - 1})")
        condition = (stmt.creg, stmt.value)
        body = stmt.body
        if type(body) is GateCall:
            self.gate_call(body, condition)
        elif type(body) is Measure:
            self.measure(body, condition)
        else:
            self.reset(body, condition)  # type: ignore[arg-type]

    # --- gate definitions -------------------------------------------------------------------------
    def _check_new_gate(self, decl: GateDecl) -> None:
        pos = decl.name_pos
        old = self.gates.get(decl.name)
        if old is None:
            return
        if old.kind == "builtin":
            raise self._error(decl, pos, f"gate '{decl.name}' is a built-in and cannot be "
                              "redefined")
        if old.kind == "qelib1":
            raise self._error(decl, pos, f"gate '{decl.name}' is already defined (in "
                              f"{QELIB1}); it cannot be redefined")
        if old.kind == "extra":
            if old.used_at is None:
                return  # the file's own definition wins over Qiskit's library gate
            raise self._error(decl, pos, f"gate '{decl.name}' is already defined: it was used at "
                              f"{old.used_at} as the {QELIB1} gate; define it before any use")
        raise self._error(decl, pos, f"gate '{decl.name}' is already defined (at {old.where})")

    def gate_decl(self, decl: GateDecl) -> None:
        self._check_new_gate(decl)
        _unique(self, decl, decl.params, decl.param_pos, "parameter name")
        _unique(self, decl, decl.qubits, decl.qubit_pos, "qubit argument name")
        body = None
        if decl.body is not None:
            body = tuple(self._definition_op(decl, op) for op in decl.body)
        elif decl.name == "delay" and len(decl.params) == 1 and len(decl.qubits) == 1:
            body = ()  # Qiskit's export of a Delay: an idle period, the identity here
        kind = "defined" if body is not None else "opaque"
        if body is not None and any(
            op.name in self.fallible or any(isinstance(p, Expr) and _may_fail(p) for p in op.params)
            for op in body
        ):
            self.fallible.add(decl.name)
        self.circuit.define(GateDefinition(decl.name, decl.params, decl.qubits, body))
        self.signatures.pop(decl.name, None)
        self.gates[decl.name] = _Gate(decl.name, len(decl.params), len(decl.qubits), kind,
                                      _where(decl, decl.name_pos))

    def _definition_op(self, decl: GateDecl, op: GateCall | Barrier) -> DefinitionOp:
        qubit_index = {name: i for i, name in enumerate(decl.qubits)}
        indices = []
        for k, arg in enumerate(op.args):
            if arg.index is not None:
                raise self._error(op, _index_pos(op, k), f"cannot index '{arg.name}' inside "
                                  f"the body of gate '{decl.name}': use the qubit argument "
                                  f"'{arg.name}' itself")
            i = qubit_index.get(arg.name)
            if i is None:
                raise self._error(op, _spans(op).args[k], f"'{arg.name}' is not a qubit argument "
                                  f"of gate '{decl.name}' (its qubits are "
                                  f"{', '.join(decl.qubits)})")
            indices.append(i)
        if type(op) is Barrier:
            return DefinitionOp("barrier", (), tuple(dict.fromkeys(indices)))
        assert isinstance(op, GateCall)
        self._lookup(op, in_body=decl.name)
        if len(set(indices)) != len(indices):
            row = tuple(indices)
            self._duplicate(op, op.args, row, f"'{op.name}' (in gate '{decl.name}')", True)
        allowed = set(decl.params)
        params: list[Expr | float] = []
        for i, p in enumerate(op.params):
            if type(p) is Num:
                params.append(p.value)
                continue
            free = p.free_names()
            if not free:
                params.append(self._evaluate(p, op, _spans(op).params[i]))
                continue
            unknown = sorted(free - allowed)
            if unknown:
                pos = _find_name(op.source, _spans(op).params[i], unknown[0])
                raise self._error(op, pos, f"undefined parameter '{unknown[0]}' in the body of "
                                  f"gate '{decl.name}' (its parameters are "
                                  f"{', '.join(decl.params) or 'none'})")
            params.append(p)
        return DefinitionOp(op.name, tuple(params), tuple(indices))

    # --- includes -------------------------------------------------------------------------------
    def include(self, stmt: Include) -> None:
        inclusion = self.linker.resolve(stmt)
        if inclusion is None:
            return  # already included
        if inclusion.is_qelib1:
            self._include_qelib1(stmt, inclusion)
            return
        with self.linker.entered(inclusion):
            self.program(inclusion.program)

    def _include_qelib1(self, stmt: Include, inclusion: Inclusion) -> None:
        """The bundled library: its gates that qsim implements natively become library gates
        (instructions named after the gate); the others are kept as definitions."""
        for decl in inclusion.program.statements:
            assert isinstance(decl, GateDecl)
            native = GATES.get(decl.name)
            if (
                native is not None
                and native.num_params == len(decl.params)
                and native.num_qubits == len(decl.qubits)
            ):
                old = self.gates.get(decl.name)
                if old is not None:
                    raise self._error(stmt, stmt.path_pos, f"{QELIB1} defines gate "
                                      f"'{decl.name}', which is already defined (at "
                                      f"{old.where})")

                self.gates[decl.name] = _Gate(decl.name, native.num_params, native.num_qubits,
                                              "qelib1", QELIB1)
            else:  # not in the native library: keep the file's definition
                self.gate_decl(decl)
        for name in inclusion.extra_gates:
            if name not in self.gates:
                native = GATES[name]
                self.gates[name] = _Gate(name, native.num_params, native.num_qubits, "extra",
                                         f"{QELIB1} (Qiskit)")

    # --- errors -----------------------------------------------------------------------------------
    @staticmethod
    def _error(stmt: Stmt, pos: int, message: str) -> QasmError:
        return stmt.source.error(pos, message)


def _may_fail(expr: Expr) -> bool:
    """Whether evaluating ``expr`` can raise or overflow for some finite parameter values."""
    if isinstance(expr, BinOp):
        return expr.op in ("/", "^") or _may_fail(expr.left) or _may_fail(expr.right)
    if isinstance(expr, UnaryOp):
        return _may_fail(expr.operand)
    if isinstance(expr, Call):
        return expr.func in ("ln", "sqrt", "exp") or _may_fail(expr.arg)
    return False


def _numbers_text(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def _spans(stmt: Stmt) -> CallSpans:
    """Offsets of the parameters and arguments of a call, barrier, measure or reset."""
    return call_spans(stmt)  # type: ignore[arg-type]


def _index_pos(stmt: Stmt, k: int) -> int:
    """Offset of argument k's index (of its name if it has none)."""
    spans = _spans(stmt)
    pos = spans.indices[k]
    return spans.args[k] if pos is None else pos


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _unique(an: _Analyzer, decl: GateDecl, names: Iterable[str], poses: Sequence[int],
            what: str) -> None:
    seen: set[str] = set()
    for name, pos in zip(names, poses):
        if name in seen:
            raise an._error(decl, pos, f"duplicate {what} '{name}' in gate '{decl.name}'")
        seen.add(name)


def _find_name(source: Source, start: int, name: str) -> int:
    """Offset of the first identifier ``name`` at or after ``start`` (``start`` if none)."""
    lexer = Lexer(source, start)
    try:
        while True:
            kind, text, pos = lexer.next()
            if kind == "eof" or (kind == "op" and text == ";"):
                return start
            if kind == "id" and text == name:
                return pos
    except QasmError:  # pragma: no cover - the statement was already lexed once
        return start


def build_circuit(program: Program, *, include_dirs: Sequence[str] = (),
                  name: str | None = None, max_gates: int | None = None,
                  allow_opaque: bool = False) -> Circuit:
    """Check a parsed main program and build its Circuit (raises QasmError).

    ``max_gates``: the most instructions the program may expand to (default
    :data:`qsim.resources.DEFAULT_MAX_GATES`); the statement that takes it past is an error.
    ``allow_opaque``: calls of ``opaque`` gates are kept (for drawing and summaries) instead of
    refused at the call (a circuit that uses one cannot be simulated).
    """
    limit = resources.DEFAULT_MAX_GATES if max_gates is None else max_gates
    circuit = Circuit(name=name)
    analyzer = _Analyzer(circuit, IncludeLinker(program.source, include_dirs), limit,
                         allow_opaque)
    analyzer.program(program)
    analyzer.finish()
    return circuit
