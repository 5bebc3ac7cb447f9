"""The Kronecker toolkit: states, projectors and operators built from Kronecker products.

Bit order (used everywhere in qsim): qubit 0 is the *leftmost* Kronecker factor and the leftmost
character of a label, so ``ket("01") == kron(ket("0"), ket("1"))`` is the basis vector with index
``0b01 == 1``. An n-qubit state is a complex vector of length ``2**n``; reshaped to ``(2,) * n`` its
axis ``k`` is qubit ``k``.

The Kronecker product is not commutative: ``kron(X, Y) != kron(Y, X)`` in general, because the
first factor acts on the first (leftmost, most significant) qubit.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Any

import numpy as np

from .errors import CircuitError

_SQ2 = 1 / np.sqrt(2)
_ONE_QUBIT_KETS: dict[str, np.ndarray] = {
    "0": np.array([1, 0], dtype=complex),
    "1": np.array([0, 1], dtype=complex),
    "+": np.array([_SQ2, _SQ2], dtype=complex),
    "-": np.array([_SQ2, -_SQ2], dtype=complex),
    "r": np.array([_SQ2, 1j * _SQ2], dtype=complex),
    "l": np.array([_SQ2, -1j * _SQ2], dtype=complex),
}
for _v in _ONE_QUBIT_KETS.values():
    _v.setflags(write=False)


def _is_sparse(op: Any) -> bool:
    # Checked by module name so that scipy is imported only when sparse input is actually given.
    return type(op).__module__.startswith("scipy.sparse")


def kron(*ops: Any) -> Any:
    """n-ary Kronecker product ``ops[0] ⊗ ops[1] ⊗ ...``.

    Works on vectors (1-D) and matrices (2-D), dense numpy or scipy.sparse; if any factor is sparse the
    result is a sparse CSR matrix. ``ops[0]`` is the leftmost factor (acts on qubit 0). Not commutative.

    >>> kron(np.array([[1, 2], [3, 4]]), np.array([[0, 5], [6, 7]])).shape
    (4, 4)
    """
    if not ops:
        raise ValueError("kron needs at least one operand")
    if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
        ops = tuple(ops[0])
    if any(_is_sparse(op) for op in ops):
        import scipy.sparse as sp

        mats = [op if _is_sparse(op) else sp.csr_matrix(np.atleast_2d(op)) for op in ops]
        return reduce(lambda a, b: sp.kron(a, b, format="csr"), mats).tocsr()
    return reduce(np.kron, [np.asarray(op) for op in ops])


def ket(label: str) -> np.ndarray:
    """State vector for a label of one-qubit states: ``0 1 + - r l`` (r/l = (|0> ± i|1>)/√2).

    ``ket("01+")`` is ``|0>⊗|1>⊗|+>``, qubit 0 leftmost. Returns a complex vector of length 2**len(label).
    """
    if not label:
        raise ValueError("ket label must not be empty")
    try:
        return kron(*[_ONE_QUBIT_KETS[ch] for ch in label])
    except KeyError as exc:
        raise ValueError(f"unknown one-qubit state {exc.args[0]!r} in label {label!r}; "
                         "use 0, 1, +, -, r, l") from None


def bra(label: str) -> np.ndarray:
    """The conjugate of ``ket(label)`` (a 1-D vector), so ``bra(a) @ ket(b)`` is ``<a|b>``."""
    return ket(label).conj()


def proj(label: str) -> np.ndarray:
    """Projector ``|label><label|`` as a dense ``2**n x 2**n`` matrix."""
    v = ket(label)
    return np.outer(v, v.conj())


_BELL = {
    "phi+": ("00", "11", 1), "phi-": ("00", "11", -1),
    "psi+": ("01", "10", 1), "psi-": ("01", "10", -1),
}


def bell(which: str = "phi+") -> np.ndarray:
    """Bell state built from kets: phi± = (|00> ± |11>)/√2, psi± = (|01> ± |10>)/√2."""
    try:
        a, b, sign = _BELL[which]
    except KeyError:
        raise ValueError(f"unknown Bell state {which!r}; use one of {sorted(_BELL)}") from None
    return (ket(a) + sign * ket(b)) * _SQ2


def ghz(n: int) -> np.ndarray:
    """GHZ state (|0...0> + |1...1>)/√2 on n >= 1 qubits, built from Kronecker products."""
    if n < 1:
        raise ValueError("ghz needs n >= 1")
    return (ket("0" * n) + ket("1" * n)) * _SQ2


def controlled(u: np.ndarray, n_controls: int = 1) -> np.ndarray:
    """Controlled-U built from projectors: ``|0><0|⊗I + |1><1|⊗U``; controls are the leading qubits.

    For k controls: ``Σ_{b != 1..1} |b><b| ⊗ I + |1..1><1..1| ⊗ U``. Returns a dense matrix of size
    ``2**(k+m)`` for a ``2**m``-dimensional U.
    """
    u = np.asarray(u, dtype=complex)
    if n_controls < 0:
        raise ValueError("n_controls must be >= 0")
    if n_controls == 0:
        return u.copy()
    dim = u.shape[0]
    k = n_controls
    ident = np.eye(dim, dtype=complex)
    out = np.zeros((2**k * dim,) * 2, dtype=complex)
    for b in range(2**k):
        label = format(b, f"0{k}b")
        out += kron(proj(label), u if b == 2**k - 1 else ident)
    return out


def _check_targets(targets: Sequence[int], n: int, k: int) -> tuple[int, ...]:
    t = tuple(int(q) for q in targets)
    if len(t) != k:
        raise CircuitError(f"operator acts on {k} qubit(s) but {len(t)} target(s) were given")
    if len(set(t)) != len(t):
        raise CircuitError(f"duplicate target qubits {list(t)}")
    for q in t:
        if not 0 <= q < n:
            raise CircuitError(f"target qubit {q} out of range for {n} qubit(s)")
    return t


def _num_qubits_of(dim: int) -> int:
    k = dim.bit_length() - 1
    if dim < 1 or 1 << k != dim:
        raise CircuitError(f"dimension {dim} is not a power of two")
    return k


def basis_permutation(order: Sequence[int]) -> np.ndarray:
    """Index map for reordering qubits: entry ``i`` is the standard index of basis state ``i`` written
    in the qubit order ``order`` (``order[0]`` = most significant). Length ``2**len(order)``."""
    n = len(order)
    return np.arange(2**n).reshape((2,) * n).transpose(tuple(order)).ravel()


def embed(u: Any, targets: Sequence[int], n: int, sparse: bool = False) -> Any:
    """``I⊗…⊗U⊗…⊗I``: the operator U acting on ``targets`` of an n-qubit register.

    ``targets[j]`` is the qubit U's j-th factor acts on (any order, need not be adjacent). Dense
    ``2**n x 2**n`` ndarray, or scipy.sparse CSR when ``sparse=True`` (no dense intermediate).
    """
    dim = u.shape[0]
    k = _num_qubits_of(dim)
    t = _check_targets(targets, n, k)
    rest = [q for q in range(n) if q not in t]
    order = list(t) + rest
    perm = basis_permutation(order)
    if sparse or _is_sparse(u):
        import scipy.sparse as sp

        m = sp.kron(sp.coo_matrix(u), sp.identity(2 ** (n - k), dtype=complex, format="coo"),
                    format="coo")
        return sp.csr_matrix((m.data, (perm[m.row], perm[m.col])), shape=(2**n, 2**n))
    m = np.kron(np.asarray(u, dtype=complex), np.eye(2 ** (n - k), dtype=complex))
    out = np.empty_like(m)
    out[np.ix_(perm, perm)] = m
    return out


def kron_apply(u: np.ndarray, targets: Sequence[int], state: np.ndarray) -> np.ndarray:
    """Apply U on ``targets`` to an n-qubit state without forming the ``2**n x 2**n`` product.

    The "vec trick": view the state as a tensor of shape ``(2,) * n``, contract U's input indices
    with the target axes, and move the output axes back. Returns a new vector of the same shape and
    dtype as ``state`` (1-D, length ``2**n``); equal to ``embed(u, targets, n) @ state``.
    """
    state = np.asarray(state)
    n = _num_qubits_of(state.size)
    u = np.asarray(u)
    k = _num_qubits_of(u.shape[0])
    t = _check_targets(targets, n, k)
    psi = state.reshape((2,) * n)
    ut = u.astype(state.dtype, copy=False).reshape((2,) * (2 * k))
    res = np.tensordot(ut, psi, axes=(list(range(k, 2 * k)), list(t)))
    return np.moveaxis(res, list(range(k)), list(t)).reshape(state.shape)
