"""Robustness of the OpenQASM front end: any input loads or raises QasmError, promptly.

Random bytes, random text after a valid header, token soups, mutations of valid programs and
inputs built to make regular expressions backtrack.  Also: the parser's regex fast path and its
token-level path build the same circuit on generated valid programs.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qsim.errors import QasmError, QsimWarning
from qsim.qasm import loads_qasm
from qsim.qasm.ast import GateCall, GateDecl, If
from qsim.qasm.lexer import Source
from qsim.qasm.parser import call_spans, parse
from qsim.qasm.semantics import build_circuit

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
SHARED_VALID = Path(__file__).resolve().parents[2] / "shared" / "qasm" / "valid"

VALID_PROGRAM = HEADER + """qreg q[3];
creg c[3];
gate g(theta, phi) a, b { rx(theta / 2) a; cx a, b; u1(-phi) b; barrier a, b; }
opaque o a;
h q;
g(pi / 3, 0.25) q[0], q[1];
cx q[0], q;
rz(-1.5e-3) q[2];
u3(pi, -pi/2, sin(0.5)^2) q[1];
barrier q;
measure q -> c;
if (c == 5) x q[2];
reset q[0];
"""


def assert_loads_or_qasm_error(source: str | bytes) -> None:
    """Load, accepting success or QasmError only (anything else fails the test)."""
    try:
        with warnings.catch_warnings():  # a mutation that drops the header is read with a warning
            warnings.simplefilter("ignore", QsimWarning)
            loads_qasm(source, filename="fuzz.qasm")
    except QasmError as err:
        assert err.file == "fuzz.qasm"
        assert err.line is None or err.line >= 1
        assert err.col is None or err.col >= 1
        assert err.message


FUZZ = settings(max_examples=400, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(data):
    assert_loads_or_qasm_error(data)
    assert_loads_or_qasm_error(b"OPENQASM 2.0;\n" + data)


@FUZZ
@given(st.text(max_size=300))
def test_random_text_after_a_header(text):
    assert_loads_or_qasm_error(HEADER + text)
    assert_loads_or_qasm_error(HEADER + "qreg q[2];\ncreg c[2];\n" + text)


TOKENS = [
    "OPENQASM", "2.0", "include", '"qelib1.inc"', '"other.inc"', "qreg", "creg", "gate",
    "opaque", "measure", "reset", "barrier", "if", "pi", "sin", "cos", "sqrt", "ln", "exp", "U",
    "CX", "h", "cx", "rx", "u3", "sx", "cu", "q", "c", "a", "b", "theta", "0", "1", "2", "3", "10",
    "0.5", "1e-3", ".5", "2.", "007", "[", "]", "(", ")", "{", "}", ",", ";", "->", "==", "+", "-",
    "*", "/", "^", "//", "\n", " ", "\t", "@", '"', "é",
]


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60), st.booleans())
def test_token_soup(tokens, header):
    sep = " "
    text = sep.join(tokens)
    assert_loads_or_qasm_error((HEADER + "qreg q[3];\ncreg c[3];\n" if header else "") + text)


STATEMENTS = [
    "qreg r[2];", "creg d[2];", "h q[0];", "h q;", "cx q[0], q[1];", "cx q, q;", "x q[3];",
    "rx(theta) q[0];", "gate g a { h a; }", "gate g(t) a, b { rx(t) a; cx a, b; }",
    "g(0.1) q[0], q[1];", "g q[0];", "opaque o a;", "o q[0];", "measure q -> c;",
    "measure q[0] -> c;", "if (c == 1) h q[0];", "if (c == 9) h q[0];", "barrier q;",
    "reset q;", 'include "qelib1.inc";', 'include "nope.inc";', "sx q[0];", "gate sx a { x a; }",
    "U(0, 0, 0) q[1];", "CX q[0], q[2];", "rz(1/0) q[0];", "u3(pi, 2^-1, -pi) q[2];",
]


@FUZZ
@given(st.lists(st.sampled_from(STATEMENTS), max_size=25))
def test_statement_soup(statements):
    assert_loads_or_qasm_error(HEADER + "qreg q[3];\ncreg c[3];\n" + "\n".join(statements))


def _programs() -> list[str]:
    programs = [VALID_PROGRAM]
    if SHARED_VALID.is_dir():
        programs += [p.read_text() for p in sorted(SHARED_VALID.glob("*.qasm"))]
    return programs


@FUZZ
@given(st.sampled_from(_programs()), st.integers(0, 10**6), st.integers(0, 40),
       st.sampled_from(["", ";", "}", "{", "(", ")", "[", "]", ",", "->", "q", "//", "\n", '"',
                        "pi", "gate", "0", "99", "-", "^"]))
def test_mutated_programs(program, where, length, insert):
    where %= len(program) + 1
    assert_loads_or_qasm_error(program[:where] + insert + program[where + length:])
    assert_loads_or_qasm_error(program[:where] + insert + program[where:])


@pytest.mark.parametrize("text", [
    HEADER + " " * 200_000 + "!",
    HEADER + "h" + " " * 200_000 + "q" + " " * 200_000 + "!",
    HEADER + "h q" + "   ,   q  " * 50_000 + " !",
    HEADER + "h q" + "  [ 1 ] , q " * 50_000 + " !",
    HEADER + "rx(" + "1 " * 100_000 + " !",
    HEADER + "rx(" + " " * 200_000 + "x) q;",
    HEADER + "rx(-" + " " * 200_000 + "x) q;",
    HEADER + "// c\n" * 100_000 + "!",
    HEADER + "(" * 100_000,
    HEADER + "rx(" + "-" * 100_000 + "1) q[0];",
    HEADER + "qreg q[1];\n" + "h q[0];\n" * 50_000 + "h q[0]",
])
def test_pathological_inputs_fail_fast(text):
    start = time.process_time()
    with pytest.raises(QasmError):
        loads_qasm(text)
    assert time.process_time() - start < 10.0


# --- the fast path and the token parser agree -----------------------------------------------------
def _calls(program) -> list[tuple]:
    out = []
    for stmt in program.statements:
        body = stmt.body if isinstance(stmt, (GateDecl, If)) else None
        for s in [stmt] if body is None else ([body] if isinstance(stmt, If) else list(body)):
            if isinstance(s, GateCall):
                out.append((s.name, s.params, s.args, s.pos, call_spans(s)))
    return out


_ws = st.sampled_from(["", " ", "  ", "\t", "\n", "\r\n", " // note\n"])
_num = st.sampled_from(["0", "1", "0.5", "-0.5", "1e-3", ".25", "2.", "-  3", "pi", "-pi/2",
                        "2*pi/3", "sin(0.1)", "07.5", "(1)"])


@st.composite
def _gate_statement(draw) -> str:
    name, np_, nq = draw(st.sampled_from([("h", 0, 1), ("rx", 1, 1), ("cx", 0, 2),
                                          ("u3", 3, 1), ("cu3", 3, 2), ("ccx", 0, 3)]))
    w = lambda: draw(_ws)  # noqa: E731
    params = ""
    if np_:
        params = w() + "(" + ",".join(w() + draw(_num) + w() for _ in range(np_)) + ")"
    qubits = draw(st.permutations(range(4)))[:nq]
    args = ",".join(w() + "q" + w() + "[" + w() + str(i) + w() + "]" + w() for i in qubits)
    return name + params + (" " if not params else w()) + args + ";"


@settings(max_examples=200, deadline=None)
@given(st.lists(_gate_statement(), min_size=1, max_size=15))
def test_fast_path_matches_token_parser(statements):
    text = HEADER + "qreg q[4];\n" + "\n".join(statements) + "\n"
    fast = parse(Source(text, "f.qasm"), fast=True)
    slow = parse(Source(text, "f.qasm"), fast=False)
    assert _calls(fast) == _calls(slow)
    assert build_circuit(fast) == build_circuit(slow)
