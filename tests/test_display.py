"""Issue #16: results that round-trip through JSON, notebook display (``_repr_html_``),
``str``/``repr`` of circuits, and ``Statevector.expectation`` with Pauli labels.

Expected values are derived by hand: a Bell pair (|00> + |11>)/sqrt(2) has <ZZ> = <XX> = 1,
<YY> = -1 (Y⊗Y|11> = i·i|00> = -|00>) and <ZI> = <IZ> = 0; X on qubit 1 of 3 gives "010".
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from html import escape
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import qsim
from qsim import Circuit, Result, Statevector
from qsim.cli import cli

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
BELL_QASM = HEADER + "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n"
TWO_REGS_QASM = (HEADER + "qreg q[3];\ncreg c[2];\ncreg d[1];\nx q[0];\nx q[2];\n"
                 "measure q[0] -> c[0];\nmeasure q[1] -> c[1];\nmeasure q[2] -> d[0];\n")
R = 1 / math.sqrt(2)


def bell() -> Circuit:
    return Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])


def cli_json(tmp_path: Path, qasm: str, *args: str) -> str:
    src = tmp_path / "circ.qasm"
    src.write_text(qasm, encoding="utf-8")
    r = CliRunner().invoke(cli, ["run", str(src), "--format", "json", *args])
    assert r.exit_code == 0, r.output
    return r.stdout


# --- to_dict / from_dict / to_json / from_json ------------------------------------------------------
def test_to_dict_has_the_cli_keys():
    r = qsim.run(bell(), shots=100, seed=7, memory=True)
    d = r.to_dict()
    assert set(d) == {"counts", "shots", "seed", "backend", "qubits", "clbits", "registers",
                      "bit_order", "implicit_measurement", "time_s", "memory"}
    assert d["shots"] == 100 and d["seed"] == 7 and d["qubits"] == 2 and d["clbits"] == 2
    assert d["registers"] == [{"name": "c", "size": 2}]
    assert set(d["counts"]) <= {"00", "11"} and sum(d["counts"].values()) == 100
    assert len(d["memory"]) == 100
    json.dumps(d)                                  # JSON-ready as is


def test_round_trip_dict_and_json(tmp_path: Path):
    r = qsim.run(bell(), shots=200, seed=3, memory=True, keep_state=True)
    r.metadata["note"] = "bell"
    assert Result.from_dict(r.to_dict()) == r
    text = r.to_json()
    assert json.loads(text)["state"] == [[pytest.approx(R), 0.0], [0.0, 0.0], [0.0, 0.0],
                                         [pytest.approx(R), 0.0]]
    assert json.loads(text)["metadata"] == {"note": "bell"}
    back = Result.from_json(text)
    assert back == r
    assert back.state is not None and back.state.equiv(Statevector([R, 0, 0, R]))
    path = tmp_path / "r.json"
    assert r.to_json(path, indent=None) == path.read_text(encoding="utf-8").rstrip("\n")
    assert Result.from_json(path) == r and Result.from_json(str(path)) == r


def test_round_trip_without_state_or_memory_and_little_endian():
    c = Circuit(3, 3).x(1).measure([0, 1, 2], [0, 1, 2])
    r = qsim.run(c, shots=10, seed=1, bit_order="little")
    assert r.counts == {"010": 10}                 # x on qubit 1: the middle bit either way
    d = r.to_dict()
    assert "state" not in d and "memory" not in d and "metadata" not in d
    back = Result.from_dict(d)
    assert back == r and back.state is None and back.memory is None
    assert back.bit_order == "little"


def test_two_registers_round_trip():
    c = Circuit(3)
    c.add_creg("c", 2)
    c.add_creg("d", 1)
    c.x(0).x(2).measure([0, 1, 2], [0, 1, 2])
    r = qsim.run(c, shots=5, seed=0)
    assert r.counts == {"10 1": 5}
    assert Result.from_json(r.to_json()) == r


def test_reads_cli_json(tmp_path: Path):
    text = cli_json(tmp_path, BELL_QASM, "--shots", "300", "--seed", "11", "--memory")
    r = Result.from_json(text)
    assert r.shots == 300 and r.seed == 11 and r.num_qubits == 2 and r.num_clbits == 2
    assert r.registers == [("c", 2)] and r.bit_order == "big" and r.backend == "statevector"
    assert set(r.counts) <= {"00", "11"} and sum(r.counts.values()) == 300
    assert r.memory is not None and len(r.memory) == 300
    # keys the Result has no field for are kept in metadata
    assert r.metadata["precision"] == "double" and r.metadata["gates"] == 2
    assert r.metadata["file"].endswith("circ.qasm")
    assert r.state is None
    # the same outcome as the library with the same seed
    assert r.counts == qsim.run(qsim.loads_qasm(BELL_QASM), shots=300, seed=11).counts
    # and what it writes back reads again
    assert Result.from_json(r.to_json()) == r


def test_reads_cli_json_with_two_registers_from_a_file(tmp_path: Path):
    out = tmp_path / "out.json"
    out.write_text(cli_json(tmp_path, TWO_REGS_QASM, "--shots", "4", "--seed", "2"),
                   encoding="utf-8")
    r = Result.from_json(out)
    assert r.counts == {"10 1": 4} and r.registers == [("c", 2), ("d", 1)]


def test_cli_full_statevector_becomes_the_state(tmp_path: Path):
    text = cli_json(tmp_path, BELL_QASM, "--shots", "8", "--seed", "1", "--statevector",
                    "--all", "--bit-order", "little")
    r = Result.from_json(text)
    assert r.state is not None and r.state == Statevector([R, 0, 0, R])
    assert "statevector" not in r.metadata and r.metadata["state_threshold"] == 0.0


def test_cli_thresholded_statevector_stays_in_metadata(tmp_path: Path):
    text = cli_json(tmp_path, BELL_QASM, "--shots", "8", "--seed", "1", "--statevector")
    r = Result.from_json(text)
    assert r.state is None
    assert set(r.metadata["statevector"]) == {"00", "11"}


def test_little_endian_listing_is_reordered():
    # little-endian label "10" is qubit 0 = 0, qubit 1 = 1: basis index 0b01
    d = {"counts": {"1": 2}, "shots": 2, "qubits": 2, "registers": [{"name": "c", "size": 1}],
         "bit_order": "little",
         "statevector": {"00": [0, 0], "01": [0, 0], "10": [1, 0], "11": [0, 0]}}
    r = Result.from_dict(d)
    assert r.state is not None and r.state == Statevector([0, 1, 0, 0])


def test_from_dict_minimal_and_defaults():
    r = Result.from_dict({"counts": {"01": 3, "10": 1}, "shots": 4})
    assert r.registers == [("c", 2)] and r.seed is None and r.bit_order == "big"
    assert r.memory is None and r.metadata == {} and r.num_qubits == 0
    r2 = Result.from_dict({"counts": {"01 1": 4}, "shots": 4})
    assert r2.registers == [("c0", 2), ("c1", 1)]


@pytest.mark.parametrize("bad, message", [
    ([], "expected a dict"),
    ({"shots": 1}, "missing key 'counts'"),
    ({"counts": {"0": 1}}, "missing key 'shots'"),
    ({"counts": {"0": 1}, "shots": 2}, "add up to 1"),
    ({"counts": {"0": -1}, "shots": -1}, "non-negative integer"),
    ({"counts": {"0": 1.5}, "shots": 1.5}, "non-negative integer"),
    ({"counts": ["0"], "shots": 1}, "counts must be a dict"),
    ({"counts": {"0": 1}, "shots": 1, "bit_order": "middle"}, "bit_order"),
    ({"counts": {"02": 1}, "shots": 1, "registers": [{"name": "c", "size": 2}]},
     "does not match the registers"),
    ({"counts": {"00": 1}, "shots": 1, "registers": [{"name": "c", "size": 3}]},
     "does not match the registers"),
    ({"counts": {"00": 1}, "shots": 1, "registers": [{"name": "c", "size": 2}], "clbits": 3},
     "clbits=3"),
    ({"counts": {"0": 1}, "shots": 1, "registers": [{"size": 1}]}, "is not {name, size}"),
    ({"counts": {"0": 1}, "shots": 1, "memory": ["0", "0"]}, "memory has 2 shots"),
    ({"counts": {"0": 1}, "shots": 1, "memory": ["1"]}, "not in counts"),
    ({"counts": {"0": 1}, "shots": 1, "state": [[1, 0], [0, 0], [0, 0]]}, "power of two"),
    ({"counts": {"0": 1}, "shots": 1, "state": [[1, 0], [0]]}, "must be [re, im]"),
    ({"counts": {"0": 1}, "shots": 1, "qubits": 2, "state": [[1, 0], [0, 0]]},
     "state of 1 qubit(s) but qubits=2"),
    ({"counts": {"0": 1}, "shots": 1, "metadata": []}, "metadata must be a dict"),
])
def test_from_dict_rejects_invalid_input(bad, message):
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        Result.from_dict(bad)
    assert "\n" not in str(info.value)


def test_from_json_rejects_invalid_json(tmp_path: Path):
    with pytest.raises(ValueError, match="not valid JSON"):
        Result.from_json('{"counts": ')
    bad = tmp_path / "bad.json"
    bad.write_text("not json", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        Result.from_json(bad)
    with pytest.raises(OSError):
        Result.from_json(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="expected JSON text or a path"):
        Result.from_json(42)  # type: ignore[arg-type]


def test_to_json_metadata_numpy_and_unserialisable():
    r = Result(counts={"0": 1}, shots=1, seed=None, registers=[("c", 1)],
               metadata={"energy": np.float64(0.5), "xs": np.arange(3)})
    assert json.loads(r.to_json())["metadata"] == {"energy": 0.5, "xs": [0, 1, 2]}
    r.metadata["bad"] = object()
    with pytest.raises(ValueError, match="not JSON serialisable"):
        r.to_json()


# --- notebook display ------------------------------------------------------------------------------
def test_circuit_str_is_the_drawing_and_html_escapes_it():
    c = Circuit(2).h(0).cx(0, 1)
    text = str(c)
    assert text == qsim.draw_text(c)
    wires = {line.split(":")[0]: line for line in text.split("\n") if ":" in line}
    assert set(wires) == {"q[0]", "q[1]"}
    assert "H" in wires["q[0]"] and "●" in wires["q[0]"] and "X" in wires["q[1]"]
    html = c._repr_html_()
    assert html.startswith("<pre") and html.endswith("</pre>")
    assert escape(text) in html
    d = Circuit(1).unitary(np.eye(2), 0, label="a<b>&")
    assert "a<b>&" in str(d)
    assert "a&lt;b&gt;&amp;" in d._repr_html_() and "<b>" not in d._repr_html_()


def test_circuit_repr_names_bits_by_register():
    c = Circuit()
    c.add_qreg("m0", 1)
    c.add_qreg("a", 2)
    c.add_creg("r", 2)
    c.h(1).cx(1, 2).measure(0, 1)
    assert repr(c) == ("Circuit(3 qubits, 2 clbits, 3 instructions: h a[0]; cx a[0],a[1]; "
                       "measure m0[0] -> r[1])")
    d = Circuit(2, 2).rz(0.5, 1).measure(1, 0).x(0).c_if("c", 1)
    assert repr(d) == ("Circuit(2 qubits, 2 clbits, 3 instructions: rz(0.5) q[1]; "
                       "measure q[1] -> c[0]; if(c==1) x q[0])")
    many = Circuit(1)
    for _ in range(10):
        many.x(0)
    assert repr(many).endswith("x q[0]; ... (2 more))")


def html_rows(html: str) -> list[list[str]]:
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [re.findall(r"<td>(.*?)</td>", row) for row in body.split("</tr>") if row]


def test_result_html_table_and_histogram():
    r = Result(counts={"00": 60, "11": 40}, shots=100, seed=5, registers=[("c", 2)])
    html = r._repr_html_()
    assert html_rows(html) == [["<code>00</code>", "60", "0.6000"],
                               ["<code>11</code>", "40", "0.4000"]]
    assert "not shown" not in html
    m = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert m is not None
    import matplotlib.image

    img = matplotlib.image.imread(io.BytesIO(base64.b64decode(m.group(1))), format="png")
    h, w = img.shape[:2]
    assert 100 <= h <= 2000 and 100 <= w <= 3000


def test_result_html_keeps_the_top_20():
    # 25 outcomes of 5 bits: outcome i seen 100 - i times, so 00000..10011 are the top 20
    counts = {format(i, "05b"): 100 - i for i in range(25)}
    r = Result(counts=counts, shots=sum(counts.values()), seed=None, registers=[("c", 5)])
    html = r._repr_html_()
    rows = html_rows(html)
    assert len(rows) == 20
    assert rows[0][:2] == ["<code>00000</code>", "100"]
    assert rows[-1][:2] == ["<code>10011</code>", "81"]
    # left out: 20..24, seen 80 + 79 + 78 + 77 + 76 = 390 times
    assert "5 more outcomes not shown (390 shots)" in html
    assert "data:image/png;base64," in html


def test_result_html_without_shots_has_no_image():
    r = Result(counts={}, shots=0, seed=None, registers=[])
    html = r._repr_html_()
    assert html_rows(html) == [] and "<img" not in html


def test_statevector_html():
    sv = qsim.simulate(Circuit(2).h(0).cx(0, 1))
    html = sv._repr_html_()
    assert html_rows(html) == [["<code>|00&gt;</code>", "0.7071 + 0.0000j", "0.5000"],
                               ["<code>|11&gt;</code>", "0.7071 + 0.0000j", "0.5000"]]
    assert "2 qubits (qubit 0 leftmost)" in html and "not shown" not in html
    # qubit 0 leftmost: X on qubit 0 of 3 is |100>
    x0 = qsim.simulate(Circuit(3).x(0))
    assert html_rows(x0._repr_html_()) == [["<code>|100&gt;</code>", "1.0000 + 0.0000j",
                                            "1.0000"]]


def test_statevector_html_keeps_the_32_largest():
    # 6 qubits, 64 amplitudes: index i has amplitude proportional to i + 1 (all nonzero)
    v = np.arange(1, 65, dtype=float) * 1j
    v /= np.linalg.norm(v)
    html = Statevector(v)._repr_html_()
    rows = html_rows(html)
    assert len(rows) == 32
    # the 32 largest are indices 32..63, listed in basis order
    assert rows[0][0] == "<code>|100000&gt;</code>" and rows[-1][0] == "<code>|111111&gt;</code>"
    assert rows[0][1] == f"0.0000 + {33 / np.sqrt(np.sum(np.arange(1, 65) ** 2)):.4f}j"
    left = float(np.sum(np.abs(v[:32]) ** 2))
    assert f"32 smaller nonzero amplitudes not shown (total probability {left:.4g})" in html


# --- Statevector.expectation with Pauli labels ---------------------------------------------------
@pytest.mark.parametrize("label, value", [
    ("ZZ", 1.0), ("ZI", 0.0), ("IZ", 0.0), ("XX", 1.0), ("YY", -1.0), ("II", 1.0),
    ("Z0 Z1", 1.0), ("X0*X1", 1.0), ("Y0 Y1", -1.0), ("Z1", 0.0), ("-XX", -1.0), ("+ZZ", 1.0),
])
def test_bell_pauli_expectations(label, value):
    sv = qsim.simulate(Circuit(2).h(0).cx(0, 1))
    assert sv.expectation(label) == pytest.approx(value, abs=1e-12)


def test_pauli_label_on_chosen_qubits_and_single_qubit_states():
    # |1> on qubit 0, |+> on qubit 1, |0> on qubit 2: <Z0> = -1, <X1> = 1, <Z2> = 1
    sv = qsim.simulate(Circuit(3).x(0).h(1))
    assert sv.expectation("ZXZ") == pytest.approx(-1.0)
    assert sv.expectation("Z", qubits=[0]) == pytest.approx(-1.0)
    assert sv.expectation("XZ", qubits=[1, 2]) == pytest.approx(1.0)
    assert sv.expectation("Z0", qubits=[2]) == pytest.approx(1.0)   # index 0 of qubits=[2]
    assert sv.expectation("Y1") == pytest.approx(0.0)
    # |+i> = S H |0>: <Y> = 1
    assert qsim.simulate(Circuit(1).h(0).s(0)).expectation("Y") == pytest.approx(1.0)


def test_pauli_labels_agree_with_pauli_sum_and_matrices():
    from qsim.pauli import PauliSum

    rng = np.random.default_rng(16)
    v = rng.normal(size=8) + 1j * rng.normal(size=8)
    sv = Statevector(v / np.linalg.norm(v))
    for label in ("XYZ", "YYI", "ZIX", "IYI"):
        assert sv.expectation(label) == pytest.approx(
            PauliSum(label).expectation_value(sv), abs=1e-12)
    assert sv.expectation(PauliSum("0.5*ZZI + XIX")) == pytest.approx(
        0.5 * sv.expectation("ZZI") + sv.expectation("XIX"), abs=1e-12)
    z = np.diag([1.0, -1.0])
    assert sv.expectation(np.kron(z, z), qubits=[0, 1]) == pytest.approx(
        sv.expectation("ZZI"), abs=1e-12)


@pytest.mark.parametrize("label, message", [
    ("ZZZ", "3 character(s) for 2 qubit(s)"),
    ("Z2", "qubit 2 out of range"),
    ("Z0 Z0", "appears twice"),
    ("0.5*ZZ + XX", "use qsim.PauliSum"),
    ("zz", "not a Pauli factor"),
    ("", "empty"),
    ("-", "empty"),
])
def test_bad_pauli_labels(label, message):
    sv = Statevector.zero(2)
    with pytest.raises(qsim.CircuitError, match=re.escape(message)):
        sv.expectation(label)
