"""Random sampling and projective measurement on dense state vectors.

All randomness comes from a ``numpy.random.Generator`` passed in (``default_rng(seed)``); the same
seed gives the same samples on every platform.
"""

from __future__ import annotations

import numpy as np


def sample_indices(p: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """``shots`` indices drawn from the distribution ``p`` (need not be exactly normalised), in the
    order the shots were taken. Inverse-CDF sampling: one uniform number per shot."""
    cdf = np.cumsum(p, dtype=np.float64)
    total = cdf[-1]
    u = rng.random(shots) * total
    idx = np.searchsorted(cdf, u, side="right")
    return np.minimum(idx, p.size - 1)


def qubit_one_probability(state: np.ndarray, q: int) -> float:
    """Probability that qubit ``q`` of the flat state reads 1."""
    n = int(state.size).bit_length() - 1
    v = state.reshape(1 << q, 2, 1 << (n - q - 1))[:, 1, :]
    return float(np.vdot(v, v).real)


def collapse(state: np.ndarray, q: int, outcome: int, prob: float) -> np.ndarray:
    """Project qubit ``q`` onto ``outcome`` (in place) and renormalise by ``sqrt(prob)``."""
    n = int(state.size).bit_length() - 1
    v = state.reshape(1 << q, 2, 1 << (n - q - 1))
    v[:, 1 - outcome, :] = 0
    v[:, outcome, :] *= 1 / np.sqrt(prob)
    return state


def measure_qubit(state: np.ndarray, q: int, rng: np.random.Generator) -> int:
    """Measure qubit ``q`` with the Born rule, collapsing ``state`` in place; returns 0 or 1."""
    p1 = qubit_one_probability(state, q)
    outcome = int(rng.random() < p1)
    collapse(state, q, outcome, p1 if outcome else 1 - p1)
    return outcome


def reset_qubit(state: np.ndarray, q: int, rng: np.random.Generator) -> np.ndarray:
    """Reset qubit ``q`` to |0> (measure, then flip the qubit if it read 1)."""
    if measure_qubit(state, q, rng):
        n = int(state.size).bit_length() - 1
        v = state.reshape(1 << q, 2, 1 << (n - q - 1))
        v[:, 0, :] = v[:, 1, :]
        v[:, 1, :] = 0
    return state
