"""Lowering: gate definitions turned into native operations once, before any backend sees them.

:func:`lower` returns a circuit's operations with every call of a defined gate replaced by a
:class:`DefinedGate`: the call's qubits and condition, and a :class:`Body`, the definition lowered
for the call's parameter values on local qubits ``0..k-1``. A body holds library gates, ``unitary``
instructions and calls of other bodies, so nesting is kept, not flattened: each distinct
(definition, parameters) pair is lowered once however often it is called, and a backend either
treats a body as one k-qubit operator (the dense backend computes its matrix once) or walks it
(:meth:`DefinedGate.expand`). Barriers are dropped (they do nothing to a state).

Errors (CircuitError): an opaque gate, parameters a definition cannot evaluate, and definitions
nested more than :data:`qsim.circuit.MAX_DEFINITION_DEPTH` deep or calling themselves.
Everything is iterative, so a chain of thousands of nested definitions needs no recursion.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..circuit import MAX_DEFINITION_DEPTH, Circuit, GateDefinition, Instruction
from ..errors import CircuitError
from ..expr import Expr, evaluate_param


@dataclass(frozen=True, eq=False, slots=True)
class Body:
    """A gate definition lowered for one set of parameter values: ``ops`` act on local qubits
    ``0..num_qubits-1`` (library gates and unitaries as :class:`Instruction`, other definitions as
    :class:`DefinedGate`), applied first to last. Compared by identity (one object per
    (name, params) in a lowering)."""

    name: str
    params: tuple[float, ...]
    num_qubits: int
    ops: tuple[Instruction | DefinedGate, ...]
    #: Native gates the body stands for when fully expanded (counted, never built).
    size: int


@dataclass(frozen=True, eq=False, slots=True)
class DefinedGate:
    """A call of a defined gate: ``body`` on ``qubits``; ``source`` is the instruction it lowers
    (its name, parameters and condition)."""

    body: Body
    qubits: tuple[int, ...]
    source: Instruction

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def params(self) -> tuple[float, ...]:
        return self.source.params

    @property
    def condition(self) -> tuple[str, int] | None:
        return self.source.condition

    @property
    def clbits(self) -> tuple[int, ...]:
        return ()

    @property
    def size(self) -> int:
        """Native gates this call stands for when fully expanded."""
        return self.body.size

    def expand(self) -> Iterator[Instruction]:
        """The library-gate / unitary instructions this call stands for, on global qubits, in
        order (no condition: the caller decides whether the call runs)."""
        stack: list[tuple[Iterator[Instruction | DefinedGate], tuple[int, ...]]] = [
            (iter(self.body.ops), self.qubits)]
        while stack:
            ops, qmap = stack[-1]
            op = next(ops, None)
            if op is None:
                stack.pop()
                continue
            qubits = tuple(qmap[q] for q in op.qubits)
            if isinstance(op, DefinedGate):
                stack.append((iter(op.body.ops), qubits))
            else:
                yield Instruction(op.name, qubits, op.params, matrix=op.matrix)

    def __str__(self) -> str:
        return str(self.source)


_NOT_GATES = ("measure", "reset")

#: What :func:`lower` returns: native instructions (gates, ``unitary``, measure, reset) and calls.
LoweredOp = Instruction | DefinedGate


@dataclass(frozen=True, eq=False, slots=True)
class ChannelOp:
    """A noise channel applied to ``qubits`` (``qubits[0]`` its first Kraus factor), inserted
    after the gates when a noise model is applied (:func:`qsim.noise.insert.apply_noise`); it runs
    only when ``condition`` holds, like the gate it follows. ``channel`` is a
    :class:`qsim.noise.Channel` (not imported here: compiling needs no noise code)."""

    channel: Any
    qubits: tuple[int, ...]
    condition: tuple[str, int] | None = None

    @property
    def name(self) -> str:
        return "channel"

    @property
    def params(self) -> tuple[float, ...]:
        return ()

    @property
    def clbits(self) -> tuple[int, ...]:
        return ()

    @property
    def size(self) -> int:
        return 1

    def __str__(self) -> str:
        s = f"{self.channel.name} " + ",".join(f"q{q}" for q in self.qubits)
        if self.condition:
            s = f"if({self.condition[0]}=={self.condition[1]}) " + s
        return s


#: What the planner takes: lowered operations and, once a noise model is applied, channels.
PlanOp = Instruction | DefinedGate | ChannelOp


class _Frame:
    """One definition being lowered: its evaluated environment, the call that asked for it, the
    ops still to read and those done, and the call waiting for a sub-body (``pending``)."""

    __slots__ = ("definition", "env", "call", "todo", "done", "pending")

    def __init__(self, definition: GateDefinition, call: Instruction) -> None:
        if definition.body is None:
            raise CircuitError(f"gate {definition.name!r} is opaque: it has no definition to "
                               "simulate")
        self.definition = definition
        self.env = dict(zip(definition.params, call.params))
        self.call = call
        self.todo = iter(definition.body)
        self.done: list[Instruction | DefinedGate] = []
        self.pending: Instruction | None = None


class _Lowerer:
    """Lowers definitions on demand, memoising one :class:`Body` per (name, params)."""

    def __init__(self, definitions: dict[str, GateDefinition]) -> None:
        self.definitions = definitions
        self.bodies: dict[tuple[str, tuple[float, ...]], Body] = {}

    def body(self, call: Instruction) -> Body:
        """The body of defined gate ``call.name`` for ``call.params``."""
        key = (call.name, tuple(call.params))
        if key in self.bodies:
            return self.bodies[key]
        # Iterative post-order over the definitions still to lower (no recursion limit).
        stack = [_Frame(self.definitions[call.name], call)]
        active = {key}
        while True:
            f = stack[-1]
            op = next(f.todo, None)
            if op is None:
                key = (f.definition.name, tuple(f.call.params))
                size = sum(op.size if isinstance(op, DefinedGate) else 1 for op in f.done)
                body = Body(key[0], key[1], len(f.definition.qubits), tuple(f.done), size)
                self.bodies[key] = body
                active.discard(key)
                stack.pop()
                if not stack:
                    return body
                caller = stack[-1]
                assert caller.pending is not None
                caller.done.append(DefinedGate(body, caller.pending.qubits, caller.pending))
                caller.pending = None
                continue
            if op.name == "barrier":  # does nothing to a state (a body may hold only that)
                continue
            try:
                params = tuple(evaluate_param(p, f.env) for p in op.params)
            except (ArithmeticError, ValueError) as exc:
                raise CircuitError(f"gate {f.call.name!r}: cannot evaluate the parameters of "
                                   f"{op.name!r} with {f.call.name}{f.call.params}: "
                                   f"{exc}") from None
            sub = Instruction(op.name, tuple(op.qubits), params)
            if op.name not in self.definitions:
                f.done.append(sub)
                continue
            sub_key = (op.name, params)
            known = self.bodies.get(sub_key)
            if known is not None:
                f.done.append(DefinedGate(known, sub.qubits, sub))
                continue
            if sub_key in active or len(stack) >= MAX_DEFINITION_DEPTH:
                raise CircuitError(f"gate definitions nested too deeply at {op.name!r} (more "
                                   f"than {MAX_DEFINITION_DEPTH} levels: a recursive definition?)")
            f.pending = sub
            stack.append(_Frame(self.definitions[op.name], sub))
            active.add(sub_key)


def lower(circuit: Circuit, instructions: Sequence[Instruction] | None = None
          ) -> list[LoweredOp]:
    """``circuit``'s instructions (or ``instructions`` of it) with barriers dropped and every call
    of a defined gate replaced by a :class:`DefinedGate` (see the module docstring)."""
    ins_list = circuit.instructions if instructions is None else instructions
    _check_bound(circuit, ins_list)
    if not circuit.definitions:
        return [ins for ins in ins_list if ins.name != "barrier"]
    lw = _Lowerer(circuit.definitions)
    out: list[LoweredOp] = []
    for ins in ins_list:
        if ins.name == "barrier":
            continue
        if ins.name in circuit.definitions:
            out.append(DefinedGate(lw.body(ins), ins.qubits, ins))
        else:
            out.append(ins)
    return out


def _check_bound(circuit: Circuit, ins_list: Sequence[Instruction]) -> None:
    """CircuitError naming the unbound parameters, if any instruction still has one."""
    for ins in ins_list:
        for p in ins.params:
            if type(p) is not float and isinstance(p, Expr):
                names = ", ".join(q.name for q in circuit.parameters)
                raise CircuitError(f"the circuit has unbound parameters ({names}): bind them "
                                   "with circuit.bind({...}), or pass values to "
                                   "qsim.expectation / sweep / gradient")


def expanded_size(ops: Sequence[PlanOp]) -> int:
    """Native gates ``ops`` stand for when every call is expanded (counted, never built;
    measurements and resets are not gates, a noise channel counts one)."""
    return sum(op.size if isinstance(op, DefinedGate) else op.name not in _NOT_GATES
               for op in ops)


def expand_all(ops: Sequence[LoweredOp]) -> Iterator[Instruction]:
    """Every native instruction of ``ops``, calls expanded (conditions of calls dropped)."""
    for op in ops:
        if isinstance(op, DefinedGate):
            yield from op.expand()
        else:
            yield op
