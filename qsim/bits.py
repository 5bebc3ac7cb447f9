"""Bit order, and the one place where classical outcomes and basis indices become bitstrings.

Bit order ``"big"`` (qsim's default, textbook): qubit 0 / c[0] is the leftmost character; several
classical registers are joined by one space in declaration order (``"01 1"`` for ``c[2]`` then
``d[1]``). ``"little"`` gives Qiskit's keys: each register reversed (c[0] rightmost) and registers
in reverse declaration order.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def basis_label(index: int, num_qubits: int, bit_order: str = "big") -> str:
    """The bitstring of basis state ``index``: qubit 0 leftmost (``"big"``) or rightmost."""
    label = format(index, f"0{num_qubits}b") if num_qubits else ""
    return label[::-1] if bit_order == "little" else label
