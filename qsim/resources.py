"""Memory checks: refuse a state vector that does not fit before allocating it."""

from __future__ import annotations

import os

from .errors import SimulationError

#: Default cap on the gates a program may expand to (``max_gates`` / ``--max-gates``): counted
#: before anything is built, at load (broadcasts) and before simulating (nested definitions).
DEFAULT_MAX_GATES = 10_000_000

_UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]


def human_bytes(n: int) -> str:
    """``17592186044416`` -> ``'16.0 TiB'``; astronomically large sizes in powers of two."""
    if n < 1024:
        return f"{n} bytes"
    if n >= 2**100:
        return f"2^{n.bit_length() - 1} bytes"
    x = float(n)
    for unit in _UNITS[1:]:
        x /= 1024
        if x < 1024:
            return f"{x:.1f} {unit}"
    return f"2^{n.bit_length() - 1} bytes"


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux, else physical pages free)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**63


def state_bytes(num_qubits: int, itemsize: int = 16) -> int:
    return (1 << num_qubits) * itemsize


def check_state_memory(num_qubits: int, itemsize: int = 16, max_memory: int | None = None,
                       copies: int = 1) -> int:
    """Raise SimulationError if ``copies`` state vectors of ``num_qubits`` would not fit.

    The limit is ``max_memory`` bytes when given, else the memory available now. Returns the
    bytes one state vector needs.
    """
    need = state_bytes(num_qubits, itemsize)
    limit = available_memory() if max_memory is None else int(max_memory)
    if need * copies > limit:
        dtype = "complex128" if itemsize == 16 else "complex64"
        what = "memory available" if max_memory is None else "memory limit"
        size = human_bytes(need)
        if need < 1024:
            size += f" as {dtype}"
        elif need < 2**100:
            size += f" ({need:,} bytes as {dtype})"
        else:
            size += f" as {dtype}"
        total = human_bytes(need * copies)
        what_needs = (f"a {num_qubits}-qubit state vector needs {size}" if copies == 1 else
                      f"{copies} state vectors of {num_qubits} qubits ({size} each) need {total}")
        raise SimulationError(
            f"{what_needs}, more than the {what} of "
            f"{human_bytes(limit)}{f' ({limit:,} bytes)' if limit >= 1024 else ''}; "
            f"the register is too large to simulate here",
            bytes_needed=need * copies,
        )
    return need
