"""Every OpenQASM error: a QasmError at the right line and column, naming the offending token.

Tables of (source, message fragment, line, column); the sources start with a two-line header, so
the statement under test is usually on line 3 or later.
"""

from __future__ import annotations

import pytest

from qsim.errors import QasmError, QsimError
from qsim.qasm import loads_qasm

H = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
Q = H + "qreg q[2];\ncreg c[2];\n"  # the statement under test is on line 5

CASES = [
    # lexical garbage
    (Q + "h q[0] @;", "unexpected character '@'", 5, 8),
    (Q + "h q[0];\n$", "unexpected character '$'", 6, 1),
    (Q + 'include "lib.inc;\n', "unterminated string", 5, 9),
    (Q + "h q[01];", "invalid integer literal '01'", 5, 5),
    (H + "qreg q[007];", "invalid integer literal '007'", 3, 8),
    (Q + "h q[0];\x00", "U+0000", 5, 8),
    (Q + "h\u00e9 q[0];", "unexpected character '\u00e9'", 5, 2),
    # syntax
    (Q + "h q[0]\ncx q[0], q[1];", "expected ';' after the arguments of 'h', found 'cx'", 6, 1),
    (H + "qreg q[2]\ncreg c[2];", "expected ';' at the end of the declaration, found keyword "
     "'creg'", 4, 1),
    (Q + "measure q[0] c[0];", "expected '->'", 5, 14),
    (Q + "cx q[0] q[1];", "expected ';' after the arguments of 'cx', found 'q'", 5, 9),
    (Q + "gate g a { h a;; }", "expected a gate call or '}' in the body of gate 'g', found "
     "';'", 5, 16),
    (Q + "}", "unexpected '}' outside a gate body", 5, 1),
    (Q + "rx(0.1,) q[0];", "expected an expression, found ')'", 5, 8),
    (Q + "rx(pi*) q[0];", "expected an expression, found ')'", 5, 7),
    (Q + "rx(0.1 q[0];", "expected ',' or ')' in the parameters of 'rx', found 'q'", 5, 8),
    (Q + "gate g a {\n  h a;\n", "unterminated body of gate 'g': expected '}'", 7, 1),
    (Q + "gate g a {\n  measure a -> c[0];\n}", "'measure' is not allowed inside a gate body",
     6, 3),
    (Q + "gate g a b { h a; }", "expected ',' or '{' after 'a', found 'b'", 5, 10),
    (Q + "gate g { }", "expected a qubit argument name, found '{'", 5, 8),
    (Q + "if (c == 1) barrier q;", "expected a gate call, 'measure' or 'reset' after the "
     "condition, found keyword 'barrier'", 5, 13),
    (Q + "if (c = 1) x q;", "unexpected character '='", 5, 7),
    (H + "qreg pi[2];", "expected a register name, found keyword 'pi'", 3, 6),
    (H + "gate measure a { }", "expected a gate name after 'gate', found keyword 'measure'",
     3, 6),
    (Q + 'include qelib1.inc;', "expected a file name in double quotes", 5, 9),
    (Q + "rx(" + "(" * 100 + "1" + ")" * 100 + ") q[0];", "nested too deeply", 5, 68),
    (Q + "rx(" + "+".join(["1"] * 400) + ") q[0];", "nested too deeply", 5, 515),
    (H + "qreg q[123456789012345678901234567890];", "integer '12345678901234567890...' is too "
     "large", 3, 8),
    # header, empty file
    ("", "empty file: expected an 'OPENQASM 2.0;' header", 1, 1),
    ("\n  \n\t", "empty file", 1, 1),
    ("// nothing but a comment\n", "expected an 'OPENQASM 2.0;' header, found end of file", 2, 1),
    # (a file that starts with a statement is read without its header: test_qasm_limits.py)
    ("{ qreg q[1]; }", "expected an 'OPENQASM 2.0;' header, found '{'", 1, 1),
    ("\n  3.0;", "expected an 'OPENQASM 2.0;' header, found '3.0'", 2, 3),
    ('"qelib1.inc";', "expected an 'OPENQASM 2.0;' header, found '\"qelib1.inc\"'", 1, 1),
    ('include "stdgates.inc";\nqubit[2] q;', "looks like an OpenQASM 3 program", 1, 1),
    ("qreg q[1];\nOPENQASM 2.0;", "'OPENQASM' header may appear only once", 2, 1),
    ("OPENQASM 3.0;\nqreg q[1];", "unsupported OpenQASM version '3.0'", 1, 10),
    ("OPENQASM 3;", "unsupported OpenQASM version '3'", 1, 10),
    ("OPENQASM 2.0.1;", "expected ';' after the OPENQASM version, found '.1'", 1, 13),
    ("OPENQASM;", "expected a version number after 'OPENQASM', found ';'", 1, 9),
    ("OPENQASM 2.0", "expected ';' after the OPENQASM version, found end of file", 1, 13),
    (H + "OPENQASM 2.0;", "'OPENQASM' header may appear only once", 3, 1),
    # undeclared / undefined
    (Q + "hh q[0];", "undefined gate 'hh'", 5, 1),
    ("OPENQASM 2.0;\nqreg q[1];\nh q[0];", "undefined gate 'h' (did you forget 'include "
     "\"qelib1.inc\";'?)", 3, 1),
    (Q + "h r[0];", "undeclared register 'r'", 5, 3),
    (Q + "cx q[0], r;", "undeclared register 'r'", 5, 10),
    (Q + "measure q[0] -> d[0];", "undeclared register 'd'", 5, 17),
    (Q + "if (d == 1) x q[0];", "undeclared register 'd' in the condition", 5, 5),
    (Q + "rx(theta) q[0];", "undefined parameter 'theta'", 5, 4),
    (Q + "rx(pi / 2 + 2 * theta) q[0];", "undefined parameter 'theta'", 5, 17),
    (Q + "gate g(t) a { rx(s) a; }", "undefined parameter 's' in the body of gate 'g'", 5, 18),
    (Q + "gate g a { x b; }", "'b' is not a qubit argument of gate 'g'", 5, 14),
    # wrong kind of register
    (Q + "h c[0];", "'c' is a classical register", 5, 3),
    (Q + "measure c[0] -> c[1];", "'c' is a classical register", 5, 9),
    (Q + "measure q[0] -> q[1];", "'q' is a quantum register", 5, 17),
    (Q + "if (q == 1) x q[0];", "'q' is a quantum register", 5, 5),
    # redeclaration
    (Q + "creg q[2];", "register 'q' is already declared (as qreg at", 5, 6),
    (Q + "qreg c[1];", "register 'c' is already declared (as creg at", 5, 6),
    (Q + "gate h a { x a; }", "gate 'h' is already defined (in qelib1.inc)", 5, 6),
    (Q + "gate g a { x a; }\ngate g a { y a; }", "gate 'g' is already defined (at", 6, 6),
    (Q + "opaque o a;\nopaque o a;", "gate 'o' is already defined (at", 6, 8),
    (Q + "gate U a { }", "gate 'U' is a built-in and cannot be redefined", 5, 6),
    (Q + "gate CX a, b { }", "gate 'CX' is a built-in", 5, 6),
    (Q + "sx q[0];\ngate sx a { x a; }", "gate 'sx' is already defined: it was used at", 6, 6),
    (Q + "gate g(t, t) a { }", "duplicate parameter name 't' in gate 'g'", 5, 11),
    (Q + "q q[0];", "'q' is a register, not a gate", 5, 1),
    (Q + "h h;", "'h' is a gate, not a register", 5, 3),
    (Q + "gate g a, b, a { }", "duplicate qubit argument name 'a' in gate 'g'", 5, 14),
    ('OPENQASM 2.0;\ngate h a { U(0,0,0) a; }\ninclude "qelib1.inc";',
     "qelib1.inc defines gate 'h', which is already defined", 3, 9),
    # ranges and sizes
    (Q + "x q[2];", "index 2 out of range for register 'q' of size 2", 5, 5),
    (Q + "measure q[0] -> c[5];", "index 5 out of range for register 'c'", 5, 19),
    (Q + "barrier q[0], q[9];", "index 9 out of range", 5, 17),
    (Q + "if (c == 4) x q[0];", "condition value 4 does not fit in register 'c' of 2 bit(s)",
     5, 10),
    (H + "qreg q[0];", "register 'q' must have at least one bit", 3, 8),
    (H + "qreg q[2000000];", "larger than the supported maximum", 3, 8),
    # arity
    (Q + "cx q[0];", "gate 'cx' takes 2 qubit arguments, got 1", 5, 1),
    (Q + "x q[0], q[1];", "gate 'x' takes 1 qubit argument, got 2", 5, 1),
    (Q + "rx(0.1, 0.2) q[0];", "gate 'rx' takes 1 parameter, got 2", 5, 9),
    (Q + "rx q[0];", "gate 'rx' takes 1 parameter, got 0", 5, 1),
    (Q + "h(0.5) q[0];", "gate 'h' takes 0 parameters, got 1", 5, 3),
    (Q + "U(0, 0) q[0];", "gate 'U' takes 3 parameters, got 2", 5, 1),
    (Q + "gate g a { cx a; }", "gate 'cx' takes 2 qubit arguments, got 1", 5, 12),
    # duplicates and broadcasting
    (Q + "cx q[1], q[1];", "duplicate qubit argument q[1] in 'cx'", 5, 10),
    (Q + "cx q, q;", "duplicate qubit argument q[0] in 'cx'", 5, 7),
    (Q + "cx q, q[1];", "duplicate qubit argument q[1] in 'cx'", 5, 7),
    (Q + "ccx q[0], q[1], q[0];", "duplicate qubit argument q[0] in 'ccx'", 5, 17),
    (Q + "gate g a, b { cx b, b; }", "duplicate qubit argument 'b' in 'cx' (in gate 'g')", 5, 21),
    (H + "qreg a[2];\nqreg b[3];\ncx a, b;", "register size mismatch in broadcast: 'a' has size 2 "
     "but 'b' has size 3", 5, 7),
    (H + "qreg a[2];\ncreg b[3];\nmeasure a -> b;", "register size mismatch in broadcast", 5, 14),
    (Q + "measure q -> c[0];", "register size mismatch in measure", 5, 9),
    (Q + "measure q[0] -> c;", "register size mismatch in measure", 5, 17),
    # recursion, opaque
    (Q + "gate loop a {\n  h a;\n  loop a;\n}", "recursive gate definition: 'loop'", 7, 3),
    (Q + "opaque magic(t) a, b;\nmagic(0.5) q[0], q[1];", "gate 'magic' is opaque", 6, 1),
    (Q + "opaque o a;\ngate g a { o a; }", "gate 'o' is opaque", 6, 12),
    (Q + "gate g a {\n  indexed a[0];\n}", "cannot index 'a' inside the body of gate 'g'", 6, 13),
    # evaluation
    (Q + "rx(1/0) q[0];", "division by zero in '1/0'", 5, 4),
    (Q + "rx(sqrt(-1)) q[0];", "cannot evaluate 'sqrt(-1)'", 5, 4),
    (Q + "rx(ln(0)) q[0];", "cannot evaluate 'ln(0)'", 5, 4),
    (Q + "rx(exp(1000)) q[0];", "cannot evaluate 'exp(1000)'", 5, 4),
    (Q + "rx(1e999) q[0];", "parameter 1 of 'rx' is not a finite number", 5, 4),
    (Q + "gate g a { rx(1/0) a; }", "division by zero", 5, 15),
    (Q + "gate g(t) a { rx(1/t) a; }\ng(0) q[0];", "gate 'g' cannot be applied with parameters "
     "(0): division by zero evaluating '1/t' in the body of gate 'g'", 6, 1),
    (Q + "gate g(t) a { rx(1/t) a; }\ngate k(s) a { g(s - 1) a; }\nk(2) q[0];\nk(1) q[1];",
     "gate 'k' cannot be applied with parameters (1): division by zero evaluating '1/t' in the "
     "body of gate 'g'", 8, 1),
    (Q + "gate g(t) a { ry(sqrt(t)) a; }\ng(-1) q;", "math domain error evaluating 'sqrt(t)'",
     6, 1),
    (Q + "gate g(t) a { ry(exp(t)) a; }\nif (c == 1) g(1000) q[1];", "math range error", 6, 13),
    # includes
    (Q + 'include "does_not_exist.inc";', "include file 'does_not_exist.inc' not found", 5, 9),
    (Q + 'include "";', "empty include file name", 5, 9),
]


@pytest.mark.parametrize("source, fragment, line, col", CASES,
                         ids=[f"{i}-{c[1][:30]}" for i, c in enumerate(CASES)])
def test_error_position_and_message(source, fragment, line, col):
    with pytest.raises(QasmError) as exc:
        loads_qasm(source, filename="prog.qasm")
    err = exc.value
    assert fragment in err.message
    assert (err.file, err.line, err.col) == ("prog.qasm", line, col), str(err)
    assert str(err) == f"prog.qasm:{line}:{col}: {err.message}"
    assert isinstance(err, QsimError) and isinstance(err, ValueError)


@pytest.mark.parametrize("data, line, col", [
    (b"OPENQASM 2.0;\nqreg q[1];\n\xff\xfe\x00\x9c", 3, 1),
    (b"OPENQASM 2.0;\n// caf\xc3\xa9 \xc3(\n", 2, 9),
    (b"\xef\xbb\xbfOPENQASM 2.0;\n\x80", 2, 1),
])
def test_non_utf8_input(data, line, col):
    with pytest.raises(QasmError) as exc:
        loads_qasm(data, filename="bin.qasm")
    assert "UTF-8" in exc.value.message and "0x" in exc.value.message
    assert (exc.value.file, exc.value.line, exc.value.col) == ("bin.qasm", line, col)


def test_non_utf8_file_on_disk(tmp_path):
    from qsim.qasm import load_qasm

    path = tmp_path / "garbage.qasm"
    path.write_bytes(b'OPENQASM 2.0;\ninclude "qelib1.inc";\n\xff garbage\n')
    with pytest.raises(QasmError) as exc:
        load_qasm(path)
    assert exc.value.file == str(path) and exc.value.line == 3


def test_unknown_include_in_a_file_names_the_file(tmp_path):
    from qsim.qasm import load_qasm

    path = tmp_path / "main.qasm"
    path.write_text(H + 'include "missing.inc";\n')
    with pytest.raises(QasmError) as exc:
        load_qasm(path)
    assert exc.value.file == str(path) and (exc.value.line, exc.value.col) == (3, 9)
    assert "missing.inc" in exc.value.message and "not found" in exc.value.message
