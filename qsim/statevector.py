"""The ``Statevector`` returned by :func:`qsim.simulate`.

``data`` is a flat complex vector of length 2**n; basis index i's binary digits, most significant
first, are the values of qubits 0, 1, ..., n-1 (qubit 0 leftmost, as in every bitstring qsim prints).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .bits import basis_label, check_bit_order
from .errors import CircuitError
from .kron import ket


class Statevector:
    """An n-qubit pure state.

    >>> import qsim
    >>> qsim.simulate(qsim.Circuit(2).h(0).cx(0, 1)).probabilities()
    {'00': 0.4999999999999999, '11': 0.4999999999999999}
    """

    __slots__ = ("data", "num_qubits")

    def __init__(self, data: Any, num_qubits: int | None = None) -> None:
        arr = np.asarray(data)
        if not np.iscomplexobj(arr):
            arr = arr.astype(complex)
        arr = arr.ravel()
        n = int(arr.size).bit_length() - 1
        if arr.size < 1 or 1 << n != arr.size:
            raise CircuitError(f"state length {arr.size} is not a power of two")
        if num_qubits is not None and num_qubits != n:
            raise CircuitError(f"state of length {arr.size} is not a {num_qubits}-qubit state")
        self.data = arr
        self.num_qubits = n

    @classmethod
    def from_label(cls, label: str) -> Statevector:
        """``Statevector.from_label("01+")`` = ``|0>⊗|1>⊗|+>`` (labels as in :func:`qsim.ket`)."""
        return cls(ket(label))

    @classmethod
    def zero(cls, num_qubits: int, dtype: Any = np.complex128) -> Statevector:
        data = np.zeros(1 << num_qubits, dtype=dtype)
        data[0] = 1
        return cls(data)

    # --- probabilities ---------------------------------------------------------------------------
    def _check_qubits(self, qubits: Sequence[int] | None) -> list[int]:
        if qubits is None:
            return list(range(self.num_qubits))
        qs = [int(q) for q in qubits]
        for q in qs:
            if not 0 <= q < self.num_qubits:
                raise CircuitError(f"qubit {q} out of range for {self.num_qubits} qubit(s)")
        if len(set(qs)) != len(qs):
            raise CircuitError(f"duplicate qubits {qs}")
        return qs

    def probabilities_array(self, qubits: Sequence[int] | None = None) -> np.ndarray:
        """Outcome probabilities as a float array of length 2**len(qubits).

        Index j's binary digits (most significant first) are the values of ``qubits`` in the order
        given (all qubits, 0 first, by default).
        """
        from .backends.vector import marginal_probabilities

        return marginal_probabilities(self.data, self._check_qubits(qubits))

    def probabilities(self, qubits: Sequence[int] | None = None, *, bit_order: str = "big",
                      threshold: float = 1e-12) -> dict[str, float]:
        """Outcome probabilities above ``threshold`` as ``{bitstring: p}`` (qubit 0 leftmost).

        ``bit_order="little"`` reverses each key (Qiskit's order).
        """
        check_bit_order(bit_order)
        p = self.probabilities_array(qubits)
        k = int(p.size).bit_length() - 1
        idx = np.flatnonzero(p > threshold)
        out = {}
        for i in idx.tolist():
            out[basis_label(i, k, bit_order)] = float(p[i])
        return out

    def amplitude(self, label: str) -> complex:
        """Amplitude of basis state ``label`` (e.g. ``"0110"``, qubit 0 leftmost)."""
        if len(label) != self.num_qubits or set(label) - {"0", "1"}:
            raise CircuitError(f"basis label {label!r} must be {self.num_qubits} characters of 0/1")
        return complex(self.data[int(label, 2)])

    def sample(self, shots: int, seed: int | None = None,
               qubits: Sequence[int] | None = None, *, bit_order: str = "big") -> dict[str, int]:
        """Measure ``qubits`` (default: all) ``shots`` times: counts ``{bitstring: n}``."""
        from .engine.sampling import key_counts, sample_keys

        qs = self._check_qubits(qubits)
        key_ids: dict[str, int] = {}
        drawn = sample_keys(self.probabilities_array(qs), shots, np.random.default_rng(seed),
                            np.zeros(len(qs), np.uint8), range(len(qs)), range(len(qs)),
                            [("q", len(qs))], bit_order, key_ids, ordered=False)
        counts = key_counts([drawn], len(key_ids))
        return {k: int(counts[i]) for k, i in sorted(key_ids.items())}

    # --- algebra ---------------------------------------------------------------------------------
    def expectation(self, op: Any, qubits: Sequence[int] | None = None) -> complex | float:
        """``<psi|op|psi>``: ``op`` a dense 2**k matrix on ``qubits`` (default all qubits), or any
        object with ``expectation_value(statevector)`` (e.g. a Pauli sum). Real when op is
        Hermitian."""
        if hasattr(op, "expectation_value"):
            return op.expectation_value(self)
        from .backends.dense.kernels import apply_matrix

        m = np.asarray(op)
        qs = self._check_qubits(qubits)
        if m.shape != (2 ** len(qs),) * 2:
            raise CircuitError(f"operator of shape {m.shape} does not act on {len(qs)} qubit(s)")
        phi = apply_matrix(self.data.astype(np.complex128, copy=True), m, qs)
        val = complex(np.vdot(self.data, phi))
        if np.allclose(m, m.conj().T):
            return val.real
        return val

    def inner(self, other: Statevector | np.ndarray) -> complex:
        """``<self|other>``."""
        o = other.data if isinstance(other, Statevector) else np.asarray(other).ravel()
        return complex(np.vdot(self.data, o))

    def fidelity(self, other: Statevector | np.ndarray) -> float:
        """``|<self|other>|^2`` (both assumed normalised)."""
        return abs(self.inner(other)) ** 2

    def equiv(self, other: Statevector | np.ndarray, atol: float = 1e-9) -> bool:
        """Equal up to a global phase."""
        o = other.data if isinstance(other, Statevector) else np.asarray(other).ravel()
        if o.shape != self.data.shape:
            return False
        ov = np.vdot(self.data, o)
        if abs(ov) < 1e-300:
            return bool(np.allclose(self.data, o, atol=atol))
        phase = ov / abs(ov)
        return bool(np.allclose(self.data * phase, o, atol=atol))

    def norm(self) -> float:
        return float(np.linalg.norm(self.data))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Statevector):
            o = other.data
        elif isinstance(other, np.ndarray):
            o = other.ravel()
        else:
            return NotImplemented
        return o.shape == self.data.shape and bool(np.allclose(self.data, o, atol=1e-10))

    __hash__ = None  # type: ignore[assignment]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self) -> int:
        return int(self.data.size)

    def __repr__(self) -> str:
        if self.num_qubits <= 4:
            terms = [f"{a:.4g}|{basis_label(i, self.num_qubits)}>"
                     for i, a in enumerate(self.data) if abs(a) > 1e-12]
            return f"Statevector({' + '.join(terms) or '0'})"
        return f"Statevector({self.num_qubits} qubits, dtype={self.data.dtype})"
