"""Memory checks: refuse a state vector that does not fit before allocating it.

The memory a run may use is the least of what the system has available and the limits the process
runs under: its address-space limit (``ulimit -v``, RLIMIT_AS) and the memory limit of its control
group (cgroup v2 ``memory.max``, cgroup v1 ``memory.limit_in_bytes``). Each source is read by a
small function of its own; a source that cannot be read (another OS, no such file) is skipped.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import SimulationError

#: Default cap on the gates a program may expand to (``max_gates`` / ``--max-gates``): counted
#: before anything is built, at load (broadcasts) and before simulating (nested definitions).
DEFAULT_MAX_GATES = 10_000_000

_UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]

#: cgroup v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages); anything this large is
#: treated as no limit.
_CGROUP_V1_NO_LIMIT = 1 << 60
_CGROUP_ROOT = "/sys/fs/cgroup"

#: What each memory source is called in messages (the plain one keeps the message as it was).
SYSTEM = "memory available"
RLIMIT_AS = "process limit RLIMIT_AS"
CGROUP_V2 = "cgroup memory.max"
CGROUP_V1 = "cgroup memory.limit_in_bytes"


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


# --- reading each source (small functions: tests monkeypatch them) --------------------------------
def _read_text(path: str) -> str | None:
    """The contents of a (small) file, or None when it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def _read_int(path: str) -> int | None:
    """The integer a one-number file holds (``memory.current``), or None."""
    text = _read_text(path)
    if text is None:
        return None
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return None


def system_available() -> int | None:
    """Bytes of memory available now: MemAvailable on Linux, else physical pages free."""
    text = _read_text("/proc/meminfo")
    if text is not None:
        for line in text.splitlines():
            if line.startswith("MemAvailable:"):
                try:
                    return int(line.split()[1]) * 1024
                except (ValueError, IndexError):
                    break
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _rlimit_as() -> int | None:
    """The process's RLIMIT_AS soft limit in bytes, None when unlimited or unknown."""
    try:
        import resource
    except ImportError:  # not on this OS
        return None
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (AttributeError, ValueError, OSError):
        return None
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    return int(soft)


def _virtual_size() -> int | None:
    """The process's current virtual size in bytes (``/proc/self/statm`` first field)."""
    pages = _read_int("/proc/self/statm")
    if pages is None:
        return None
    try:
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def rlimit_headroom() -> int | None:
    """Bytes the address-space limit (RLIMIT_AS) still allows, None when there is none."""
    limit = _rlimit_as()
    if limit is None:
        return None
    return max(limit - (_virtual_size() or 0), 0)


def _inactive_file(path: str, key: str) -> int:
    """The ``key`` line (``inactive_file``) of a cgroup ``memory.stat``: page cache the kernel
    reclaims before it refuses memory, so not counted as used (as ``docker stats`` does); 0 when
    unknown."""
    text = _read_text(path)
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == key:
            try:
                return max(int(parts[1]), 0)
            except ValueError:
                return 0
    return 0


def _cgroup_paths(controller: str | None) -> list[str]:
    """The process's cgroup path for ``controller`` (None: the v2 unified hierarchy, ``0::``) and
    each of its ancestors, from ``/proc/self/cgroup``; ``["/"]`` when it names none."""
    text = _read_text("/proc/self/cgroup")
    path = None
    for line in (text or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if controller is None:
            if parts[0] == "0" and parts[1] == "":
                path = parts[2]
        elif controller in parts[1].split(","):
            path = parts[2]
    if not path or not path.startswith("/"):
        return ["/"]
    out = []
    while True:
        out.append(path)
        if path == "/":
            return out
        path = path.rsplit("/", 1)[0] or "/"


def _cgroup_dirs(root: str, controller: str | None) -> list[str]:
    """The cgroup directories whose limits apply: the process's own and its ancestors', under
    ``root``. Inside a container the process's path may not exist under the mount, whose top is
    then the container's own group: it is always the last one."""
    dirs = [root + p.rstrip("/") for p in _cgroup_paths(controller)]
    return list(dict.fromkeys(dirs))


def cgroup_v2_headroom() -> int | None:
    """Bytes the cgroup v2 memory limit still allows: ``memory.max`` minus ``memory.current``
    (less the reclaimable ``inactive_file`` cache), the least over the process's group and its
    ancestors; None when no limit applies."""
    best = None
    for d in _cgroup_dirs(_CGROUP_ROOT, None):
        text = _read_text(f"{d}/memory.max")
        if text is None or text.strip() in ("", "max"):
            continue
        try:
            limit = int(text.split()[0])
        except ValueError:
            continue
        used = max((_read_int(f"{d}/memory.current") or 0)
                   - _inactive_file(f"{d}/memory.stat", "inactive_file"), 0)
        room = max(limit - used, 0)
        best = room if best is None else min(best, room)
    return best


def cgroup_v1_headroom() -> int | None:
    """Bytes the cgroup v1 memory limit still allows: ``memory.limit_in_bytes`` minus
    ``memory.usage_in_bytes`` (less the reclaimable ``total_inactive_file`` cache), the least over
    the process's group and its ancestors; None when no limit applies (the huge "unlimited"
    values are ignored)."""
    best = None
    for d in _cgroup_dirs(f"{_CGROUP_ROOT}/memory", "memory"):
        limit = _read_int(f"{d}/memory.limit_in_bytes")
        if limit is None or limit <= 0 or limit >= _CGROUP_V1_NO_LIMIT:
            continue
        used = max((_read_int(f"{d}/memory.usage_in_bytes") or 0)
                   - _inactive_file(f"{d}/memory.stat", "total_inactive_file"), 0)
        room = max(limit - used, 0)
        best = room if best is None else min(best, room)
    return best


def memory_limit() -> tuple[int, str]:
    """``(bytes, source)``: the memory available now and which limit sets it (one of
    :data:`SYSTEM`, :data:`RLIMIT_AS`, :data:`CGROUP_V2`, :data:`CGROUP_V1`). Never below 0;
    ``2**63`` when no source can be read."""
    sources: tuple[tuple[str, Callable[[], int | None]], ...] = (
        (SYSTEM, system_available), (RLIMIT_AS, rlimit_headroom),
        (CGROUP_V2, cgroup_v2_headroom), (CGROUP_V1, cgroup_v1_headroom))
    best, which = None, SYSTEM
    for name, read in sources:  # ties go to the first: the plain system figure
        try:
            value = read()
        except (OSError, ValueError):
            continue
        if value is not None and (best is None or value < best):
            best, which = max(int(value), 0), name
    return (2**63, SYSTEM) if best is None else (best, which)


def available_memory() -> int:
    """Bytes of memory available now: the least of MemAvailable and the process's RLIMIT_AS and
    cgroup limits (less what is already used), never below 0."""
    return memory_limit()[0]


def memory_limit_description(source: str) -> str:
    """How a message names the limit ``source``: ``"memory available"`` for the system's,
    ``"memory available (process limit RLIMIT_AS)"`` for a process or cgroup limit."""
    return SYSTEM if source == SYSTEM else f"{SYSTEM} ({source})"


def state_bytes(num_qubits: int, itemsize: int = 16) -> int:
    return (1 << num_qubits) * itemsize


def check_state_memory(num_qubits: int, itemsize: int = 16, max_memory: int | None = None,
                       copies: int = 1) -> int:
    """Raise SimulationError if ``copies`` state vectors of ``num_qubits`` would not fit.

    The limit is ``max_memory`` bytes when given, else the memory available now (see
    :func:`available_memory`; the message names the limit that applied). Returns the bytes one
    state vector needs. Cheap for any register size (a huge one is only a shift).
    """
    need = state_bytes(num_qubits, itemsize)
    if max_memory is None:
        limit, source = memory_limit()
        what = memory_limit_description(source)
    else:
        limit, what = int(max_memory), "memory limit"
    if need * copies > limit:
        dtype = "complex128" if itemsize == 16 else "complex64"
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


#: Arrays of at least this many bytes come from :func:`zeros`' own mapping (2 MiB pages).
HUGE_PAGE_MIN = 4 << 20
HUGE_PAGE = 2 << 20


def zeros(count: int, dtype: Any) -> np.ndarray:
    """A zeroed 1-d array of ``count`` items, for state vectors. From :data:`HUGE_PAGE_MIN`
    bytes on, where the system has transparent huge pages on request (Linux
    ``MADV_HUGEPAGE``), it is a fresh anonymous mapping so advised: the kernel zeroes it in
    2 MiB pages as it is first touched. ``np.zeros`` there often reuses heap memory in 4 KiB
    pages, and the first touches fault once per page (1,700 faults, +15% on the second run of a
    20-qubit circuit on a virtual machine) and strain the TLB in every later pass. Raises
    MemoryError when the mapping cannot be made, as ``np.zeros`` does."""
    dt = np.dtype(dtype)
    nbytes = int(count) * dt.itemsize
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if nbytes < HUGE_PAGE_MIN or advice is None:
        return np.zeros(count, dtype=dt)
    try:
        mm = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (OSError, OverflowError, ValueError) as exc:
        raise MemoryError(f"cannot map {human_bytes(nbytes)}: {exc}") from exc
    try:
        mm.madvise(advice)
    except OSError:  # advice not supported here: ordinary pages
        pass
    out = np.frombuffer(mm, dtype=dt, count=count)
    # Written first, so that each 2 MiB is one huge page: a first touch that reads (the sparse
    # start's gather) would map the small zero page, and the writes after it 4 KiB pages.
    out.view(np.uint8)[::HUGE_PAGE] = 0
    return out
