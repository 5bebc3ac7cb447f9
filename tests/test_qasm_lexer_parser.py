"""Lexer, parser and parameter expressions of the OpenQASM 2 front end (no circuit building)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.errors import QasmError
from qsim.expr import BinOp, Call, Expr, Num, Param, Pi, UnaryOp, as_expr, evaluate_param
from qsim.qasm import parse_expression
from qsim.qasm.ast import Arg, Barrier, GateCall, GateDecl, If, Include, Measure, RegDecl, Reset
from qsim.qasm.lexer import Source, tokenize
from qsim.qasm.parser import call_spans, parse


def _parse(text: str, fast: bool = True):
    return parse(Source(text, "t.qasm"), fast=fast)


def normal_form(stmt: object) -> tuple:
    """A statement as plain data (no source, positions or spans), to compare parses."""
    if isinstance(stmt, GateCall):
        return ("call", stmt.name, stmt.params, stmt.args)
    if isinstance(stmt, GateDecl):
        body = None if stmt.body is None else tuple(normal_form(s) for s in stmt.body)
        return ("gate", stmt.name, stmt.params, stmt.qubits, body)
    if isinstance(stmt, If):
        return ("if", stmt.creg, stmt.value, normal_form(stmt.body))
    if isinstance(stmt, Measure):
        return ("measure", stmt.qarg, stmt.carg)
    if isinstance(stmt, Reset):
        return ("reset", stmt.arg)
    if isinstance(stmt, Barrier):
        return ("barrier", stmt.args)
    if isinstance(stmt, RegDecl):
        return (stmt.kind, stmt.name, stmt.size)
    if isinstance(stmt, Include):
        return ("include", stmt.path)
    raise AssertionError(stmt)


# --- lexer ----------------------------------------------------------------------------------------
def test_tokens_carry_file_line_and_column():
    toks = tokenize("OPENQASM 2.0;\r\n\tqreg q[2]; // c\ncx q[0],q[1];", "f.qasm")
    got = [(t.kind, t.text, t.line, t.col) for t in toks]
    assert got[:3] == [("id", "OPENQASM", 1, 1), ("real", "2.0", 1, 10), ("op", ";", 1, 13)]
    assert ("id", "qreg", 2, 2) in got
    assert ("id", "cx", 3, 1) in got
    assert got[-1][0] == "eof"
    assert all(t.file == "f.qasm" for t in toks)


@pytest.mark.parametrize("text, kind", [
    ("1e-3", "real"), (".5", "real"), ("2.", "real"), ("07.5", "real"), ("1.5E+2", "real"),
    ("0.5e01", "real"), ("5e0", "real"), ("0", "int"), ("42", "int"), ("pi", "id"),
    ("_x1", "id"), ('"qelib1.inc"', "string"), ("->", "op"), ("==", "op"), ("^", "op"),
])
def test_single_token_kinds(text, kind):
    toks = tokenize(text)
    assert [(t.kind, t.text) for t in toks[:-1]] == [(kind, text)]


def test_comments_and_whitespace_are_skipped():
    toks = tokenize("a // b c d\n  // e\n\tf\r\n// last line without newline")
    assert [t.text for t in toks] == ["a", "f", ""]
    assert (toks[1].line, toks[1].col) == (3, 2)


def test_division_is_not_a_comment():
    assert [t.text for t in tokenize("a/b / c")[:-1]] == ["a", "/", "b", "/", "c"]


@pytest.mark.parametrize("text, fragment, col", [
    ("a @ b", "unexpected character '@'", 3),
    ('include "x.inc', "unterminated string", 9),
    ("q[007]", "invalid integer literal '007'", 3),
    ("x = 1", "unexpected character '='", 3),
    ("h\u00e9", "unexpected character '\u00e9'", 2),
    ("a\x00", "U+0000", 2),
])
def test_lexical_errors(text, fragment, col):
    with pytest.raises(QasmError) as exc:
        tokenize(text, "lex.qasm")
    assert fragment in exc.value.message
    assert (exc.value.file, exc.value.line, exc.value.col) == ("lex.qasm", 1, col)


# --- parser: statements ---------------------------------------------------------------------------
PROGRAM = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3]; creg c[3];
gate g(theta, phi) a, b { rx(theta) a; cx a, b; barrier a, b; U(0, phi, pi) b; }
opaque o(t) a;
opaque o2 a, b;
gate e() a { }
h q;
cx q[0], q[1];
rz(-0.5) q[2];
u3(pi/2, -pi, 1e-3) q[0];
measure q[0] -> c[0];
measure q -> c;
reset q[1];
barrier q, q[0];
if (c == 3) x q[1];
if(c==0) measure q[2] -> c[2];
"""


def test_program_structure():
    prog = _parse(PROGRAM)
    assert prog.version == "2.0"
    kinds = [normal_form(s)[0] for s in prog.statements]
    assert kinds == ["include", "qreg", "creg", "gate", "gate", "gate", "gate", "call", "call",
                     "call", "call", "measure", "measure", "reset", "barrier", "if", "if"]
    g = prog.statements[3]
    assert isinstance(g, GateDecl)
    assert (g.name, g.params, g.qubits) == ("g", ("theta", "phi"), ("a", "b"))
    assert [normal_form(s)[:2] for s in g.body] == [("call", "rx"), ("call", "cx"),
                                                    ("barrier", (Arg("a", None), Arg("b", None))),
                                                    ("call", "U")]
    assert prog.statements[4].body is None and prog.statements[4].params == ("t",)
    assert prog.statements[6].body == () and prog.statements[6].params == ()
    assert normal_form(prog.statements[7]) == ("call", "h", (), (Arg("q", None),))
    assert normal_form(prog.statements[9]) == ("call", "rz", (Num(-0.5),), (Arg("q", 2),))
    u3 = prog.statements[10]
    assert u3.params == (BinOp("/", Pi(), Num(2.0)), UnaryOp("-", Pi()), Num(0.001))
    cond = prog.statements[15]
    assert (cond.creg, cond.value) == ("c", 3)
    assert normal_form(cond.body) == ("call", "x", (), (Arg("q", 1),))


def test_spans_of_fast_and_slow_calls_agree():
    text = "OPENQASM 2.0;\nqreg q[2];\n  cx  q[0] ,\n q [ 1 ] ;\nrx( pi / 2 ,0) q[1];\n"
    fast = _parse(text, fast=True).statements
    slow = _parse(text, fast=False).statements
    for a, b in zip(fast, slow):
        if isinstance(a, GateCall):
            assert a.pos == b.pos
            assert call_spans(a) == call_spans(b)
    cx = fast[1]
    assert cx.location() == ("t.qasm", 3, 3)
    assert cx.location(call_spans(cx).args[1]) == ("t.qasm", 4, 2)
    assert cx.location(call_spans(cx).indices[1]) == ("t.qasm", 4, 6)


def test_fast_path_does_not_misread_comments():
    text = "OPENQASM 2.0;\n// h q; is a comment\nrx(0.5 // )\n) q[1];\nh q; // x q;\n"
    prog = _parse(text)
    assert [normal_form(s) for s in prog.statements] == [
        ("call", "rx", (Num(0.5),), (Arg("q", 1),)),
        ("call", "h", (), (Arg("q", None),)),
    ]


def test_header_variants():
    assert _parse("OPENQASM 2;").version == "2"
    assert _parse("// comment\nOPENQASM 2.0 ;").version == "2.0"


def test_included_files_have_no_header():
    prog = parse(Source('gate g a { U(0,0,0) a; }\n', "lib.inc"), header=False)
    assert prog.version is None and len(prog.statements) == 1


# --- expressions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    ("1 + 2 * 3", 7.0), ("(1 + 2) * 3", 9.0), ("2 ^ 3 ^ 2", 512.0), ("(2 ^ 3) ^ 2", 64.0),
    ("-2 ^ 2", -4.0), ("(-2) ^ 2", 4.0), ("2 ^ -1", 0.5), ("8 / 4 / 2", 1.0), ("8 - 4 - 2", 2.0),
    ("-pi / 2", -math.pi / 2), ("--1", 1.0), ("+1", 1.0), ("2 * -3", -6.0),
    ("sin(pi / 2)", 1.0), ("cos(0)", 1.0), ("tan(0)", 0.0), ("exp(0)", 1.0), ("ln(1)", 0.0),
    ("sqrt(16)", 4.0), ("1e-3", 1e-3), (".5", 0.5), ("2.", 2.0), ("1.5E+2", 150.0),
    ("07.5", 7.5), ("3 * sin(pi/6)^2", 0.75), ("2^2^-1", math.sqrt(2)), ("1 - -1", 2.0),
])
def test_expression_values(text, value):
    assert parse_expression(text).evaluate({}) == pytest.approx(value, rel=1e-12, abs=1e-15)


def test_expression_with_names():
    e = parse_expression("theta / 2 + phi ^ 2")
    assert e.free_names() == {"theta", "phi"}
    assert e.evaluate({"theta": 1.0, "phi": 3.0}) == pytest.approx(9.5)
    with pytest.raises(KeyError, match="theta"):
        e.evaluate({"phi": 1.0})


@pytest.mark.parametrize("text, fragment", [
    ("", "end of file"), ("1 +", "end of file"), ("(1", "')'"), ("sin 1", "'('"),
    ("1 2", "'2'"), ("qreg", "keyword 'qreg'"), ("*1", "'*'"),
])
def test_expression_syntax_errors(text, fragment):
    with pytest.raises(QasmError) as exc:
        parse_expression(text)
    assert fragment in str(exc.value)


def test_deep_nesting_is_an_error_not_a_recursion_error():
    for text in ["(" * 5000 + "1" + ")" * 5000, "-" * 5000 + "1", "sin(" * 3000 + "1" + ")" * 3000,
                 "+".join(["1"] * 5000), "2^" * 3000 + "2"]:
        with pytest.raises(QasmError, match="nested too deeply"):
            parse_expression(text)


def test_moderate_nesting_is_fine():
    assert parse_expression("(" * 40 + "1" + ")" * 40).evaluate() == 1.0
    assert parse_expression("+".join(["1"] * 200)).evaluate() == 200.0


def test_python_operators_build_trees():
    t = Param("t")
    e = 2 * t / 4 - Pi() + t ** 2
    assert isinstance(e, Expr)
    assert e.evaluate({"t": 3.0}) == pytest.approx(1.5 - math.pi + 9)
    assert str(-t) == "-t"
    assert as_expr(0.5) == Num(0.5)
    assert evaluate_param(0.25, {}) == 0.25 and evaluate_param(t, {"t": 2}) == 2.0
    with pytest.raises(ValueError):
        Call("cosh", Num(1.0))


# Random expression trees: str() must parse back to a tree with the same value.
_leaf = st.one_of(
    st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False).map(Num),
    st.just(Pi()),
    st.sampled_from(["a", "b", "theta"]).map(Param),
)


def _extend(children):
    return st.one_of(
        st.tuples(st.sampled_from("+-*/^"), children, children).map(lambda t: BinOp(*t)),
        children.map(lambda c: UnaryOp("-", c)),
        st.tuples(st.sampled_from(["sin", "cos", "exp", "sqrt"]), children)
        .map(lambda t: Call(*t)),
    )


_exprs = st.recursive(_leaf, _extend, max_leaves=12)
_ENV = {"a": 0.7, "b": -1.3, "theta": 2.2}


def _value(e: Expr) -> float | None:
    try:
        v = e.evaluate(_ENV)
    except (ArithmeticError, ValueError):
        return None
    return v if math.isfinite(v) else None


@settings(max_examples=300, deadline=None)
@given(_exprs)
def test_str_round_trips(e):
    again = parse_expression(str(e))
    assert again.free_names() == e.free_names()
    v1, v2 = _value(e), _value(again)
    if v1 is None:
        return
    assert v2 is not None
    assert v2 == pytest.approx(v1, rel=1e-9, abs=1e-9)
    assert str(again) == str(parse_expression(str(again)))  # printing is a fixed point
