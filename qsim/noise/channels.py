"""Quantum channels in Kraus form: ``rho -> sum_i K_i rho K_i^dagger``.

Bit order (qsim's everywhere): a k-qubit channel's Kraus operators are ``2**k x 2**k`` matrices
whose leftmost Kronecker factor (most significant bit) acts on the *first* qubit the channel is
applied to. Multi-qubit channels are Kronecker products of one-qubit operators: the 2-qubit
depolarizing channel's Kraus set is ``{sqrt(p/15) kron(P, Q)}`` over the Pauli pairs
``(P, Q) != (I, I)`` plus ``sqrt(1-p) I``, and ``a.tensor(b)`` has the Kraus set ``{kron(A, B)}``.

Every constructor here raises :class:`qsim.errors.CircuitError` with a one-line message naming the
parameter when a value is out of range, and :class:`Channel` checks ``sum K^dagger K = I``.

Parameter conventions (compared with Qiskit Aer and Cirq in ``tests/test_noise_channels.py``):

* ``depolarizing(p, qubits=k)``: Cirq's ``cirq.depolarize(p, n_qubits=k)``,
  ``rho -> (1-p) rho + p/(4**k-1) sum_{P != I} P rho P``, so on |0> one qubit reads 1 with
  probability ``2p/3``. Qiskit's ``depolarizing_error(lam, k)``
  (``rho -> (1-lam) rho + lam I/2**k``) is ``depolarizing(lam * (4**k - 1) / 4**k, k)``.
* ``amplitude_damping(gamma)``, ``phase_damping(lam)``, ``thermal_relaxation(t1, t2, time)`` and
  ``reset_error(p0, p1)`` take the parameters of Qiskit Aer's ``amplitude_damping_error``,
  ``phase_damping_error``, ``thermal_relaxation_error`` and ``reset_error`` and give the same maps.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CircuitError
from ..kron import embed, kron

if TYPE_CHECKING:
    import scipy.sparse

_PAULI = {
    "I": np.eye(2, dtype=np.complex128),
    "X": np.array([[0, 1], [1, 0]], dtype=np.complex128),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=np.complex128),
    "Z": np.array([[1, 0], [0, -1]], dtype=np.complex128),
}
#: Kraus operators whose weight ``trace(K^dagger K)`` is below this are dropped (they change no
#: probability by more than this).
_NEGLIGIBLE = 1e-24
#: Widest channel built from Pauli strings: 4**k operators of 2**k x 2**k (k = 5: 16 MiB).
MAX_PAULI_QUBITS = 5


def _show(value: Any) -> str:
    """A value as the message shows it: JSON-like (strings quoted with double quotes)."""
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _real(value: Any, where: str, low: float | None = None, high: float | None = None, *,
          low_open: bool = False, allow_inf: bool = False) -> float:
    """``value`` as a float in the range, else a CircuitError ``{where}: expected ...``."""
    if low is not None and high is not None:
        want = f"a number in {'(' if low_open else '['}{low:g}, {high:g}]"
    elif low is not None:
        want = "a positive number" if low_open and low == 0 else f"a number >= {low:g}"
    else:
        want = "a number"
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))
    x = float(value) if ok else math.nan
    if ok and (math.isnan(x) or (math.isinf(x) and not allow_inf)):
        ok = False
    if ok and low is not None and (x < low or (low_open and x == low)):
        ok = False
    if ok and high is not None and x > high:
        ok = False
    if not ok:
        raise CircuitError(f"{where}: expected {want}, got {_show(value)}")
    return x


def _as_operator(op: Any, index: int) -> np.ndarray:
    try:
        m = np.array(op, dtype=np.complex128)
    except (TypeError, ValueError) as exc:
        raise CircuitError(f"Kraus operator {index}: not a complex matrix ({exc})") from None
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2 or (
            m.shape[0] & (m.shape[0] - 1)):
        raise CircuitError(f"Kraus operator {index}: expected a 2**k x 2**k matrix (k >= 1), "
                           f"got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise CircuitError(f"Kraus operator {index}: has a non-finite entry")
    return m


class Channel:
    """A CPTP map on ``num_qubits`` qubits, ``rho -> sum_i K_i rho K_i^dagger``.

    Kraus operators are ``2**k x 2**k`` complex128 read-only arrays; factor 0 (leftmost, most
    significant bit) acts on the first qubit the channel is applied to. The constructor checks
    that the list is non-empty, of equal square power-of-two shapes and finite, and that
    ``sum K^dagger K = I`` within ``atol`` (else :class:`CircuitError` giving the largest
    deviation); operators of negligible weight (``trace K^dagger K < 1e-24``) are dropped.

    ``name`` and ``params`` describe where the channel came from (``"depolarizing", {"p": 0.01}``);
    channels made by the functions of this module serialise as those parameters
    (:meth:`to_dict`), others as their Kraus operators.
    """

    __hash__ = None  # type: ignore[assignment]   # equality is approximate

    def __init__(self, kraus: Sequence[Any], name: str = "kraus",
                 params: Mapping[str, float] | None = None, *, atol: float = 1e-10) -> None:
        if isinstance(kraus, np.ndarray) and kraus.ndim == 2:
            kraus = [kraus]
        try:
            ops_in = list(kraus)
        except TypeError:
            raise CircuitError(f"a channel needs a list of Kraus operators, got "
                               f"{type(kraus).__name__}") from None
        if not ops_in:
            raise CircuitError("a channel needs at least one Kraus operator")
        ops = [_as_operator(op, i) for i, op in enumerate(ops_in)]
        dim = ops[0].shape[0]
        for i, m in enumerate(ops):
            if m.shape != ops[0].shape:
                raise CircuitError(f"Kraus operator {i} has shape {m.shape}, operator 0 has "
                                   f"{ops[0].shape}; all must have the same shape")
        total = sum(m.conj().T @ m for m in ops)
        dev = float(np.max(np.abs(total - np.eye(dim))))
        if not dev <= atol:
            raise CircuitError(f"the Kraus operators are not trace preserving: sum K^dagger K "
                               f"differs from the identity by up to {dev:.3g} (tolerance "
                               f"{atol:g})")
        kept = [m for m in ops if float(np.vdot(m, m).real) >= _NEGLIGIBLE]
        for m in kept:
            m.setflags(write=False)
        self.kraus: tuple[np.ndarray, ...] = tuple(kept)
        self.num_qubits: int = dim.bit_length() - 1
        self.name: str = str(name)
        self.params: dict[str, float] = dict(params or {})
        self._spec: dict[str, Any] | None = None
        self._mixture: Any = ...
        self._superop: np.ndarray | None = None

    # --- structure ----------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """``2**num_qubits``."""
        return 1 << self.num_qubits

    @property
    def mixture(self) -> tuple[tuple[float, np.ndarray], ...] | None:
        """``((p_i, U_i), ...)`` with unitary ``U_i`` and ``sum p_i = 1`` when the channel is a
        mixture of unitaries, largest ``p_i`` first; None otherwise (amplitude damping, reset).

        Found from the Kraus operators (each ``K_i^dagger K_i = p_i I``) or, failing that and for
        up to 3 qubits, from the channel's Pauli (chi) matrix: when it is diagonal the channel is
        a mixture of Pauli strings, so phase damping and dephasing-only thermal relaxation are
        reported as the Z mixtures they equal, whatever their Kraus form. Operators equal up
        to a phase are merged into one entry.
        """
        if self._mixture is ...:
            self._mixture = self._find_mixture()
        return self._mixture  # type: ignore[no-any-return]

    def _find_mixture(self) -> tuple[tuple[float, np.ndarray], ...] | None:
        eye = np.eye(self.dim)
        found: list[tuple[float, np.ndarray]] = []
        for k in self.kraus:
            kk = k.conj().T @ k
            p = float(np.trace(kk).real) / self.dim
            if p <= 0 or np.max(np.abs(kk - p * eye)) > 1e-10:
                found = []
                break
            found.append((p, k / math.sqrt(p)))
        if not found and self.num_qubits <= 3:
            found = self._pauli_mixture()
        if not found:
            return None
        # Kraus operators that are the same unitary up to a phase (after compose or tensor:
        # X·I and I·X) are one outcome: fewer branches for the shot splitting.
        merged: list[list[Any]] = []
        for p, u in found:
            for entry in merged:
                if abs(abs(np.vdot(entry[1], u)) - self.dim) < 1e-10:
                    entry[0] += p
                    break
            else:
                merged.append([p, u])
        total = sum(p for p, _ in merged)
        out = []
        for p, u in sorted(merged, key=lambda pu: -pu[0]):   # stable: ties keep Kraus order
            u = np.array(u)
            u.setflags(write=False)
            out.append((p / total, u))
        return tuple(out)

    def _pauli_mixture(self) -> list[tuple[float, np.ndarray]]:
        labels = ["".join(s) for s in itertools.product("IXYZ", repeat=self.num_qubits)]
        paulis = [kron(*[_PAULI[c] for c in s]) for s in labels]
        # c[i, a] = tr(P_a K_i) / d: the Kraus operators in the (Hermitian) Pauli basis.
        coeff = np.array([[np.trace(p @ k) / self.dim for p in paulis] for k in self.kraus])
        chi = coeff.T @ coeff.conj()
        off = chi - np.diag(np.diag(chi))
        if np.max(np.abs(off)) > 1e-10:
            return []
        return [(float(chi[a, a].real), paulis[a]) for a in range(len(paulis))
                if chi[a, a].real > 1e-14]

    # --- representations ----------------------------------------------------------------------
    @property
    def superoperator_matrix(self) -> np.ndarray:
        """``sum_i kron(K_i, conj(K_i))`` as a dense, read-only ``4**k x 4**k`` complex array
        acting on the row-major ``vec(rho)``; computed once per channel (the density backend
        applies it after every gate a rule matches)."""
        if self._superop is None:
            s = np.asarray(sum(np.kron(k, k.conj()) for k in self.kraus), dtype=complex)
            s.setflags(write=False)
            self._superop = s
        return self._superop

    def superoperator(self) -> scipy.sparse.csr_matrix:
        """``sum_i kron(K_i, conj(K_i))``: ``4**k x 4**k`` sparse CSR acting on the row-major
        ``vec(rho)`` (entry ``i * 2**k + j`` is ``rho[i, j]``), so that
        ``vec(E(rho)) = S @ vec(rho)``."""
        import scipy.sparse as sp

        return sp.csr_matrix(self.superoperator_matrix)

    def choi(self) -> np.ndarray:
        """The Choi matrix ``sum_ij |i><j| ⊗ E(|i><j|)`` (input factor left, output right),
        ``4**k x 4**k`` Hermitian, PSD exactly when the map is completely positive, with partial
        trace over the output equal to I when it is trace preserving. The same convention as
        ``qiskit.quantum_info.Choi`` (which orders multi-qubit bases little-endian)."""
        d = self.dim
        # Choi[(i, o), (j, o')] = sum_k K[o, i] conj(K[o', j]): the vectorised columns of K.
        vecs = np.array([k.T.reshape(d * d) for k in self.kraus])
        return vecs.T @ vecs.conj()

    @classmethod
    def from_choi(cls, choi: Any, name: str = "kraus", params: Mapping[str, float] | None = None,
                  *, atol: float = 1e-10) -> Channel:
        """The channel of a Choi matrix (convention of :meth:`choi`), with the fewest Kraus
        operators (its eigenvectors); a matrix with an eigenvalue below ``-atol`` is not
        completely positive (CircuitError)."""
        c = np.array(choi, dtype=np.complex128)
        if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 4 or (
                c.shape[0] & (c.shape[0] - 1)) or (c.shape[0].bit_length() - 1) % 2:
            raise CircuitError(f"a Choi matrix must be 4**k x 4**k, got shape {c.shape}")
        if np.max(np.abs(c - c.conj().T)) > atol:
            raise CircuitError("the Choi matrix is not Hermitian")
        d = 1 << ((c.shape[0].bit_length() - 1) // 2)
        w, v = np.linalg.eigh((c + c.conj().T) / 2)
        if w[0] < -atol:
            raise CircuitError(f"the Choi matrix has the eigenvalue {w[0]:.3g} < 0: the map is "
                               f"not completely positive")
        ops = []
        for a, lam in enumerate(w):
            if lam > _NEGLIGIBLE:
                vec = v[:, a]
                big = vec[np.argmax(np.abs(vec))]      # eigh's phase is arbitrary: make the
                vec = vec * (abs(big) / big)           # largest entry real and positive
                ops.append(math.sqrt(lam) * vec.reshape(d, d).T)
        return cls(ops or [np.zeros((d, d))], name, params, atol=atol)

    def apply_to_density(self, rho: Any, qubits: Sequence[int] | None = None) -> np.ndarray:
        """``sum_i K_i rho K_i^dagger`` as a new dense matrix (a small reference for tests and
        docs). ``rho`` is ``2**n x 2**n``; ``qubits`` (default ``0..k-1`` with n = k) are the
        qubits of rho the channel acts on, its first factor on ``qubits[0]``."""
        r = np.asarray(rho, dtype=np.complex128)
        if r.ndim != 2 or r.shape[0] != r.shape[1] or r.shape[0] & (r.shape[0] - 1):
            raise CircuitError(f"a density matrix must be 2**n x 2**n, got shape {r.shape}")
        n = r.shape[0].bit_length() - 1
        if qubits is None:
            if n != self.num_qubits:
                raise CircuitError(f"a {self.num_qubits}-qubit channel needs qubits= on a "
                                   f"{n}-qubit density matrix")
            ops = list(self.kraus)
        else:
            ops = [embed(k, list(qubits), n) for k in self.kraus]
        return sum((k @ r @ k.conj().T for k in ops), np.zeros_like(r))

    # --- algebra ------------------------------------------------------------------------------
    def tensor(self, *others: Channel) -> Channel:
        """The channel ``self ⊗ others[0] ⊗ ...``: Kraus set ``{kron(A, B, ...)}``, ``self`` on the
        first qubits (leftmost factor). Its Kraus count is the product of the counts."""
        chans = (self, *others)
        for c in others:
            if not isinstance(c, Channel):
                raise CircuitError(f"tensor: expected Channels, got {type(c).__name__}")
        ops = [kron(*combo) for combo in itertools.product(*(c.kraus for c in chans))]
        return Channel(ops, "tensor(" + ", ".join(c.name for c in chans) + ")")

    def compose(self, after: Channel) -> Channel:
        """The channel ``after ∘ self`` (``self`` first, then ``after``, on the same qubits):
        Kraus set ``{B_j A_i}``."""
        if not isinstance(after, Channel):
            raise CircuitError(f"compose: expected a Channel, got {type(after).__name__}")
        if after.num_qubits != self.num_qubits:
            raise CircuitError(f"compose: a {after.num_qubits}-qubit channel cannot follow a "
                               f"{self.num_qubits}-qubit channel")
        ops = [b @ a for a in self.kraus for b in after.kraus]
        return Channel(ops, f"compose({self.name}, {after.name})")

    def equivalent(self, other: Channel, atol: float = 1e-10) -> bool:
        """True when both are the same map (equal Choi matrices within ``atol``), whatever their
        Kraus operators, names or parameters."""
        return (isinstance(other, Channel) and other.num_qubits == self.num_qubits
                and bool(np.allclose(self.choi(), other.choi(), rtol=0, atol=atol)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Channel):
            return NotImplemented
        return (self.name == other.name and self.params == other.params
                and self.equivalent(other, atol=1e-12))

    # --- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: ``{"type": "depolarizing", "p": 0.01}`` for the built-in
        channels, ``{"type": "kraus", "name": ..., "operators": [[[re, im], ...], ...]}``
        otherwise (see ``docs/noise_model.md``)."""
        if self._spec is not None:
            return _copy_spec(self._spec)
        return {"type": "kraus", "name": self.name,
                "operators": [[[[float(z.real), float(z.imag)] for z in row] for row in k]
                              for k in self.kraus]}

    @classmethod
    def from_dict(cls, data: Any, where: str = "channel") -> Channel:
        """The channel :meth:`to_dict` describes; CircuitError ``{where}.field: ...`` otherwise."""
        return channel_from_dict(data, where)

    def __repr__(self) -> str:
        parts = [self.name]
        parts += [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                  for k, v in self.params.items()]
        q, n = self.num_qubits, len(self.kraus)
        parts.append(f"{q} qubit{'s' * (q != 1)}")
        parts.append(f"{n} Kraus operator{'s' * (n != 1)}")
        return f"Channel({', '.join(parts)})"


def _copy_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: dict(v) if isinstance(v, dict) else v for k, v in spec.items()}


def _built(ops: Sequence[np.ndarray], name: str, params: dict[str, float],
           spec: dict[str, Any]) -> Channel:
    ch = Channel(ops, name, params)
    ch._spec = spec
    return ch


def _prob(value: Any, where: str) -> float:
    return _real(value, where, 0.0, 1.0)


# --- Pauli channels -------------------------------------------------------------------------------
def _pauli_ops(weights: Mapping[str, float]) -> list[np.ndarray]:
    return [math.sqrt(w) * kron(*[_PAULI[c] for c in s]) for s, w in weights.items() if w > 0]


def depolarizing(p: float, qubits: int = 1) -> Channel:
    """The k-qubit depolarizing channel (Cirq's ``cirq.depolarize`` convention):
    ``rho -> (1-p) rho + p/(4**k-1) sum_{P != I...I} P rho P`` over the non-identity Pauli
    strings, ``0 <= p <= 1``. On |0> one qubit reads 1 with probability ``2p/3``; ``p = 3/4``
    (``15/16`` for k = 2) is the fully depolarizing map ``rho -> I/2**k``.

    Qiskit's ``depolarizing_error(lam, k)`` (``rho -> (1-lam) rho + lam I/2**k``) is
    ``depolarizing(lam * (4**k - 1) / 4**k, k)``. ``4**k`` Kraus operators (fewer when p is 0).
    """
    k = qubits
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= \
            MAX_PAULI_QUBITS:
        raise CircuitError(f"depolarizing: qubits: expected an integer in [1, "
                           f"{MAX_PAULI_QUBITS}], got {_show(k)}")
    k = int(k)
    p = _prob(p, "depolarizing: p")
    strings = ["".join(s) for s in itertools.product("IXYZ", repeat=k)]
    weights = {s: p / (4**k - 1) for s in strings[1:]}
    weights = {strings[0]: 1 - p, **weights}
    spec: dict[str, Any] = {"type": "depolarizing", "p": p}
    if k > 1:
        spec["qubits"] = k
    return _built(_pauli_ops(weights), "depolarizing", {"p": p}, spec)


def _flip(kind: str, pauli: str, p: Any) -> Channel:
    p = _prob(p, f"{kind}: p")
    return _built(_pauli_ops({"I": 1 - p, pauli: p}), kind, {"p": p}, {"type": kind, "p": p})


def bit_flip(p: float) -> Channel:
    """X with probability p: ``rho -> (1-p) rho + p X rho X``, ``0 <= p <= 1``."""
    return _flip("bit_flip", "X", p)


def phase_flip(p: float) -> Channel:
    """Z with probability p: ``rho -> (1-p) rho + p Z rho Z``, ``0 <= p <= 1``."""
    return _flip("phase_flip", "Z", p)


def bit_phase_flip(p: float) -> Channel:
    """Y with probability p: ``rho -> (1-p) rho + p Y rho Y``, ``0 <= p <= 1``."""
    return _flip("bit_phase_flip", "Y", p)


def pauli_channel(probs: Mapping[str, float]) -> Channel:
    """A mixture of Pauli strings: ``{"X": 0.1, "Z": 0.05}`` or ``{"XZ": 0.01, "IY": 0.02}``
    (the first character acts on the first qubit; all strings of one length k; upper or lower
    case). The identity string gets the rest, ``1 - sum``; when it is given, the probabilities
    must add up to 1. Each probability in [0, 1]."""
    if not isinstance(probs, Mapping) or not probs:
        raise CircuitError(f"pauli_channel: expected a non-empty mapping of Pauli strings to "
                           f"probabilities, got {_show(probs)}")
    weights: dict[str, float] = {}
    width = None
    for key, value in probs.items():
        s = key.upper() if isinstance(key, str) else None
        if not s or set(s) - set("IXYZ"):
            raise CircuitError(f"pauli_channel: {_show(key)} is not a Pauli string (letters I, X, "
                               f"Y, Z)")
        if width is not None and len(s) != width:
            raise CircuitError(f"pauli_channel: {_show(key)} has {len(s)} letters, the first "
                               f"string has {width}; all must act on the same qubits")
        if len(s) > MAX_PAULI_QUBITS:
            raise CircuitError(f"pauli_channel: {_show(key)}: at most {MAX_PAULI_QUBITS} qubits")
        if s in weights:
            raise CircuitError(f"pauli_channel: {_show(key)} is given twice")
        width = len(s)
        weights[s] = _prob(value, f"pauli_channel: {key}")
    assert width is not None
    ident = "I" * width
    given = dict(weights)
    total = sum(weights.values())
    if ident in weights:
        if abs(total - 1) > 1e-9:
            raise CircuitError(f"pauli_channel: with the identity {ident!r} given, the "
                               f"probabilities must add up to 1, they add up to {total:.12g}")
    else:
        if total > 1 + 1e-12:
            raise CircuitError(f"pauli_channel: the probabilities add up to {total:.12g} > 1")
        weights = {ident: max(0.0, 1 - total), **weights}
    return _built(_pauli_ops(weights), "pauli_channel",
                  {s: w for s, w in weights.items() if s != ident},
                  {"type": "pauli_channel", "probabilities": given})


# --- damping, relaxation, reset -------------------------------------------------------------------
def amplitude_damping(gamma: float, excited_population: float = 0.0) -> Channel:
    """Energy relaxation |1> -> |0> with probability ``gamma`` (Nielsen & Chuang 8.3.5):
    ``K0 = [[1, 0], [0, sqrt(1-gamma)]]``, ``K1 = [[0, sqrt(gamma)], [0, 0]]``; from |1>, P(1)
    becomes ``1 - gamma``. ``excited_population`` (default 0) relaxes towards a thermal state with
    that population of |1> instead (generalised amplitude damping, Qiskit's
    ``amplitude_damping_error(gamma, excited_state_population)``)."""
    g = _prob(gamma, "amplitude_damping: gamma")
    p1 = _prob(excited_population, "amplitude_damping: excited_population")
    s, c = math.sqrt(g), math.sqrt(1 - g)
    a, b = math.sqrt(1 - p1), math.sqrt(p1)
    ops = [a * np.array([[1, 0], [0, c]]), a * np.array([[0, s], [0, 0]]),
           b * np.array([[c, 0], [0, 1]]), b * np.array([[0, 0], [s, 0]])]
    params = {"gamma": g}
    spec: dict[str, Any] = {"type": "amplitude_damping", "gamma": g}
    if p1:
        params["excited_population"] = spec["excited_population"] = p1
    return _built(ops, "amplitude_damping", params, spec)


def phase_damping(lam: float) -> Channel:
    """Dephasing without energy loss (Nielsen & Chuang 8.3.6, Qiskit's
    ``phase_damping_error(lam)``): ``K0 = [[1, 0], [0, sqrt(1-lam)]]``, ``K1 = [[0, 0], [0,
    sqrt(lam)]]``, so ``rho01 -> sqrt(1-lam) rho01`` and populations are unchanged. The same map as
    ``phase_flip((1 - sqrt(1-lam)) / 2)``, which :attr:`Channel.mixture` reports."""
    lam = _prob(lam, "phase_damping: lam")
    ops = [np.array([[1, 0], [0, math.sqrt(1 - lam)]]), np.array([[0, 0], [0, math.sqrt(lam)]])]
    return _built(ops, "phase_damping", {"lam": lam}, {"type": "phase_damping", "lam": lam})


def thermal_relaxation(t1: float, t2: float, time: float,
                       excited_population: float = 0.0) -> Channel:
    """T1/T2 relaxation for a duration ``time`` (Qiskit Aer's ``thermal_relaxation_error``): the
    population relaxes towards ``excited_population`` of |1> with ``P(1)(t) = e^{-t/T1}`` from |1>
    (at zero population), and coherences decay as ``|rho01|(t) = |rho01|(0) e^{-t/T2}``.

    ``t1 > 0`` (``math.inf``: no relaxation), ``0 < t2 <= 2 t1``, ``time >= 0``, all in the same
    unit (any). Built from its Choi matrix, with the fewest Kraus operators (at most 4).
    """
    t1 = _real(t1, "thermal_relaxation: t1", 0.0, low_open=True, allow_inf=True)
    t2 = _real(t2, "thermal_relaxation: t2", 0.0, low_open=True, allow_inf=True)
    time = _real(time, "thermal_relaxation: time", 0.0)
    p1 = _prob(excited_population, "thermal_relaxation: excited_population")
    if t2 > 2 * t1:
        raise CircuitError(f"thermal_relaxation: t2 must be <= 2*t1, got t2={t2:g} with "
                           f"t1={t1:g}")
    p_reset = 0.0 if math.isinf(t1) else -math.expm1(-time / t1)
    e2 = 1.0 if math.isinf(t2) else math.exp(-time / t2)
    p0 = 1 - p1
    # Choi matrix sum_ij |i><j| ⊗ E(|i><j|): E(|0><0|) = diag(1 - p1 pr, p1 pr),
    # E(|1><1|) = diag(p0 pr, 1 - p0 pr), E(|0><1|) = e2 |0><1|.
    choi = np.array([[1 - p1 * p_reset, 0, 0, e2],
                     [0, p1 * p_reset, 0, 0],
                     [0, 0, p0 * p_reset, 0],
                     [e2, 0, 0, 1 - p0 * p_reset]], dtype=np.complex128)
    params = {"t1": t1, "t2": t2, "time": time}
    # JSON has no infinity: an infinite T1 or T2 (no relaxation) is written as null.
    spec: dict[str, Any] = {"type": "thermal_relaxation", "t1": None if math.isinf(t1) else t1,
                            "t2": None if math.isinf(t2) else t2, "time": time}
    if p1:
        params["excited_population"] = spec["excited_population"] = p1
    ch = Channel.from_choi(choi, "thermal_relaxation", params)
    ch._spec = spec
    return ch


def reset_error(p0: float, p1: float = 0.0) -> Channel:
    """Reset to |0> with probability ``p0`` and to |1> with ``p1``, else nothing (Qiskit Aer's
    ``reset_error(p0, p1)``); ``p0, p1 >= 0``, ``p0 + p1 <= 1``."""
    p0 = _prob(p0, "reset_error: p0")
    p1 = _prob(p1, "reset_error: p1")
    if p0 + p1 > 1 + 1e-12:
        raise CircuitError(f"reset_error: p0 + p1 must be <= 1, got {p0 + p1:.12g}")
    keep = math.sqrt(max(0.0, 1 - p0 - p1))
    a, b = math.sqrt(p0), math.sqrt(p1)
    ops = [keep * np.eye(2),
           a * np.array([[1, 0], [0, 0]]), a * np.array([[0, 1], [0, 0]]),
           b * np.array([[0, 0], [1, 0]]), b * np.array([[0, 0], [0, 1]])]
    params = {"p0": p0, "p1": p1}
    return _built(ops, "reset_error", params, {"type": "reset_error", "p0": p0, "p1": p1})


def kraus_channel(ops: Sequence[Any], name: str = "kraus") -> Channel:
    """A channel from any list of Kraus operators (``2**k x 2**k``, first qubit leftmost), checked
    for ``sum K^dagger K = I`` within 1e-10."""
    return Channel(ops, name)


# --- JSON ---------------------------------------------------------------------------------------
def _complex_entry(value: Any, where: str) -> complex:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise CircuitError(f"{where}: expected a number or [re, im], got {_show(value)}")
        return complex(_real(value[0], f"{where}[0]"), _real(value[1], f"{where}[1]"))
    return complex(_real(value, where))


def _operator_from_json(value: Any, where: str) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise CircuitError(f"{where}: expected a matrix (a list of rows), got {_show(value)}")
    rows = []
    for r, row in enumerate(value):
        if not isinstance(row, list) or len(row) != len(value):
            raise CircuitError(f"{where}[{r}]: expected a row of {len(value)} entries (the "
                               f"matrix must be square), got {_show(row)}")
        rows.append([_complex_entry(z, f"{where}[{r}][{c}]") for c, z in enumerate(row)])
    return np.array(rows, dtype=np.complex128)


#: The JSON channel types: required fields, optional fields, the function that builds it.
_OPTIONAL_P1 = ("excited_population",)
CHANNEL_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "depolarizing": (("p",), ("qubits",)),
    "bit_flip": (("p",), ()),
    "phase_flip": (("p",), ()),
    "bit_phase_flip": (("p",), ()),
    "pauli_channel": (("probabilities",), ()),
    "amplitude_damping": (("gamma",), _OPTIONAL_P1),
    "phase_damping": (("lam",), ()),
    "thermal_relaxation": (("t1", "t2", "time"), _OPTIONAL_P1),
    "reset_error": (("p0",), ("p1",)),
    "kraus": (("operators",), ("name",)),
}


def channel_from_dict(data: Any, where: str = "channel") -> Channel:
    """The channel a JSON object describes (``{"type": "depolarizing", "p": 0.01}``, see
    ``docs/noise_model.md``). Every problem is a one-line CircuitError that starts with ``where``
    and names the field: ``rules[2].channel.p: expected a number in [0, 1], got "x"``."""
    if not isinstance(data, dict):
        raise CircuitError(f"{where}: expected an object with a \"type\", got {_show(data)}")
    kind = data.get("type")
    if kind not in CHANNEL_TYPES:
        if "type" not in data:
            raise CircuitError(f"{where}: missing \"type\" (one of "
                               f"{', '.join(CHANNEL_TYPES)})")
        raise CircuitError(f"{where}.type: unknown channel type {_show(kind)} (known: "
                           f"{', '.join(CHANNEL_TYPES)})")
    required, optional = CHANNEL_TYPES[kind]
    for key in data:
        if key != "type" and key not in required and key not in optional:
            raise CircuitError(f"{where}.{key}: unknown field for a {kind} channel (fields: "
                               f"{', '.join(required + optional)})")
    for key in required:
        if key not in data:
            raise CircuitError(f"{where}: a {kind} channel needs \"{key}\"")

    def num(key: str, low: float = 0.0, high: float | None = 1.0, **kw: Any) -> float:
        return _real(data[key], f"{where}.{key}", low, high, **kw)

    opt_p1 = num("excited_population") if "excited_population" in data else 0.0
    try:
        if kind == "depolarizing":
            k = data.get("qubits", 1)
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_PAULI_QUBITS:
                raise CircuitError(f"{where}.qubits: expected an integer in [1, "
                                   f"{MAX_PAULI_QUBITS}], got {_show(k)}")
            return depolarizing(num("p"), k)
        if kind in ("bit_flip", "phase_flip", "bit_phase_flip"):
            return {"bit_flip": bit_flip, "phase_flip": phase_flip,
                    "bit_phase_flip": bit_phase_flip}[kind](num("p"))
        if kind == "pauli_channel":
            probs = data["probabilities"]
            if not isinstance(probs, dict) or not probs:
                raise CircuitError(f"{where}.probabilities: expected an object such as "
                                   f"{{\"X\": 0.1}}, got {_show(probs)}")
            return pauli_channel({key: _real(v, f"{where}.probabilities.{key}", 0.0, 1.0)
                                  for key, v in probs.items()})
        if kind == "amplitude_damping":
            return amplitude_damping(num("gamma"), opt_p1)
        if kind == "phase_damping":
            return phase_damping(num("lam"))
        if kind == "thermal_relaxation":
            t = {key: math.inf if data[key] is None else num(key, 0.0, None, low_open=True)
                 for key in ("t1", "t2")}
            return thermal_relaxation(t["t1"], t["t2"], num("time", 0.0, None), opt_p1)
        if kind == "reset_error":
            return reset_error(num("p0"), num("p1") if "p1" in data else 0.0)
        name = data.get("name", "kraus")
        if not isinstance(name, str) or not name:
            raise CircuitError(f"{where}.name: expected a non-empty string, got {_show(name)}")
        ops = data["operators"]
        if not isinstance(ops, list) or not ops:
            raise CircuitError(f"{where}.operators: expected a non-empty list of matrices, got "
                               f"{_show(ops)}")
        mats = [_operator_from_json(m, f"{where}.operators[{i}]") for i, m in enumerate(ops)]
        try:
            return Channel(mats, name)
        except CircuitError as exc:
            raise CircuitError(f"{where}.operators: {exc}") from None
    except CircuitError as exc:
        if str(exc).startswith(where):
            raise
        raise CircuitError(f"{where}: {exc}") from None
