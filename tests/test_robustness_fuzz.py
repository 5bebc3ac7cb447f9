"""Robustness fuzz for the whole pipeline (issue #15): load + run, in process and through the CLI.

For every generated input, valid or broken:

* in process, ``qsim.loads_qasm`` then ``qsim.run(..., max_memory=2**28)`` returns a Circuit and a
  Result or raises a QsimError subclass (QasmError, CircuitError, SimulationError); nothing else
  (TypeError, KeyError, MemoryError, RecursionError, OverflowError, numpy's RuntimeWarning made
  an error, ...) may escape, and each example stays within a time bound (SIGALRM) and a memory
  bound (RLIMIT_AS lowered to the address space in use plus 2 GiB while the example runs);
* through ``python -m qsim.cli run FILE --shots N --seed 1`` in a subprocess (2 GiB RLIMIT_AS,
  20 s timeout): it finishes, exits 0, 2 or 3 (1 is an internal error), prints no traceback,
  every stderr line starts with ``qsim: `` or a ``file:line:col: `` location, and exit 0 comes
  with a counts table on stdout.

Nothing is derived from qsim's own output: the assertions are about exit codes, exception types
and the shape of stderr.

Inputs come from hypothesis strategies: OpenQASM 2 programs with random registers (small sizes
mostly, sometimes huge), gate definitions (parameterised, exponentially nested chains,
barrier-only and empty bodies, opaque gates), gate calls with broadcasts, measure, reset, barrier,
``if``, random parameter expressions, a missing or wrong header, then byte-level mutations
(delete, duplicate, insert bytes or tokens), and shot counts up to 10**20.

The normal suite runs a bounded number of examples; the same tests with many more examples are
marked ``slow`` (deselected by default; run them with ``pytest -m slow``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qsim
from qsim.errors import QsimError, QsimWarning

try:
    import resource
except ImportError:  # not POSIX
    resource = None  # type: ignore[assignment]

GiB = 1 << 30
CLI_MEMORY_LIMIT = 2 * GiB  # RLIMIT_AS of each CLI subprocess
CLI_TIMEOUT_S = 20  # wall-clock bound of each CLI subprocess
IN_PROCESS_MEMORY_HEADROOM = 2 * GiB  # address space an in-process example may add
IN_PROCESS_TIMEOUT_S = 10  # wall-clock bound of each in-process example
RUN_MAX_MEMORY = 2**28  # qsim.run(max_memory=...) in process

CLI_EXAMPLES, CLI_EXAMPLES_SLOW = 25, 400
IN_PROCESS_EXAMPLES, IN_PROCESS_EXAMPLES_SLOW = 200, 2000

EXIT_CODES = {0, 2, 3}  # ok, bad input or output, not enough memory; 1 = internal error
# every stderr line: "qsim: ..." or "FILE:LINE:COL: ..." (FILE: the program, or an included file)
STDERR_LINE = r"^(qsim: |{path}:\d+:\d+: |[^\s:][^:]*\.inc:\d+:\d+: )"
COUNTS_HEADER = re.compile(r"^outcome\s+count\s+probability\s*$")

# --- generators -----------------------------------------------------------------------------------
HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
ODD_HEADERS = [
    "",  # no header at all
    'include "qelib1.inc";\n',  # no version line
    "OPENQASM 2.0;\n",  # no qelib1: its gates are undefined
    'OPENQASM 3.0;\ninclude "qelib1.inc";\n',
    'OPENQASM 2.0;\ninclude "qelib1.inc";\ninclude "qelib1.inc";\n',
    '\ufeffOPENQASM 2.0;\r\ninclude "qelib1.inc";\r\n',
]

# Register sizes drawn now and then instead of 1..5.
# (12 keeps the qubits of 3 registers <= 22: bigger states are merely slow, not a robustness bug;
# 28 and more are refused or run out of memory.)
HUGE_SIZES = [40, 1048576, 0, 12, 28, 64, 31, 2**31, 2**64, 10**30]
HUGE_INTS = [2**31, 2**63, 2**64, 10**30]
QREG_NAMES, CREG_NAMES = ["q", "r", "anc"], ["c", "d", "m"]

# (name, number of parameters, number of qubits): built-ins and qelib1.inc.
BUILTIN_GATES = [
    ("h", 0, 1), ("cx", 0, 2), ("x", 0, 1), ("rx", 1, 1), ("u3", 3, 1), ("U", 3, 1),
    ("CX", 0, 2), ("ccx", 0, 3), ("cu3", 3, 2), ("rz", 1, 1), ("u2", 2, 1), ("u1", 1, 1),
    ("cz", 0, 2), ("ch", 0, 2), ("crz", 1, 2), ("id", 0, 1), ("t", 0, 1), ("sdg", 0, 1),
    ("y", 0, 1),
]

FUNCTIONS = ["sin", "cos", "tan", "exp", "ln", "sqrt"]
NUMBERS = ["pi", "0", "1", "2", "0.5", "1e-3", ".5", "2.", "3", "10", "0.0"]
ODD_NUMBERS = ["007", "1e308", "1e309", "1e-400", "123456789012345678901234567890", "0e0"]

# Tokens inserted by the mutations (bytes, some not valid UTF-8).
TOKENS = [
    b";", b"{", b"}", b"(", b")", b"[", b"]", b",", b"->", b"==", b"//", b"/*", b"\n", b" ",
    b'"', b"q", b"c", b"a", b"pi", b"gate", b"opaque", b"qreg", b"creg", b"measure", b"reset",
    b"barrier", b"if", b"include", b"OPENQASM 2.0;", b'include "qelib1.inc";', b"U", b"CX",
    b"h", b"g0", b"0", b"1", b"-1", b"99", b"1048576", b"1e999", b"^", b"-", b"*", b"/", b"+",
    b"\x00", b"\xff", b"\xc3", b"\xe2\x82", b"\xef\xbb\xbf", "é".encode(), "\u2028".encode(),
]


def _sometimes(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in ``one_in`` draws; shrinks to False (the common case)."""
    return draw(st.integers(0, one_in - 1)) == one_in - 1


@functools.cache
def _expressions(variables: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Random parameter expressions over ``variables`` (gate parameters) and constants."""
    @st.composite
    def leaves(draw: st.DrawFn) -> str:
        if _sometimes(draw, 40):
            return draw(st.sampled_from(ODD_NUMBERS))
        if _sometimes(draw, 4):
            return draw(st.one_of(st.integers(0, 10**6).map(str),
                                  st.floats(min_value=0, max_value=1e300).map(repr)))
        return draw(st.sampled_from(NUMBERS + list(variables)))

    def extend(sub: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "^"]), sub, st.booleans()).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})" if t[3] else f"{t[0]}{t[1]}{t[2]}"),
            sub.map(lambda e: f"-{e}"),
            st.tuples(st.sampled_from(FUNCTIONS), sub).map(lambda t: f"{t[0]}({t[1]})"),
        )

    return st.recursive(leaves(), extend, max_leaves=6)


def _count(draw: st.DrawFn, n: int) -> int:
    """Mostly ``n``; sometimes one off (a wrong number of parameters or qubits)."""
    return draw(st.sampled_from([n + 1, max(n - 1, 0)])) if _sometimes(draw, 25) else n


def _params(draw: st.DrawFn, n: int, variables: list[str]) -> str:
    k = _count(draw, n)
    if k == 0:
        return draw(st.sampled_from(["", "", "", "()"]))
    return "(" + ", ".join(draw(_expressions(tuple(variables))) for _ in range(k)) + ")"


def _index(draw: st.DrawFn, size: int) -> int:
    """A valid index into a register of ``size`` mostly, sometimes out of range or huge."""
    if size > 0 and not _sometimes(draw, 20):
        return draw(st.integers(0, min(size, 1 << 20) - 1))
    return draw(st.sampled_from([size, size + 1, 0] + HUGE_INTS))


def _size(draw: st.DrawFn) -> int:
    """A register size: small mostly, sometimes huge (or zero)."""
    return draw(st.sampled_from(HUGE_SIZES)) if _sometimes(draw, 10) else draw(st.integers(1, 5))


def _registers(draw: st.DrawFn, names: list[str], min_size: int) -> list[tuple[str, int]]:
    regs = []
    for i in range(draw(st.integers(min_size, 3))):
        clash = _sometimes(draw, 40)  # maybe an already declared name
        name = draw(st.sampled_from(QREG_NAMES + CREG_NAMES)) if clash else names[i]
        regs.append((name, _size(draw)))
    return regs


@st.composite
def _gate_definitions(draw: st.DrawFn, idx: int, gates: list[tuple[str, int, int]]) -> str:
    """One or more definitions; appends what it defines to ``gates``."""
    kind = draw(st.sampled_from(["plain", "plain", "chain", "barrier", "empty", "opaque"]))
    name = f"g{idx}"
    if kind == "chain":  # exponential nesting: e_k calls e_(k-1) twice
        depth = draw(st.sampled_from([2, 3, 10, 30, 64]))
        inner = draw(st.sampled_from(["h a;", "x a;", "barrier a;", "U(0.1, 0, pi) a;", ""]))
        lines = [f"gate {name}_0 a {{ {inner} }}"]
        lines += [f"gate {name}_{k} a {{ {name}_{k - 1} a; {name}_{k - 1} a; }}"
                  for k in range(1, depth + 1)]
        gates.append((f"{name}_{depth}", 0, 1))
        return "\n".join(lines)
    nq = draw(st.integers(1, 3))
    qargs = ["a", "b", "cc"][:nq]
    nparams = draw(st.integers(0, 2)) if kind in ("plain", "opaque") else 0
    pnames = ["theta", "phi"][:nparams]
    head = name + (f"({', '.join(pnames)})" if pnames else draw(st.sampled_from(["", "", "()"])))
    if kind == "opaque":
        gates.append((name, nparams, nq))
        return f"opaque {head} {', '.join(qargs)};"
    if kind == "barrier":
        body = f"barrier {', '.join(qargs)};"
    elif kind == "empty":
        body = ""
    else:
        stmts = []
        for _ in range(draw(st.integers(1, 4))):
            pool = gates + [(name, nparams, nq)] * _sometimes(draw, 20)  # itself: recursion
            if not _sometimes(draw, 10):
                pool = [g for g in pool if g[2] <= nq]  # mostly gates that fit its arguments
            gname, gp, gq = draw(st.sampled_from(pool))
            if _sometimes(draw, 10):
                stmts.append(f"barrier {', '.join(qargs)};")
                continue
            k = _count(draw, gq)
            operands = draw(st.permutations(qargs))[:k]  # distinct, as the spec requires
            operands += draw(st.lists(st.sampled_from(qargs), min_size=k - len(operands),
                                      max_size=k - len(operands)))  # too few args: repeats
            if _sometimes(draw, 20):
                operands[-1:] = ["zz"]  # not an argument of the definition
            stmts.append(f"{gname}{_params(draw, gp, pnames)} {', '.join(operands)};")
        body = " ".join(stmts)
    gates.append((name, nparams, nq))
    return f"gate {head} {', '.join(qargs)} {{ {body} }}"


def _operand(draw: st.DrawFn, qregs: list[tuple[str, int]]) -> str:
    if not qregs:
        return draw(st.sampled_from(["q", "q[0]"]))
    name, size = draw(st.sampled_from(qregs))
    if _sometimes(draw, 3):
        return name  # broadcast over the whole register
    return f"{name}[{_index(draw, size)}]"


def _operands(draw: st.DrawFn, qregs: list[tuple[str, int]], k: int) -> list[str]:
    """``k`` gate operands: distinct qubits mostly, sometimes whole registers (a broadcast)."""
    if _sometimes(draw, 10):  # anything: maybe mismatched broadcasts or duplicate qubits
        return [_operand(draw, qregs) for _ in range(k)]
    whole = None
    if qregs and k and _sometimes(draw, 3):  # a broadcast over one register, the rest qubits
        whole = draw(st.sampled_from(qregs))[0]
    qubits = [(name, i) for name, size in qregs for i in range(min(size, 6)) if name != whole]
    out = [f"{name}[{i}]" for name, i in draw(st.permutations(qubits))[:k - (whole is not None)]]
    if whole is not None:
        out.insert(draw(st.integers(0, len(out))), whole)
    return out + [_operand(draw, qregs) for _ in range(k - len(out))]  # not enough qubits


def _gate_call(draw: st.DrawFn, gates: list[tuple[str, int, int]],
               qregs: list[tuple[str, int]]) -> str:
    defined = gates[len(BUILTIN_GATES):]
    name, np_, nq = draw(st.sampled_from(defined if defined and draw(st.booleans()) else gates))
    if _sometimes(draw, 40):
        name = draw(st.sampled_from(["nosuch", "measure", "qreg", "g9"]))  # not a gate
    operands = _operands(draw, qregs, _count(draw, nq))
    return f"{name}{_params(draw, np_, [])} {', '.join(operands)};"


def _statement(draw: st.DrawFn, gates: list[tuple[str, int, int]], qregs: list[tuple[str, int]],
               cregs: list[tuple[str, int]]) -> str:
    kind = draw(st.sampled_from(["call", "call", "call", "measure", "reset", "barrier", "if"]))
    creg = draw(st.sampled_from(cregs)) if cregs else ("c", 1)
    if kind == "call":
        return _gate_call(draw, gates, qregs)
    if kind == "measure":
        q = _operand(draw, qregs)
        if "[" in q:
            c = f"{creg[0]}[{_index(draw, creg[1])}]" if not _sometimes(draw, 4) else creg[0]
        else:  # a broadcast: mostly to a classical register of the same size
            size = dict(qregs).get(q)
            same = [name for name, n in cregs if n == size]
            c = draw(st.sampled_from(same)) if same and not _sometimes(draw, 4) else creg[0]
        return f"measure {q} -> {c};"
    if kind == "reset":
        return f"reset {_operand(draw, qregs)};"
    if kind == "barrier":
        return "barrier " + ", ".join(_operand(draw, qregs)
                                      for _ in range(draw(st.integers(1, 3)))) + ";"
    if _sometimes(draw, 20):
        value = draw(st.sampled_from(HUGE_INTS + [2 ** min(creg[1], 64)]))  # too large
    else:
        value = draw(st.integers(0, (1 << min(creg[1], 4)) - 1))
    body = draw(st.sampled_from(["call", "call", "measure", "reset"]))
    if body == "call":
        inner = _gate_call(draw, gates, qregs)
    elif body == "measure":
        inner = f"measure {_operand(draw, qregs)} -> {creg[0]};"
    else:
        inner = f"reset {_operand(draw, qregs)};"
    return f"if ({creg[0]} == {value}) {inner}"


@st.composite
def qasm_programs(draw: st.DrawFn) -> str:
    """An OpenQASM 2 program, usually valid, with randomly chosen troubles."""
    parts = [draw(st.sampled_from(ODD_HEADERS)) if _sometimes(draw, 10) else HEADER]
    qregs = _registers(draw, QREG_NAMES, 0 if _sometimes(draw, 10) else 1)
    cregs = _registers(draw, CREG_NAMES, 0 if _sometimes(draw, 4) else 1)
    decls = [f"qreg {n}[{s}];" for n, s in qregs] + [f"creg {n}[{s}];" for n, s in cregs]
    # declarations first mostly, sometimes shuffled among the statements below
    gates = list(BUILTIN_GATES)
    defs = [draw(_gate_definitions(i, gates)) for i in range(draw(st.integers(0, 3)))]
    body = [_statement(draw, gates, qregs, cregs) for _ in range(draw(st.integers(0, 8)))]
    if _sometimes(draw, 8):
        lines = draw(st.permutations(decls + defs + body))
    else:
        lines = decls + defs + body
    return "".join(parts) + "\n".join(lines) + "\n"


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with 1-4 byte-level mutations: delete, duplicate, insert bytes or a token."""
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data)))
        j = draw(st.integers(i, min(len(data), i + 16)))
        op = draw(st.sampled_from(["delete", "duplicate", "bytes", "token", "token"]))
        if op == "delete":
            data = data[:i] + data[j:]
        elif op == "duplicate":
            data = data[:j] + data[i:j] * draw(st.integers(1, 3)) + data[j:]
        elif op == "bytes":
            data = data[:i] + draw(st.binary(min_size=1, max_size=4)) + data[i:]
        else:
            data = data[:i] + draw(st.sampled_from(TOKENS)) + data[i:]
    return data


@st.composite
def sources(draw: st.DrawFn) -> bytes:
    """A generated program as bytes, mutated about a quarter of the time."""
    data = draw(qasm_programs()).encode("utf-8")
    if _sometimes(draw, 4):
        data = draw(mutated(data))
    return data


# Shot counts: small mostly, sometimes huge (past int64).
shot_counts = st.sampled_from([1, 1024, 7, 100, 1, 10**6, 10**20, 2**63, 2**64 + 1])


# --- in process -----------------------------------------------------------------------------------
class TimeBoundExceeded(BaseException):
    """Raised by SIGALRM in the example that ran too long (a BaseException so that qsim's own
    ``except Exception`` cannot swallow it)."""


def _address_space() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


@contextlib.contextmanager
def bounded(seconds: float, headroom: int) -> Iterator[None]:
    """Fail an example that runs longer than ``seconds`` or grows the address space by more than
    ``headroom`` bytes (then allocation raises MemoryError, which the test reports)."""
    old_limit = None
    used = _address_space()
    if resource is not None and used is not None:
        old_limit = resource.getrlimit(resource.RLIMIT_AS)
        soft, hard = used + headroom, old_limit[1]
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if alarm:
        def on_alarm(signum, frame):  # noqa: ANN001
            raise TimeBoundExceeded(f"an example ran longer than {seconds} s")

        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
        if old_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, old_limit)


def check_in_process(source: bytes, shots: int) -> str:
    """Load and run: a Circuit and a Result ("ran"), or a QsimError ("refused"); any other
    exception escapes and fails the test (hypothesis reports each distinct one)."""
    with bounded(IN_PROCESS_TIMEOUT_S, IN_PROCESS_MEMORY_HEADROOM), warnings.catch_warnings():
        warnings.simplefilter("ignore", QsimWarning)  # e.g. no header: a warning, not a failure
        # numpy's floating-point warnings (divide by zero, overflow, invalid value) are bugs: the
        # command line would print them on stderr
        warnings.simplefilter("error", RuntimeWarning)
        try:
            circuit = qsim.loads_qasm(source, filename="fuzz.qasm")
        except QsimError:
            return "refused"
        assert isinstance(circuit, qsim.Circuit)
        try:
            result = qsim.run(circuit, shots=shots, seed=1, max_memory=RUN_MAX_MEMORY)
        except QsimError:
            return "refused"
        assert isinstance(result, qsim.Result)
        return "ran"


FUZZ = dict(deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])


@settings(max_examples=IN_PROCESS_EXAMPLES, **FUZZ)
@given(source=sources(), shots=shot_counts)
def test_load_and_run_raise_only_qsim_errors(source: bytes, shots: int) -> None:
    assert check_in_process(source, shots) in ("ran", "refused")


@pytest.mark.slow
@settings(max_examples=IN_PROCESS_EXAMPLES_SLOW, **FUZZ)
@given(source=sources(), shots=shot_counts)
def test_load_and_run_raise_only_qsim_errors_long(source: bytes, shots: int) -> None:
    assert check_in_process(source, shots) in ("ran", "refused")


# --- the command line, in a subprocess ------------------------------------------------------------
def _limit_memory() -> None:  # runs in the child between fork and exec
    if resource is not None:
        resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY_LIMIT, CLI_MEMORY_LIMIT))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "QSIM_DEBUG"}
    root = str(Path(__file__).resolve().parents[1])  # run this checkout's qsim from any cwd
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def check_cli(source: bytes, shots: int) -> int:
    """``qsim run`` in a subprocess with bounded memory and time: exit 0, 2 or 3, no traceback,
    only ``qsim: `` and ``file:line:col: `` lines on stderr, a counts table when it succeeds."""
    with tempfile.TemporaryDirectory(prefix="qsim-fuzz-") as tmp:
        path = os.path.join(tmp, "fuzz.qasm")
        with open(path, "wb") as f:
            f.write(source)
        cmd = [sys.executable, "-m", "qsim.cli", "run", path, "--shots", str(shots),
               "--seed", "1"]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=CLI_TIMEOUT_S, cwd=tmp,
                                  env=_env(), stdin=subprocess.DEVNULL,
                                  preexec_fn=_limit_memory if resource is not None else None)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"qsim run did not finish within {CLI_TIMEOUT_S} s") from None
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, f"traceback on stderr:\n{stderr}"
    assert proc.returncode in EXIT_CODES, (
        f"exit code {proc.returncode} (1: internal error; < 0: killed by a signal)\n{stderr}")
    shape = re.compile(STDERR_LINE.format(path=re.escape(path)))
    bad = [line for line in stderr.splitlines() if not shape.match(line)]
    assert not bad, f"stderr lines neither 'qsim: ' nor 'file:line:col: ':\n{stderr}"
    if proc.returncode == 0:
        lines = stdout.splitlines()
        heads = [i for i, line in enumerate(lines) if COUNTS_HEADER.match(line)]
        assert heads and heads[0] + 1 < len(lines) and lines[heads[0] + 1].strip(), (
            f"exit code 0 without a counts table on stdout:\n{stdout}")
    return proc.returncode


@settings(max_examples=CLI_EXAMPLES, **FUZZ)
@given(source=sources(), shots=shot_counts)
def test_cli_run_exits_cleanly(source: bytes, shots: int) -> None:
    assert check_cli(source, shots) in EXIT_CODES


@pytest.mark.slow
@settings(max_examples=CLI_EXAMPLES_SLOW, **FUZZ)
@given(source=sources(), shots=shot_counts)
def test_cli_run_exits_cleanly_long(source: bytes, shots: int) -> None:
    assert check_cli(source, shots) in EXIT_CODES


# --- a few fixed inputs named in the issue, always run --------------------------------------------
def _nested(depth: int) -> bytes:
    lines = ["gate g0 a { h a; }"] + [f"gate g{k} a {{ g{k - 1} a; g{k - 1} a; }}"
                                      for k in range(1, depth + 1)]
    return (HEADER + "qreg q[1];\n" + "\n".join(lines) + f"\ng{depth} q[0];\n").encode()


FIXED = {
    "exponential nesting": (_nested(64), 100),
    "exponential nesting, then a mid-circuit measurement": (
        _nested(64) + b"creg c[1];\nmeasure q -> c;\nif (c == 1) x q[0];\n", 100),
    "huge register": (HEADER.encode() + b"qreg q[1048576];\ncreg c[1];\nh q;\n"
                      b"measure q[0] -> c[0];\n", 100),
    "huge register broadcast": (HEADER.encode() + b"qreg q[1048576];\ncreg c[1048576];\n"
                                b"h q;\nmeasure q -> c;\n", 100),
    "40 qubits": (HEADER.encode() + b"qreg q[40];\nh q;\n", 100),
    "barrier-only definition": (HEADER.encode() + b"qreg q[2];\ngate b x, y { barrier x, y; }\n"
                                b"b q[0], q[1];\nb q, q;\n", 100),
    "no header": (b"qreg q[2];\nh q[0];\ncx q[0], q[1];\n", 100),
    "huge shots": (HEADER.encode() + b"qreg q[2];\ncreg c[2];\nh q[0];\nmeasure q -> c;\n",
                   10**20),
    "huge shots, mid-circuit measurement": (
        HEADER.encode() + b"qreg q[2];\ncreg c[2];\nh q[0];\nmeasure q[0] -> c[0];\n"
        b"if (c == 1) x q[1];\nmeasure q -> c;\n", 10**20),
}


@pytest.mark.parametrize("source, shots", FIXED.values(), ids=FIXED.keys())
def test_fixed_inputs_in_process(source: bytes, shots: int) -> None:
    assert check_in_process(source, shots) in ("ran", "refused")


@pytest.mark.parametrize("source, shots", FIXED.values(), ids=FIXED.keys())
def test_fixed_inputs_cli(source: bytes, shots: int) -> None:
    assert check_cli(source, shots) in EXIT_CODES
