"""The ``Statevector`` returned by :func:`qsim.simulate`.

``data`` is a flat complex vector of length 2**n; basis index i's binary digits, most significant
first, are the values of qubits 0, 1, ..., n-1 (qubit 0 leftmost, as in every bitstring qsim prints).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .bits import basis_label
from .errors import CircuitError
from .kron import ket
from .outcomes import Outcomes


class Statevector(Outcomes):
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
    def probabilities_array(self, qubits: Sequence[int] | None = None) -> np.ndarray:
        """Outcome probabilities as a float array of length 2**len(qubits).

        Index j's binary digits (most significant first) are the values of ``qubits`` in the order
        given (all qubits, 0 first, by default).
        """
        from .backends.vector import marginal_probabilities

        return marginal_probabilities(self.data, self._check_qubits(qubits))

    def amplitude(self, label: str) -> complex:
        """Amplitude of basis state ``label`` (e.g. ``"0110"``, qubit 0 leftmost)."""
        if len(label) != self.num_qubits or set(label) - {"0", "1"}:
            raise CircuitError(f"basis label {label!r} must be {self.num_qubits} characters of 0/1")
        return complex(self.data[int(label, 2)])

    # --- algebra ---------------------------------------------------------------------------------
    def expectation(self, op: Any, qubits: Sequence[int] | None = None) -> complex | float:
        """``<psi|op|psi>``. ``op`` is one of

        * a Pauli label: dense (``"ZZ"``, ``"XIY"``: character j acts on qubit j, or on
          ``qubits[j]`` when ``qubits`` is given) or indexed (``"Z0 Z1"``, ``"X0*Y2"``: index j is
          qubit j, or ``qubits[j]``), optionally with a sign (``"-ZZ"``); the value is a float;
        * any object with ``expectation_value(statevector)``, e.g. a :class:`qsim.PauliSum` (use
          one for sums: ``qsim.PauliSum("0.5*ZZ + XX")``);
        * a dense 2**k matrix on ``qubits`` (default all qubits); real when Hermitian.

        >>> bell = Statevector([2 ** -0.5, 0, 0, 2 ** -0.5])
        >>> [round(bell.expectation(p), 12) for p in ("ZZ", "ZI", "XX", "Y0 Y1")]
        [1.0, 0.0, 1.0, -1.0]
        """
        if isinstance(op, str):
            return self._pauli_expectation(op, qubits)
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

    def _pauli_expectation(self, label: str, qubits: Sequence[int] | None) -> float:
        """``<psi|P|psi>`` for one Pauli string (see :meth:`expectation`), applied factor by
        factor; qsim.pauli is not imported (it imports this module)."""
        targets = self._check_qubits(qubits)
        sign, factors = _parse_pauli(label, len(targets))
        psi = self.data.astype(np.complex128, copy=False)
        phi = psi.copy()
        for pos, p in factors:
            if p == "I":
                continue
            # qubit q is bit (n - 1 - q) of the basis index (qubit 0 most significant)
            phi = phi.reshape(1 << targets[pos], 2, -1)
            if p == "X":
                phi = phi[:, ::-1, :]
            elif p == "Z":
                phi = phi.copy()
                phi[:, 1, :] *= -1
            else:                   # Y = [[0, -i], [i, 0]]
                phi = phi[:, ::-1, :] * 1j
                phi[:, 0, :] *= -1
            phi = phi.reshape(-1)
        return sign * float(np.vdot(psi, phi).real)

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


    def __len__(self) -> int:
        return int(self.data.size)

    def __repr__(self) -> str:
        if self.num_qubits <= 4:
            terms = [f"{a:.4g}|{basis_label(i, self.num_qubits)}>"
                     for i, a in enumerate(self.data) if abs(a) > 1e-12]
            return f"Statevector({' + '.join(terms) or '0'})"
        return f"Statevector({self.num_qubits} qubits, dtype={self.data.dtype})"

    # --- notebook display ------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        """The :data:`HTML_TOP` largest amplitudes (above 1e-12) as a table in basis order (qubit 0
        leftmost), with a note of how many nonzero amplitudes were left out."""
        mags = np.abs(self.data)
        nonzero = np.flatnonzero(mags > 1e-12)
        if nonzero.size > HTML_TOP:
            # largest first, ties by basis index (stable sort on -|a|)
            shown = nonzero[np.argsort(-mags[nonzero], kind="stable")[:HTML_TOP]]
        else:
            shown = nonzero
        rows = []
        for i in np.sort(shown).tolist():
            a = complex(self.data[i])
            rows.append(f"<tr><td><code>|{basis_label(i, self.num_qubits)}&gt;</code></td>"
                        f"<td>{_format_amplitude(a)}</td><td>{abs(a) ** 2:.4f}</td></tr>")
        left = int(nonzero.size - shown.size)
        n = self.num_qubits
        head = (f"<p><b>Statevector</b>: {n} qubit{'s' * (n != 1)} (qubit 0 leftmost), "
                f"{nonzero.size} nonzero amplitude{'s' * (nonzero.size != 1)}</p>")
        table = ("<table><thead><tr><th>basis</th><th>amplitude</th><th>probability</th></tr>"
                 f"</thead><tbody>{''.join(rows)}</tbody></table>")
        note = ""
        if left:
            rest = float(np.sum(mags[nonzero] ** 2) - np.sum(mags[shown] ** 2))
            note = (f"<p>{left} smaller nonzero amplitude{'s' * (left != 1)} not shown "
                    f"(total probability {rest:.4g})</p>")
        return f"<div>{head}{table}{note}</div>"


#: Amplitudes listed by :meth:`Statevector._repr_html_`.
HTML_TOP = 32

_PAULI_FACTOR = re.compile(r"([IXYZ])(\d+)")


def _format_amplitude(a: complex) -> str:
    return f"{a.real:.4f} {'-' if a.imag < 0 else '+'} {abs(a.imag):.4f}j"


def _parse_pauli(label: str, k: int) -> tuple[float, list[tuple[int, str]]]:
    """``(sign, [(position, "X"|"Y"|"Z"|"I"), ...])`` of one Pauli string on ``k`` qubits:
    dense (``"XIZ"``, exactly k characters) or indexed (``"X0 Z2"``, ``"X0*Z2"``, indices below k,
    each at most once), with an optional leading ``+``/``-``."""
    text = label.strip()
    sign = 1.0
    if text and text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:].strip()
    if not text:
        raise CircuitError(f"Pauli label {label!r} is empty")
    if re.fullmatch(r"[IXYZ]+", text):
        if len(text) != k:
            raise CircuitError(f"Pauli label {label!r} has {len(text)} character(s) for "
                               f"{k} qubit(s)")
        return sign, list(enumerate(text))
    pieces = [p for p in re.split(r"[\s*]+", text) if p]
    factors: list[tuple[int, str]] = []
    for piece in pieces:
        m = _PAULI_FACTOR.fullmatch(piece)
        if m is None:
            raise CircuitError(f"Pauli label {label!r}: {piece!r} is not a Pauli factor (dense "
                               f"'XZ' or indexed 'X0 Z1'; use qsim.PauliSum for sums and "
                               f"coefficients)")
        q = int(m.group(2))
        if q >= k:
            raise CircuitError(f"Pauli label {label!r}: qubit {q} out of range for {k} qubit(s)")
        if any(q == pos for pos, _ in factors):
            raise CircuitError(f"Pauli label {label!r}: qubit {q} appears twice")
        factors.append((q, m.group(1)))
    return sign, factors
