"""Pauli strings and sums of them (Hamiltonians): parsing, algebra, sparse matrices, expectation
values and time evolution.

A Pauli string is a label such as ``"ZZI"``: character q acts on qubit q, qubit 0 leftmost, so
``"ZZI"`` is ``Z⊗Z⊗I`` with Z on qubits 0 and 1. Internally a string is two bit vectors, ``x``
(X or Y) and ``z`` (Z or Y); with bit masks that put qubit q at bit ``n-1-q``,
``(P psi)[j] = (-i)^{#Y} (-1)^{popcount(j & zmask)} psi[j XOR xmask]``. That one formula is what
:meth:`PauliSum.to_sparse` and :meth:`PauliSum.expectation_value` evaluate, vectorised over all
``2**n`` basis states.

>>> H = PauliSum.from_string("0.5*ZZI + 0.5*IZZ - 1.2*XII")
>>> H.num_qubits, len(H)
(3, 3)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from .errors import CircuitError, QsimError, SimulationError
from .statevector import Statevector


class PauliError(QsimError, ValueError):
    """A malformed Pauli string or sum (bad character, mismatched lengths, syntax error)."""


_IPOW = np.array([1, 1j, -1, -1j])            # i**k
_X_OF = {"I": False, "X": True, "Y": True, "Z": False}
_Z_OF = {"I": False, "X": False, "Y": True, "Z": True}
_TOKEN = re.compile(r"""\s*(?:
    (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[jJ]?)
  | (?P<factor>[A-Za-z]\d+(?![.\d]))
  | (?P<label>[A-Za-z]+)
  | (?P<op>[-+*()])
  | (?P<bad>\S)
)""", re.VERBOSE)


#: Largest qubit index the indexed form (``"X0 Z65535"``) accepts: a few characters of text must not
#: make a term of millions of qubits.
MAX_INDEXED_QUBITS = 1 << 16
#: Shots drawn one by one (inverse CDF) by :meth:`PauliSum.estimate`; more are one multinomial.
_PER_SHOT_MAX = 1 << 20


def _label_bits(label: str, where: str = "") -> tuple[list[bool], list[bool]]:
    if not isinstance(label, str) or not label:
        raise PauliError(f"a Pauli label must be a non-empty string of I, X, Y, Z, got "
                         f"{label!r}{where}")
    bad = [ch for ch in label if ch not in _X_OF]
    if bad:
        raise PauliError(f"unknown Pauli {bad[0]!r} in label {label!r}{where}; use I, X, Y, Z")
    return [_X_OF[ch] for ch in label], [_Z_OF[ch] for ch in label]


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def _format_coeff(c: complex) -> tuple[str, str]:
    """(sign, magnitude text) such that sign + text parses back to ``c``."""
    if c.imag == 0:
        return ("-" if c.real < 0 else "+"), _num(abs(c.real))
    if c.real == 0:
        return ("-" if c.imag < 0 else "+"), _num(abs(c.imag)) + "j"
    im = ("+" if c.imag >= 0 else "-") + _num(abs(c.imag))
    return "+", f"({_num(c.real)}{im}j)"


def _indexed_factor(val: str, col: int, ops: Mapping[int, str], num_qubits: int | None,
                    fail: Callable[[str, int], PauliError]) -> int:
    """The qubit of an indexed factor such as ``"X3"``, checked against the term's other factors
    ``ops`` (``{qubit: factor}``) and against ``num_qubits``."""
    letter, digits = val[0], val[1:]
    if letter not in _X_OF:
        upper = f" (did you mean {letter.upper()}{digits}?)" if letter.upper() in _X_OF else ""
        raise fail(f"unknown Pauli {letter!r} in {val!r}{upper}; use I, X, Y, Z", col)
    q = int(digits) if len(digits) <= 9 else MAX_INDEXED_QUBITS
    if q >= MAX_INDEXED_QUBITS:
        raise fail(f"qubit index {digits} in {val!r} is too large (at most "
                   f"{MAX_INDEXED_QUBITS - 1})", col)
    if num_qubits is not None and q >= num_qubits:
        raise fail(f"qubit index {q} in {val!r} is out of range for {num_qubits} qubit(s)", col)
    if q in ops:
        raise fail(f"qubit {q} appears twice in one term ({ops[q]!r} and {val!r})", col)
    return q


class PauliSum:
    """A linear combination ``Σ_t c_t P_t`` of n-qubit Pauli strings.

    Build it from a string (``"0.5*ZZI + 0.5*IZZ - 1.2*XII"``, ``"-1j*XY"``, ``"2 * ZZ"``), from
    ``(coeff, "XYZ")`` pairs (``("XYZ", coeff)`` also works) or from a ``{"XYZ": coeff}`` dict:
    ``PauliSum(...)`` accepts any of them. Terms are kept as given; arithmetic results (``+ - *
    @``, scalars included) merge duplicate strings and drop zero coefficients. ``a * b`` and
    ``a @ b`` are the operator product (``X * Y == 1j * Z``).

    ``x``/``z``: bool arrays of shape ``(num_terms, num_qubits)``; ``coeffs``: complex
    ``(num_terms,)``.
    """

    __slots__ = ("num_qubits", "x", "z", "coeffs")
    __array_ufunc__ = None  # numpy scalars defer to our reflected operators: np.float64(2) * H

    def __init__(self, terms: Any = None, num_qubits: int | None = None) -> None:
        if isinstance(terms, PauliSum):
            src = terms
        elif isinstance(terms, str):
            src = PauliSum.from_string(terms, num_qubits)
        elif isinstance(terms, Mapping):
            src = PauliSum.from_dict(terms, num_qubits)
        elif terms is None:
            if num_qubits is None:
                raise PauliError("an empty PauliSum needs num_qubits")
            src = PauliSum.zero(num_qubits)
        else:
            src = PauliSum.from_terms(terms, num_qubits)
        if num_qubits is not None and src.num_qubits != num_qubits:
            raise PauliError(f"Pauli sum acts on {src.num_qubits} qubit(s), not {num_qubits}")
        self.num_qubits: int = src.num_qubits
        self.x: np.ndarray = src.x
        self.z: np.ndarray = src.z
        self.coeffs: np.ndarray = src.coeffs

    # --- construction ----------------------------------------------------------------------------
    @classmethod
    def _from_arrays(cls, x: np.ndarray, z: np.ndarray, coeffs: np.ndarray) -> PauliSum:
        out = cls.__new__(cls)
        out.x = np.asarray(x, dtype=bool)
        out.z = np.asarray(z, dtype=bool)
        out.coeffs = np.asarray(coeffs, dtype=np.complex128).ravel()
        out.num_qubits = int(out.x.shape[1])
        return out

    @classmethod
    def zero(cls, num_qubits: int) -> PauliSum:
        """The zero operator on ``num_qubits`` qubits (no terms)."""
        if num_qubits < 1:
            raise PauliError(f"a Pauli sum needs at least one qubit, got {num_qubits}")
        e = np.zeros((0, num_qubits), dtype=bool)
        return cls._from_arrays(e, e, np.zeros(0))

    @classmethod
    def identity(cls, num_qubits: int, coeff: complex = 1.0) -> PauliSum:
        """``coeff * I⊗…⊗I``."""
        return cls.from_terms([(coeff, "I" * num_qubits)])

    @classmethod
    def from_label(cls, label: str, coeff: complex = 1.0) -> PauliSum:
        """One Pauli string, e.g. ``from_label("XYZ", 0.5)``."""
        return cls.from_terms([(coeff, label)])

    @classmethod
    def from_terms(cls, terms: Iterable[Any], num_qubits: int | None = None) -> PauliSum:
        """From ``(coeff, label)`` (or ``(label, coeff)``) pairs; labels must share a length."""
        xs: list[list[bool]] = []
        zs: list[list[bool]] = []
        cs: list[complex] = []
        for j, term in enumerate(terms):
            try:
                a, b = term
            except (TypeError, ValueError):
                raise PauliError(f"term {j} must be a (coeff, label) pair, got {term!r}") from None
            label, coeff = (a, b) if isinstance(a, str) else (b, a)
            x, z = _label_bits(label, f" (term {j})")
            n = num_qubits if num_qubits is not None else (len(xs[0]) if xs else len(x))
            if len(x) != n:
                raise PauliError(f"term {j} label {label!r} acts on {len(x)} qubit(s), the sum on "
                                 f"{n}")
            try:
                cs.append(complex(coeff))
            except (TypeError, ValueError):
                raise PauliError(f"term {j} coefficient {coeff!r} is not a number") from None
            xs.append(x)
            zs.append(z)
        if not xs:
            if num_qubits is None:
                raise PauliError("an empty Pauli sum needs num_qubits")
            return cls.zero(num_qubits)
        return cls._from_arrays(np.array(xs), np.array(zs), np.array(cs))

    @classmethod
    def from_dict(cls, terms: Mapping[str, complex], num_qubits: int | None = None) -> PauliSum:
        """From ``{"XYZ": coeff, ...}``."""
        return cls.from_terms(list(terms.items()), num_qubits)

    @classmethod
    def from_string(cls, text: str, num_qubits: int | None = None) -> PauliSum:
        """Parse ``"0.5*ZZI + 0.5*IZZ - 1.2*XII"`` or, indexed, ``"Z0 Z1 + 0.5 X0 - 0.3 Y1 Z2"``.

        Grammar: terms joined by ``+``/``-`` (a leading sign, and a sign after the joining one as
        in ``"XX + -YY"``, are allowed); a term is factors joined by ``*`` (or juxtaposed:
        ``"0.5 ZZ"``), each a real or imaginary number (``2``, ``.5``, ``1e-3``, ``1j``), a
        parenthesised complex ``(0.5-1j)``, or Pauli operators in one of two forms:

        * dense: at most one label of I/X/Y/Z per term, character q acting on qubit q
          (``"ZZI"``); all labels have the same length, the number of qubits;
        * indexed (OpenFermion / Cirq style): any number of factors ``<P><index>`` with P one of
          ``X Y Z I`` (upper case; ``I`` names a qubit but acts as the identity), e.g.
          ``"0.5*X0*Z3"`` or ``"-0.3 Y1 Z2"``; a qubit may appear once per term. The number of
          qubits is the largest index + 1 (``I`` factors count), or ``num_qubits`` when given,
          and then every index must be below it.

        The form is chosen by the text: any letter directly followed by digits (``X0``) makes it
        indexed, and dense labels are then an error. A term without Pauli operators is a multiple
        of the identity. Whitespace is free. Raises :class:`PauliError` (a ValueError) naming the
        column.

        >>> PauliSum.from_string("Z0 Z1 + 0.5 X0 - 0.3 Y1 Z2") == PauliSum("ZZI + 0.5 XII - 0.3 IYZ")
        True
        """
        if not isinstance(text, str):
            raise PauliError(f"expected a string, got {type(text).__name__}")
        tokens: list[tuple[str, str, int]] = []
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup
            if kind is None:
                continue
            tokens.append((kind, m.group(kind), m.start(kind) + 1))
        if not tokens:
            raise PauliError(f"empty Pauli sum {text!r}")
        first_factor = next((t for t in tokens if t[0] == "factor"), None)

        def fail(msg: str, col: int) -> PauliError:
            return PauliError(f"{msg} at column {col} of {text!r}")

        # (coeff, dense label or None, its column, indexed factors {qubit: "X3"})
        terms: list[tuple[complex, str | None, int, dict[int, str]]] = []
        pos = 0
        while pos < len(tokens):
            sign = 1.0
            # a binary sign between terms, then optionally a unary one: "XX + -YY"
            for _ in range(2 if terms else 1):
                if pos < len(tokens) and tokens[pos][0] == "op" and tokens[pos][1] in "+-":
                    sign *= -1.0 if tokens[pos][1] == "-" else 1.0
                    pos += 1
            coeff: complex = sign
            label: str | None = None
            label_col = 0
            ops: dict[int, str] = {}
            need_factor = True
            while pos < len(tokens):
                kind, val, col = tokens[pos]
                if kind == "op" and val == "*":
                    if need_factor:
                        raise fail("unexpected '*'", col)
                    need_factor = True
                    pos += 1
                    continue
                if kind == "op" and val in "+-":
                    break
                if kind == "num":
                    coeff *= complex(val.replace("J", "j"))
                elif kind == "factor":
                    q = _indexed_factor(val, col, ops, num_qubits, fail)
                    ops[q] = val
                elif kind == "label" and first_factor is not None:
                    hint = (f"Pauli {val!r} has no qubit index (write e.g. {val}0)"
                            if len(val) == 1 else
                            f"dense label {val!r} mixed with indexed factors such as "
                            f"{first_factor[1]!r} (write e.g. "
                            f"{' '.join(f'{ch}{q}' for q, ch in enumerate(val[:3]))})")
                    raise fail(hint, col)
                elif kind == "label":
                    if label is not None:
                        raise fail(f"second Pauli label {val!r} in one term (multiply sums with "
                                   "'*' on PauliSum objects instead)", col)
                    _label_bits(val, f" at column {col} of {text!r}")
                    label, label_col = val, col
                elif kind == "op" and val == "(":
                    close = next((j for j in range(pos + 1, len(tokens))
                                  if tokens[j][1] in "()"), None)
                    if close is None or tokens[close][1] != ")":
                        raise fail("unclosed '('", col)
                    inner = "".join(t[1] for t in tokens[pos + 1:close])
                    try:
                        coeff *= complex(inner.replace("J", "j"))
                    except ValueError:
                        raise fail(f"({inner}) is not a complex number", col) from None
                    pos = close
                elif kind == "op" and val == ")":
                    raise fail("unmatched ')'", col)
                else:
                    raise fail(f"unexpected character {val!r}", col)
                need_factor = False
                pos += 1
            if need_factor:
                where = tokens[pos][2] if pos < len(tokens) else len(text) + 1
                raise fail("expected a coefficient or a Pauli label", where)
            terms.append((coeff, label, label_col, ops))

        if first_factor is not None:
            n = num_qubits if num_qubits is not None else 1 + max(
                q for *_, ops in terms for q in ops)
            dense: list[tuple[complex, str]] = []
            for c, _, _, ops in terms:
                chars = ["I"] * n
                for q, factor in ops.items():
                    chars[q] = factor[0]
                dense.append((c, "".join(chars)))
            return cls.from_terms(dense, n)

        labels = [(lab, col) for _, lab, col, _ in terms if lab is not None]
        if num_qubits is None and not labels:
            raise PauliError(f"cannot tell the number of qubits of {text!r}: no Pauli label "
                             "(pass num_qubits)")
        n = num_qubits if num_qubits is not None else len(labels[0][0])
        for lab, col in labels:
            if len(lab) != n:
                raise fail(f"label {lab!r} acts on {len(lab)} qubit(s), the sum on {n}", col)
        return cls.from_terms([(c, lab if lab is not None else "I" * n)
                               for c, lab, _, _ in terms], n)

    # --- inspection ------------------------------------------------------------------------------
    @property
    def num_terms(self) -> int:
        return int(self.coeffs.size)

    def __len__(self) -> int:
        return self.num_terms

    @property
    def labels(self) -> list[str]:
        """The Pauli strings, e.g. ``["ZZI", "IZZ"]`` (qubit 0 leftmost)."""
        code = self.x.astype(np.int8) + 2 * self.z.astype(np.int8)   # I=0, X=1, Z=2, Y=3
        chars = np.array(list("IXZY"))[code]
        return ["".join(row) for row in chars]

    def __iter__(self) -> Iterator[tuple[complex, str]]:
        """Yield ``(coeff, label)`` pairs in order."""
        return iter(zip([complex(c) for c in self.coeffs], self.labels))

    def to_dict(self) -> dict[str, complex]:
        """``{label: coeff}`` with duplicate strings merged (zero terms dropped)."""
        s = self.simplify()
        return dict(zip(s.labels, (complex(c) for c in s.coeffs)))

    def __str__(self) -> str:
        if not self.num_terms:
            return "0*" + "I" * self.num_qubits
        parts = []
        for j, (c, label) in enumerate(self):
            sign, mag = _format_coeff(c)
            body = label if mag == "1" else f"{mag}*{label}"
            if j == 0:
                parts.append(("-" if sign == "-" else "") + body)
            else:
                parts.append(f" {sign} {body}")
        return "".join(parts)

    def __repr__(self) -> str:
        if self.num_terms <= 12:
            return f"PauliSum({str(self)!r})"
        return f"PauliSum({self.num_terms} terms on {self.num_qubits} qubits)"

    # --- algebra ---------------------------------------------------------------------------------
    def simplify(self, atol: float = 0.0) -> PauliSum:
        """Merge duplicate strings (first appearance keeps its place) and drop terms with
        ``|coeff| <= atol`` (exact zeros when ``atol == 0``)."""
        if not self.num_terms:
            return self
        key = np.concatenate([self.x, self.z], axis=1)
        _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
        inv = inv.ravel()
        c = (np.bincount(inv, weights=self.coeffs.real, minlength=first.size)
             + 1j * np.bincount(inv, weights=self.coeffs.imag, minlength=first.size))
        order = np.argsort(first, kind="stable")
        rows, c = first[order], c[order]
        keep = np.abs(c) > atol
        return PauliSum._from_arrays(self.x[rows[keep]], self.z[rows[keep]], c[keep])

    def _coerce(self, other: Any) -> PauliSum | None:
        if isinstance(other, PauliSum):
            if other.num_qubits != self.num_qubits:
                raise PauliError(f"cannot combine Pauli sums on {self.num_qubits} and "
                                 f"{other.num_qubits} qubits")
            return other
        if isinstance(other, (int, float, complex, np.number)):
            return PauliSum.identity(self.num_qubits, complex(other))
        return None

    def __add__(self, other: Any) -> PauliSum:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        return PauliSum._from_arrays(np.concatenate([self.x, o.x]), np.concatenate([self.z, o.z]),
                                     np.concatenate([self.coeffs, o.coeffs])).simplify()

    __radd__ = __add__

    def __neg__(self) -> PauliSum:
        return PauliSum._from_arrays(self.x, self.z, -self.coeffs)

    def __sub__(self, other: Any) -> PauliSum:
        o = self._coerce(other)
        return NotImplemented if o is None else self + (-o)

    def __rsub__(self, other: Any) -> PauliSum:
        o = self._coerce(other)
        return NotImplemented if o is None else o + (-self)

    def compose(self, other: PauliSum) -> PauliSum:
        """The operator product ``self · other`` (``self`` applied last), duplicates merged."""
        o = self._coerce(other)
        if o is None:
            raise PauliError(f"cannot multiply a PauliSum by {type(other).__name__}")
        x1, z1 = self.x[:, None, :], self.z[:, None, :]
        x2, z2 = o.x[None, :, :], o.z[None, :, :]
        x3, z3 = x1 ^ x2, z1 ^ z2
        # Y = iXZ: P = i^{|x&z|} X^x Z^z, and Z^a X^b = (-1)^{a·b} X^b Z^a.
        e = ((self.x & self.z).sum(-1)[:, None] + (o.x & o.z).sum(-1)[None, :]
             + 2 * (z1 & x2).sum(-1) - (x3 & z3).sum(-1)) % 4
        c = self.coeffs[:, None] * o.coeffs[None, :] * _IPOW[e]
        n = self.num_qubits
        return PauliSum._from_arrays(x3.reshape(-1, n), z3.reshape(-1, n), c.ravel()).simplify()

    def __mul__(self, other: Any) -> PauliSum:
        if isinstance(other, PauliSum):
            return self.compose(other)
        if isinstance(other, (int, float, complex, np.number)):
            return PauliSum._from_arrays(self.x, self.z, self.coeffs * complex(other)).simplify()
        return NotImplemented

    def __rmul__(self, other: Any) -> PauliSum:
        if isinstance(other, (int, float, complex, np.number)):
            return self * other
        return NotImplemented

    def __matmul__(self, other: Any) -> PauliSum:
        if isinstance(other, PauliSum):
            return self.compose(other)
        return NotImplemented

    def __truediv__(self, other: Any) -> PauliSum:
        if isinstance(other, (int, float, complex, np.number)):
            return self * (1 / complex(other))
        return NotImplemented

    def __pow__(self, k: int) -> PauliSum:
        if not isinstance(k, (int, np.integer)) or k < 0:
            return NotImplemented
        result, base = PauliSum.identity(self.num_qubits), self
        while k:
            if k & 1:
                result = result @ base
            base, k = base @ base, k >> 1
        return result

    def adjoint(self) -> PauliSum:
        """The Hermitian conjugate (Pauli strings are Hermitian: coefficients conjugated)."""
        return PauliSum._from_arrays(self.x, self.z, self.coeffs.conj())

    def is_hermitian(self, atol: float = 1e-12) -> bool:
        """True when every merged coefficient is real to ``atol`` (the strings are a basis)."""
        if not np.any(self.coeffs.imag):  # the common case: no merging needed to tell
            return True
        return bool(np.all(np.abs(self.simplify().coeffs.imag) <= atol))

    def __eq__(self, other: object) -> bool:
        """Equal as operators, to 1e-12 per merged coefficient."""
        if not isinstance(other, PauliSum):
            return NotImplemented
        if other.num_qubits != self.num_qubits:
            return False
        return (self - other).simplify(atol=1e-12).num_terms == 0

    __hash__ = None  # type: ignore[assignment]

    # --- numerics --------------------------------------------------------------------------------
    def _phase_masks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Merged terms as int64 arrays (xmask, zmask) and complex ``a = coeff·(-i)^{#Y}``, so that
        ``(c·P psi)[j] = a (-1)^{popcount(j & zmask)} psi[j ^ xmask]``; qubit q is bit n-1-q."""
        n = self.num_qubits
        if n > 62:
            raise SimulationError(f"a {n}-qubit Pauli sum has no matrix or state vector that fits "
                                  "in memory", bytes_needed=16 << n)
        s = self.simplify()
        w = np.int64(1) << np.arange(n - 1, -1, -1, dtype=np.int64)
        xm = (s.x.astype(np.int64) * w).sum(axis=1)
        zm = (s.z.astype(np.int64) * w).sum(axis=1)
        ny = (s.x & s.z).sum(axis=1)
        return xm, zm, s.coeffs * _IPOW[(-ny) % 4]

    def to_sparse(self, dtype: Any = np.complex128, *,
                  max_memory: int | None = None) -> sp.csr_matrix:
        """The ``2**n x 2**n`` matrix as canonical CSR, built from the X/Z bit masks.

        Terms are grouped by X mask; a group contributes, in every row j, one entry at column
        ``j ^ xmask`` with value ``Σ a_t (-1)^{popcount(j & zmask_t)}`` (a Walsh–Hadamard transform
        when the group is large). nnz ≤ ``2**n`` × (number of distinct X masks); cancelled entries
        are removed. SimulationError if it would not fit in ``max_memory`` (default: available).
        """
        from .backends.sparse import _check_memory, _index_dtype

        n = self.num_qubits
        xm, zm, a = self._phase_masks()
        big_n = 1 << n
        groups, inv = np.unique(xm, return_inverse=True)
        g = groups.size
        nnz = big_n * g
        idx = _index_dtype(n, nnz)
        need = nnz * (np.dtype(dtype).itemsize + np.dtype(idx).itemsize) + (big_n + 1) * 8
        _check_memory(need, max_memory,
                      f"the {n}-qubit matrix of a {g}-X-mask Pauli sum ({nnz:,} entries)")
        if g == 0:
            return sp.csr_matrix((big_n, big_n), dtype=dtype)
        rows: np.ndarray = np.arange(big_n, dtype=idx)
        cols: np.ndarray = np.empty((big_n, g), dtype=idx)
        data = np.empty((big_n, g), dtype=dtype)
        for j, xmask in enumerate(groups):
            mine = inv.ravel() == j
            np.bitwise_xor(rows, idx(xmask), out=cols[:, j])
            data[:, j] = _walsh_values(zm[mine], a[mine], n)
        indptr: np.ndarray = np.arange(0, nnz + 1, g, dtype=idx)
        out = sp.csr_matrix((data.ravel(), cols.ravel(), indptr), shape=(big_n, big_n),
                            copy=False)
        if g > 1:
            out.has_sorted_indices = False
            out.sort_indices()
        if not np.all(out.data):
            out.eliminate_zeros()
        return out

    def apply(self, state: Statevector | np.ndarray) -> np.ndarray:
        """``H|psi>`` as a new flat vector of the state's dtype, without forming H (terms sharing
        an X mask act as one diagonal times one index permutation; at most three vectors)."""
        psi = state.data if isinstance(state, Statevector) else np.asarray(state).ravel()
        if psi.size != 1 << self.num_qubits:
            raise PauliError(f"state of length {psi.size} does not match {self.num_qubits} "
                             "qubit(s)")
        return _apply_sum(self.simplify(), psi)

    def expectation_value(self, state: Statevector | np.ndarray, *,
                          method: str = "masks") -> float | complex:
        """``<psi|H|psi>`` (``psi`` need not be normalised); a float when H is Hermitian.

        ``method="masks"`` (default) never builds H: per X mask, ``w_j = conj(psi_j) psi_{j^x}``
        is summed with the signs ``(-1)^{popcount(j & zmask)}``. ``method="sparse"`` uses
        :meth:`to_sparse`.
        """
        data = state.data if isinstance(state, Statevector) else np.asarray(state).ravel()
        if data.size != 1 << self.num_qubits:
            raise CircuitError(f"state of length {data.size} does not match a "
                               f"{self.num_qubits}-qubit operator")
        psi = data.astype(np.complex128, copy=False)
        if method == "sparse":
            val = complex(np.vdot(psi, self.to_sparse() @ psi))
        elif method == "masks":
            n = self.num_qubits
            xm, zm, a = self._phase_masks()
            val = 0j
            for xmask in np.unique(xm):
                mine = xm == xmask
                w = np.conj(psi) * _xor_permuted(psi, int(xmask), n)
                val += complex(np.dot(a[mine], _walsh_sums(w, zm[mine], n)))
        else:
            raise ValueError(f"method must be 'masks' or 'sparse', got {method!r}")
        return float(val.real) if self.is_hermitian() else val

    # --- estimation from shots -------------------------------------------------------------------
    def qwc_groups(self) -> list[list[int]]:
        """Partition the non-identity terms into qubit-wise commuting (QWC) groups.

        Two strings are QWC when on every qubit their letters are equal or one of them is I; a
        group is then measured at once, each qubit in the basis of its non-I letter. Greedy: terms
        in order of decreasing ``|coeff|`` (ties in the order given) join the first group they
        are QWC with, else open a new one. Returns lists of term indices (into this sum's terms
        as given, so duplicates and zero terms are grouped too), each list increasing, groups in
        the order they were opened (the largest term's first). Identity terms are in no group.

        >>> PauliSum("Z0 Z1 + X0 + X1").qwc_groups()
        [[0], [1, 2]]
        """
        code = self.x.astype(np.int8) + 2 * self.z.astype(np.int8)   # I=0, X=1, Z=2, Y=3
        active = np.flatnonzero(code.any(axis=1))
        order = active[np.argsort(-np.abs(self.coeffs[active]), kind="stable")]
        bases = np.zeros((order.size, self.num_qubits), dtype=np.int8)
        members: list[list[int]] = []
        for t in order:
            row = code[t]
            b = bases[:len(members)]
            fits = np.flatnonzero(((b == row) | (b == 0) | (row == 0)).all(axis=1))
            if fits.size:
                g = int(fits[0])
                members[g].append(int(t))
                np.maximum(bases[g], row, out=bases[g])    # equal or 0 where both non-I
            else:
                bases[len(members)] = row
                members.append([int(t)])
        return [sorted(m) for m in members]

    def estimate(self, state: Statevector | np.ndarray, shots: int,
                 rng: np.random.Generator | int | None = None) -> tuple[float, float]:
        """Estimate ``<psi|H|psi>`` from ``shots`` simulated measurements, as a run on hardware
        would: returns ``(estimate, standard_error)``.

        The non-identity terms are split into qubit-wise commuting groups
        (:meth:`qwc_groups`). Each group is measured in its own basis: a copy of the state is
        rotated (H on the qubits the group measures in X, S† then H on those in Y) and outcomes are
        drawn from its probabilities (float64) with ``rng``: inverse-CDF one shot at a time up to
        2**20 shots, one multinomial above. A term's value on an outcome is its eigenvalue ±1
        (the parity of the outcome bits on its qubits); the group's estimate is the sample mean
        of ``Σ_t c_t λ_t`` over its shots, its variance the sample variance (n-1) over the number
        of shots, computed per distinct outcome from the counts. Identity terms add their
        coefficient exactly. The estimate is the sum over groups, the error the square root of the
        summed variances: it shrinks as 1/sqrt(shots).

        Shot allocation: ``shots`` is the total budget, as on hardware. Every group gets one shot
        and the rest is split in proportion to the group's ``Σ|c_t|`` (largest remainders), which
        minimises the bound ``Σ_g (Σ|c_t|)² / shots_g`` on the variance, since a group's per-shot
        value lies in ``[-Σ|c_t|, Σ|c_t|]``. So ``shots`` must be at least the number of groups.
        A group left with one shot has no sample variance; its variance is then bounded by
        ``(Σ|c_t|)²``.

        ``state``: a :class:`~qsim.Statevector` or a flat vector of length ``2**n`` (qubit 0 the
        most significant bit); it is normalised (outcome frequencies cannot see its norm).
        ``rng``: a ``numpy.random.Generator`` (or a seed); the same seed gives the same estimate.
        Memory: one rotated copy of the state, its probabilities and the draws at a time.
        Raises :class:`PauliError` when the sum is not Hermitian (complex coefficients that do not
        cancel): it is not an observable.
        """
        data = state.data if isinstance(state, Statevector) else np.asarray(state).ravel()
        n = self.num_qubits
        if data.size != 1 << n:
            raise CircuitError(f"state of length {data.size} does not match a {n}-qubit operator")
        if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
            raise ValueError(f"shots must be a positive integer, got {shots!r}")
        if not self.is_hermitian():
            raise PauliError(f"cannot estimate a non-Hermitian Pauli sum (complex coefficients): "
                             f"{self!r} is not an observable")
        gen = np.random.default_rng(rng)
        merged = self.simplify()
        s = PauliSum._from_arrays(merged.x, merged.z, merged.coeffs.real).simplify()
        c = s.coeffs.real
        code = s.x.astype(np.int8) + 2 * s.z.astype(np.int8)   # I=0, X=1, Z=2, Y=3
        value = float(c[~code.any(axis=1)].sum())
        groups = s.qwc_groups()
        if not groups:
            return value, 0.0
        weights = np.array([np.abs(c[g]).sum() for g in groups])
        alloc = _allocate_shots(int(shots), weights)
        if not np.any(data):
            raise CircuitError("cannot measure the zero vector")
        bit = np.int64(1) << np.arange(n - 1, -1, -1, dtype=np.int64)   # qubit q: bit n-1-q
        variance = 0.0
        for g, shots_g, bound in zip(groups, alloc, weights):
            n_g = int(shots_g)
            basis = code[g].max(axis=0)                 # the group's letter on each qubit
            p = _rotated_probabilities(data, basis)
            outcomes, counts = _draw_counts(p, n_g, gen)
            del p
            f = np.zeros(outcomes.size)                 # Σ_t c_t λ_t on each distinct outcome
            for t in g:
                mask = np.int64((code[t] != 0) @ bit)
                f += c[t] * (1 - 2 * _parity(outcomes & mask))
            d = f - f[0]                                # exact zeros when every value is equal
            mean_d = float(counts @ d) / n_g
            value += float(f[0]) + mean_d
            if n_g > 1:
                variance += float(counts @ (d - mean_d) ** 2) / (n_g - 1) / n_g
            else:
                variance += float(bound) ** 2
        return value, float(np.sqrt(variance))


def _allocate_shots(shots: int, weights: np.ndarray) -> np.ndarray:
    """One shot per group, the rest in proportion to ``weights`` (largest remainders)."""
    g = weights.size
    if shots < g:
        raise ValueError(f"{shots} shot(s) cannot measure {g} qubit-wise commuting groups (each "
                         "needs at least one)")
    total = float(weights.sum())
    share = (shots - g) * (weights / total if total > 0 else np.full(g, 1.0 / g))
    out = np.floor(share).astype(np.int64)
    extra = (shots - g) - int(out.sum())
    out[np.argsort(out - share, kind="stable")[:extra]] += 1
    return out + 1


def _rotated_probabilities(psi: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Outcome probabilities (float64, unnormalised) of ``psi`` measured with qubit q in the basis
    ``basis[q]`` (0/2: Z, 1: X, 3: Y): a rotated copy, ``H`` or ``H S†`` on each X / Y qubit."""
    n = basis.size
    rotate = [q for q in range(n) if basis[q] in (1, 3)]
    if not rotate:
        p = psi.real.astype(np.float64)
        p *= p
        im = psi.imag.astype(np.float64)
        im *= im
        p += im
        return p
    v = psi.astype(np.complex128, copy=True)
    for q in rotate:
        # (a, b) -> (a + u b, a - u b) with u = 1 (H) or -i (H S†); the 1/sqrt(2) is left out
        half = v.reshape(1 << q, 2, -1)
        a, b = half[:, 0, :], half[:, 1, :]
        if basis[q] == 3:
            b *= -1j
        a += b
        b *= -2
        b += a
    p = np.square(v.real)
    p += np.square(v.imag)
    return p


def _draw_counts(p: np.ndarray, shots: int, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``shots`` outcomes of the distribution ``p`` (overwritten): the distinct outcome indices
    (int64, increasing) and their counts (float64)."""
    if shots <= _PER_SHOT_MAX:
        cdf = np.cumsum(p, out=p)
        u = rng.random(shots) * cdf[-1]
        idx = np.minimum(np.searchsorted(cdf, u, side="right"), p.size - 1)
        outcomes, counts = np.unique(idx, return_counts=True)
        return outcomes.astype(np.int64), counts.astype(np.float64)
    p /= p.sum()
    every = rng.multinomial(shots, p)
    outcomes = np.flatnonzero(every).astype(np.int64)
    return outcomes, every[outcomes].astype(np.float64)


def _parity(v: np.ndarray) -> np.ndarray:
    """``popcount(v) % 2`` of non-negative int64 values, as int64 0/1."""
    v = v.copy()
    for shift in (32, 16, 8, 4, 2, 1):
        v ^= v >> shift
    return v & 1


# --- Walsh–Hadamard helpers (all vectorised over the 2**n basis states) ------------------------
def _fwht(v: np.ndarray) -> np.ndarray:
    """In-place unnormalised Walsh–Hadamard transform: ``v[z] <- Σ_j v[j] (-1)^{|j & z|}``."""
    h = 1
    while h < v.size:
        w = v.reshape(-1, 2, h)
        a, b = w[:, 0, :], w[:, 1, :]
        a += b
        b *= -2
        b += a
        h *= 2
    return v


def _sign_vector(zmask: int, n: int) -> np.ndarray:
    """``(-1)^{popcount(j & zmask)}`` for j = 0..2**n-1, as the Kronecker product of [1, ±1]."""
    v = np.ones(1)
    for bit in range(n):                      # bit 0 (qubit n-1) is the last factor
        v = np.concatenate([v, -v] if (zmask >> bit) & 1 else [v, v])
    return v


def _walsh_values(zmasks: np.ndarray, a: np.ndarray, n: int) -> np.ndarray:
    """``f[j] = Σ_t a_t (-1)^{popcount(j & zmasks_t)}`` for all j (length 2**n, complex)."""
    if zmasks.size == 1 and zmasks[0] == 0:
        return np.full(1 << n, a[0])
    if zmasks.size > n:                       # one transform beats one pass per term
        real = bool(np.all(a.imag == 0))
        v = np.zeros(1 << n, dtype=np.float64 if real else np.complex128)
        v[zmasks] = a.real if real else a
        return _fwht(v)
    out = np.zeros(1 << n, dtype=np.complex128)
    for zmask, coeff in zip(zmasks, a):
        out += coeff * _sign_vector(int(zmask), n)
    return out


def _walsh_sums(w: np.ndarray, zmasks: np.ndarray, n: int) -> np.ndarray:
    """``s_t = Σ_j w[j] (-1)^{popcount(j & zmasks_t)}`` for each mask."""
    if zmasks.size > n:
        return _fwht(w.astype(np.complex128, copy=True))[zmasks]
    out = np.empty(zmasks.size, dtype=np.complex128)
    for t, zmask in enumerate(zmasks):
        v = w
        for q in range(n):                    # halve along qubit q (the most significant bit)
            v = v.reshape(2, -1)
            v = v[0] - v[1] if (int(zmask) >> (n - 1 - q)) & 1 else v[0] + v[1]
        out[t] = v[0]
    return out


def _xor_permuted(psi: np.ndarray, xmask: int, n: int) -> np.ndarray:
    """``psi[j ^ xmask]`` for all j, as a view: runs of flipped bits are reversed axes."""
    if xmask == 0:
        return psi
    sizes, flips = _xor_runs(xmask, n)
    return psi.reshape(sizes)[flips].reshape(-1)


# --- time evolution ----------------------------------------------------------------------------
def evolve(state: Statevector | np.ndarray, hamiltonian: Any, t: float) -> Statevector:
    """``exp(-i H t)|psi>`` by ``scipy.sparse.linalg.expm_multiply`` (H never exponentiated).

    ``hamiltonian``: a :class:`PauliSum`, a scipy.sparse matrix or a dense array (``2**n``
    square). Returns a new :class:`~qsim.Statevector` (complex128).

    ``evolve(Statevector.from_label("0"), PauliSum("X"), np.pi / 2)`` is ``-i|1>``.
    """
    from scipy.sparse.linalg import expm_multiply

    data = state.data if isinstance(state, Statevector) else np.asarray(state).ravel()
    psi = np.array(data, dtype=np.complex128, copy=True)
    if isinstance(hamiltonian, PauliSum):
        h = hamiltonian.to_sparse()
    elif sp.issparse(hamiltonian):
        h = sp.csr_matrix(hamiltonian, dtype=np.complex128)
    else:
        h = sp.csr_matrix(np.asarray(hamiltonian, dtype=np.complex128))
    if h.shape != (psi.size, psi.size):
        raise CircuitError(f"Hamiltonian of shape {h.shape} does not act on a state of length "
                           f"{psi.size}")
    if t == 0:
        return Statevector(psi)
    return Statevector(expm_multiply((-1j * t) * h, psi))


# --- H psi without forming H (used by the adjoint gradient) -----------------------------------
def _apply_sum(h: PauliSum, psi: np.ndarray) -> np.ndarray:
    """``H psi``, never forming H: with qubit q at bit ``n-1-q``,
    ``(P psi)[j] = (-i)^{#Y} (-1)^{popcount(j & zmask)} psi[j ^ xmask]``, so the terms sharing an
    X mask add up to one diagonal ``f[j] = sum_t a_t (-1)^{popcount(j & zmask_t)}`` and
    ``(H psi)[j] = sum_groups f[j] psi[j ^ xmask]``. ``f`` is written in one pass: as the
    ``(2**hi, 2**lo)`` matrix product of the terms' sign vectors on the high and low bits (a sign
    vector is the Kronecker product of the two), or by a Walsh-Hadamard transform for groups of
    more than :data:`_GEMM_MAX_TERMS` terms. Three vectors at most: psi, the result and ``f``."""
    n = h.num_qubits
    w = np.int64(1) << np.arange(n - 1, -1, -1, dtype=np.int64)
    xm = (h.x.astype(np.int64) * w).sum(axis=1)
    zm = (h.z.astype(np.int64) * w).sum(axis=1)
    ny = (h.x & h.z).sum(axis=1)
    a = h.coeffs * np.array([1, -1j, -1, 1j])[ny % 4]
    if n >= _TILE_MIN_QUBITS and 0 < h.num_terms <= _TILE_MAX_TERMS:
        return _apply_tiled(psi, n, xm, zm, a)
    lo = n // 2
    hi = n - lo
    out = np.zeros_like(psi)
    f = np.empty_like(psi)
    for xmask in np.unique(xm):
        mine = np.flatnonzero(xm == xmask)
        if mine.size > _GEMM_MAX_TERMS:
            f[...] = 0
            np.add.at(f, zm[mine], a[mine])
            _fwht(f)
        else:
            left = np.empty((1 << hi, mine.size), dtype=psi.dtype)
            right = np.empty((mine.size, 1 << lo), dtype=psi.dtype)
            for i, t in enumerate(mine):
                z = int(zm[t])
                left[:, i] = a[t] * _sign_vector(z >> lo, hi)
                right[i] = _sign_vector(z & ((1 << lo) - 1), lo)
            np.matmul(left, right, out=f.reshape(1 << hi, 1 << lo))
        sizes, flips = _xor_runs(int(xmask), n)
        fv = f.reshape(sizes)
        np.multiply(fv, psi.reshape(sizes)[flips], out=fv)
        out += f
    return out


#: ``H psi`` is computed tile by tile (:func:`_apply_tiled`) from this many qubits, for at most
#: :data:`_TILE_MAX_TERMS` terms; tiles of ``2**_TILE_BITS`` amplitudes (a few hundred KiB).
_TILE_MIN_QUBITS = 16
_TILE_MAX_TERMS = 64
_TILE_BITS = 13


def _apply_tiled(psi: np.ndarray, n: int, xm: np.ndarray, zm: np.ndarray,
                 a: np.ndarray) -> np.ndarray:
    """``H psi`` one tile of the result at a time (the top ``n - _TILE_BITS`` bits fixed), all
    terms added into the tile while it is in cache: per term, the tile of ``psi[j ^ xmask]`` (a
    view) times the term's sign vector on the tile's bits (with its coefficient, precomputed),
    added or subtracted by the sign of the top bits. One write of the result, one read of psi per
    term, no full-size temporary."""
    lo = min(n, _TILE_BITS)
    top = n - lo
    low_mask = (1 << lo) - 1
    flo = [a[t] * _sign_vector(int(zm[t]) & low_mask, lo) for t in range(a.size)]
    flo_v: list[np.ndarray] = []
    views: list[tuple[int, int, tuple[slice, ...], list[int]]] = []
    for t in range(a.size):
        x = int(xm[t])
        sizes, flips = _xor_runs(x & low_mask, lo)
        flo_v.append(flo[t].astype(psi.dtype).reshape(sizes))
        views.append((x >> lo, int(zm[t]) >> lo, flips, sizes))
    p2 = psi.reshape(1 << top, 1 << lo)
    out = np.empty_like(psi)
    o2 = out.reshape(1 << top, 1 << lo)
    tmp = np.empty(1 << lo, dtype=psi.dtype)
    for c in range(1 << top):
        acc = o2[c]
        first = True
        for t in range(a.size):
            xh, zh, flips, sizes = views[t]
            src = p2[c ^ xh].reshape(sizes)[flips]
            neg = bin(c & zh).count("1") & 1
            if first:
                np.multiply(src, flo_v[t], out=acc.reshape(sizes))
                if neg:
                    np.negative(acc, out=acc)
                first = False
                continue
            tv = tmp.reshape(sizes)
            np.multiply(src, flo_v[t], out=tv)
            if neg:
                np.subtract(acc, tmp, out=acc)
            else:
                np.add(acc, tmp, out=acc)
    return out


#: Groups of terms sharing an X mask with more terms than this use the Walsh-Hadamard transform.
_GEMM_MAX_TERMS = 64


def _xor_runs(xmask: int, n: int) -> tuple[list[int], tuple[slice, ...]]:
    """A shape for a 2**n vector and an index of it such that ``v.reshape(shape)[index]`` is
    ``v[j ^ xmask]`` (a view: runs of flipped bits are reversed axes)."""
    sizes: list[int] = []
    flips: list[bool] = []
    for q in range(n):
        f = bool((xmask >> (n - 1 - q)) & 1)
        if flips and flips[-1] == f:
            sizes[-1] *= 2
        else:
            sizes.append(2)
            flips.append(f)
    return sizes, tuple(slice(None, None, -1) if f else slice(None) for f in flips)
