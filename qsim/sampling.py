"""Random sampling and projective measurement on dense state vectors.

All randomness comes from a ``numpy.random.Generator`` passed in (``default_rng(seed)``); the same
seed gives the same samples on every platform. Probabilities are accumulated in float64 with at most
one temporary of 2**n floats, whatever the state's precision.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .result import format_bits, index_bits


def sample_indices(p: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """``shots`` indices drawn from the distribution ``p`` (need not be exactly normalised), in the
    order the shots were taken. Inverse-CDF sampling: one uniform number per shot."""
    cdf = np.cumsum(p, dtype=np.float64)
    total = cdf[-1]
    u = rng.random(shots) * total
    idx = np.searchsorted(cdf, u, side="right")
    return np.minimum(idx, p.size - 1)


def marginal_probabilities(state: np.ndarray, qubits: Sequence[int]) -> np.ndarray:
    """Outcome probabilities of ``qubits`` of the flat state: float64 array of length
    2**len(qubits), index bits most significant first in the order given."""
    n = int(state.size).bit_length() - 1
    r = state.view(state.real.dtype).reshape(-1, 2)
    p = np.einsum("ij,ij->i", r, r, dtype=np.float64).reshape((2,) * n)
    qs = list(qubits)
    if qs == list(range(n)):
        return p.ravel()
    rest = tuple(k for k in range(n) if k not in qs)
    m = p.sum(axis=rest) if rest else p
    kept = sorted(qs)  # axes of m are the kept qubits in increasing order
    return np.ascontiguousarray(m.transpose([kept.index(k) for k in qs])).ravel()


def sample_keys(p: np.ndarray, shots: int, rng: np.random.Generator, base: np.ndarray,
                bits: Sequence[int], sources: Sequence[int],
                registers: Sequence[tuple[str, int]], bit_order: str,
                key_ids: dict[str, int]) -> np.ndarray:
    """Sample ``shots`` outcomes of a distribution ``p`` over some measured qubits and turn them
    into bitstring keys.

    Each shot's classical bits are ``base`` (flat bit order) with bit ``bits[j]`` set to the
    sampled value of measured qubit ``sources[j]`` (its position in ``p``'s index, most
    significant first). Keys are formatted by ``registers``/``bit_order`` and numbered in
    ``key_ids`` (new keys are added); returns each shot's key number, in shot order.
    """
    width = int(p.size).bit_length() - 1
    uniq, inverse = np.unique(sample_indices(p, shots, rng), return_inverse=True)
    rows = np.repeat(np.asarray(base, dtype=np.uint8)[None, :], len(uniq), axis=0)
    rows[:, list(bits)] = index_bits(uniq, width)[:, list(sources)]
    # Distinct samples can give one key (a measured qubit written to no bit): numbering by key
    # merges them.
    ids = np.array([key_ids.setdefault(format_bits(r, registers, bit_order), len(key_ids))
                    for r in rows], dtype=np.int64)
    return ids[np.asarray(inverse).ravel()]


def qubit_weights(state: np.ndarray, q: int) -> tuple[float, float]:
    """Squared norms of the qubit-q = 0 and = 1 halves of the flat state (float64 accumulation)."""
    n = int(state.size).bit_length() - 1
    r = state.view(state.real.dtype).reshape(1 << q, 2, 1 << (n - q))
    w = np.einsum("ijk,ijk->j", r, r, dtype=np.float64)
    return float(w[0]), float(w[1])


def collapse(state: np.ndarray, q: int, outcome: int, weight: float,
             reset: bool = False) -> np.ndarray:
    """Project qubit ``q`` onto ``outcome`` in place and renormalise (``weight``: that outcome's
    squared norm). With ``reset``, the kept half is then moved to qubit value 0."""
    n = int(state.size).bit_length() - 1
    v = state.reshape(1 << q, 2, 1 << (n - q - 1))
    scale = 1 / np.sqrt(weight)
    if reset and outcome:
        np.multiply(v[:, 1, :], scale, out=v[:, 0, :])
        v[:, 1, :] = 0
    else:
        v[:, outcome, :] *= scale
        v[:, 1 - outcome, :] = 0
    return state


def measure_qubit(state: np.ndarray, q: int, rng: np.random.Generator,
                  reset: bool = False) -> int:
    """Measure qubit ``q`` with the Born rule, collapsing ``state`` in place (then returning the
    qubit to |0> when ``reset``); returns the outcome, 0 or 1."""
    w0, w1 = qubit_weights(state, q)
    outcome = int(rng.random() * (w0 + w1) < w1)
    collapse(state, q, outcome, w1 if outcome else w0, reset)
    return outcome


def reset_qubit(state: np.ndarray, q: int, rng: np.random.Generator) -> np.ndarray:
    """Reset qubit ``q`` to |0> (measure, then flip the qubit if it read 1)."""
    measure_qubit(state, q, rng, reset=True)
    return state
