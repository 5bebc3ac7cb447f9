"""Syntax tree of an OpenQASM 2 program, as the parser builds it (no validation yet).

Every statement keeps its :class:`~qsim.qasm.lexer.Source` and the character offset ``pos`` of its
first token; :meth:`Stmt.location` turns that into ``(file, line, col)``.  Gate calls parsed on the
fast path keep only ``pos`` (``spans`` None); the exact offsets of their parameters and arguments
(:class:`CallSpans`) are recomputed by :func:`qsim.qasm.parser.call_spans`, which re-reads the
statement, when an error needs them.  This module is plain data: it imports nothing from the
parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..expr import Expr
from .lexer import Source

__all__ = [
    "Arg", "CallSpans", "Stmt", "Include", "RegDecl", "GateCall", "Barrier", "Measure", "Reset",
    "If", "GateDecl", "Program", "Statement", "BodyStatement",
]


class Arg(NamedTuple):
    """A quantum or classical argument: ``q`` (whole register, ``index`` None) or ``q[3]``."""

    name: str
    index: int | None  # type: ignore[assignment]  # (shadows tuple.index, deliberately)

    def __str__(self) -> str:
        return self.name if self.index is None else f"{self.name}[{self.index}]"


@dataclass(frozen=True, slots=True)
class CallSpans:
    """Offsets of the parts of a statement: each parameter expression's first token, each
    argument's register name, and each argument's index (None for a whole register)."""

    params: tuple[int, ...]
    args: tuple[int, ...]
    indices: tuple[int | None, ...]


@dataclass(slots=True, eq=False)
class Stmt:
    """Base of statements: where the statement starts."""

    source: Source
    pos: int

    def location(self, pos: int | None = None) -> tuple[str, int, int]:
        """``(file, line, col)`` of ``pos`` (default: the statement's first token)."""
        line, col = self.source.line_col(self.pos if pos is None else pos)
        return self.source.name, line, col


@dataclass(slots=True, eq=False)
class Include(Stmt):
    """``include "path";`` (``path_pos``: offset of the string literal)."""

    path: str
    path_pos: int


@dataclass(slots=True, eq=False)
class RegDecl(Stmt):
    """``qreg name[size];`` or ``creg name[size];``."""

    kind: str  # "qreg" or "creg"
    name: str
    size: int
    name_pos: int
    size_pos: int


@dataclass(slots=True, eq=False)
class GateCall(Stmt):
    """``name(params) args;`` (``pos`` is the gate name's offset).  Also ``U`` and ``CX``."""

    name: str
    params: tuple[Expr, ...]
    args: tuple[Arg, ...]
    #: Offsets of the parameters and arguments; None when the fast path skipped them (then
    #: :func:`qsim.qasm.parser.call_spans` recomputes them once, when an error needs them).
    spans: CallSpans | None = None


@dataclass(slots=True, eq=False)
class Barrier(Stmt):
    """``barrier args;``."""

    args: tuple[Arg, ...]
    spans: CallSpans


@dataclass(slots=True, eq=False)
class Measure(Stmt):
    """``measure qarg -> carg;`` (``spans.args``: the two arguments)."""

    qarg: Arg
    carg: Arg
    spans: CallSpans


@dataclass(slots=True, eq=False)
class Reset(Stmt):
    """``reset arg;``."""

    arg: Arg
    spans: CallSpans


@dataclass(slots=True, eq=False)
class If(Stmt):
    """``if (creg == value) op;``."""

    creg: str
    value: int
    body: GateCall | Measure | Reset
    creg_pos: int
    value_pos: int


BodyStatement = GateCall | Barrier


@dataclass(slots=True, eq=False)
class GateDecl(Stmt):
    """``gate name(params) qubits { body }``, or ``opaque name(params) qubits;`` (``body`` None)."""

    name: str
    params: tuple[str, ...]
    qubits: tuple[str, ...]
    body: tuple[BodyStatement, ...] | None
    name_pos: int
    param_pos: tuple[int, ...] = ()
    qubit_pos: tuple[int, ...] = ()


Statement = Include | RegDecl | GateCall | Barrier | Measure | Reset | If | GateDecl


@dataclass(slots=True, eq=False)
class Program:
    """A parsed file: its version (None for included files, and for a main file without the
    ``OPENQASM 2.0;`` line, read as OpenQASM 2.0) and its statements in order."""

    source: Source
    version: str | None
    statements: list[Statement] = field(default_factory=list)
