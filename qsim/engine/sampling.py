"""Sampling outcomes from a distribution and turning them into bitstring keys.

All randomness comes from a ``numpy.random.Generator`` passed in (``default_rng(seed)``); the same
seed gives the same samples on every platform.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..bits import format_bits, index_bits


def sample_indices(p: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """``shots`` indices drawn from the distribution ``p`` (need not be exactly normalised), in the
    order the shots were taken. Inverse-CDF sampling: one uniform number per shot."""
    cdf = np.cumsum(p, dtype=np.float64)
    total = cdf[-1]
    u = rng.random(shots) * total
    idx = np.searchsorted(cdf, u, side="right")
    return np.minimum(idx, p.size - 1)


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
