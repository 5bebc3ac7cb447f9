"""Backends: functions that apply a circuit's unitary instructions to a state vector.

A backend is ``fn(circuit, instructions, state) -> state``: ``state`` is a flat complex vector of
length 2**n (qubit 0 leftmost), ``instructions`` an iterable of gate / ``unitary`` / ``barrier``
instructions of ``circuit``. Measurement, reset and classical control are handled by the
simulator around the backend, identically for every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import import_module

import numpy as np

from ..errors import SimulationError

#: name -> "module:function", imported on first use so that ``import qsim`` stays fast.
BACKENDS: dict[str, str] = {
    "statevector": "qsim.backends.statevector:apply_gates",
    "sparse": "qsim.backends.sparse:apply_gates",
}

BackendFn = Callable[..., np.ndarray]


def get_backend(name: str) -> BackendFn:
    """The backend function registered under ``name``; SimulationError lists the known names."""
    try:
        target = BACKENDS[name]
    except KeyError:
        raise SimulationError(f"unknown backend {name!r}; choose one of "
                              f"{', '.join(sorted(BACKENDS))}") from None
    module, fn = target.split(":")
    return getattr(import_module(module), fn)


def available_backends() -> Iterable[str]:
    return sorted(BACKENDS)
