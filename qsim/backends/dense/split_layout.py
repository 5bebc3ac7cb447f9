"""The blocked split layout's dimensions, without numba: what the planner (:mod:`.state`) needs
to know about :mod:`.split_kernels` before deciding to load it."""

from __future__ import annotations

from typing import Any

import numpy as np


def block_bits(dtype: Any) -> int:
    """``B``: log2 of the block width for a complex dtype (complex64: 6, complex128: 5)."""
    return 6 if np.dtype(dtype) == np.complex64 else 5


def block_width(dtype: Any) -> int:
    """``W = 2**B`` amplitudes per block."""
    return 1 << block_bits(dtype)


#: A diagonal with targets inside the blocks and at most this many above them is applied as a
#: table of factor blocks (2**h blocks of W complex factors: 256 KiB at most in complex128).
DIAG_TABLE_BITS = 8
