"""The ``State`` protocol: what the engine (:mod:`qsim.engine`) asks of every backend.

A backend is a subclass of :class:`State`, registered by name in :mod:`qsim.backends`. The engine
never touches amplitudes itself: it compiles a circuit into a plan (:mod:`qsim.compile`), asks the
backend class to ``prepare`` each run of gates once, allocates a state, ``apply`` s the prepared
blocks, reads outcome ``probabilities`` (always a float64 array on the host), and ``collapse`` s,
``reset`` s and ``copy`` s states to follow measurement branches. Anything that holds amplitudes
elsewhere (a density matrix, a GPU array, a vector split over MPI ranks) plugs in here.

Conventions every backend keeps: qubit 0 is the most significant bit of a basis index (the leftmost
Kronecker factor); ``probabilities(qubits)`` index j's binary digits, most significant first, are
the values of ``qubits`` in the order given.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..compile.lower import LoweredOp, expanded_size
from ..errors import SimulationError
from ..resources import available_memory, check_state_memory, human_bytes

#: ``precision`` argument -> amplitude dtype.
PRECISIONS: dict[str, type] = {"double": np.complex128, "single": np.complex64}


def precision_dtype(precision: str) -> np.dtype:
    """``"double"`` -> complex128, ``"single"`` -> complex64; SimulationError otherwise."""
    try:
        return np.dtype(PRECISIONS[precision])
    except (KeyError, TypeError):
        raise SimulationError(f"precision must be 'double' or 'single', got {precision!r}"
                              ) from None


class State(ABC):
    """One simulated register of ``num_qubits`` qubits with amplitudes of ``dtype``.

    ``capabilities`` names what the backend can do beyond the protocol (e.g. ``"merge_resets"``:
    :meth:`factorizes` is exact, so the engine may continue both outcomes of a reset as one branch).
    """

    #: The name the backend is registered under.
    name: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[str]] = frozenset()

    num_qubits: int
    dtype: np.dtype
    #: Threads the backend may use to apply gates (None: its default, e.g. the CPUs this
    #: process may run on); the engine sets it after allocating, copies keep it. Results never
    #: depend on it.
    threads: int | None = None

    # --- class side: memory, allocation, compilation ----------------------------------------------
    @classmethod
    def check_memory(cls, num_qubits: int, dtype: Any, max_memory: int | None = None,
                     copies: int = 1, extra: int = 0, extra_what: str = "") -> int:
        """Raise SimulationError (with ``bytes_needed``) if ``copies`` states, plus ``extra`` bytes
        of host memory for ``extra_what`` (probabilities, samples, ...), would not fit in
        ``max_memory`` bytes (default: the memory available now); returns the bytes of one state.
        Called by the engine before anything is allocated."""
        one = check_state_memory(num_qubits, np.dtype(dtype).itemsize, max_memory, copies)
        if extra > 0:
            need = one * copies + extra
            limit = available_memory() if max_memory is None else int(max_memory)
            if need > limit:
                kind = "memory available" if max_memory is None else "memory limit"
                states = "the state" if copies == 1 else f"{copies} states"
                raise SimulationError(
                    f"this run needs {human_bytes(need)} ({need:,} bytes): {states} of "
                    f"{num_qubits} qubits ({human_bytes(one * copies)}) and {human_bytes(extra)} "
                    f"for {extra_what}, more than the {kind} of {human_bytes(limit)} "
                    f"({limit:,} bytes)", bytes_needed=need)
        return one

    @classmethod
    def work(cls, ops: Sequence[LoweredOp]) -> int:
        """Gate applications :meth:`prepare` / :meth:`apply` would make for ``ops`` (the engine
        refuses more than ``max_gates`` before preparing). Default: every call fully expanded."""
        return expanded_size(ops)

    @classmethod
    @abstractmethod
    def allocate(cls, num_qubits: int, dtype: Any, initial: np.ndarray | None = None) -> State:
        """A new state: |0...0> or a copy of the host vector ``initial`` (length 2**n, checked by
        the engine)."""

    @classmethod
    @abstractmethod
    def prepare(cls, ops: Sequence[LoweredOp], num_qubits: int) -> Any:
        """Compile a run of lowered gates (applied first to last) into whatever :meth:`apply`
        takes. Done once per run of gates, whatever the number of states it is applied to."""

    # --- instance side ----------------------------------------------------------------------------
    @abstractmethod
    def apply(self, prepared: Any) -> None:
        """Apply a block returned by :meth:`prepare`, in place."""

    @abstractmethod
    def probabilities(self, qubits: Sequence[int]) -> np.ndarray:
        """Outcome probabilities of ``qubits`` (float64, host, length 2**len(qubits), not
        renormalised)."""

    def qubit_weights(self, qubit: int) -> tuple[float, float]:
        """Squared norms of the qubit = 0 and = 1 parts of the state."""
        p = self.probabilities([qubit])
        return float(p[0]), float(p[1])

    @abstractmethod
    def collapse(self, qubit: int, outcome: int, weight: float) -> None:
        """Project ``qubit`` onto ``outcome`` and renormalise (``weight``: that outcome's squared
        norm, from :meth:`qubit_weights`)."""

    @abstractmethod
    def reset(self, qubit: int, outcome: int, weight: float) -> None:
        """Like :meth:`collapse`, then move the kept part to qubit value 0 (a reset that read
        ``outcome``)."""

    def factorizes(self, qubit: int, w0: float, w1: float) -> bool:
        """Whether the qubit = 0 and = 1 parts are the same state up to phase and norm (then a
        reset needs no branch). The default, False, is always safe."""
        return False

    @abstractmethod
    def copy(self) -> State:
        """An independent copy."""

    @abstractmethod
    def to_host(self) -> np.ndarray:
        """The amplitudes as a flat numpy vector (may share memory with the state)."""

    @property
    @abstractmethod
    def nbytes(self) -> int:
        """Bytes the state holds."""
