"""Regressions found by running real-world OpenQASM files through qsim and Qiskit.

Each test reproduces, in a small inline program, a failure that a public benchmark or example file
revealed (the file is named in a comment).  The comparison tool is
``benchmarks/conformance_realworld.py``; nothing here needs Qiskit.  Expected values are worked out
by hand from the gates' definitions, not copied from qsim's output.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import qsim
from qsim.cli import cli, locate_register
from qsim.expr import BinOp, Num, Pi, UnaryOp
from qsim.qasm import loads_qasm
from qsim.qasm.ast import GateCall
from qsim.qasm.lexer import Source, tokenize
from qsim.qasm.parser import parse

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'


# --- OpenQASM 3 files must be refused with a version error --------------------------------------
# openqasm/openqasm examples/adder.qasm and examples/ipe.qasm start with a /* ... */ comment before
# "OPENQASM 3;": qsim used to stop at the '/' ("expected an 'OPENQASM 2.0;' header, found '/'")
# instead of reading the version line.
def test_block_comment_before_an_openqasm3_header_gives_the_version_error():
    text = "/*\n * quantum ripple-carry adder\n * Cuccaro et al\n */\nOPENQASM 3;\n" \
           'include "stdgates.inc";\nqubit[4] a;\n'
    with pytest.raises(qsim.QasmError) as exc:
        loads_qasm(text, filename="adder.qasm")
    err = exc.value
    assert "version '3'" in err.message and "2.0 only" in err.message
    assert (err.line, err.col) == (5, 10)


def test_block_comments_are_skipped_like_line_comments():
    plain = loads_qasm(HEADER + "qreg q[2];\nh q[0];\nrx(0.5) q[1];\ncx q[0], q[1];\n")
    commented = loads_qasm("/* header */ OPENQASM 2.0; /* a\n multi-line ** comment */\n"
                           'include "qelib1.inc";\nqreg q[2]; /* two ; qubits */\n'
                           "h q[0] /* ; */;\nrx(/* ) */ 0.5) q[1];\ncx q[0], /**/ q[1];\n")
    assert [(i.name, i.qubits, i.params) for i in commented.instructions] == \
        [(i.name, i.qubits, i.params) for i in plain.instructions]


def test_unterminated_block_comment_is_a_located_error():
    with pytest.raises(qsim.QasmError) as exc:
        loads_qasm(HEADER + "qreg q[1];\nh q[0]; /* never closed\nx q[0];\n", filename="u.qasm")
    assert "unterminated comment" in exc.value.message
    assert (exc.value.line, exc.value.col) == (4, 9)
    with pytest.raises(qsim.QasmError, match="unterminated comment"):
        tokenize("qreg q[1]; /* x")


# meamy/feynman benchmarks/qasm/testcase/testcase1.qasm: an OpenQASM 3 program without any
# OPENQASM line ('include "stdgates.inc"; qubit x;'); the error did not say why.
def test_headerless_openqasm3_program_is_named_as_such():
    text = '// vars = ["x", "y"]\n\ninclude "stdgates.inc";\n\nqubit x;\nqubit y;\nt x;\n'
    with pytest.raises(qsim.QasmError) as exc:
        loads_qasm(text)
    message = exc.value.message
    assert "OpenQASM 3" in message and "version" in message
    assert (exc.value.line, exc.value.col) == (3, 1)


# The OpenQASM benchmarks sat_n*.qasm (six files) start with 'include "qelib1.inc";' and have no
# OPENQASM line; Qiskit runs them and qsim refused them ("expected an 'OPENQASM 2.0;' header").
# They are read as OpenQASM 2.0, with one warning (the command line prints it as one line).
SAT_LIKE = ('// sat benchmark, no version line\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n'
            "h q[0];\nh q[1];\nccx q[0], q[1], q[2];\nmeasure q -> c;\n")


def test_headerless_openqasm2_program_is_read_as_2_0_with_one_warning():
    with pytest.warns(qsim.QsimWarning) as record:
        circuit = loads_qasm(SAT_LIKE, filename="sat_n7.qasm")
    assert [str(w.message) for w in record] == [
        "sat_n7.qasm:1:1: no 'OPENQASM 2.0;' header; read as OpenQASM 2.0"]
    assert record[0].filename == __file__  # stacklevel: the warning names the caller's line
    with_header = loads_qasm("OPENQASM 2.0;\n" + SAT_LIKE)
    assert circuit.instructions == with_header.instructions
    assert (circuit.num_qubits, circuit.num_clbits) == (3, 3)


def test_headerless_file_warns_with_its_path(tmp_path):
    path = tmp_path / "sat_n11.qasm"
    path.write_text(SAT_LIKE)
    with pytest.warns(qsim.QsimWarning) as record:
        circuit = qsim.load_qasm(path)
    assert [str(w.message) for w in record] == [
        f"{path}:1:1: no 'OPENQASM 2.0;' header; read as OpenQASM 2.0"]
    assert record[0].filename == __file__
    assert circuit.name == "sat_n11"


def test_a_file_with_its_header_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = loads_qasm("OPENQASM 2.0;\n" + SAT_LIKE)
        commented = loads_qasm("// comment\n/* block */ OPENQASM 2.0;\n" + SAT_LIKE)
    assert plain == commented and plain.num_qubits > 0


@pytest.mark.parametrize("text", [
    'qreg q[1];\nU(pi, 0, pi) q[0];\n',  # a first statement other than include
    ';\ninclude "qelib1.inc";\nqreg q[1];\n',  # an empty statement first
    'gate g a { U(0,0,0) a; }\nqreg q[1];\ng q[0];\n',
])
def test_other_headerless_openqasm2_programs_load(text):
    with pytest.warns(qsim.QsimWarning, match="no 'OPENQASM 2.0;' header"):
        circuit = loads_qasm(text)
    assert circuit == loads_qasm("OPENQASM 2.0;\n" + text)


def test_a_wrong_or_absent_program_is_still_an_error_without_a_header():
    with pytest.raises(qsim.QasmError, match="unsupported OpenQASM version '3.0'"):
        loads_qasm("OPENQASM 3.0;\n" + SAT_LIKE)
    with pytest.raises(qsim.QasmError, match="empty file"):
        loads_qasm("")
    with pytest.raises(qsim.QasmError, match="found end of file"):
        loads_qasm("// only a comment\n")


def test_errors_in_a_headerless_program_are_located_as_usual():
    with pytest.warns(qsim.QsimWarning), pytest.raises(qsim.QasmError) as exc:
        loads_qasm('include "qelib1.inc";\nqreg q[1];\nhh q[0];\n', filename="s.qasm")
    assert str(exc.value) == "s.qasm:3:1: undefined gate 'hh'"


# --- angles written as products and quotients of numbers and pi ----------------------------------
# Cirq writes "rx(pi*-0.25)" (QASMBench small/bell_n4, basis_change_n3), tket "rz(1.5*pi)" (pytket
# test files), Qiskit "-3*pi/4": each distinct text went through the slow token parser.
FORMS = {
    "pi*-0.25": -math.pi / 4,
    "pi*0.5": math.pi / 2,
    "1.5*pi": 1.5 * math.pi,
    "-0.5*pi": -math.pi / 2,
    "-3*pi/4": -3 * math.pi / 4,
    "pi/2/2": math.pi / 4,
    "- pi / 8": -math.pi / 8,
    "2*pi/-3": -2 * math.pi / 3,
    "+pi*1e-1": math.pi / 10,
    "pi*pi": math.pi ** 2,
}


def test_products_of_numbers_and_pi_parse_as_the_token_parser_does():
    body = "".join(f"rz({f}) q[0];\nu3({f}, {f},{f}) q[0];\n" for f in FORMS)
    text = HEADER + "qreg q[1];\n" + body
    fast = [s for s in parse(Source(text, "f.qasm"), fast=True).statements
            if isinstance(s, GateCall)]
    slow = [s for s in parse(Source(text, "f.qasm"), fast=False).statements
            if isinstance(s, GateCall)]
    assert [(s.name, s.params, s.args) for s in fast] == [(s.name, s.params, s.args) for s in slow]
    # The trees themselves: a sign binds to its atom, * and / associate to the left.
    assert fast[0].params == (BinOp("*", Pi(), Num(-0.25)),)
    assert fast[8].params == (BinOp("/", BinOp("*", Num(-3.0), Pi()), Num(4.0)),)
    assert fast[12].params == (BinOp("/", UnaryOp("-", Pi()), Num(8.0)),)
    circuit = loads_qasm(text)
    values = [ins.params[0] for ins in circuit.instructions if ins.name == "rz"]
    assert values == pytest.approx(list(FORMS.values()), rel=1e-15)


def test_a_failing_product_is_still_reported_at_its_parameter():
    with pytest.raises(qsim.QasmError) as exc:
        loads_qasm(HEADER + "qreg q[1];\nh q[0];\nrz(pi/0) q[0];\n", filename="z.qasm")
    assert "division by zero in 'pi/0'" in exc.value.message
    assert (exc.value.line, exc.value.col) == (5, 4)


def test_products_that_are_not_simple_still_go_to_the_token_parser():
    # '2pi' is not a product (a number directly followed by a name), 'pi2' is a name.
    with pytest.raises(qsim.QasmError, match="found keyword 'pi'"):
        loads_qasm(HEADER + "qreg q[1];\nrz(2pi) q[0];\n")
    with pytest.raises(qsim.QasmError, match="undefined parameter 'pi2'"):
        loads_qasm(HEADER + "qreg q[1];\nrz(pi2) q[0];\n")
    with pytest.raises(qsim.QasmError, match="invalid integer literal '01'"):
        loads_qasm(HEADER + "qreg q[1];\nrz(pi*01) q[0];\n")


# --- too large to simulate: the refusal must be fast on long files --------------------------------
# QASMBench large/* (hundreds of thousands of gates on 30+ qubits): `qsim run FILE` took 45 s to
# find the qreg declaration to point at, tokenizing the whole file with line numbers.
def test_locate_register_skips_comments_and_strings():
    text = ('OPENQASM 2.0;\n// qreg fake[50];\n/* qreg also_fake[60];\n*/\n'
            'include "qelib1.inc";\nqreg a[3];\nqreg /* here */ big[40];\nqreg c[2];\n')
    circuit = loads_qasm(text, filename="f.qasm")
    assert locate_register(circuit, 20) == "f.qasm:7:17"
    assert locate_register(circuit, 100) == "f.qasm:8:6"  # none exceeds: the last one
    assert locate_register(loads_qasm("OPENQASM 2.0;\ncreg c[1];\n", filename="f.qasm"), 1) is None
    assert locate_register(qsim.Circuit(3), 1) is None  # built in Python: nowhere to point


def test_locate_register_is_fast_on_a_long_file():
    body = "".join(f"rz(pi*0.{i % 997}) q[{i % 30}];\ncx q[{i % 30}],q[{(i + 1) % 30}];\n"
                   for i in range(100_000))
    circuit = loads_qasm(HEADER + "qreg q[30];\n" + body, filename="big.qasm")
    start = time.perf_counter()
    where = locate_register(circuit, 20)
    assert where == "big.qasm:3:6"
    assert time.perf_counter() - start < 5.0  # was about 10 s (tokenizing 1.2 million tokens)


def test_memory_refusal_of_a_long_file_exits_3_and_names_the_qreg(tmp_path):
    body = "".join(f"u3(pi*0.1,-pi/2,{i}) q[{i % 28}];\n" for i in range(20_000))
    path = tmp_path / "long.qasm"
    path.write_text(HEADER + "creg c[2];\nqreg q[28];\n" + body + "measure q[0] -> c[0];\n")
    result = CliRunner().invoke(cli, ["run", str(path), "--max-memory", "1M"])
    assert result.exit_code == 3
    assert f"{path}:4:6: a 28-qubit state vector needs 4.0 GiB" in result.output


# --- deeply nested gate definitions ---------------------------------------------------------------
# Exported composite gates nest definitions; a chain of 3000 (synthetic, the depth that broke it)
# raised RecursionError inside Circuit.expand, which `qsim run` reported as an internal error.
def test_deeply_nested_definitions_simulate():
    defs = "gate g0 a { h a; }\n" + "".join(f"gate g{i} a {{ g{i - 1} a; }}\n"
                                           for i in range(1, 3000))
    circuit = loads_qasm(HEADER + defs + "qreg q[1];\ng2999 q[0];\n")
    assert [i.name for i in circuit.flatten().instructions] == ["h"]
    probs = qsim.simulate(circuit).probabilities()
    assert probs == pytest.approx({"0": 0.5, "1": 0.5})


def test_recursive_definition_built_in_python_is_a_circuit_error():
    from qsim.circuit import DefinitionOp, GateDefinition

    c = qsim.Circuit(1)
    c.define(GateDefinition("loop", (), ("a",), (DefinitionOp("loop", (), (0,)),)))
    c.append("loop", [0])
    with pytest.raises(qsim.CircuitError, match="nested too deeply at 'loop'"):
        qsim.simulate(c)


def test_nested_definitions_pass_parameters_down():
    # u1(t) inside g(t) inside k(s) = g(2*s): k(pi/4) on |+> is a phase pi/2, i.e. S|+> = |+i>.
    text = HEADER + ("gate g(t) a { u1(t) a; }\ngate k(s) a { g(2*s) a; }\n"
                     "qreg q[1];\nh q[0];\nk(pi/4) q[0];\nh q[0];\n")
    state = np.asarray(qsim.simulate(loads_qasm(text)).data)
    # H S H |0> = ((1+i)|0> + (1-i)|1>)/2
    assert state == pytest.approx(np.array([1 + 1j, 1 - 1j]) / 2)


# --- the note about implicit measurement ----------------------------------------------------------
# QASMBench-style files declare `creg c[n]` but measure nothing; with an `if` on c the register is
# kept and the implicit measurement goes to a new register 'meas', but the note named 'c'.
def test_implicit_measurement_note_names_the_new_register(tmp_path):
    path = tmp_path / "cond.qasm"
    path.write_text(HEADER + "qreg q[2];\ncreg c[2];\nh q[0];\nif(c==0) x q[1];\n")
    result = CliRunner().invoke(cli, ["run", str(path), "--seed", "1", "--format", "json"])
    assert result.exit_code == 0
    assert "measured all 2 qubits (register 'meas')" in result.output
    # c stays 00 (nothing writes it), so x q[1] always runs: meas = q[0] random, q[1] = 1.
    assert '"00 01"' in result.output and '"00 11"' in result.output


# --- Qiskit's export of a Delay -----------------------------------------------------------------
# qiskit.qasm2.dumps writes a circuit scheduled for hardware with `opaque delay(param0) q0;` and
# `delay(100.0) q[0];`; QuantumCircuit.from_qasm_file turns it back into an idle Delay (Aer and
# Statevector ignore it), but qsim refused the opaque gate.
def test_opaque_delay_exported_by_qiskit_is_an_idle_period():
    text = HEADER + ("opaque delay(param0) q0;\nqreg q[2];\ncreg c[2];\nh q[0];\n"
                     "delay(100.0) q[0];\ndelay(50) q;\ncx q[0],q[1];\nmeasure q -> c;\n")
    circuit = loads_qasm(text)
    assert qsim.simulate(circuit).probabilities() == pytest.approx({"00": 0.5, "11": 0.5})
    assert loads_qasm(qsim.to_qasm(circuit)) is not None  # still exports and loads back


def test_other_opaque_gates_still_cannot_be_simulated():
    for decl, call in [("opaque magic(t) a;", "magic(1) q[0];"),
                       ("opaque delay(t) a, b;", "delay(1) q[0], q[1];"),
                       ("opaque delay a;", "delay q[0];")]:
        with pytest.raises(qsim.QasmError, match="is opaque"):
            loads_qasm(HEADER + decl + "\nqreg q[2];\n" + call + "\n")


# --- conditions on wide classical registers -------------------------------------------------------
# `if (c == v)` values were limited to 18 digits, so a register of 60 bits or more could not be
# compared with its high values (2**64 - 1 has 20 digits); Qiskit reads any integer.
def test_condition_value_on_a_wide_register():
    text = HEADER + ("qreg q[2];\ncreg c[70];\nx q[0];\nmeasure q[0] -> c[65];\n"
                     f"if (c == {2 ** 65}) x q[1];\nmeasure q[1] -> c[0];\n")
    counts = qsim.run(loads_qasm(text), shots=20, seed=1).counts
    # c[65] = 1 from the first measurement, so c == 2**65 holds and q[1] is flipped: c[0] = 1.
    assert counts == {"1" + "0" * 64 + "1" + "0" * 4: 20}
    with pytest.raises(qsim.QasmError, match="does not fit in register 'c' of 70 bit"):
        loads_qasm(HEADER + f"qreg q[1];\ncreg c[70];\nif (c == {2 ** 70}) x q[0];\n")
