"""Results of sampled runs (:func:`qsim.run`): counts, per-shot memory and, when asked, the final state.

Keys follow :mod:`qsim.bits`: c[0] leftmost within a register, registers in declaration order
joined by a space (``bit_order="little"`` gives Qiskit's keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .statevector import Statevector


@dataclass
class Result:
    """Outcome of :func:`qsim.run`.

    ``counts`` maps bitstrings (see the module docstring for the bit order) to numbers of shots;
    ``memory`` lists each shot's bitstring in the order the shots were taken (when requested).
    ``registers`` are the classical registers ``(name, size)`` in declaration order.
    ``state`` is the final :class:`Statevector` when ``keep_state=True`` was asked for.
    """

    counts: dict[str, int]
    shots: int
    seed: int | None
    registers: list[tuple[str, int]]
    bit_order: str = "big"
    memory: list[str] | None = None
    backend: str = "statevector"
    num_qubits: int = 0
    time_s: float = 0.0
    implicit_measurement: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    #: The final state, when asked for (``qsim.run(..., keep_state=True)``): the state before the
    #: terminal measurements, or one trajectory (drawn with ``seed``) of a dynamic circuit.
    state: Statevector | None = field(default=None, repr=False)

    @property
    def num_clbits(self) -> int:
        return sum(size for _, size in self.registers)

    def get_counts(self) -> dict[str, int]:
        return dict(self.counts)

    def probabilities(self) -> dict[str, float]:
        """Relative frequencies ``count / shots``."""
        return {k: v / self.shots for k, v in self.counts.items()}

    def most_frequent(self) -> str:
        """The outcome seen most often (ties: the smallest bitstring)."""
        return min(self.counts, key=lambda k: (-self.counts[k], k))

    def __repr__(self) -> str:
        top = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
        more = "" if len(self.counts) <= 8 else f", ... ({len(self.counts) - 8} more)"
        return (f"Result(shots={self.shots}, seed={self.seed}, counts={{"
                + ", ".join(f"{k!r}: {v}" for k, v in top) + more + "})")
