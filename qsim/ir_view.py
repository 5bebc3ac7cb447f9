"""The IR as presentation code reads it: read-only structural types of circuits, instructions and
gate definitions.

:mod:`qsim.draw` and :mod:`qsim.qasm.export` take any object of these shapes, :class:`qsim.Circuit`
among them, so they need not import :mod:`qsim.circuit` and the IR need not import them: no module
has to load the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np


class InstructionLike(Protocol):
    """The parts of a :class:`qsim.Instruction` that drawing and export read."""

    @property
    def name(self) -> str: ...
    @property
    def qubits(self) -> tuple[int, ...]: ...
    @property
    def params(self) -> tuple[float, ...]: ...
    @property
    def clbits(self) -> tuple[int, ...]: ...
    @property
    def condition(self) -> tuple[str, int] | None: ...
    @property
    def matrix(self) -> np.ndarray | None: ...
    @property
    def label(self) -> str | None: ...


class DefinitionOpLike(Protocol):
    """One operation of a gate definition (:class:`qsim.DefinitionOp`)."""

    @property
    def name(self) -> str: ...
    @property
    def params(self) -> tuple[Any, ...]: ...
    @property
    def qubits(self) -> tuple[int, ...]: ...


class GateDefinitionLike(Protocol):
    """A gate definition (:class:`qsim.GateDefinition`); ``body is None``: opaque."""

    @property
    def name(self) -> str: ...
    @property
    def params(self) -> tuple[str, ...]: ...
    @property
    def qubits(self) -> tuple[str, ...]: ...
    @property
    def body(self) -> Sequence[DefinitionOpLike] | None: ...


class CircuitLike(Protocol):
    """The parts of a :class:`qsim.Circuit` that drawing and export read."""

    @property
    def num_qubits(self) -> int: ...
    @property
    def num_clbits(self) -> int: ...
    @property
    def qregs(self) -> Sequence[tuple[str, int]]: ...
    @property
    def cregs(self) -> Sequence[tuple[str, int]]: ...
    @property
    def instructions(self) -> Sequence[InstructionLike]: ...
    @property
    def definitions(self) -> Mapping[str, GateDefinitionLike]: ...
    def creg_indices(self, name: str) -> Iterable[int]: ...
