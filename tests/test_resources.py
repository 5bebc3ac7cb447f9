"""The memory guard: each source of the memory limit (MemAvailable, RLIMIT_AS, cgroup v2 and v1)
parsed from fake files, the least of them taken, the message naming the limit that applied, and a
real process under ``ulimit -v`` that gets a SimulationError rather than a MemoryError."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from qsim import SimulationError
from qsim import resources as res

GiB = 1 << 30
MiB = 1 << 20
PAGE = 4096
V1_UNLIMITED = "9223372036854771712\n"


@pytest.fixture
def files(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fake file system for every read the module makes: tests fill the dict; any other path
    reads as missing. The page size is pinned to 4096 and RLIMIT_AS to unlimited."""
    fake: dict[str, str] = {}
    monkeypatch.setattr(res, "_read_text", fake.get)
    monkeypatch.setattr(res, "_rlimit_as", lambda: None)
    real_sysconf = os.sysconf

    def sysconf(name: str) -> int:
        if name == "SC_PAGE_SIZE":
            return PAGE
        if name == "SC_AVPHYS_PAGES":
            raise ValueError("no such thing here")
        return real_sysconf(name)

    monkeypatch.setattr(os, "sysconf", sysconf)
    return fake


# --- each source ----------------------------------------------------------------------------------
def test_system_available_reads_memavailable(files: dict[str, str]) -> None:
    files["/proc/meminfo"] = ("MemTotal:       32000000 kB\nMemFree:         1000000 kB\n"
                              "MemAvailable:    8000000 kB\nBuffers:           12 kB\n")
    assert res.system_available() == 8_000_000 * 1024
    assert res.memory_limit() == (8_000_000 * 1024, res.SYSTEM)


def test_nothing_readable_means_no_limit(files: dict[str, str]) -> None:
    assert res.system_available() is None
    assert res.rlimit_headroom() is None
    assert res.cgroup_v2_headroom() is None and res.cgroup_v1_headroom() is None
    assert res.memory_limit() == (2**63, res.SYSTEM)
    assert res.available_memory() == 2**63


def test_rlimit_as_minus_virtual_size(files: dict[str, str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    files["/proc/self/statm"] = "25600 1000 500 1 0 800 0\n"  # 100 MiB of virtual size
    monkeypatch.setattr(res, "_rlimit_as", lambda: 3 * GiB)
    assert res.rlimit_headroom() == 3 * GiB - 100 * MiB
    # already over the limit: never below 0
    files["/proc/self/statm"] = f"{4 * GiB // PAGE} 1 1 1 0 1 0\n"
    assert res.rlimit_headroom() == 0
    # unreadable statm: the whole limit
    del files["/proc/self/statm"]
    assert res.rlimit_headroom() == 3 * GiB


def test_rlimit_as_reads_getrlimit(monkeypatch: pytest.MonkeyPatch) -> None:
    resource = pytest.importorskip("resource")
    monkeypatch.setattr(resource, "getrlimit",
                        lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert res._rlimit_as() is None
    seen = []

    def getrlimit(which: int) -> tuple[int, int]:
        seen.append(which)
        return 3 * GiB, resource.RLIM_INFINITY

    monkeypatch.setattr(resource, "getrlimit", getrlimit)
    assert res._rlimit_as() == 3 * GiB
    assert seen == [resource.RLIMIT_AS]


def test_cgroup_v2_limit_minus_current(files: dict[str, str]) -> None:
    files["/proc/self/cgroup"] = "0::/user.slice/app.scope\n"
    d = "/sys/fs/cgroup/user.slice/app.scope"
    files[f"{d}/memory.max"] = f"{2 * GiB}\n"
    files[f"{d}/memory.current"] = f"{512 * MiB}\n"
    assert res.cgroup_v2_headroom() == 2 * GiB - 512 * MiB
    # reclaimable page cache does not count as used
    files[f"{d}/memory.stat"] = f"anon {256 * MiB}\nfile {256 * MiB}\ninactive_file {128 * MiB}\n"
    assert res.cgroup_v2_headroom() == 2 * GiB - 384 * MiB
    # "max" is no limit; a tighter ancestor wins
    files[f"{d}/memory.max"] = "max\n"
    assert res.cgroup_v2_headroom() is None
    files["/sys/fs/cgroup/user.slice/memory.max"] = f"{GiB}\n"
    files["/sys/fs/cgroup/user.slice/memory.current"] = f"{768 * MiB}\n"
    assert res.cgroup_v2_headroom() == 256 * MiB
    # over the limit: 0, not negative
    files["/sys/fs/cgroup/user.slice/memory.current"] = f"{2 * GiB}\n"
    assert res.cgroup_v2_headroom() == 0


def test_cgroup_v2_in_a_container_namespace(files: dict[str, str]) -> None:
    # Inside a cgroup namespace the process sits at "/": the mount's top is its own group.
    files["/proc/self/cgroup"] = "0::/\n"
    files["/sys/fs/cgroup/memory.max"] = f"{4 * GiB}\n"
    files["/sys/fs/cgroup/memory.current"] = f"{GiB}\n"
    assert res.cgroup_v2_headroom() == 3 * GiB
    assert res.cgroup_v1_headroom() is None


def test_cgroup_v1_limit_minus_usage(files: dict[str, str]) -> None:
    # A container without a cgroup namespace: /proc/self/cgroup names the host's path, which
    # does not exist under the container's mount; the mount's top holds the limit.
    files["/proc/self/cgroup"] = ("12:pids:/docker/abc\n5:cpuacct,memory:/docker/abc\n"
                                  "0::/docker/abc\n")
    files["/sys/fs/cgroup/memory/memory.limit_in_bytes"] = f"{3 * GiB}\n"
    files["/sys/fs/cgroup/memory/memory.usage_in_bytes"] = f"{GiB}\n"
    assert res.cgroup_v1_headroom() == 2 * GiB
    files["/sys/fs/cgroup/memory/memory.stat"] = (f"cache {GiB}\ninactive_file 5\n"
                                                  f"total_inactive_file {256 * MiB}\n")
    assert res.cgroup_v1_headroom() == 2 * GiB + 256 * MiB
    # the process's own group, when it exists under the mount, counts too
    files["/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes"] = f"{GiB}\n"
    files["/sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes"] = f"{900 * MiB}\n"
    assert res.cgroup_v1_headroom() == 124 * MiB
    assert res.cgroup_v2_headroom() is None


def test_cgroup_v1_unlimited_is_ignored(files: dict[str, str]) -> None:
    files["/proc/self/cgroup"] = "4:memory:/\n"
    files["/sys/fs/cgroup/memory/memory.limit_in_bytes"] = V1_UNLIMITED
    files["/sys/fs/cgroup/memory/memory.usage_in_bytes"] = f"{GiB}\n"
    assert res.cgroup_v1_headroom() is None
    files["/sys/fs/cgroup/memory/memory.limit_in_bytes"] = "garbage\n"
    assert res.cgroup_v1_headroom() is None


# --- the least of them, and the message --------------------------------------------------------
def test_minimum_of_all_sources_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {"system_available": 8 * GiB, "rlimit_headroom": 6 * GiB,
              "cgroup_v2_headroom": 5 * GiB, "cgroup_v1_headroom": 7 * GiB}
    for name, value in values.items():
        monkeypatch.setattr(res, name, lambda v=value: v)
    assert res.memory_limit() == (5 * GiB, res.CGROUP_V2)
    assert res.available_memory() == 5 * GiB
    monkeypatch.setattr(res, "cgroup_v2_headroom", lambda: None)
    assert res.memory_limit() == (6 * GiB, res.RLIMIT_AS)
    monkeypatch.setattr(res, "rlimit_headroom", lambda: None)
    monkeypatch.setattr(res, "cgroup_v1_headroom", lambda: 9 * GiB)
    assert res.memory_limit() == (8 * GiB, res.SYSTEM)
    monkeypatch.setattr(res, "system_available", lambda: None)
    assert res.memory_limit() == (9 * GiB, res.CGROUP_V1)
    # ties go to the plain system figure; never below 0
    monkeypatch.setattr(res, "system_available", lambda: 9 * GiB)
    assert res.memory_limit() == (9 * GiB, res.SYSTEM)
    monkeypatch.setattr(res, "rlimit_headroom", lambda: -5)
    assert res.memory_limit() == (0, res.RLIMIT_AS)


def test_message_names_the_limit_that_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(res, "memory_limit", lambda: (3 * GiB, res.RLIMIT_AS))
    with pytest.raises(SimulationError) as err:
        res.check_state_memory(29)
    msg = str(err.value)
    assert "a 29-qubit state vector needs 8.0 GiB" in msg
    assert "more than the memory available (process limit RLIMIT_AS) of 3.0 GiB" in msg
    assert err.value.bytes_needed == 8 * GiB
    monkeypatch.setattr(res, "memory_limit", lambda: (GiB, res.CGROUP_V2))
    with pytest.raises(SimulationError, match=r"memory available \(cgroup memory\.max\) of 1\.0"):
        res.check_state_memory(27)
    # plain available memory keeps the old wording; an explicit max_memory is "memory limit"
    monkeypatch.setattr(res, "memory_limit", lambda: (GiB, res.SYSTEM))
    with pytest.raises(SimulationError, match=r"more than the memory available of 1\.0 GiB"):
        res.check_state_memory(27)
    with pytest.raises(SimulationError, match=r"more than the memory limit of 1\.0 KiB"):
        res.check_state_memory(7, max_memory=1024)
    assert res.check_state_memory(6, max_memory=1024) == 1024


def test_zero_headroom_refuses_even_a_tiny_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(res, "memory_limit", lambda: (0, res.CGROUP_V1))
    with pytest.raises(SimulationError, match=r"cgroup memory\.limit_in_bytes\) of 0 bytes"):
        res.check_state_memory(0)


def test_huge_register_is_refused_quickly() -> None:
    n = 1_048_576
    start = time.perf_counter()
    with pytest.raises(SimulationError) as err:
        res.check_state_memory(n)
    elapsed = time.perf_counter() - start
    assert err.value.bytes_needed is not None
    assert err.value.bytes_needed.bit_length() == n + 5  # 2**n * 16 bytes
    assert f"a {n}-qubit state vector needs 2^{n + 4} bytes as complex128" in str(err.value)
    with pytest.raises(SimulationError) as err:
        res.check_state_memory(n, itemsize=8, copies=3, max_memory=10**12)
    assert err.value.bytes_needed == 3 << (n + 3)
    assert res.human_bytes(16 << n) == f"2^{n + 4} bytes"
    assert elapsed < 5  # generous: it takes well under a millisecond


def test_human_bytes() -> None:
    assert res.human_bytes(0) == "0 bytes"
    assert res.human_bytes(1023) == "1023 bytes"
    assert res.human_bytes(1024) == "1.0 KiB"
    assert res.human_bytes(17592186044416) == "16.0 TiB"
    assert res.human_bytes(2**100) == "2^100 bytes"


# --- a real process under ulimit -v -------------------------------------------------------------
CHILD = """
import resource, sys
import qsim
try:
    qsim.simulate(qsim.Circuit(29))
except BaseException as exc:
    print(type(exc).__name__)
    print(exc)
    sys.exit(3 if isinstance(exc, qsim.SimulationError) else 4)
print("simulated")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS as on Linux")
def test_rlimit_as_process_gets_simulation_error_not_memory_error() -> None:
    resource = pytest.importorskip("resource")
    limit = 3 * GiB
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY and hard < limit:
        pytest.skip("the hard RLIMIT_AS is already below 3 GiB")

    def set_limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

    # One BLAS/OpenMP thread: thread arenas on a many-core machine would eat the address space.
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CHILD], preexec_fn=set_limit, env=env,
                          capture_output=True, text=True, timeout=120)
    out = proc.stdout.splitlines()
    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    assert out[0] == "SimulationError"
    assert "a 29-qubit state vector needs 8.0 GiB" in out[1]
    # the address-space limit applies (unless a cgroup here is tighter still)
    assert "memory available (process limit RLIMIT_AS)" in out[1] or "cgroup" in out[1]
    assert "MemoryError" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("count", [1, 1000, (4 << 20) // 8, (6 << 20) // 16 + 3])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_zeros_for_states(count: int, dtype: type) -> None:
    """qsim.resources.zeros: a zeroed, writable 1-d array of the dtype, from its own mapping
    (advised onto 2 MiB pages) from HUGE_PAGE_MIN bytes on where the system offers that."""
    import mmap

    from qsim import resources

    a = resources.zeros(count, dtype)
    assert a.shape == (count,) and a.dtype == dtype and a.flags.writeable
    assert a.flags.c_contiguous and not a.any()
    a[-1] += 1 + 2j
    a[0] += 3
    assert a.sum() == 4 + 2j
    mapped = isinstance(getattr(a.base, "obj", None), mmap.mmap)
    assert mapped == (count * np.dtype(dtype).itemsize >= resources.HUGE_PAGE_MIN
                      and hasattr(mmap, "MADV_HUGEPAGE"))


def test_zeros_that_cannot_be_mapped_raise_memory_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import mmap

    from qsim import resources

    if not hasattr(mmap, "MADV_HUGEPAGE"):
        pytest.skip("no transparent huge pages on request here: np.zeros is used")

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(mmap, "mmap", refuse)
    with pytest.raises(MemoryError, match="cannot map 8.0 MiB"):
        resources.zeros(1 << 20, np.complex64)
