"""The loader's bound on the instructions a program expands to (issue #15 item 3) and the cost of
large broadcasts (item 2).

``load_qasm``/``loads_qasm`` take ``max_gates`` (None: :data:`qsim.resources.DEFAULT_MAX_GATES`).
Each statement's expansion is counted before it is built (a broadcast over a register of size k
counts k, a barrier or a call of a defined gate counts one), and the statement that takes the
running total past the limit is a QasmError located at that statement.
"""

from __future__ import annotations

import random

import pytest

from qsim import resources
from qsim.circuit import Instruction
from qsim.errors import QasmError
from qsim.qasm import load_qasm, loads_qasm
from qsim.qasm.semantics import MAX_REGISTER_SIZE, _Spread

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
BIG = 1 << 20  # 1,048,576: the largest register accepted


def limit_message(n: int, limit: int) -> str:
    what = "1 instruction" if n == 1 else f"{n:,} instructions"
    return (f"this statement expands to {what}, taking the program past the limit of "
            f"{limit:,} (max_gates, --max-gates)")


# --- item 3: a 373-byte file that broadcast to 64 Mi instructions (4 GiB) ------------------------
BOMB = HEADER + f"qreg q[{BIG}];\n" + "h q;\n" * 64


def test_the_373_byte_broadcast_bomb_is_refused_at_the_statement_past_the_default_limit():
    assert len(BOMB.encode()) == 373
    assert BIG == MAX_REGISTER_SIZE and resources.DEFAULT_MAX_GATES == 10_000_000
    with pytest.raises(QasmError) as exc:
        loads_qasm(BOMB, filename="bomb.qasm")
    # Nine broadcasts make 9,437,184 instructions; the tenth (line 3 + 10) passes 10,000,000.
    err = exc.value
    assert (err.file, err.line, err.col) == ("bomb.qasm", 13, 1)
    assert err.message == limit_message(BIG, 10_000_000)
    assert str(err) == ("bomb.qasm:13:1: this statement expands to 1,048,576 instructions, "
                        "taking the program past the limit of 10,000,000 (max_gates, "
                        "--max-gates)")


def test_the_bomb_file_is_refused_by_load_qasm_with_its_path(tmp_path):
    path = tmp_path / "bomb.qasm"
    path.write_text(BOMB)
    with pytest.raises(QasmError) as exc:
        load_qasm(path)
    assert (exc.value.file, exc.value.line, exc.value.col) == (str(path), 13, 1)
    with pytest.raises(QasmError) as exc:  # a smaller limit: the first broadcast is refused
        load_qasm(path, max_gates=BIG - 1)
    assert exc.value.line == 4 and exc.value.message == limit_message(BIG, BIG - 1)


def test_the_default_limit_is_read_when_loading(monkeypatch):
    monkeypatch.setattr(resources, "DEFAULT_MAX_GATES", 3)
    text = HEADER + "qreg q[1];\nx q[0];\nx q[0];\nx q[0];\n"
    assert len(loads_qasm(text).instructions) == 3
    with pytest.raises(QasmError) as exc:
        loads_qasm(text + "x q[0];\n")
    assert exc.value.line == 7 and exc.value.message == limit_message(1, 3)
    assert len(loads_qasm(text + "x q[0];\n", max_gates=4).instructions) == 4


# --- exactly at the limit, one past it --------------------------------------------------------
AT_LIMIT = HEADER + "qreg q[4];\ncreg c[4];\nh q;\nx q[0];\nbarrier q;\nmeasure q -> c;\n"


def test_a_program_of_exactly_max_gates_instructions_loads():
    c = loads_qasm(AT_LIMIT, max_gates=10)  # 4 + 1 + 1 + 4
    assert len(c.instructions) == 10


@pytest.mark.parametrize("extra, n", [
    ("x q[1];", 1), ("reset q;", 4), ("reset q[2];", 1), ("barrier q[0], q;", 1),
    ("measure q[0] -> c[0];", 1), ("if (c == 3) x q;", 4), ("if (c == 3) measure q -> c;", 4),
    ("cx q[0], q[1];", 1), ("U(0, 0, 0) q;", 4),
])
def test_one_statement_past_max_gates_is_refused_where_it_is(extra, n):
    with pytest.raises(QasmError) as exc:
        loads_qasm(AT_LIMIT + "\n" + extra + "\n", filename="t.qasm", max_gates=10)
    err = exc.value
    assert (err.file, err.line) == ("t.qasm", 10)
    assert err.message == limit_message(n, 10)


def test_the_error_points_at_an_operation_inside_an_if():
    with pytest.raises(QasmError) as exc:
        loads_qasm(AT_LIMIT + "if (c == 3) h q;\n", max_gates=12)
    assert (exc.value.line, exc.value.col) == (9, 13)


def test_max_gates_zero_allows_declarations_only():
    c = loads_qasm(HEADER + "qreg q[2];\ncreg c[2];\ngate g a { x a; }\n", max_gates=0)
    assert c.instructions == [] and c.num_qubits == 2
    with pytest.raises(QasmError, match="expands to 1 instruction,"):
        loads_qasm(HEADER + "qreg q[2];\nx q[0];\n", max_gates=0)


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError),
                                        ("10", TypeError)])
def test_max_gates_must_be_a_non_negative_integer(bad, error):
    with pytest.raises(error):
        loads_qasm(HEADER + "qreg q[1];\n", max_gates=bad)


def test_calls_of_defined_gates_count_one_each_at_load():
    # g8 expands to 2**8 x gates; its body is counted before simulating, not here.
    defs = "gate g0 a { x a; }\n" + "".join(
        f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}\n" for i in range(1, 9))
    c = loads_qasm(HEADER + defs + "qreg q[3];\ng8 q;\ng8 q[0];\n", max_gates=4)
    assert [i.name for i in c.instructions] == ["g8"] * 4


def test_included_statements_count_too(tmp_path):
    (tmp_path / "body.inc").write_text("h q;\n")
    main = tmp_path / "main.qasm"
    main.write_text(HEADER + 'qreg q[3];\ninclude "body.inc";\nx q[0];\n')
    assert len(load_qasm(main, max_gates=4).instructions) == 4
    main.write_text(HEADER + 'qreg q[3];\nx q[0];\ninclude "body.inc";\n')
    with pytest.raises(QasmError) as exc:
        load_qasm(main, max_gates=3)
    assert exc.value.file.endswith("body.inc") and exc.value.line == 1


def test_errors_are_reported_in_program_order():
    # An error before the statement past the limit is reported first, and one after it is not.
    with pytest.raises(QasmError, match="undefined gate 'hh'"):
        loads_qasm(HEADER + "qreg q[8];\nhh q[0];\nh q;\n", max_gates=4)
    with pytest.raises(QasmError, match="past the limit"):
        loads_qasm(HEADER + "qreg q[8];\nh q;\nhh q[0];\n", max_gates=4)
    # A statement both invalid and too large: its own error comes first.
    with pytest.raises(QasmError, match="size mismatch"):
        loads_qasm(HEADER + "qreg q[8];\nqreg r[4];\ncx q, r;\n", max_gates=4)


# --- broadcasts are built in place, after the program has been checked ---------------------------
def test_broadcasts_expand_in_program_order_among_other_instructions():
    c = loads_qasm(HEADER + "qreg q[2];\nqreg r[2];\ncreg c[2];\n"
                   "x q[0];\ncx q, r;\nrz(0.5) r;\nbarrier q, r[1];\nh q[1];\n"
                   "cx q[1], r;\nmeasure q -> c;\nreset r;\nif (c == 1) x q;\n"
                   "measure r[0] -> c[1];\n")
    m = ("c", 1)
    assert c.instructions == [
        Instruction("x", (0,)),
        Instruction("cx", (0, 2)), Instruction("cx", (1, 3)),
        Instruction("rz", (2,), (0.5,)), Instruction("rz", (3,), (0.5,)),
        Instruction("barrier", (0, 1, 3)),
        Instruction("h", (1,)),
        Instruction("cx", (1, 2)), Instruction("cx", (1, 3)),
        Instruction("measure", (0,), (), (0,)), Instruction("measure", (1,), (), (1,)),
        Instruction("reset", (2,)), Instruction("reset", (3,)),
        Instruction("x", (0,), (), (), m), Instruction("x", (1,), (), (), m),
        Instruction("measure", (2,), (), (1,)),
    ]
    assert all(type(i) is Instruction and type(i.qubits) is tuple for i in c.instructions)


def test_a_broadcast_only_program_and_a_repeated_broadcast():
    c = loads_qasm(HEADER + "qreg q[3];\nh q;\nh q;\n")
    assert [(i.name, i.qubits) for i in c.instructions] == [("h", (k,)) for k in (0, 1, 2)] * 2


@pytest.mark.parametrize("stmt, fragment, col", [
    ("cx q, q;", "duplicate qubit argument q[0] in 'cx'", 7),
    ("cx q, q[3];", "duplicate qubit argument q[3] in 'cx'", 7),
    ("cx q[3], q;", "duplicate qubit argument q[3] in 'cx'", 10),
    ("ccx r, q[2], q;", "duplicate qubit argument q[2] in 'ccx'", 14),
    ("ccx q[5], r, q;", "duplicate qubit argument q[5] in 'ccx'", 14),
])
def test_duplicates_in_a_broadcast_are_found_without_building_it(stmt, fragment, col):
    with pytest.raises(QasmError) as exc:
        loads_qasm(HEADER + f"qreg q[{BIG}];\nqreg r[{BIG}];\n" + stmt + "\n")
    assert fragment in exc.value.message
    assert (exc.value.line, exc.value.col) == (5, col)


def test_first_duplicate_agrees_with_checking_every_row():
    rng = random.Random(15)
    for _ in range(2000):
        size = rng.randint(1, 5)
        # registers at offsets 0, 5, 10 (size <= 5 each); columns whole or fixed
        cols = tuple(
            (off, None) if rng.random() < 0.5 else (off, rng.randrange(size))
            for off in (rng.choice((0, 5, 10)) for _ in range(rng.randint(2, 4)))
        )
        spread = _Spread(cols, size)
        rows = list(spread.rows())
        assert rows == [spread.row(i) for i in range(size)]
        expected = next((i for i, row in enumerate(rows) if len(set(row)) != len(row)), None)
        assert spread.first_duplicate() == expected, cols


# --- item 2: a register measured into a register, at the largest size ----------------------------
def test_measuring_the_largest_register_is_linear():
    c = loads_qasm(HEADER + f"qreg q[{BIG}];\ncreg c[{BIG}];\nmeasure q -> c;\n")
    assert len(c.instructions) == BIG
    assert c.instructions[0] == Instruction("measure", (0,), (), (0,))
    assert c.instructions[-1] == Instruction("measure", (BIG - 1,), (), (BIG - 1,))
    assert c.instructions[12345].clbits == (12345,)


def test_repeated_barriers_over_the_largest_register_share_their_qubits():
    c = loads_qasm(HEADER + f"qreg q[{BIG}];\n" + "barrier q;\n" * 100)
    assert len(c.instructions) == 100
    first = c.instructions[0].qubits
    assert len(first) == BIG and first[:3] == (0, 1, 2)
    assert all(i.qubits is first for i in c.instructions)


def test_large_programs_at_the_limit_count_exactly():
    # 10 broadcasts of 1,000 and 5 single gates: exactly 10,005.
    text = HEADER + "qreg q[1000];\n" + "x q;\n" * 10 + "x q[7];\n" * 5
    assert len(loads_qasm(text, max_gates=10_005).instructions) == 10_005
    with pytest.raises(QasmError) as exc:
        loads_qasm(text, max_gates=10_004)
    assert exc.value.line == 3 + 10 + 5

