"""Sampling outcomes from a distribution and turning them into bitstring keys.

All randomness comes from a ``numpy.random.Generator`` passed in (``default_rng(seed)``); the same
seed gives the same samples on every platform. Up to :data:`PER_SHOT_MAX` shots are drawn one by
one (inverse CDF, one uniform number per shot, in shot order); more shots are drawn as one
multinomial over the outcomes, so that memory grows with the number of outcomes, not of shots,
unless the order of the shots is asked for (``ordered``: the per-shot memory list).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..bits import format_bits, index_bits

#: Shots drawn one by one (at most 24 bytes each); more are drawn as a multinomial.
PER_SHOT_MAX = 1 << 20


def sample_indices(p: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """``shots`` indices drawn from the distribution ``p`` (need not be exactly normalised), in the
    order the shots were taken. Inverse-CDF sampling: one uniform number per shot."""
    cdf = np.cumsum(p, dtype=np.float64)
    total = cdf[-1]
    u = rng.random(shots) * total
    idx = np.searchsorted(cdf, u, side="right")
    return np.minimum(idx, p.size - 1)


def sample_counts(p: np.ndarray, shots: int, rng: np.random.Generator, ordered: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Draw ``shots`` outcomes of ``p``: the distinct outcome indices (increasing), their counts
    (int64) and, when ``ordered``, each shot's position in the distinct outcomes, in shot order
    (else None)."""
    if shots <= PER_SHOT_MAX:
        uniq, inverse = np.unique(sample_indices(p, shots, rng), return_inverse=True)
        inverse = np.asarray(inverse).ravel()
        return uniq, np.bincount(inverse, minlength=uniq.size).astype(np.int64), (
            inverse if ordered else None)
    q = np.asarray(p, dtype=np.float64)
    q = q / q.sum()
    every = rng.multinomial(int(shots), q)
    uniq = np.flatnonzero(every)
    counts = every[uniq].astype(np.int64)
    del every
    if not ordered:
        return uniq, counts, None
    order = rng.permutation(np.repeat(np.arange(uniq.size, dtype=np.int64), counts))
    return uniq, counts, order


def sampling_bytes(num_outcomes: int, shots: int, ordered: bool) -> int:
    """Host memory :func:`sample_counts` and :func:`sample_keys` may take (bytes), beyond ``p``:
    the cumulative sums or multinomial counts, the per-shot draws, and with ``ordered`` the
    per-shot key list."""
    per_shot = min(shots, PER_SHOT_MAX) * 24
    out = 8 * num_outcomes + per_shot
    if ordered:
        out += 24 * int(shots)  # the order, the key indices and the list of keys
    return out


@dataclass
class Sampled:
    """Keys drawn by :func:`sample_keys`: ``ids[j]`` is the key number of the j-th distinct
    sample and ``counts[j]`` its number of shots (two samples can share a key); ``per_shot`` is
    each shot's key number in shot order, when the order was asked for."""

    ids: np.ndarray
    counts: np.ndarray
    per_shot: np.ndarray | None


def sample_keys(p: np.ndarray, shots: int, rng: np.random.Generator, base: np.ndarray,
                bits: Sequence[int], sources: Sequence[int],
                registers: Sequence[tuple[str, int]], bit_order: str,
                key_ids: dict[str, int], ordered: bool = True) -> Sampled:
    """Sample ``shots`` outcomes of a distribution ``p`` over some measured qubits and turn them
    into bitstring keys.

    Each shot's classical bits are ``base`` (flat bit order) with bit ``bits[j]`` set to the
    sampled value of measured qubit ``sources[j]`` (its position in ``p``'s index, most
    significant first). Keys are formatted by ``registers``/``bit_order`` and numbered in
    ``key_ids`` (new keys are added).
    """
    width = int(p.size).bit_length() - 1
    uniq, counts, inverse = sample_counts(p, shots, rng, ordered)
    rows = np.repeat(np.asarray(base, dtype=np.uint8)[None, :], len(uniq), axis=0)
    rows[:, list(bits)] = index_bits(uniq, width)[:, list(sources)]
    # Distinct samples can give one key (a measured qubit written to no bit): numbering by key
    # merges them.
    ids = np.array([key_ids.setdefault(format_bits(r, registers, bit_order), len(key_ids))
                    for r in rows], dtype=np.int64)
    return Sampled(ids, counts, None if inverse is None else ids[inverse])


def key_counts(parts: Sequence[Sampled], num_keys: int) -> np.ndarray:
    """Total shots per key number over several :class:`Sampled` draws."""
    total = np.zeros(num_keys, dtype=np.int64)
    for s in parts:
        np.add.at(total, s.ids, s.counts)
    return total
