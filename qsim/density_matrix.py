"""The ``DensityMatrix`` returned by :func:`qsim.simulate` with ``backend="density"``.

``data`` is the ``2**n x 2**n`` complex matrix rho; row and column index i's binary digits, most
significant first, are the values of qubits 0, 1, ..., n-1 (qubit 0 leftmost, as in every
bitstring qsim prints).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .bits import basis_label
from .errors import CircuitError
from .outcomes import Outcomes
from .statevector import Statevector

#: Diagonal entries listed by :meth:`DensityMatrix._repr_html_`.
HTML_TOP = 32


class DensityMatrix(Outcomes):
    """An n-qubit mixed state.

    >>> import qsim
    >>> rho = qsim.simulate(qsim.Circuit(2).h(0).cx(0, 1), backend="density")
    >>> rho.probabilities(), round(rho.purity(), 12)
    ({'00': 0.4999999999999999, '11': 0.4999999999999999}, 1.0)
    """

    __slots__ = ("data", "num_qubits")

    def __init__(self, data: Any, num_qubits: int | None = None) -> None:
        if isinstance(data, Statevector):
            data = np.outer(data.data, data.data.conj())
        arr = np.asarray(data)
        if not np.iscomplexobj(arr):
            arr = arr.astype(complex)
        if arr.ndim == 1:  # a state vector |psi> -> |psi><psi|
            arr = np.outer(arr, arr.conj())
        n = int(arr.shape[0]).bit_length() - 1
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or 1 << n != arr.shape[0]:
            raise CircuitError(f"a density matrix must be 2**n x 2**n, got shape {arr.shape}")
        if num_qubits is not None and num_qubits != n:
            raise CircuitError(f"matrix of shape {arr.shape} is not a {num_qubits}-qubit state")
        self.data = arr
        self.num_qubits = n

    @classmethod
    def from_label(cls, label: str) -> DensityMatrix:
        """``|label><label|`` (labels as in :func:`qsim.ket`)."""
        return cls(Statevector.from_label(label))

    # --- probabilities ---------------------------------------------------------------------------
    def probabilities_array(self, qubits: Sequence[int] | None = None) -> np.ndarray:
        """Outcome probabilities (the diagonal, marginalised) as a float array of length
        2**len(qubits); index j's bits, most significant first, are ``qubits`` in the order
        given (all qubits, 0 first, by default)."""
        from .backends.density import diagonal_probabilities

        return diagonal_probabilities(self.data.ravel(), self.num_qubits,
                                      self._check_qubits(qubits))

    # --- state properties ------------------------------------------------------------------------
    def trace(self) -> float:
        return float(np.trace(self.data).real)

    def purity(self) -> float:
        """``tr(rho^2)``: 1 for a pure state, 2**-n for the maximally mixed one."""
        return float(np.vdot(self.data, self.data).real)

    def is_pure(self, atol: float = 1e-9) -> bool:
        return abs(self.purity() - 1) < atol

    def fidelity(self, other: DensityMatrix | Statevector | np.ndarray) -> float:
        """Uhlmann fidelity ``(tr sqrt(sqrt(rho) sigma sqrt(rho)))**2``; ``<psi|rho|psi>`` for a
        state vector (both assumed normalised)."""
        if isinstance(other, Statevector) or (isinstance(other, np.ndarray) and other.ndim == 1):
            psi = other.data if isinstance(other, Statevector) else np.asarray(other)
            if psi.size != self.data.shape[0]:
                raise CircuitError(f"state of length {psi.size} does not match "
                                   f"{self.num_qubits} qubit(s)")
            return float(np.vdot(psi, self.data @ psi).real)
        sigma = other.data if isinstance(other, DensityMatrix) else np.asarray(other)
        if sigma.shape != self.data.shape:
            raise CircuitError(f"density matrix of shape {sigma.shape} does not match "
                               f"{self.data.shape}")
        w, v = np.linalg.eigh((self.data + self.data.conj().T) / 2)
        root = (v * np.sqrt(np.clip(w, 0, None))) @ v.conj().T
        m = root @ sigma @ root
        ev = np.linalg.eigvalsh((m + m.conj().T) / 2)
        return float(np.sum(np.sqrt(np.clip(ev, 0, None))) ** 2)

    def partial_trace(self, traced: Sequence[int]) -> DensityMatrix:
        """Trace out the qubits ``traced``; the remaining qubits keep their order."""
        drop = set(self._check_qubits(traced))
        return self.reduced([q for q in range(self.num_qubits) if q not in drop])

    def reduced(self, qubits: Sequence[int]) -> DensityMatrix:
        """The reduced state of ``qubits``, in the order given (the others traced out)."""
        keep = self._check_qubits(qubits)
        n = self.num_qubits
        rest = [q for q in range(n) if q not in keep]
        t = self.data.reshape((2,) * (2 * n)).transpose(
            keep + rest + [n + q for q in keep] + [n + q for q in rest])
        k, r = 1 << len(keep), 1 << len(rest)
        return DensityMatrix(np.einsum("arbr->ab", t.reshape(k, r, k, r)))

    def expectation(self, op: Any, qubits: Sequence[int] | None = None) -> complex | float:
        """``tr(rho op)``: ``op`` is a Pauli label (``"ZZ"``, ``"Z0 Z1"``), a
        :class:`qsim.PauliSum`, or a dense ``2**k`` matrix on ``qubits`` (default all); real
        when ``op`` is Hermitian."""
        from .kron import embed
        from .pauli import PauliSum

        if isinstance(op, str):
            if qubits is not None:
                rho = self.reduced(qubits)
                return rho.expectation(op)
            op = PauliSum(op, num_qubits=self.num_qubits)
        if isinstance(op, PauliSum):
            if op.num_qubits != self.num_qubits:
                raise CircuitError(f"a {op.num_qubits}-qubit operator on a {self.num_qubits}-"
                                   "qubit state")
            m = op.to_sparse()
            val = complex(m.multiply(self.data.T).sum())
            return val.real if op.is_hermitian() else val
        mat = np.asarray(op)
        qs = self._check_qubits(qubits)
        if mat.shape != (2 ** len(qs),) * 2:
            raise CircuitError(f"operator of shape {mat.shape} does not act on {len(qs)} qubit(s)")
        full = embed(mat, qs, self.num_qubits) if len(qs) < self.num_qubits or qs != sorted(
            qs) else mat
        val = complex(np.sum(np.asarray(full) * self.data.T))
        return val.real if np.allclose(mat, mat.conj().T) else val

    def to_statevector(self, atol: float = 1e-9) -> Statevector:
        """The pure state ``|psi>`` with ``rho = |psi><psi|`` (global phase: the largest
        amplitude real); CircuitError when rho is not pure within ``atol``."""
        if not self.is_pure(atol):
            raise CircuitError(f"the density matrix is mixed (purity {self.purity():.6g}); it "
                               "has no state vector")
        w, v = np.linalg.eigh((self.data + self.data.conj().T) / 2)
        psi = v[:, -1] * np.sqrt(max(w[-1], 0.0))
        j = int(np.argmax(np.abs(psi)))
        return Statevector(psi * (abs(psi[j]) / psi[j]))


    def _repr_html_(self) -> str:
        """Purity, then the :data:`HTML_TOP` largest diagonal entries (outcome probabilities,
        above 1e-12) as a table in basis order (qubit 0 leftmost), with a note of how many
        nonzero ones were left out."""
        p = self.probabilities_array()
        nonzero = np.flatnonzero(p > 1e-12)
        shown = nonzero if nonzero.size <= HTML_TOP else nonzero[
            np.argsort(-p[nonzero], kind="stable")[:HTML_TOP]]
        n = self.num_qubits
        rows = "".join(f"<tr><td><code>|{basis_label(i, n)}&gt;</code></td><td>{p[i]:.4f}</td>"
                       "</tr>" for i in np.sort(shown).tolist())
        head = (f"<p><b>DensityMatrix</b>: {n} qubit{'s' * (n != 1)} (qubit 0 leftmost), "
                f"purity {self.purity():.6g}</p>")
        table = ("<table><thead><tr><th>basis</th><th>probability</th></tr></thead>"
                 f"<tbody>{rows}</tbody></table>")
        left = int(nonzero.size - shown.size)
        note = "" if not left else (
            f"<p>{left} smaller nonzero probabilit{'ies' if left != 1 else 'y'} not shown "
            f"(total {float(p[nonzero].sum() - p[shown].sum()):.4g})</p>")
        return f"<div>{head}{table}{note}</div>"

    def __repr__(self) -> str:
        n = self.num_qubits
        head = f"DensityMatrix({n} qubit{'s' * (n != 1)}, purity={self.purity():.6g}"
        if n <= 3:
            diag = ", ".join(f"{basis_label(i, n)}: {p:.4g}"
                             for i, p in enumerate(self.probabilities_array()) if p > 1e-12)
            return f"{head}, diagonal={{{diag}}})"
        return f"{head}, dtype={self.data.dtype})"
