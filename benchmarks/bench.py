"""Benchmark driver: qsim's dense state-vector simulator against Qiskit Aer, PennyLane lightning.qubit,
qulacs and qsimcirq (qsim in complex128 against Aer and lightning, in complex64 against qsimcirq).

    python -m benchmarks.bench [--quick] [--large] [--sizes 20,22] [--workloads qft,ghz]
                               [--threads 1,2] [--simulators qsim,aer,qulacs,qsimcirq]

Every measurement (simulator, workload, qubits, threads, precision) runs ``benchmarks/runner.py``
in a fresh interpreter (``--quick``: see below) with the thread count pinned through the environment; the median of 3
repetitions of "simulate the whole circuit to the final state vector in memory" is reported with
the process's peak RSS.  Before timing, the final states of every simulator are checked against
qsim's at the smallest size (fidelity > 1 - 1e-9; 1 - 1e-5 when a single-precision state is
involved).  A simulator that is not installed is reported as ``-`` with the reason.  The table is
printed and written to ``benchmarks/results.md`` and ``benchmarks/results.json``; the OpenQASM 2
text of every workload goes to ``benchmarks/qasm/``.

Modes: default sizes 20, 22, 24, 26 with threads 1 and 2; ``--quick``: sizes 20 and 22, one
process per simulator, size, threads and precision for all workloads (importing PennyLane alone
takes 5 s; peak RSS is then that process's so far), a 120 s timeout per workload and a 2 s repetition budget (repetitions stop once they took 2 s; the row says
so, and of two repetitions the faster is reported, as their median would be half the cold first
one), without qulacs (no target compares with it), meant to finish within 5 minutes on a 2-core
machine; ``--large`` adds qsim-only runs at 30
qubits (complex128) and 31 qubits (complex64), one repetition each (``--large-reps``), skipped
with the reason when the state does not fit in the available memory.

Each measurement also records how many CPU cores other processes used meanwhile (from
/proc/stat); rows above 0.3 cores are marked "busy machine", since their times are not reliable.
Bit order and gate conventions of the converters: see ``benchmarks/workloads.py``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import util as _importlib_util
from pathlib import Path
from typing import Any

from benchmarks.runner import SIM_MODULES, SIMULATORS, thread_env

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

WORKLOAD_ORDER = ("qft", "random", "ghz", "hea")
DEFAULT_SIZES = (20, 22, 24, 26)
QUICK_SIZES = (20, 22)
DEFAULT_THREADS = (1, 2)
# (qubits, precision) added for qsim by --large.
LARGE_RUNS = ((30, "double"), (31, "single"))
# The precision each simulator is timed in (qsimcirq only computes in complex64; qulacs' CPU build
# only in complex128).
PRECISION = {"qsim": "double", "aer": "double", "lightning": "double", "qulacs": "double",
             "qsimcirq": "single"}
# qsim is timed in both: complex128 against Aer and lightning, complex64 against qsimcirq.
PRECISIONS = {**{s: (p,) for s, p in PRECISION.items()}, "qsim": ("double", "single")}
# The simulator each qsim row is compared with in the "ratio to target" column, per precision
# (targets of issue #11: <= 0.5 x lightning in double, <= 1.0 x qsimcirq in single).
TARGET = {"double": ("lightning", 0.5), "single": ("qsimcirq", 1.0)}
TOL_DOUBLE = 1e-9
TOL_SINGLE = 1e-5
MAX_CHECK_QUBITS = 22  # the agreement check runs at min(smallest size, this)
BUSY_CORES = 0.3  # flag a measurement when other processes used more CPU than this meanwhile


# --------------------------------------------------------------------------------------------------
# Child processes
# --------------------------------------------------------------------------------------------------


@dataclass
class Child:
    rc: int
    stdout: str
    stderr: str
    wall_s: float
    peak_rss_mib: float
    timed_out: bool
    other_cores: float | None = None  # CPU cores used by other processes meanwhile (busy machine)


# A child process inherits its parent's peak RSS (Linux keeps the high-water mark across fork and
# exec), so every command runs under this small launcher started with ``python -S``: the launcher's
# own peak is a few MiB, and it reports the wall time and the peak RSS of the command alone.
_LAUNCHER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.call(sys.argv[2:])\n"
    "wall = time.perf_counter() - t\n"
    "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    json.dump({'rc': rc, 'wall_s': wall, 'maxrss_kib': ru.ru_maxrss,\n"
    "               'cpu_s': ru.ru_utime + ru.ru_stime}, f)\n"
)


def _cpu_busy_s() -> float | None:
    """Seconds of CPU time spent busy by all processes since boot (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    v = [int(x) for x in fields[1:]]
    busy = sum(v[:8]) - v[3] - (v[4] if len(v) > 4 else 0)  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def run_child(cmd: list[str], *, env: dict[str, str], timeout: float, cwd: Path = REPO) -> Child:
    """Run ``cmd`` to completion (killed after ``timeout`` s) with its wall time and peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory(prefix="qsim-bench-") as tmp:
        meas = os.path.join(tmp, "measure.json")
        full = [sys.executable, "-S", "-c", _LAUNCHER, meas, *cmd]
        busy0 = _cpu_busy_s()
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, env=env, cwd=cwd,
                                start_new_session=True)
        timed_out = threading.Event()

        def _kill() -> None:
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, _kill)
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        busy1 = _cpu_busy_s()
        rc, rss_mib, other = proc.returncode, float("nan"), None
        try:
            with open(meas) as f:
                m = json.load(f)
            rc, rss_mib = m["rc"], m["maxrss_kib"] / 1024.0
            if busy0 is not None and busy1 is not None and wall > 0:
                other = max(0.0, (busy1 - busy0 - m["cpu_s"]) / wall)
            wall = m["wall_s"]
        except (OSError, ValueError, KeyError):
            pass
        out.seek(0)
        err.seek(0)
        return Child(
            rc=rc,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            wall_s=wall,
            peak_rss_mib=rss_mib,
            timed_out=timed_out.is_set(),
            other_cores=other,
        )


def child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(thread_env(threads))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def run_runner(sim: str, workloads: list[str], n: int, threads: int, precision: str, reps: int,
               timeout: float, state_dir: str | None = None,
               rep_budget: float | None = None) -> tuple[list[dict], Child]:
    cmd = [sys.executable, "-m", "benchmarks.runner", "--simulator", sim,
           "--workload", ",".join(workloads), "--qubits", str(n), "--threads", str(threads),
           "--precision", precision, "--reps", str(reps)]
    if state_dir is not None:
        cmd += ["--state-dir", state_dir]
    if rep_budget is not None:
        cmd += ["--rep-budget", str(rep_budget)]
    child = run_child(cmd, env=child_env(threads), timeout=timeout)
    recs = []
    for line in child.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                recs.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return recs, child


def _failure_reason(child: Child, timeout: float) -> str:
    if child.timed_out:
        return f"timeout after {timeout:g} s"
    if child.rc < 0:
        sig = -child.rc
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        extra = " (out of memory?)" if sig == signal.SIGKILL else ""
        return f"killed by {name}{extra}"
    tail = [ln for ln in child.stderr.strip().splitlines() if ln.strip()]
    return f"exit {child.rc}: {tail[-1][:160] if tail else 'no output'}"


# --------------------------------------------------------------------------------------------------
# Machine and availability
# --------------------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = meminfo()
    if "MemTotal" in mem:
        info["mem_total_gib"] = round(mem["MemTotal"] / 2**30, 1)
    try:
        from importlib import metadata

        info["numpy"] = metadata.version("numpy")
    except Exception:  # noqa: BLE001
        pass
    return info


def meminfo() -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                out[key] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
    except OSError:
        pass
    return out


def availability(sim: str) -> str | None:
    """None if the simulator's module can be found, else the reason it cannot run."""
    module, pip_name = SIM_MODULES[sim]
    try:
        found = _importlib_util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if sim == "aer" and found:
        found = _importlib_util.find_spec("qiskit") is not None
    if sim == "qsimcirq" and found:
        found = _importlib_util.find_spec("cirq") is not None
    return None if found else f"not installed (pip install {pip_name})"


# --------------------------------------------------------------------------------------------------
# Agreement check
# --------------------------------------------------------------------------------------------------


@dataclass
class CheckLine:
    workload: str
    simulator: str
    reference: str
    infidelity: float | None
    tolerance: float
    ok: bool
    note: str = ""


def agreement_check(sims: list[str], workloads: list[str], n: int, threads: int, timeout: float,
                    out: Callable[[str], None]) -> tuple[list[CheckLine], dict[str, str]]:
    """Run every simulator once at ``n`` qubits; compare final states with qsim's (else Aer's)."""
    import numpy as np

    from benchmarks import workloads as wl

    lines: list[CheckLine] = []
    failures: dict[str, str] = {}  # simulator -> reason (state mismatch or check run failure)
    tmp = tempfile.mkdtemp(prefix="qsim-bench-check-")
    try:
        states: dict[tuple[str, str], str] = {}
        precision_of: dict[str, str] = {}
        for sim in sims:
            prec = PRECISION[sim]
            precision_of[sim] = prec
            check_timeout = timeout * len(workloads)
            recs, child = run_runner(sim, workloads, n, threads, prec, 1, check_timeout, tmp)
            by_w = {r["workload"]: r for r in recs}
            for w in workloads:
                r = by_w.get(w)
                if r is not None and r.get("status") == "ok" and r.get("state_path"):
                    states[(sim, w)] = r["state_path"]
                else:
                    reason = r.get("error") if r else _failure_reason(child, check_timeout)
                    lines.append(CheckLine(w, sim, "-", None, 0.0, False, f"no state: {reason}"))
                    failures.setdefault(sim, f"check run failed: {reason}")
        ref_sim = next((s for s in ("qsim", "aer", "qulacs", "qsimcirq") if any(
            (s, w) in states for w in workloads)), "")
        use_numpy_ref = n <= 16
        for w in workloads if ref_sim else []:
            ref_path = states.get((ref_sim, w))
            ref = np.load(ref_path) if ref_path else None
            if use_numpy_ref:
                exact = wl.reference_state(wl.make_workload(w, n), n)
                if ref is not None:
                    tol = TOL_SINGLE if precision_of[ref_sim] == "single" else TOL_DOUBLE
                    inf = 1.0 - wl.fidelity(ref, exact)
                    ok = inf < tol
                    lines.append(CheckLine(w, ref_sim, "numpy reference", inf, tol, ok))
                    if not ok:
                        failures[ref_sim] = "state mismatch with the numpy reference"
            if ref is None:
                continue
            for sim in sims:
                if sim == ref_sim or (sim, w) not in states:
                    continue
                single = "single" in (precision_of[sim], precision_of[ref_sim])
                tol = TOL_SINGLE if single else TOL_DOUBLE
                inf = 1.0 - wl.fidelity(np.load(states[(sim, w)]), ref)
                ok = inf < tol
                lines.append(CheckLine(w, sim, ref_sim, inf, tol, ok))
                if not ok:
                    failures[sim] = f"state mismatch with {ref_sim} ({w}: 1-F = {inf:.1e})"
        numpy_note = " and of that with a numpy tensordot reference" if use_numpy_ref else ""
        out(f"Agreement check at {n} qubits, {threads} thread(s): fidelity F of each final state "
            f"with {ref_sim or '(no reference)'}'s{numpy_note} (pass: 1-F < {TOL_DOUBLE:g}; "
            f"{TOL_SINGLE:g} when a complex64 state is involved)")
        for ln in lines:
            if ln.infidelity is None:
                out(f"  {ln.workload:<7} {ln.simulator:<9} FAIL  {ln.note}")
            else:
                out(f"  {ln.workload:<7} {ln.simulator:<9} vs {ln.reference:<16} 1-F = "
                    f"{ln.infidelity:9.2e}  {'ok' if ln.ok else 'MISMATCH'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return lines, failures


def qasm_check(n: int, out: Callable[[str], None]) -> None:
    """Parse the QASM writer's text back with qsim and Qiskit (if present) at ``n`` qubits."""
    from benchmarks import workloads as wl

    def via_qsim(text: str) -> Any:
        import qsim

        return qsim.simulate(qsim.loads_qasm(text)).data

    def via_qiskit(text: str) -> Any:
        import qiskit.qasm2
        from qiskit.quantum_info import Statevector

        # Qiskit's built-in qelib1.inc is the 2017 one; `swap` is among its legacy extras.
        qc = qiskit.qasm2.loads(text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        return wl.little_to_big_endian(Statevector(qc).data, n)

    for label, parse in (("qsim.loads_qasm", via_qsim), ("qiskit.qasm2", via_qiskit)):
        verdicts = []
        for w in WORKLOAD_ORDER:
            gates = wl.make_workload(w, n)
            try:
                state = parse(wl.to_qasm(gates, n))
            except Exception as exc:  # noqa: BLE001
                verdicts = [f"skipped ({type(exc).__name__}: {str(exc)[:80]})"]
                break
            inf = 1.0 - wl.fidelity(state, wl.reference_state(gates, n))
            verdicts.append(f"{w} {'ok' if inf < TOL_DOUBLE else f'MISMATCH (1-F = {inf:.1e})'}")
        out(f"QASM writer check at {n} qubits, {label}: {', '.join(verdicts)}")


# --------------------------------------------------------------------------------------------------
# Startup rows
# --------------------------------------------------------------------------------------------------


def startup_rows(reps: int, timeout: float) -> list[dict]:
    rows: list[dict] = []
    env = child_env(1)
    # 1. `import qsim` in a fresh interpreter.
    code = ("import time; t = time.perf_counter(); import qsim; "
            "print(time.perf_counter() - t)")
    row = _row("qsim", "startup: import qsim", None, 1, "-")
    reason = availability("qsim")
    if reason:
        row.update(status="skipped", notes=reason)
    else:
        imports, walls, rss = [], [], []
        for _ in range(reps):
            child = run_child([sys.executable, "-c", code], env=env, timeout=timeout)
            if child.rc != 0:
                row.update(status="error", notes=_failure_reason(child, timeout))
                break
            imports.append(float(child.stdout.strip().splitlines()[-1]))
            walls.append(child.wall_s)
            rss.append(child.peak_rss_mib)
        else:
            row.update(status="ok", median_s=statistics.median(imports), peak_rss_mib=max(rss),
                       notes=f"import time; whole interpreter {statistics.median(walls):.3f} s")
    rows.append(row)

    # 2. `qsim run circuits/bell.qasm --shots 1000` end to end.
    row = _row("qsim", "startup: qsim run bell.qasm --shots 1000", 2, 1, "-")
    exe = Path(sys.executable).with_name("qsim")
    exe_path = str(exe) if exe.exists() else shutil.which("qsim")
    bell = REPO / "circuits" / "bell.qasm"
    if exe_path is None:
        row.update(status="skipped", notes="no `qsim` command (pip install -e .)")
    elif not bell.exists():
        row.update(status="skipped", notes="circuits/bell.qasm not found")
    else:
        walls, rss = [], []
        for _ in range(reps):
            child = run_child([exe_path, "run", "circuits/bell.qasm", "--shots", "1000"], env=env,
                              timeout=timeout)
            if child.rc != 0:
                row.update(status="error", notes=_failure_reason(child, timeout))
                break
            walls.append(child.wall_s)
            rss.append(child.peak_rss_mib)
        else:
            row.update(status="ok", median_s=statistics.median(walls), peak_rss_mib=max(rss),
                       notes="whole process, wall clock")
    rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------------
# Table
# --------------------------------------------------------------------------------------------------


def _row(sim: str, workload: str, n: int | None, threads: int | None, precision: str) -> dict:
    return {"simulator": sim, "workload": workload, "qubits": n, "threads": threads,
            "precision": precision, "status": "pending", "median_s": None, "times_s": None,
            "peak_rss_mib": None, "ratio_to_aer": None, "ratio_to_target": None, "version": None,
            "notes": ""}


def _fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4f}" if x >= 0.001 else f"{x:.2e}"


def add_ratios(rows: list[dict]) -> None:
    ok = {(r["simulator"], r["workload"], r["qubits"], r["threads"]): r["median_s"] for r in rows
          if r["status"] == "ok"}
    for r in rows:
        key = (r["workload"], r["qubits"], r["threads"])
        base = ok.get(("aer", *key))
        if r["status"] == "ok" and base and r["precision"] == "double":
            r["ratio_to_aer"] = r["median_s"] / base
        if r["simulator"] == "qsim" and r["status"] == "ok" and r["precision"] in TARGET:
            ref = ok.get((TARGET[r["precision"]][0], *key))
            if ref:
                r["ratio_to_target"] = r["median_s"] / ref


def markdown_table(rows: list[dict]) -> str:
    head = ("| simulator | workload | qubits | threads | precision | median s | ratio to Aer "
            "| ratio to target | peak RSS MiB | notes |")
    lines = [head, "|---|---|---:|---:|---|---:|---:|---:|---:|---|"]
    for r in rows:
        ratio = f"{r['ratio_to_aer']:.2f}" if r["ratio_to_aer"] is not None else "-"
        tgt = "-"
        if r.get("ratio_to_target") is not None:
            name, limit = TARGET[r["precision"]]
            mark = "met" if r["ratio_to_target"] <= limit else "NOT met"
            tgt = f"{r['ratio_to_target']:.2f} x {name} ({mark})"
        rss = f"{r['peak_rss_mib']:.0f}" if r["peak_rss_mib"] is not None else "-"
        prec = {"double": "c128", "single": "c64"}.get(r["precision"], r["precision"])
        qubits = r["qubits"] if r["qubits"] is not None else "-"
        threads = r["threads"] if r["threads"] is not None else "-"
        lines.append(
            f"| {r['simulator']} | {r['workload']} | {qubits} | {threads} | {prec} "
            f"| {_fmt_s(r['median_s'])} | {ratio} | {tgt} | {rss} | {r['notes'].replace('|', '/')} |")
    return "\n".join(lines)


def _sort_key(r: dict) -> tuple:
    startup = r["workload"].startswith("startup")
    w = (WORKLOAD_ORDER.index(r["workload"]) if r["workload"] in WORKLOAD_ORDER
         else len(WORKLOAD_ORDER))
    sim = SIMULATORS.index(r["simulator"]) if r["simulator"] in SIMULATORS else len(SIMULATORS)
    return (startup, r["workload"] == "all", w, r["qubits"] or 0, r["threads"] or 0, sim,
            r["precision"])


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _str_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench",
                                description="Compare qsim with Qiskit Aer, lightning, qulacs and qsimcirq.")
    p.add_argument("--quick", action="store_true", help="sizes 20 and 22 only (under 5 minutes)")
    p.add_argument("--large", action="store_true",
                   help="add qsim-only runs at 30 qubits (complex128) and 31 qubits (complex64)")
    p.add_argument("--sizes", type=_int_list, default=None, help="comma-separated qubit counts")
    p.add_argument("--workloads", type=_str_list, default=list(WORKLOAD_ORDER),
                   help=f"comma-separated subset of {','.join(WORKLOAD_ORDER)}")
    p.add_argument("--threads", type=_int_list, default=list(DEFAULT_THREADS))
    p.add_argument("--simulators", type=_str_list, default=None,
                   help=f"comma-separated subset of {','.join(SIMULATORS)} (default: all; "
                        "--quick leaves qulacs out)")
    p.add_argument("--reps", type=int, default=None,
                   help="repetitions per measurement (median reported; default 3, 5 with "
                        "--quick, where the repetition budget keeps the slow rows short)")
    p.add_argument("--large-reps", type=int, default=1, help="repetitions for the --large runs")
    p.add_argument("--rep-budget", type=float, default=None,
                   help="stop repeating a measurement once its repetitions took this many seconds "
                        "(at least one always runs; default none, 2 with --quick)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds per measurement process (default 1800; 120 with --quick)")
    p.add_argument("--no-check", action="store_true", help="skip the agreement check")
    p.add_argument("--output-dir", default=str(HERE), help="where results.md / results.json go")
    args = p.parse_args(argv)
    for w in args.workloads:
        if w not in WORKLOAD_ORDER:
            p.error(f"unknown workload {w!r}; expected a subset of {','.join(WORKLOAD_ORDER)}")
    if args.simulators is None:
        args.simulators = [s for s in SIMULATORS if not (args.quick and s == "qulacs")]
    for s in args.simulators:
        if s not in SIMULATORS:
            p.error(f"unknown simulator {s!r}; expected a subset of {','.join(SIMULATORS)}")
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if any(n < 2 for n in args.sizes):
        p.error("sizes must be at least 2 qubits")
    if any(t < 1 for t in args.threads):
        p.error("thread counts must be at least 1")
    if args.timeout is None:
        args.timeout = 120.0 if args.quick else 1800.0
    if args.rep_budget is None and args.quick:
        args.rep_budget = 2.0
    if args.reps is None:
        # the fast rows get 5 (their medians cross the targets with this host's drift); the
        # 2 s budget still stops the slow ones after one or two
        args.reps = 5 if args.quick else 3
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    now = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    sims = [s for s in SIMULATORS if s in args.simulators]
    workloads = [w for w in WORKLOAD_ORDER if w in args.workloads]
    sizes = sorted(set(args.sizes))
    threads = sorted(set(args.threads))
    info = machine_info()
    report: list[str] = []  # lines printed before the table (and kept in results.md)

    def say(line: str) -> None:
        print(line, flush=True)
        report.append(line)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    say(f"qsim benchmark, {now}: {info.get('cpu', '?')}, {info.get('cpus')} CPUs, "
        f"{info.get('mem_total_gib', '?')} GiB, Python {info['python']}, "
        f"numpy {info.get('numpy', '?')}")

    missing = {s: r for s in sims if (r := availability(s)) is not None}
    available = [s for s in sims if s not in missing]
    for s, r in missing.items():
        say(f"{s}: {r}")

    # OpenQASM 2 text of every workload that is run.
    from benchmarks import workloads as wl

    qasm_dir = HERE / "qasm"
    all_sizes = sorted(set(sizes) | ({n for n, _ in LARGE_RUNS} if args.large else set()))
    for w in workloads:
        for n in all_sizes:
            wl.write_qasm(qasm_dir, w, n)

    # Agreement check.
    check_failures: dict[str, str] = {}
    check_lines: list[CheckLine] = []
    check_n = min(min(sizes), MAX_CHECK_QUBITS)
    if not args.no_check and available:
        progress(f"agreement check at {check_n} qubits ...")
        check_lines, check_failures = agreement_check(available, workloads, check_n, threads[0],
                                                      args.timeout, say)
        qasm_check(min(check_n, 8), say)

    # Timed runs, each in a fresh process (--quick: one process per simulator, size, threads
    # and precision for all workloads, since importing PennyLane alone takes about 5 s).
    # Simulators are interleaved per (workload, size, threads) so that the ones compared in a ratio
    # run close together in time.
    jobs: list[tuple[str, list[str], int, int, str, int]] = []
    if args.quick:
        for n in sizes:
            for t in threads:
                for sim in available:
                    for prec in PRECISIONS[sim]:
                        jobs.append((sim, list(workloads), n, t, prec, args.reps))
    else:
        for w in workloads:
            for n in sizes:
                for t in threads:
                    for sim in available:
                        for prec in PRECISIONS[sim]:
                            jobs.append((sim, [w], n, t, prec, args.reps))
    if args.large and "qsim" in available:
        for w in workloads:
            for n, prec in LARGE_RUNS:
                for t in threads:
                    jobs.append(("qsim", [w], n, t, prec, args.large_reps))

    rows: list[dict] = []
    for s, reason in missing.items():
        row = _row(s, "all", None, None, PRECISION[s])
        row.update(status="not installed", notes=reason)
        rows.append(row)

    busy_rows: list[dict] = []
    measured = 0
    for i, (sim, wls, n, t, prec, reps) in enumerate(jobs, 1):
        job_rows = {w: _row(sim, w, n, t, prec) for w in wls}
        rows.extend(job_rows.values())
        tag = f"[{i:3d}/{len(jobs)}] {sim:<8} {','.join(wls):<6} n={n:<2} t={t} {prec:<6}"
        need = (2**n) * (16 if prec == "double" else 8)
        avail = meminfo().get("MemAvailable")
        if avail is not None and need > 0.9 * avail:
            for row in job_rows.values():
                row.update(status="skipped",
                           notes=f"needs {need / 2**30:.1f} GiB for the state; "
                                 f"{avail / 2**30:.1f} GiB available")
            progress(f"{tag}: skipped (needs {need / 2**30:.1f} GiB)")
            continue
        timeout = args.timeout * len(wls)
        recs, child = run_runner(sim, wls, n, t, prec, reps, timeout,
                                 rep_budget=args.rep_budget)
        by_workload = {rec.get("workload"): rec for rec in recs}
        for w, row in job_rows.items():
            measured += 1
            rec = by_workload.get(w)
            row["other_cores"] = child.other_cores
            wtag = f"{tag} {w}" if len(wls) > 1 else tag
            if rec is not None and rec.get("status") == "ok":
                row.update(status="ok", median_s=rec["median_s"], times_s=rec["times_s"],
                           peak_rss_mib=rec["peak_rss_mib"], version=rec.get("version"))
                notes = []
                if sim in check_failures:
                    notes.append(f"CHECK FAILED: {check_failures[sim]}")
                if rec.get("reps_done", reps) < reps:
                    notes.append(f"{rec['reps_done']} of {reps} reps (rep budget)"
                                 + ("; the faster" if rec["reps_done"] == 2 else ""))
                if child.other_cores is not None and child.other_cores > BUSY_CORES:
                    notes.append(f"busy machine: other processes used "
                                 f"{child.other_cores:.1f} cores")
                    busy_rows.append(row)
                row["notes"] = "; ".join(notes)
                progress(f"{wtag}: {rec['median_s']:.4f} s x{len(rec['times_s'])} "
                         f"(peak RSS {rec['peak_rss_mib']:.0f} MiB"
                         f"{f', other load {child.other_cores:.1f} cores' if child.other_cores else ''})")
            else:
                reason = (rec["error"] if rec and rec.get("error")
                          else _failure_reason(child, timeout))
                row.update(status=rec["status"] if rec else "error", notes=reason,
                           version=rec.get("version") if rec else None)
                progress(f"{wtag}: {reason}")

    if "qsim" in sims:
        progress("startup rows ...")
        rows.extend(startup_rows(args.reps, min(args.timeout, 120.0)))

    add_ratios(rows)
    rows.sort(key=_sort_key)
    table = markdown_table(rows)
    elapsed = time.perf_counter() - started
    print()
    print(table)
    print(f"\n(total {elapsed:.0f} s; ratio to Aer = median time / Aer's median time for the same "
          f"workload, qubits and threads: below 1 is faster than Aer)", flush=True)
    if busy_rows:
        say(f"WARNING: other processes used more than {BUSY_CORES} CPU cores during "
            f"{len(busy_rows)} of {measured} measurements (marked 'busy machine'); their times "
            f"are not reliable.")

    versions: dict[str, str] = {}
    for row in rows:
        if row.get("version") and row["simulator"] not in versions:
            versions[row["simulator"]] = row["version"]
    command = "python -m benchmarks.bench " + " ".join(sys.argv[1:] if argv is None else argv)
    write_results(Path(args.output_dir), rows, report, table, info, versions, command.strip(), now,
                  elapsed, check_lines, args)

    bad = bool(check_failures) or any(
        r["simulator"] == "qsim" and r["status"] == "error" for r in rows)
    return 1 if bad else 0


def write_results(out_dir: Path, rows: list[dict], report: list[str], table: str, info: dict,
                  versions: dict, command: str, now: str, elapsed: float,
                  check_lines: list[CheckLine], args: argparse.Namespace) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    vers = ", ".join(f"{k} {v}" for k, v in versions.items()) or "-"
    md = [
        "# qsim benchmark results",
        "",
        f"Generated by `{command}` on {now} in {elapsed:.0f} s.",
        "",
        f"Machine: {info.get('cpu', '?')}, {info.get('cpus')} CPUs, "
        f"{info.get('mem_total_gib', '?')} GiB; Python {info['python']}, "
        f"numpy {info.get('numpy', '?')}; {vers}.",
        "",
        ("One fresh process per simulator, size, threads and precision runs every workload "
         "in turn (--quick; the table's order); peak RSS is that process's so far. "
         if args.quick else "Each row is one fresh process; peak RSS is that process's. ")
        + "Median of the repetitions of simulating the whole "
        "circuit to the final state vector in memory (no sampling; building the circuit object "
        "is not timed). Threads are pinned with "
        "OMP/MKL/OPENBLAS_NUM_THREADS, Aer's `max_parallel_threads` and qsimcirq's "
        "`cpu_threads`. Aer: `AerSimulator(method=\"statevector\")`, default fusion, "
        "`save_statevector`, no transpile. qulacs: plain `QuantumCircuit.update_quantum_state` "
        "(no circuit optimizer). qsimcirq: `QSimSimulator.simulate` (complex64, its default "
        "fusion). Ratio to Aer below 1 means faster than Aer.",
        "",
        "```",
        *report,
        "```",
        "",
        table,
        "",
    ]
    (out_dir / "results.md").write_text("\n".join(md))
    payload = {
        "command": command,
        "date": now,
        "elapsed_s": elapsed,
        "machine": info,
        "versions": versions,
        "settings": {"sizes": args.sizes, "threads": args.threads, "workloads": args.workloads,
                     "simulators": args.simulators, "reps": args.reps, "large": args.large,
                     "timeout_s": args.timeout},
        "checks": [vars(c) for c in check_lines],
        "rows": rows,
    }
    (out_dir / "results.json").write_text(json.dumps(payload, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
