"""Backends: implementations of the :class:`~qsim.backends.base.State` protocol, by name.

``BACKENDS`` maps a name to a loader returning the backend's State class; each loader imports its
module on first use (so ``import qsim`` does not pay for scipy), and the import is an ordinary
statement that a reader, a type checker or an import graph can follow.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import SimulationError
from .base import State


def _dense() -> type[State]:
    from .dense import DenseState

    return DenseState


def _sparse() -> type[State]:
    from .sparse import SparseState

    return SparseState


def _mpi() -> type[State]:
    from .mpi import MPIState  # mpi4py itself is imported when the backend is first used

    return MPIState


def _density() -> type[State]:
    from .density import DensityState

    return DensityState


#: name -> loader of the backend's State class.
BACKENDS: dict[str, Callable[[], type[State]]] = {
    "statevector": _dense,
    "sparse": _sparse,
    "mpi": _mpi,
    "density": _density,
}


def get_backend(name: str) -> type[State]:
    """The State class registered under ``name``; SimulationError lists the known names."""
    try:
        loader = BACKENDS[name]
    except (KeyError, TypeError):
        raise SimulationError(f"unknown backend {name!r}; choose one of "
                              f"{', '.join(sorted(BACKENDS))}") from None
    return loader()


def available_backends() -> list[str]:
    return sorted(BACKENDS)


__all__ = ["BACKENDS", "State", "available_backends", "get_backend"]
