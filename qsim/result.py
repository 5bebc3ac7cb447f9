"""Results of sampled runs, and the one place where classical outcomes become bitstrings.

Bit order ``"big"`` (qsim's default, textbook): within a register c[0] is the leftmost character;
several registers are joined by one space in declaration order (``"01 1"`` for ``c[2]`` then
``d[1]``). ``"little"`` gives Qiskit's keys: each register reversed (c[0] rightmost) and registers in
reverse declaration order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BIT_ORDERS = ("big", "little")


def check_bit_order(bit_order: str) -> str:
    if bit_order not in BIT_ORDERS:
        raise ValueError(f"bit_order must be 'big' or 'little', got {bit_order!r}")
    return bit_order


def format_bits(bits: Sequence[int] | np.ndarray, registers: Sequence[tuple[str, int]],
                bit_order: str = "big") -> str:
    """Bitstring key for classical values ``bits[j]`` of flat bit j, split by ``registers``."""
    chars = "".join("1" if b else "0" for b in bits)
    parts, off = [], 0
    for _, size in registers:
        parts.append(chars[off:off + size])
        off += size
    if bit_order == "little":
        parts = [p[::-1] for p in reversed(parts)]
    return " ".join(parts)


def format_rows(rows: np.ndarray, registers: Sequence[tuple[str, int]],
                bit_order: str = "big") -> list[str]:
    """``format_bits`` for each row of a (m, num_bits) 0/1 array."""
    return [format_bits(r, registers, bit_order) for r in rows]


def index_bits(indices: np.ndarray, num_bits: int) -> np.ndarray:
    """Basis indices -> (m, num_bits) uint8 array; column 0 is the most significant bit."""
    idx = np.asarray(indices, dtype=np.uint64)
    shifts = np.arange(num_bits - 1, -1, -1, dtype=np.uint64)
    return ((idx[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.uint8)


@dataclass
class Result:
    """Outcome of :func:`qsim.run`.

    ``counts`` maps bitstrings (see the module docstring for the bit order) to numbers of shots;
    ``memory`` lists each shot's bitstring in the order the shots were taken (when requested).
    ``registers`` are the classical registers ``(name, size)`` in declaration order.
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
