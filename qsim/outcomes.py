"""Measurement outcomes of a simulated state, shared by :class:`qsim.Statevector` and
:class:`qsim.DensityMatrix`: checking qubit lists, probabilities as ``{bitstring: p}`` and sampling.

A subclass provides ``num_qubits`` and ``probabilities_array(qubits)`` (float, length
2**len(qubits), index j's bits most significant first = ``qubits`` in the order given).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from .bits import basis_label, check_bit_order
from .errors import CircuitError


class Outcomes(ABC):
    """Mixin: outcome probabilities and samples from ``probabilities_array``."""

    __slots__ = ()
    num_qubits: int
    data: np.ndarray

    def __eq__(self, other: object) -> bool:
        """Equal (to 1e-10, entry by entry) to the same kind of state or to a numpy array of
        the same shape (a state vector also to any array holding its entries)."""
        if isinstance(other, type(self)):
            o = other.data
        elif isinstance(other, np.ndarray):
            o = other.ravel() if self.data.ndim == 1 else other
        else:
            return NotImplemented
        return o.shape == self.data.shape and bool(np.allclose(self.data, o, atol=1e-10))

    __hash__ = None  # type: ignore[assignment]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    @abstractmethod
    def probabilities_array(self, qubits: Sequence[int] | None = None) -> np.ndarray:
        """Outcome probabilities of ``qubits`` (all, 0 first, for None): float, length
        2**len(qubits), index j's bits most significant first = ``qubits`` in the order given."""

    def _check_qubits(self, qubits: Sequence[int] | None) -> list[int]:
        """``qubits`` as a list (all of them, 0 first, for None); CircuitError for an index out
        of range or a repeated qubit."""
        if qubits is None:
            return list(range(self.num_qubits))
        qs = [int(q) for q in qubits]
        for q in qs:
            if not 0 <= q < self.num_qubits:
                raise CircuitError(f"qubit {q} out of range for {self.num_qubits} qubit(s)")
        if len(set(qs)) != len(qs):
            raise CircuitError(f"duplicate qubits {qs}")
        return qs

    def probabilities(self, qubits: Sequence[int] | None = None, *, bit_order: str = "big",
                      threshold: float = 1e-12) -> dict[str, float]:
        """Outcome probabilities above ``threshold`` as ``{bitstring: p}`` (qubit 0 leftmost).

        ``bit_order="little"`` reverses each key (Qiskit's order).
        """
        check_bit_order(bit_order)
        p = self.probabilities_array(qubits)
        k = int(p.size).bit_length() - 1
        return {basis_label(i, k, bit_order): float(p[i])
                for i in np.flatnonzero(p > threshold).tolist()}

    def sample(self, shots: int, seed: int | np.random.Generator | None = None,
               qubits: Sequence[int] | None = None, *, bit_order: str = "big") -> dict[str, int]:
        """Measure ``qubits`` (default: all) ``shots`` times: counts ``{bitstring: n}``.
        ``seed``: an integer or a ``numpy.random.Generator``."""
        from .engine.sampling import key_counts, sample_keys

        qs = self._check_qubits(qubits)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        key_ids: dict[str, int] = {}
        drawn = sample_keys(self.probabilities_array(qs), shots, rng,
                            np.zeros(len(qs), np.uint8), range(len(qs)), range(len(qs)),
                            [("q", len(qs))], bit_order, key_ids, ordered=False)
        counts = key_counts([drawn], len(key_ids))
        return {k: int(counts[i]) for k, i in sorted(key_ids.items())}
