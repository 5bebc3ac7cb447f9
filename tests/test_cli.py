"""The ``qsim`` command line, through click's CliRunner and as a real subprocess.

Expected values come from hand reasoning: a Bell pair gives only 00 and 11, each about half of
the shots; X on qubit 1 of 3 gives exactly "010"; H on one qubit gives amplitudes 1/sqrt(2).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

import qsim
from qsim import cli as cli_mod
from qsim.cli import cli, parse_size, progress

SHARED = Path(__file__).resolve().parents[2] / "shared"
INVALID = SHARED / "qasm" / "invalid"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
BELL = HEADER + "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n"
X1 = HEADER + "qreg q[3];\ncreg c[3];\nx q[1];\nmeasure q -> c;\n"
H0_NO_MEASURE = HEADER + "qreg q[2];\nh q[0];\n"
TWO_REGS = HEADER + "qreg q[3];\ncreg c[2];\ncreg d[1];\nx q[0];\nx q[2];\n" \
    "measure q[0] -> c[0];\nmeasure q[1] -> c[1];\nmeasure q[2] -> d[0];\n"
SEVEN = HEADER + "// seven qubits\nqreg a[3];\nqreg b[4];\ncreg c[7];\nh a[0];\n"


@pytest.fixture
def write(tmp_path: Path):  # noqa: ANN201
    def _write(text: str, name: str = "circ.qasm") -> str:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return str(p)

    return _write


def invoke(args: list[str], input: str | bytes | None = None, env: dict | None = None):  # noqa: ANN201
    return CliRunner().invoke(cli, args, input=input, env=env)


ROW = re.compile(r"^(.*?)\s+(\d+)\s+(\d+\.\d{4})(?:\s+\S+)?$")


def table_counts(stdout: str) -> dict[str, int]:
    """Counts read back from the text table (rows between the header and the summary line)."""
    lines = stdout.strip("\n").split("\n")
    assert lines[0].split() == ["outcome", "count", "probability"]
    out = {}
    for line in lines[1:]:
        m = ROW.match(line)
        if m is None:          # the summary line ends the table
            assert "shots" in line
            break
        out[m.group(1)] = int(m.group(2))
    return out


# --- qsim run: counts -----------------------------------------------------------------------------
def test_bell_counts_text(write) -> None:  # noqa: ANN001
    r = invoke(["run", write(BELL), "--shots", "2000", "--seed", "1"])
    assert r.exit_code == 0, r.output
    counts = table_counts(r.stdout)
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 2000
    assert abs(counts["00"] - 1000) < 4 * math.sqrt(2000 * 0.25)
    # same seed, same counts (the Python API agrees with the command line)
    expected = qsim.run(qsim.load_qasm(write(BELL)), 2000, seed=1).counts
    assert counts == expected
    again = invoke(["run", write(BELL), "--shots", "2000", "--seed", "1"]).stdout
    assert again.split("\n")[:3] == r.stdout.split("\n")[:3]   # all but the timing line


def test_text_table_layout(write) -> None:  # noqa: ANN001
    r = invoke(["run", write(BELL), "--shots", "2000", "--seed", "1"])
    lines = r.stdout.strip().split("\n")
    rows = [line.split() for line in lines[1:3]]
    # sorted by count, probability = count / shots, bar length proportional to the count
    assert int(rows[0][1]) >= int(rows[1][1])
    for row in rows:
        assert float(row[2]) == pytest.approx(int(row[1]) / 2000, abs=5e-5)
    assert len(rows[0][3]) == cli_mod.BAR_WIDTH
    summary = lines[3]
    for part in ("2 qubits", "2 gates", "2000 shots", "seed 1", "backend statevector", " s"):
        assert part in summary
    assert len(lines) == 4


def test_x_on_qubit_1_gives_exactly_010(write) -> None:  # noqa: ANN001
    r = invoke(["run", write(X1), "--shots", "500"])
    assert r.exit_code == 0
    assert table_counts(r.stdout) == {"010": 500}


def test_bit_order_little_and_registers(write) -> None:  # noqa: ANN001
    # x q[0], x q[2]: c = (c[0], c[1]) = (1, 0), d = (d[0]) = (1).
    big = json.loads(invoke(["run", write(TWO_REGS), "--format", "json", "--shots", "8"]).stdout)
    assert big["counts"] == {"10 1": 8}
    little = json.loads(invoke(["run", write(TWO_REGS), "--format", "json", "--shots", "8",
                                "--bit-order", "little"]).stdout)
    assert little["counts"] == {"1 01": 8} and little["bit_order"] == "little"
    assert big["registers"] == [{"name": "c", "size": 2}, {"name": "d", "size": 1}]
    assert table_counts(invoke(["run", write(TWO_REGS), "--shots", "8"]).stdout) == {"10 1": 8}


@pytest.mark.parametrize("backend", sorted(qsim.backends.BACKENDS))
def test_every_registered_backend_agrees(write, backend: str) -> None:  # noqa: ANN001
    # Sampling depends only on the final distribution and the seed, so every backend must give
    # the statevector backend's counts for the same seed.
    if backend == "mpi":
        pytest.importorskip("mpi4py", reason="the mpi backend needs the mpi extra")
    text = HEADER + "qreg q[3];\ncreg c[3];\nh q[0];\ncx q[0], q[1];\nry(0.7) q[2];\n" \
        "measure q -> c;\n"
    args = ["run", write(text), "--format", "json", "--seed", "11", "--shots", "500"]
    got = json.loads(invoke(args + ["--backend", backend]).stdout)
    ref = json.loads(invoke(args + ["--backend", "statevector"]).stdout)
    assert got["backend"] == backend and got["counts"] == ref["counts"]
    assert {k[:2] for k in got["counts"]} <= {"00", "11"}


def test_json_schema(write) -> None:  # noqa: ANN001
    r = invoke(["run", write(BELL), "--format", "json", "--shots", "100", "--seed", "7"])
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert set(data) == {"counts", "shots", "seed", "backend", "precision", "qubits", "clbits",
                         "registers", "bit_order", "implicit_measurement", "gates", "file",
                         "time_s"}
    assert data["shots"] == 100 and data["seed"] == 7 and data["backend"] == "statevector"
    assert data["qubits"] == 2 and data["clbits"] == 2 and data["gates"] == 2
    assert data["bit_order"] == "big" and data["implicit_measurement"] is False
    assert data["precision"] == "double" and isinstance(data["time_s"], float)
    assert set(data["counts"]) <= {"00", "11"} and sum(data["counts"].values()) == 100
    with_state = json.loads(invoke(["run", write(BELL), "--format", "json", "--statevector",
                                    "--probabilities", "--memory", "--shots", "5"]).stdout)
    assert set(with_state) - set(data) == {"statevector", "probabilities", "memory",
                                           "state_threshold"}
    s = 1 / math.sqrt(2)
    assert with_state["statevector"] == {"00": [pytest.approx(s), 0.0],
                                         "11": [pytest.approx(s), 0.0]}
    assert with_state["probabilities"] == {"00": pytest.approx(0.5), "11": pytest.approx(0.5)}
    assert len(with_state["memory"]) == 5


def test_seed_drawn_when_absent_and_reported(write) -> None:  # noqa: ANN001
    data = json.loads(invoke(["run", write(BELL), "--format", "json"]).stdout)
    assert isinstance(data["seed"], int) and data["shots"] == 1024
    again = json.loads(invoke(["run", write(BELL), "--format", "json", "--seed",
                               str(data["seed"])]).stdout)
    assert again["counts"] == data["counts"]


def test_csv_output(write) -> None:  # noqa: ANN001
    r = invoke(["run", write(BELL), "--format", "csv", "--shots", "300", "--seed", "3"])
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["outcome", "count", "probability"]
    counts = {k: int(c) for k, c, _ in rows[1:]}
    assert counts == qsim.run(qsim.load_qasm(write(BELL)), 300, seed=3).counts
    assert all(float(p) == pytest.approx(int(c) / 300) for _, c, p in rows[1:])


def test_output_file_matches_stdout(write, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "counts.json"
    args = ["run", write(BELL), "--format", "json", "--seed", "4"]
    r = invoke(args + ["-o", str(out)])
    assert r.exit_code == 0 and r.stdout == ""
    a = json.loads(out.read_text())
    b = json.loads(invoke(args).stdout)
    a.pop("time_s"), b.pop("time_s")
    assert a == b


def test_precision_single(write) -> None:  # noqa: ANN001
    data = json.loads(invoke(["run", write(X1), "--format", "json", "--precision", "single"]).stdout)
    assert data["precision"] == "single" and data["counts"] == {"010": 1024}


def test_implicit_measurement_note(write) -> None:  # noqa: ANN001
    r = invoke(["run", write(H0_NO_MEASURE), "--shots", "400", "--seed", "2"])
    assert r.exit_code == 0
    assert len(r.stderr.strip().split("\n")) == 1 and "no measurements" in r.stderr
    counts = table_counts(r.stdout)
    assert set(counts) == {"00", "10"}          # H on qubit 0 only: qubit 1 stays 0
    data = json.loads(invoke(["run", write(H0_NO_MEASURE), "--format", "json"]).stdout)
    assert data["implicit_measurement"] is True and data["registers"][0]["size"] == 2


def test_memory_flag(write) -> None:  # noqa: ANN001
    r = invoke(["run", write(BELL), "--shots", "50", "--seed", "9", "--memory"])
    lines = r.stdout.strip().split("\n")
    start = lines.index("memory (50 shots, in order):")
    mem = lines[start + 1:]
    assert len(mem) == 50 and Counter(mem) == Counter(table_counts(r.stdout))
    assert mem == qsim.run(qsim.load_qasm(write(BELL)), 50, seed=9, memory=True).memory


# --- qsim run: state ------------------------------------------------------------------------------
def test_statevector_text(write) -> None:  # noqa: ANN001
    r = invoke(["run", write(H0_NO_MEASURE), "--statevector", "--shots", "10"])
    assert r.exit_code == 0
    text = r.stdout.split("final state")[1].strip().split("\n")
    assert text[1].split() == ["basis", "amplitude", "probability"]
    rows = [line.split() for line in text[2:]]
    assert [row[0] for row in rows] == ["00", "10"]   # 01 and 11 have amplitude 0: hidden
    for row in rows:
        amp = complex(row[1])
        assert amp == pytest.approx(1 / math.sqrt(2)) and float(row[2]) == pytest.approx(0.5)
    assert "2 basis states" in text[0] and "hidden" in text[0]


def test_statevector_all_and_probabilities(write) -> None:  # noqa: ANN001
    r = invoke(["run", write(H0_NO_MEASURE), "--probabilities", "--all", "--shots", "10"])
    body = r.stdout.split("final probabilities")[1].strip().split("\n")
    assert body[1].split() == ["basis", "probability"]
    got = {b: float(p) for b, p in (line.split() for line in body[2:])}
    assert got == {"00": pytest.approx(0.5), "01": 0.0, "10": pytest.approx(0.5), "11": 0.0}
    little = invoke(["run", write(H0_NO_MEASURE), "--probabilities", "--bit-order", "little"])
    rows = little.stdout.split("final probabilities")[1].strip().split("\n")[2:]
    assert [line.split()[0] for line in rows] == ["00", "01"]   # qubit 0 rightmost


def test_statevector_from_stdin() -> None:
    r = invoke(["run", "-", "--statevector", "--shots", "20"], input=X1)
    assert r.exit_code == 0
    assert table_counts(r.stdout) == {"010": 20}
    last = r.stdout.strip().split("\n")[-1].split()
    assert last[0] == "010" and complex(last[1]) == pytest.approx(1) and last[2] == "1.000000"


def test_stdin_error_names_stdin() -> None:
    r = invoke(["run", "-"], input=HEADER + "qreg q[1];\nh q[3];\n")
    assert r.exit_code == 2
    assert r.stderr.startswith("<stdin>:4:") and "range" in r.stderr


# --- qsim run: plots ------------------------------------------------------------------------------
def test_plot_png(write, tmp_path: Path) -> None:  # noqa: ANN001
    from matplotlib.image import imread

    out = tmp_path / "bell.png"
    r = invoke(["run", write(BELL), "--shots", "2000", "--seed", "1", "--plot", str(out)])
    assert r.exit_code == 0, r.output
    data = out.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000
    img = imread(out)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".pdf", b"%PDF-")])
def test_plot_other_formats(write, tmp_path: Path, suffix: str, magic: bytes) -> None:  # noqa: ANN001
    out = tmp_path / f"h{suffix}"
    assert invoke(["run", write(BELL), "--plot", str(out)]).exit_code == 0
    assert magic in out.read_bytes()[:2000]


def test_plot_bad_suffix_is_usage_error(write, tmp_path: Path) -> None:  # noqa: ANN001
    r = invoke(["run", write(BELL), "--plot", str(tmp_path / "h.txt")])
    assert r.exit_code == 2 and "png" in r.stderr
    assert not (tmp_path / "h.txt").exists()


def test_show_without_display_warns(write, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    r = invoke(["run", write(BELL), "--show"])
    assert r.exit_code == 0 and "no display" in r.stderr


# --- usage errors and exit codes ------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["--shots", "0"], ["--shots", "-3"], ["--shots", "many"], ["--seed", "-1"],
    ["--backend", "bogus"], ["--precision", "quad"], ["--bit-order", "middle"],
    ["--format", "xml"], ["--max-memory", "12X"], ["--max-memory", "0"], ["--unknown"],
])
def test_usage_errors_exit_2(write, args: list[str]) -> None:  # noqa: ANN001
    r = invoke(["run", write(BELL)] + args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output


def test_circuit_without_qubits_runs_like_the_api() -> None:
    # Deliberate behaviour change (issue #15): the command line used to refuse a program without
    # a qreg (exit 2, "no qubits"); it now agrees with the API, where qsim.run(qsim.Circuit(0))
    # gives {'': shots}. The empty outcome is printed as "" in text and CSV.
    assert qsim.run(qsim.Circuit(0), 7, seed=1).counts == {"": 7}
    r = invoke(["run", "-", "--shots", "7", "--memory"], input="OPENQASM 2.0;\n")
    assert r.exit_code == 0, r.output
    assert table_counts(r.stdout) == {'""': 7}
    assert r.stdout.strip().split("\n")[-7:] == ['""'] * 7          # the memory list
    assert "0 qubits" in r.stdout and "no qubits" in r.stderr
    data = json.loads(invoke(["run", "-", "--shots", "7", "--format", "json"],
                             input="OPENQASM 2.0;\n").stdout)
    assert data["counts"] == {"": 7} and data["qubits"] == 0
    rows = list(csv.reader(io.StringIO(invoke(["run", "-", "--shots", "7", "--format", "csv"],
                                              input="OPENQASM 2.0;\n").stdout)))
    assert rows == [["outcome", "count", "probability"], ["", "7", "1.0"]]


def test_missing_file_exit_2(tmp_path: Path) -> None:
    r = invoke(["run", str(tmp_path / "nope.qasm")])
    assert r.exit_code == 2 and "nope.qasm" in r.stderr


def test_backend_choices_come_from_registry(write, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from qsim import backends

    monkeypatch.setitem(backends.BACKENDS, "alias", backends.BACKENDS["statevector"])
    r = invoke(["run", write(X1), "--backend", "alias", "--format", "json", "--shots", "3"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["backend"] == "alias" and data["counts"] == {"010": 3}
    assert "alias" in invoke(["run", "--help"]).stdout


@pytest.mark.parametrize("text, value", [
    ("1000000", 1_000_000), ("512M", 512 * 2**20), ("4G", 4 * 2**30), ("1.5GiB", 3 * 2**29),
    ("2k", 2048), ("1KB", 1000), ("3 MB", 3_000_000), ("10b", 10), ("1T", 2**40),
])
def test_parse_size(text: str, value: int) -> None:
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1.5", "-4G", "4X", "0"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_max_memory_exit_3_names_register(write) -> None:  # noqa: ANN001
    path = write(SEVEN)
    # 7 qubits need 2**7 * 16 = 2048 bytes; 1K does not fit, and the declaration that passes the
    # 6 qubits that would fit in 1024 bytes is "qreg b[4];" on line 5.
    r = invoke(["run", path, "--max-memory", "1K"])
    assert r.exit_code == 3, r.output
    lines = r.stderr.strip().split("\n")
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:5:6: ") and "2,048 bytes" in lines[0]
    # The engine's guard also counts the outcome probabilities and samples (not only the state),
    # so a run needs a little more than the 2,048-byte state; 64K is plenty.
    assert invoke(["run", path, "--max-memory", "64K"]).exit_code == 0

    def need(*extra: str) -> int:         # bytes the refusal says the run needs
        r = invoke(["run", path, "--max-memory", "4K", "--shots", "1", *extra])
        assert r.exit_code == 3 and r.stderr.startswith(f"{path}:5:6: "), r.output
        return int(re.search(r"\(([\d,]+) bytes", r.stderr).group(1).replace(",", ""))

    # single precision halves the state: 1,024 bytes less for 7 qubits
    assert need() - need("--precision", "single") == 2048 - 1024


def test_internal_error_one_line_exit_1(write, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("qsim.engine.run", boom)
    monkeypatch.delenv("QSIM_DEBUG", raising=False)
    r = invoke(["run", write(BELL)])
    assert r.exit_code == 1
    assert r.stderr == "qsim: internal error: RuntimeError: boom second line\n"
    r = invoke(["run", write(BELL)], env={"QSIM_DEBUG": "1"})
    assert isinstance(r.exception, RuntimeError)   # re-raised for the traceback


@pytest.mark.skipif(not INVALID.is_dir(), reason=f"shared fixtures not found at {INVALID}")
def test_every_invalid_fixture() -> None:
    manifest = json.loads((INVALID / "manifest.json").read_text())
    assert len(manifest["files"]) >= 20
    for entry in manifest["files"]:
        path = str(INVALID / entry["file"])
        r = invoke(["run", path])
        msg = f"{entry['file']}: {r.stderr!r}"
        assert r.exit_code == entry["exit"], msg
        lines = r.stderr.split("\n")
        assert len(lines) == 2 and lines[1] == "", msg      # exactly one line
        line = lines[0]
        assert "Traceback" not in line and r.stdout == "", msg
        if entry["lines"]:
            assert any(line.startswith(f"{path}:{n}:") for n in entry["lines"]), msg
            col = line[len(path) + 1:].split(":")[1]
            assert col.isdigit(), msg
        else:
            assert line.startswith(f"{path}:"), msg
        assert any(k.lower() in line.lower() for k in entry["keywords"]), msg


# --- draw and info --------------------------------------------------------------------------------
def test_draw_command(write) -> None:  # noqa: ANN001
    r = invoke(["draw", write(BELL)])
    assert r.exit_code == 0
    assert r.stdout == ("q[0]: ─H──●──M→c[0]──\n"
                        "          │\n"
                        "q[1]: ────X──M→c[1]──\n")
    wide = HEADER + "qreg q[2];\n" + "".join(f"rz({k}) q[{k % 2}];\n" for k in range(1, 25))
    r = invoke(["draw", write(wide), "--width", "30"])
    assert all(len(line) <= 30 for line in r.stdout.split("\n"))
    assert r.stdout.count("Rz(") == 24
    r = invoke(["draw", write(BELL), "--ascii"])
    assert r.stdout.split("\n")[0] == "q[0]: -H--*--M->c[0]--"


def test_draw_stdin_and_conditions() -> None:
    text = HEADER + "qreg q[2];\ncreg c[1];\nmeasure q[0] -> c[0];\nif(c==1) x q[1];\n" \
        "barrier q;\nreset q[0];\n"
    r = invoke(["draw", "-"], input=text)
    assert r.exit_code == 0
    rows = r.stdout.split("\n")
    assert "M→c[0]" in rows[0] and "X if c==1" in rows[2] and "░" in rows[0] and "|0>" in rows[0]


def test_info_command(write) -> None:  # noqa: ANN001
    r = invoke(["info", write(BELL)])
    assert r.exit_code == 0
    fields = dict(line.split(":", 1) for line in r.stdout.strip().split("\n"))
    fields = {k: v.strip() for k, v in fields.items()}
    assert fields["qubits"].startswith("2") and "q[2]" in fields["qubits"]
    assert fields["clbits"].startswith("2") and "c[2]" in fields["clbits"]
    assert fields["gate counts"] == "measure: 2, cx: 1, h: 1"
    assert fields["depth"] == "3"                       # h, cx, measure
    assert fields["state vector"].startswith("64 bytes")  # 2**2 amplitudes * 16 bytes
    data = json.loads(invoke(["info", write(SEVEN), "--format", "json"]).stdout)
    assert data["qubits"] == 7 and data["memory"] == {"double": 2048, "single": 1024}
    assert data["qregs"] == [{"name": "a", "size": 3}, {"name": "b", "size": 4}]
    assert data["gate_counts"] == {"h": 1} and data["measurements"] == "none"


@pytest.mark.skipif(not INVALID.is_dir(), reason=f"shared fixtures not found at {INVALID}")
def test_info_on_huge_register_reports_memory() -> None:
    r = invoke(["info", str(INVALID / "huge_register_40.qasm")])
    assert r.exit_code == 0 and "16.0 TiB" in r.stdout       # 2**40 * 16 bytes


def test_draw_and_info_report_qasm_errors(write) -> None:  # noqa: ANN001
    path = write(HEADER + "qreg q[1];\nfoo q[0];\n")
    for cmd in ("draw", "info"):
        r = invoke([cmd, path])
        assert r.exit_code == 2 and r.stderr.startswith(f"{path}:4:") and "foo" in r.stderr


def test_version_and_help() -> None:
    r = invoke(["--version"])
    assert r.exit_code == 0 and qsim.__version__ in r.stdout
    r = invoke(["--help"])
    assert r.exit_code == 0 and all(c in r.stdout for c in ("run", "draw", "info"))


def test_top_limits_table_and_plot(write, tmp_path: Path) -> None:  # noqa: ANN001
    # H on 3 qubits: 8 equally likely outcomes; --top 3 keeps 3 rows and one "others" row.
    text = HEADER + "qreg q[3];\ncreg c[3];\nh q;\nmeasure q -> c;\n"
    r = invoke(["run", write(text), "--shots", "800", "--seed", "2", "--top", "3"])
    rows = r.stdout.strip().split("\n")[1:-1]
    assert len(rows) == 4 and rows[-1].startswith("(5 others)")
    full = qsim.run(qsim.load_qasm(write(text)), 800, seed=2).counts
    top3 = sorted(full.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [(row.split()[0], int(row.split()[1])) for row in rows[:3]] == top3
    assert int(rows[-1].split()[2]) == 800 - sum(c for _, c in top3)
    # CSV and JSON are data: --top does not drop outcomes there.
    r = invoke(["run", write(text), "--shots", "800", "--seed", "2", "--top", "3",
                "--format", "csv"])
    lines = r.stdout.strip().split("\n")
    assert len(lines) == 1 + 8 and sum(int(x.split(",")[1]) for x in lines[1:]) == 800


def test_draw_output_file(write, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "d.txt"
    assert invoke(["draw", write(BELL), "-o", str(out)]).exit_code == 0
    assert out.read_text(encoding="utf-8") == invoke(["draw", write(BELL)]).stdout


# --- progress indicator ---------------------------------------------------------------------------
class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shown_on_tty_after_delay_and_erased() -> None:
    import time

    s = FakeTTY()
    with progress("working", s, delay=0.0, interval=0.02):
        time.sleep(0.2)
    text = s.getvalue()
    assert "working" in text and text.startswith("\r") and text.endswith("\r")
    assert text.rstrip("\r").endswith(" ")      # last write blanks the line


def test_progress_silent_for_short_runs_and_pipes() -> None:
    s = FakeTTY()
    with progress("working", s, delay=5.0):
        pass
    assert s.getvalue() == ""
    p = io.StringIO()                           # not a terminal
    with progress("working", p, delay=0.0):
        import time

        time.sleep(0.05)
    assert p.getvalue() == ""


# --- real subprocesses ----------------------------------------------------------------------------
def qsim_command() -> list[str]:
    exe = Path(sys.executable).with_name("qsim")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("qsim")
    return [found] if found else [sys.executable, "-m", "qsim.cli"]


def start(args: list[str], stdin: str | None = None, env: dict | None = None
          ) -> subprocess.Popen:
    e = dict(os.environ)
    e.pop("QSIM_DEBUG", None)
    e.update(env or {})
    return subprocess.Popen(args, stdin=subprocess.PIPE if stdin is not None else None,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", env=e)


def finish(p: subprocess.Popen, stdin: str | None = None) -> tuple[int, str, str]:
    out, err = p.communicate(stdin, timeout=120)
    return p.returncode, out, err


INTERNAL_ERROR = """
import sys
import qsim.engine
from qsim.cli import main
def boom(*a, **k):
    raise RuntimeError("boom")
qsim.engine.run = boom
main(sys.argv[1:])
"""
NO_HEAVY_IMPORTS = """
import sys
from qsim.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("HEAVY", sorted(m for m in sys.modules if m.split(".")[0] in ("matplotlib", "scipy")))
"""
INVALID_SAMPLE = ["empty.qasm", "non_utf8_garbage.qasm", "huge_register_40.qasm"]


@pytest.fixture(scope="module")
def procs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str]]:
    """Real invocations of the installed command, all started at once so that they overlap on
    the few cores there are; maps a job name to (exit code, stdout, stderr)."""
    d = tmp_path_factory.mktemp("sub")
    bell, seven = d / "bell.qasm", d / "seven.qasm"
    bell.write_text(BELL)
    seven.write_text(SEVEN)
    q = qsim_command()
    py = [sys.executable, "-c"]
    jobs: dict[str, tuple[list[str], str | None]] = {
        "text": (q + ["run", str(bell), "--shots", "2000", "--seed", "1"], None),
        "json": (q + ["run", str(bell), "--format", "json", "--seed", "5", "--plot",
                      str(d / "s.png")], None),
        "stdin": ([sys.executable, "-m", "qsim.cli", "run", "-", "--statevector", "--shots",
                   "2000", "--seed", "1"], BELL),
        "draw": (q + ["draw", str(bell)], None),
        "info": (q + ["info", str(seven)], None),
        "usage": (q + ["run", str(bell), "--shots", "0"], None),
        "memory": (q + ["run", str(seven), "--max-memory", "1K"], None),
        "internal": (py + [INTERNAL_ERROR, "run", str(bell)], None),
        "imports": (py + [NO_HEAVY_IMPORTS, "run", str(bell), "--shots", "1000"], None),
    }
    if INVALID.is_dir():
        for n in INVALID_SAMPLE:
            jobs[n] = (q + ["run", str(INVALID / n)], None)
    started = {k: start(args, stdin) for k, (args, stdin) in jobs.items()}
    out = {k: finish(p, jobs[k][1]) for k, p in started.items()}
    out["_dir"] = (0, str(d), "")
    return out


def test_subprocess_run_text_and_module(procs) -> None:  # noqa: ANN001
    rc, out, err = procs["text"]
    assert rc == 0 and err == ""                        # stderr is a pipe: no progress output
    bell = Path(procs["_dir"][1]) / "bell.qasm"
    assert table_counts(out) == qsim.run(qsim.load_qasm(bell), 2000, seed=1).counts
    rc, out2, err = procs["stdin"]                      # python -m qsim.cli, QASM on stdin
    assert rc == 0 and out2.split("\n")[:3] == out.split("\n")[:3]
    state = out2.split("final state")[1].strip().split("\n")[2:]
    assert [line.split()[0] for line in state] == ["00", "11"]


def test_subprocess_json_and_plot(procs) -> None:  # noqa: ANN001
    rc, out, err = procs["json"]
    assert rc == 0 and set(json.loads(out)["counts"]) <= {"00", "11"}
    png = Path(procs["_dir"][1]) / "s.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE


def test_subprocess_draw_info(procs) -> None:  # noqa: ANN001
    assert procs["draw"][0] == 0 and "M→c[1]" in procs["draw"][1]
    assert procs["info"][0] == 0 and "2.0 KiB" in procs["info"][1]   # 2**7 * 16 bytes


def test_subprocess_exit_codes(procs) -> None:  # noqa: ANN001
    rc, out, err = procs["usage"]
    assert rc == 2 and "Traceback" not in err
    rc, out, err = procs["memory"]
    seven = Path(procs["_dir"][1]) / "seven.qasm"
    assert rc == 3 and err.count("\n") == 1 and err.startswith(f"{seven}:5:")
    rc, out, err = procs["internal"]
    assert rc == 1 and err == "qsim: internal error: RuntimeError: boom\n"


def test_subprocess_run_does_not_import_matplotlib_or_scipy(procs) -> None:  # noqa: ANN001
    rc, out, err = procs["imports"]
    assert rc == 0, err
    assert out.strip().split("\n")[-1] == "HEAVY []"


@pytest.mark.skipif(not INVALID.is_dir(), reason=f"shared fixtures not found at {INVALID}")
@pytest.mark.parametrize("name", INVALID_SAMPLE)
def test_subprocess_invalid_fixtures(procs, name: str) -> None:  # noqa: ANN001
    """Exit code and one stderr line from the installed command for a few representative files
    (every file goes through CliRunner in test_every_invalid_fixture)."""
    e = {e["file"]: e for e in json.loads((INVALID / "manifest.json").read_text())["files"]}[name]
    rc, out, err = procs[name]
    assert rc == e["exit"], err
    assert err.count("\n") == 1 and "Traceback" not in err and out == ""
    assert any(k.lower() in err.lower() for k in e["keywords"]), err
    if e["lines"]:
        assert any(err.startswith(f"{INVALID / name}:{k}:") for k in e["lines"]), err
    else:
        assert err.startswith(f"{INVALID / name}:"), err


# --- issue #15: limits, warnings, atomic output, signals, memory ---------------------------------
def test_max_gates_option_reaches_loader_and_engine(write, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
                                                     ) -> None:
    from qsim.resources import DEFAULT_MAX_GATES

    for cmd in ("run", "info", "draw"):
        help_text = invoke([cmd, "--help"]).stdout
        assert "--max-gates" in help_text and f"{DEFAULT_MAX_GATES}" in help_text
        assert "broadcast" in help_text                      # says what it counts
    # BELL expands to 4 instructions (h, cx and a 2-qubit measure broadcast): 3 is too few.
    path = write(BELL)
    for cmd in ("run", "info", "draw"):
        r = invoke([cmd, path, "--max-gates", "3"])
        assert r.exit_code == 2, (cmd, r.output)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"{path}:"), r.stderr
        assert invoke([cmd, path, "--max-gates", "4"]).exit_code == 0
    r = invoke(["run", "-", "--max-gates", "3"], input=BELL)
    assert r.exit_code == 2 and r.stderr.startswith("<stdin>:")
    assert invoke(["run", path, "--max-gates", "-1"]).exit_code == 2       # usage error

    seen: dict[str, object] = {}
    real_run = qsim.engine.run

    def spy(*a: object, **k: object) -> object:
        seen.update(k)
        return real_run(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr("qsim.engine.run", spy)
    assert invoke(["run", path, "--max-gates", "77"]).exit_code == 0
    assert seen["max_gates"] == 77
    assert invoke(["run", path]).exit_code == 0
    assert seen["max_gates"] == DEFAULT_MAX_GATES


def test_engine_gate_limit_is_exit_2_one_line(write) -> None:  # noqa: ANN001
    # A definition nested three deep: 1 statement when loading, 8 gates when simulated.
    text = HEADER + "gate g0 a { h a; h a; }\ngate g1 a { g0 a; g0 a; }\n" \
        "gate g2 a { g1 a; g1 a; }\nqreg q[1];\ng2 q[0];\n"
    r = invoke(["run", write(text), "--max-gates", "5", "--backend", "sparse"])
    if r.exit_code == 0:
        pytest.skip("the sparse backend does not count nested definitions as separate gates")
    assert r.exit_code == 2 and r.stderr.startswith("qsim: error: ") and r.stderr.count("\n") == 1


def test_qsim_warnings_one_line(write, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import warnings

    from qsim.errors import QsimWarning

    before = warnings.showwarning
    # a file without the OPENQASM 2.0; line: the loader warns and the run goes on
    r = invoke(["run", write('include "qelib1.inc";\nqreg q[1];\ncreg c[1];\nx q[0];\n'
                             "measure q -> c;\n"), "--shots", "5"])
    assert r.exit_code == 0 and table_counts(r.stdout) == {"1": 5}
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("qsim: warning: "), r.stderr
    assert "QsimWarning" not in r.stderr and "warnings.warn" not in r.stderr

    real_run = qsim.engine.run

    def slow(*a: object, **k: object) -> object:
        warnings.warn("per-shot fallback\nabout 40 s", QsimWarning, stacklevel=2)
        warnings.warn("per-shot fallback\nabout 40 s", QsimWarning, stacklevel=2)
        return real_run(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr("qsim.engine.run", slow)
    r = invoke(["run", write(BELL), "--shots", "5"])
    assert r.exit_code == 0
    assert r.stderr == "qsim: warning: per-shot fallback about 40 s\n"     # once, one line
    assert warnings.showwarning is before                                   # restored


def test_warning_erases_progress_line() -> None:
    s = FakeTTY()
    real = sys.stderr
    sys.stderr = s
    try:
        import time

        with progress("working", s, delay=0.0, interval=0.01):
            time.sleep(0.1)
            cli_mod.print_warning("careful")
            time.sleep(0.1)
    finally:
        sys.stderr = real
    text = s.getvalue()
    before, after = text.split("qsim: warning: careful\n")
    assert before.endswith("\r") and before.rstrip("\r").endswith(" ")   # spinner erased first
    assert "working" in after and after.endswith("\r")


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_failed_run_keeps_previous_output(write, tmp_path: Path,  # noqa: ANN001
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "out.json"
    out.write_text("previous\n")
    # bad OpenQASM: nothing written
    r = invoke(["run", write(HEADER + "qreg q[1];\nfoo q[0];\n"), "-o", str(out)])
    assert r.exit_code == 2 and out.read_text() == "previous\n"
    # a failure while writing the plot, after the JSON was complete: neither file changes, no
    # temporary file is left behind
    import qsim.plot

    class BrokenFigure:
        def savefig(self, f: object, **kw: object) -> None:
            f.write(b"partial")  # type: ignore[attr-defined]
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(qsim.plot, "plot_histogram", lambda *a, **k: BrokenFigure())
    png = out_dir / "h.png"
    png.write_bytes(b"old png")
    r = invoke(["run", write(BELL), "--format", "json", "-o", str(out), "--plot", str(png)])
    assert r.exit_code == 2
    assert r.stderr == f"qsim: error: cannot write {png}: No space left on device\n"
    assert out.read_text() == "previous\n" and png.read_bytes() == b"old png"
    assert _files(out_dir) == ["h.png", "out.json"]
    monkeypatch.undo()
    # interrupted while simulating: exit 130, the previous file untouched
    def interrupted(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("qsim.engine.run", interrupted)
    r = invoke(["run", write(BELL), "-o", str(out)])
    assert r.exit_code == 130 and r.stderr == "qsim: interrupted\n"
    assert out.read_text() == "previous\n" and _files(out_dir) == ["h.png", "out.json"]


def test_output_replaced_atomically_keeps_mode_and_links(write, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "out.json"
    out.write_text("previous\n")
    os.chmod(out, 0o640)
    r = invoke(["run", write(BELL), "--format", "json", "-o", str(out)])
    assert r.exit_code == 0 and json.loads(out.read_text())["shots"] == 1024
    assert out.stat().st_mode & 0o777 == 0o640
    link = tmp_path / "link.json"
    link.symlink_to(out)
    assert invoke(["run", write(X1), "--format", "json", "-o", str(link)]).exit_code == 0
    assert link.is_symlink() and json.loads(out.read_text())["counts"] == {"010": 1024}
    fresh = tmp_path / "fresh.txt"
    umask = os.umask(0o022)
    os.umask(umask)
    assert invoke(["draw", write(BELL), "-o", str(fresh)]).exit_code == 0
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask        # not mkstemp's 0600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    if os.path.exists("/dev/null"):                                 # devices are written in place
        assert invoke(["run", write(BELL), "-o", "/dev/null"]).exit_code == 0
        assert not Path("/dev/null").is_file() and Path("/dev/null").exists()


def test_unwritable_outputs_refused_before_simulating(write, tmp_path: Path,  # noqa: ANN001
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(*a: object, **k: object) -> None:
        raise AssertionError("simulated although an output cannot be written")

    monkeypatch.setattr("qsim.engine.run", must_not_run)
    monkeypatch.chdir(tmp_path)
    path = write(BELL)
    r = invoke(["run", path, "-o", "out.json", "--plot", "nodir/h.png"])
    assert r.exit_code == 2, r.output
    assert r.stderr == "qsim: error: cannot write nodir/h.png: No such file or directory\n"
    assert not (tmp_path / "out.json").exists()
    (tmp_path / "afile").write_text("x")
    r = invoke(["run", path, "-o", "afile/out.json"])
    assert r.exit_code == 2 and r.stderr.endswith(": Not a directory\n")
    r = invoke(["draw", path, "-o", "nodir/d.txt"])
    assert r.exit_code == 2 and "nodir/d.txt" in r.stderr
    (tmp_path / "adir").mkdir()
    for args in (["-o", "adir"], ["--plot", "adir.png"]):
        if args[0] == "--plot":
            (tmp_path / "adir.png").mkdir()
        r = invoke(["run", path, *args])
        assert r.exit_code == 2 and "Traceback" not in r.output
    if os.geteuid() != 0:                                  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        r = invoke(["run", path, "-o", str(ro / "out.json")])
        assert r.exit_code == 2 and "Permission denied" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "adir.png", "afile", "circ.qasm"]


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_file_size_limit_leaves_previous_file_intact(tmp_path: Path) -> None:
    import resource
    import signal

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # so that write() fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    bell = tmp_path / "bell.qasm"
    bell.write_text(BELL)
    out = tmp_path / "out.json"
    out.write_text('{"previous": true}\n')
    e = dict(os.environ)
    e.pop("QSIM_DEBUG", None)
    p = subprocess.run([sys.executable, "-m", "qsim.cli", "run", str(bell), "--format", "json",
                        "--memory", "--shots", "5000", "-o", str(out)], capture_output=True,
                       text=True, preexec_fn=limit, env=e, timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stderr == f"qsim: error: cannot write {out}: {os.strerror(27)}\n"   # EFBIG
    assert out.read_text() == '{"previous": true}\n'
    assert _files(tmp_path) == ["bell.qasm", "out.json"]


def _long_circuit(path: Path, n: int = 22, layers: int = 400) -> None:
    """About 17,000 gates on 22 qubits: over a minute to simulate here (64 MiB of state)."""
    lines = [HEADER.rstrip("\n"), f"qreg q[{n}];"]
    for k in range(layers):
        lines += [f"rx({0.1 * (k + 1) + 0.01 * i:.3f}) q[{i}];" for i in range(n)]
        lines += [f"cx q[{i}], q[{i + 1}];" for i in range(n - 1)]
    path.write_text("\n".join(lines) + "\n")


def _wait_past_startup(p: subprocess.Popen, cpu_s: float = 1.5, limit_s: float = 60.0) -> None:
    """Wait until the child has used ``cpu_s`` seconds of CPU: past its imports (about 0.35 s of
    CPU), so inside the command. A fixed sleep was not enough on a loaded CI machine, where the
    imports alone took longer than 1.5 s of wall time and the interrupt landed before ``main``."""
    import time

    stat = Path(f"/proc/{p.pid}/stat")
    if not stat.exists():               # no procfs: fall back to wall time
        time.sleep(3.0)
        return
    tick = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and p.poll() is None:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        if (int(fields[11]) + int(fields[12])) / tick >= cpu_s:     # utime + stime
            return
        time.sleep(0.05)


def test_sigint_exits_130_with_one_line(tmp_path: Path) -> None:
    import signal
    import time

    circ = tmp_path / "long.qasm"
    _long_circuit(circ)
    out = tmp_path / "out.txt"
    out.write_text("previous\n")
    # numpy kernels: numba's first-use compile is a separate case (the next two tests)
    p = start([sys.executable, "-m", "qsim.cli", "run", str(circ), "--shots", "1",
               "-o", str(out)], env={"QSIM_KERNELS": "numpy"})
    _wait_past_startup(p)
    assert p.poll() is None, p.communicate()
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    rc, stdout, stderr = finish(p)
    assert time.monotonic() - t0 < 5
    assert rc == 130 and stderr == "qsim: interrupted\n" and stdout == ""
    assert out.read_text() == "previous\n" and _files(tmp_path) == ["long.qasm", "out.txt"]


def test_interrupt_dropped_by_a_c_callback_is_not_lost() -> None:
    """numba calls Python back from C while it compiles; a Ctrl-C raised there used to be
    printed as "Exception ignored" and dropped (the run went on). With the CLI's handler
    (qsim.interrupts.install) it is kept pending, not printed, and raised by the next check.
    The callback here is a ctypes one, which drops exceptions the same way."""
    code = (
        "import ctypes, os, signal, time\n"
        "from qsim import interrupts\n"
        "interrupts.install()\n"
        "def body():\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(0.05)\n"
        "ctypes.CFUNCTYPE(None)(body)()\n"
        "print('continued', flush=True)\n"
        "try:\n"
        "    interrupts.check()\n"
        "except KeyboardInterrupt:\n"
        "    print('raised', flush=True)\n"
        "interrupts.check()\n"  # raised once only
        "print('done', flush=True)\n")
    rc, stdout, stderr = finish(start([sys.executable, "-c", code]))
    assert (rc, stdout, stderr) == (0, "continued\nraised\ndone\n", "")


def test_a_dropped_interrupt_ends_the_command_with_130(write,  # noqa: ANN001
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from qsim import interrupts

    monkeypatch.setattr(interrupts, "_pending", True)  # as a dropped Ctrl-C leaves it
    r = invoke(["run", write(BELL)])
    assert r.exit_code == 130 and r.stderr == "qsim: interrupted\n", r.output
    assert not interrupts._pending  # noqa: SLF001


def test_keyboard_interrupt_anywhere_is_130(write, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import qsim.qasm

    def interrupted(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(qsim.qasm, "load_qasm", interrupted)
    for cmd in ("run", "draw", "info"):
        r = invoke([cmd, write(BELL)])
        assert r.exit_code == 130 and r.stderr == "qsim: interrupted\n", r.output
        assert "Aborted" not in r.output


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_stdout_full_is_output_error(tmp_path: Path) -> None:
    bell = tmp_path / "bell.qasm"
    bell.write_text(BELL)
    e = dict(os.environ)
    e.pop("QSIM_DEBUG", None)
    for args in (["run", str(bell)], ["run", str(bell), "--memory", "--shots", "100000"],
                 ["info", str(bell)], ["draw", str(bell)]):
        with open("/dev/full", "w") as full:
            p = subprocess.run([sys.executable, "-m", "qsim.cli", *args], stdout=full,
                               stderr=subprocess.PIPE, text=True, env=e, timeout=120)
        assert p.returncode == 2, (args, p.stderr)
        assert p.stderr == f"qsim: error: cannot write output: {os.strerror(28)}\n", p.stderr


def test_closed_pipe_is_quiet(tmp_path: Path) -> None:
    bell = tmp_path / "bell.qasm"
    bell.write_text(BELL)
    p = start([sys.executable, "-m", "qsim.cli", "run", str(bell), "--memory", "--shots",
               "300000"])
    assert p.stdout is not None and p.stderr is not None
    first = p.stdout.readline()
    p.stdout.close()                    # as `| head -1` does
    err = p.stderr.read()
    p.wait(timeout=120)
    assert first.split() == ["outcome", "count", "probability"]
    assert err == ""                    # no message, no traceback (as before issue #15)
    assert p.returncode in (0, 1)


def test_bare_memory_error_message_not_empty(write, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    def oom(*a: object, **k: object) -> None:
        raise MemoryError

    monkeypatch.setattr("qsim.engine.run", oom)
    r = invoke(["run", write(BELL)])
    assert r.exit_code == 3 and r.stderr == "qsim: not enough memory: allocation failed\n"


def test_state_listing_refused_when_it_would_not_fit(write, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
                                                     ) -> None:
    # 12 qubits: the state is 64 KiB and fits in 1M; listing all 4,096 rows does not (some
    # 300+ bytes a row in text, more in CSV and JSON).
    twelve = write(HEADER + "qreg q[12];\nx q[0];\n")
    for flag in ("--statevector", "--probabilities"):
        for fmt in ("text", "csv", "json"):
            r = invoke(["run", twelve, "--all", flag, "--format", fmt, "--max-memory", "1M"])
            assert r.exit_code == 3, (flag, fmt, r.output)
            assert r.stderr.count("\n") == 1 and r.stdout == ""
            assert "4,096 basis states" in r.stderr and flag in r.stderr
    # Without --all only the one basis state above the threshold is listed: that fits.
    r = invoke(["run", twelve, "--statevector", "--max-memory", "1M"])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip().split("\n")[-1].split()[0] == "1" + "0" * 11
    assert invoke(["run", twelve, "--all", "--statevector", "--max-memory", "64M"]).exit_code == 0
    # --all: 2**n rows are known before simulating, so the refusal comes first

    def must_not_run(*a: object, **k: object) -> None:
        raise AssertionError("simulated although the listing cannot fit")

    monkeypatch.setattr("qsim.engine.run", must_not_run)
    r = invoke(["run", twelve, "--all", "--probabilities", "--max-memory", "1M"])
    assert r.exit_code == 3 and "4,096" in r.stderr


@pytest.mark.parametrize("fmt", ["text", "csv", "json"])
def test_state_listing_estimate_is_honest(write, fmt: str) -> None:  # noqa: ANN001
    """The estimate covers what building the listing really allocates (tracemalloc peak of a
    --all run less the peak of the same run without it), without being wildly over."""
    import gc
    import tracemalloc

    n = 14
    path = write(HEADER + f"qreg q[{n}];\nh q;\n")
    base = ["run", path, "--shots", "10", "--format", fmt, "-o", os.devnull]

    def peak(args: list[str]) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            assert invoke(args).exit_code == 0
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(base)                                     # warm-up: imports and caches
    for flag in ("--statevector", "--probabilities"):
        used = peak(base + [flag, "--all"]) - peak(base)
        estimate = cli_mod.state_listing_bytes(2**n, n, fmt=fmt,
                                               statevector=flag == "--statevector",
                                               probabilities=flag == "--probabilities")
        assert used <= estimate <= 2 * used, (flag, used, estimate)
    if fmt == "json":                              # JSON can hold both objects
        used = peak(base + ["--statevector", "--probabilities", "--all"]) - peak(base)
        estimate = cli_mod.state_listing_bytes(2**n, n, fmt=fmt, statevector=True,
                                               probabilities=True)
        assert used <= estimate <= 2 * used, (used, estimate)


# --- issue #16: long tables, marginals, pictures, qsim plot ---------------------------------------
H6 = HEADER + "qreg q[6];\ncreg c[6];\nh q;\nmeasure q -> c;\n"


def test_counts_table_top_20_by_default_and_all(write) -> None:  # noqa: ANN001
    # Deliberate change (issue #16): the text table used to list every outcome; it now lists the
    # 20 most frequent and says how many were left out, unless --all (or --top K) is given.
    path = write(H6)
    full = qsim.run(qsim.load_qasm(path), 1000, seed=1).counts
    assert len(full) > 30                       # 64 equally likely outcomes
    ordered = sorted(full.items(), key=lambda kv: (-kv[1], kv[0]))
    r = invoke(["run", path, "--shots", "1000", "--seed", "1"])
    assert r.exit_code == 0, r.output
    assert list(table_counts(r.stdout).items()) == ordered[:cli_mod.DEFAULT_TOP] == ordered[:20]
    lines = r.stdout.strip().split("\n")
    rest = sum(c for _, c in ordered[20:])
    assert lines[21] == (f"({len(full) - 20} more outcomes, {rest / 1000:.2f} of the shots; "
                         f"--all shows every outcome)")
    assert "1000 shots" in lines[22] and len(lines) == 23
    assert len(lines[1].split()[3]) == cli_mod.BAR_WIDTH       # scaled to the largest row
    r = invoke(["run", path, "--shots", "1000", "--seed", "1", "--all"])
    assert table_counts(r.stdout) == full and "more outcomes" not in r.stdout
    # CSV and JSON list every outcome whatever the table shows
    r = invoke(["run", path, "--shots", "1000", "--seed", "1", "--format", "csv"])
    assert len(r.stdout.strip().split("\n")) == 1 + len(full)
    r = invoke(["run", path, "--shots", "1000", "--seed", "1", "--format", "json"])
    assert json.loads(r.stdout)["counts"] == full


def test_top_others_row_does_not_flatten_bars(write) -> None:  # noqa: ANN001
    # 8 equally likely outcomes, --top 3: the (5 others) row holds ~5/8 of the shots. The kept
    # rows' bars are scaled to the largest kept row (a full bar), and the summed row has no bar.
    text = HEADER + "qreg q[3];\ncreg c[3];\nh q;\nmeasure q -> c;\n"
    r = invoke(["run", write(text), "--shots", "800", "--seed", "2", "--top", "3"])
    rows = r.stdout.strip().split("\n")[1:-1]
    assert len(rows) == 4 and rows[-1].startswith("(5 others)")
    assert len(rows[0].split()[3]) == cli_mod.BAR_WIDTH
    assert all(len(row.split()) == 4 for row in rows[:3])      # outcome, count, p, bar
    others = rows[-1].split()
    assert len(others) == 4 and int(others[2]) > int(rows[0].split()[1])   # no bar
    assert float(others[3]) == pytest.approx(int(others[2]) / 800, abs=5e-5)
    assert "more outcomes" not in r.stdout


def test_marginal_table_plot_json_csv(write, tmp_path: Path) -> None:  # noqa: ANN001
    # GHZ-like: q0 random, q1 = q0, q2 = 1 - q0; c = (c[0], c[1]), d = (d[0]) = (q2).
    text = HEADER + "qreg q[3];\ncreg c[2];\ncreg d[1];\nh q[0];\ncx q[0], q[1];\n" \
        "cx q[0], q[2];\nx q[2];\nmeasure q[0] -> c[0];\nmeasure q[1] -> c[1];\n" \
        "measure q[2] -> d[0];\n"
    path = write(text)
    full = qsim.run(qsim.load_qasm(path), 400, seed=5).counts
    assert set(full) == {"00 1", "11 0"}
    n0 = full["00 1"]
    base = ["run", path, "--shots", "400", "--seed", "5"]
    expected = {
        "c[0:1]": {"0": n0, "1": 400 - n0},
        "c[0:2]": {"00": n0, "11": 400 - n0},
        "c[0],d[0]": {"01": n0, "10": 400 - n0},
        "d[0],c[1]": {"10": n0, "01": 400 - n0},
        "d": {"1": n0, "0": 400 - n0},
        "c[-1]": {"0": n0, "1": 400 - n0},
        "0,2": {"01": n0, "10": 400 - n0},         # positions in "001" / "110"
    }
    for spec, want in expected.items():
        r = invoke(base + ["--marginal", spec])
        assert r.exit_code == 0, (spec, r.output)
        assert table_counts(r.stdout) == want, spec
        assert f"marginal of {spec}" in r.stdout
    # little-endian keys: the first bit chosen is rightmost, as in Qiskit
    r = invoke(base + ["--marginal", "c[0],d[0]", "--bit-order", "little"])
    assert table_counts(r.stdout) == {"10": n0, "01": 400 - n0}
    data = json.loads(invoke(base + ["--marginal", "c[0:2]", "--format", "json"]).stdout)
    assert data["counts"] == full                                # the full counts stay
    assert data["marginal"] == {"spec": "c[0:2]", "positions": [0, 1],
                                "counts": {"00": n0, "11": 400 - n0}}
    blocks = invoke(base + ["--marginal", "d", "--format", "csv"]).stdout.strip().split("\n\n")
    assert len(blocks[0].split("\n")) == 3 and blocks[1].split("\n")[0] == \
        "marginal,count,probability"
    png = tmp_path / "m.png"
    r = invoke(base + ["--marginal", "c[0:1]", "--plot", str(png)])
    assert r.exit_code == 0 and png.read_bytes()[:8] == PNG_SIGNATURE
    for bad in ("x[0]", "c[2]", "c[1:1]", "0,0", "c[", "3", "c[0],1", "c[::0]", ""):
        r = invoke(base + ["--marginal", bad])
        assert r.exit_code == 2, (bad, r.output)
        assert r.stderr.count("\n") == 1 and "--marginal" in r.stderr, (bad, r.stderr)
        assert "Traceback" not in r.output


def test_draw_pictures_and_text_output(write, tmp_path: Path) -> None:  # noqa: ANN001
    path = write(BELL)
    for name, magic in (("c.png", PNG_SIGNATURE), ("c.svg", b"<svg"), ("c.pdf", b"%PDF-")):
        out = tmp_path / name
        r = invoke(["draw", path, "-o", str(out)])
        assert r.exit_code == 0 and r.stdout == "", r.output
        data = out.read_bytes()
        assert magic in data[:2000], name
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]   # atomic
    assert PNG_SIGNATURE == (tmp_path / "c.png").read_bytes()[:8]
    txt = tmp_path / "c.txt"
    assert invoke(["draw", path, "-o", str(txt)]).exit_code == 0
    assert txt.read_text(encoding="utf-8") == invoke(["draw", path]).stdout
    help_text = " ".join(invoke(["draw", "--help"]).stdout.split())
    assert "-o, --output" in help_text and ".png" in help_text and "text diagram" in help_text


def _json_run(write, tmp_path: Path, seed: int, name: str) -> Path:  # noqa: ANN001
    out = tmp_path / name
    r = invoke(["run", write(H6), "--shots", "300", "--seed", str(seed), "--format", "json",
                "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_plot_command_from_json(write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import qsim.plot as plot_mod

    a = _json_run(write, tmp_path, 1, "a.json")
    b = _json_run(write, tmp_path, 2, "b.json")
    png = tmp_path / "h.png"
    r = invoke(["plot", str(a), "--plot", str(png)])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    calls: list[tuple[object, dict]] = []
    real = plot_mod.plot_histogram

    def spy(data, **kw):  # noqa: ANN001, ANN003, ANN202
        calls.append((data, kw))
        return real(data, **kw)

    monkeypatch.setattr(plot_mod, "plot_histogram", spy)
    svg = tmp_path / "cmp.svg"
    r = invoke(["plot", str(a), str(b), "--legend", "A,B", "--top", "5", "--title", "T",
                "--plot", str(svg)])
    assert r.exit_code == 0, r.output
    assert b"<svg" in svg.read_bytes()[:2000]
    data, kw = calls[-1]
    assert [d.counts for d in data] == [json.loads(a.read_text())["counts"],
                                        json.loads(b.read_text())["counts"]]
    assert kw["legend"] == ["A", "B"] and kw["top"] == 5 and kw["title"] == "T"
    # marginal over the first two bits, without simulating again
    r = invoke(["plot", str(a), "--marginal", "c[0:2]", "--plot", str(png)])
    assert r.exit_code == 0, r.output
    counts = json.loads(a.read_text())["counts"]
    want: Counter[str] = Counter()
    for k, v in counts.items():
        want[k[:2]] += v
    assert calls[-1][0] == dict(want)
    # Result.to_json output reads too
    res = tmp_path / "r.json"
    qsim.run(qsim.load_qasm(write(BELL)), 50, seed=1).to_json(res)
    assert invoke(["plot", str(res), "--plot", str(png)]).exit_code == 0
    assert calls[-1][0].counts == qsim.run(qsim.load_qasm(write(BELL)), 50, seed=1).counts


def test_plot_command_errors_one_line(write, tmp_path: Path) -> None:  # noqa: ANN001
    a = _json_run(write, tmp_path, 1, "a.json")
    png = tmp_path / "h.png"
    (tmp_path / "text.json").write_text("this is not json")
    (tmp_path / "keys.json").write_text('{"foo": 1}')
    (tmp_path / "list.json").write_text("[1, 2]")
    cases = {
        "missing": [str(tmp_path / "nope.json"), "--plot", str(png)],
        "not json": [str(tmp_path / "text.json"), "--plot", str(png)],
        "wrong keys": [str(tmp_path / "keys.json"), "--plot", str(png)],
        "a list": [str(tmp_path / "list.json"), "--plot", str(png)],
        "legend": [str(a), "--legend", "A,B", "--plot", str(png)],
        "no output": [str(a)],
        "marginal": [str(a), "--marginal", "z[0]", "--plot", str(png)],
    }
    for what, args in cases.items():
        r = invoke(["plot", *args])
        assert r.exit_code == 2, (what, r.output)
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.output, (what, r.stderr)
    assert not png.exists()
    assert "counts" in invoke(["plot", str(tmp_path / "keys.json"), "--plot", str(png)]).stderr
    r = invoke(["plot", str(a), "--plot", str(tmp_path / "h.txt")])
    assert r.exit_code == 2 and "png" in r.stderr


def test_show_with_plot_without_display(write, tmp_path: Path,  # noqa: ANN001
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    out = tmp_path / "x.pdf"
    r = invoke(["run", write(BELL), "--show", "--plot", str(out)])
    assert r.exit_code == 0 and out.read_bytes()[:5] == b"%PDF-"
    assert "--show ignored" in r.stderr and str(out) in r.stderr
    assert "use --plot" not in r.stderr and r.stderr.count("\n") == 1
    r = invoke(["run", write(BELL), "--show"])
    assert "use --plot FILE" in r.stderr


def test_opaque_gates_draw_and_summarise_but_do_not_run(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "op.qasm"
    path.write_text(HEADER + "opaque magic(a) q, r;\nqreg q[2];\nmagic(0.5) q[0], q[1];\n")
    drawn = invoke(["draw", str(path)])
    assert drawn.exit_code == 0 and "magic(0.5)" in drawn.output
    assert invoke(["info", str(path)]).exit_code == 0
    ran = invoke(["run", str(path)])
    assert ran.exit_code == 2
    assert f"{path}:5:1: gate 'magic' is opaque" in ran.stderr


# --- output format from the -o suffix; the density backend's listings ------------------------
@pytest.mark.parametrize("suffix,kind", [("json", "json"), ("JSON", "json"), ("csv", "csv"),
                                         ("txt", "text")])
def test_output_suffix_sets_the_format(write, tmp_path: Path, suffix: str, kind: str) -> None:  # noqa: ANN001
    out = tmp_path / f"counts.{suffix}"
    r = invoke(["run", write(BELL), "--shots", "500", "--seed", "4", "-o", str(out)])
    assert r.exit_code == 0, r.output
    expected = qsim.run(qsim.load_qasm(write(BELL)), 500, seed=4).counts
    text = out.read_text()
    if kind == "json":
        assert json.loads(text)["counts"] == expected
    elif kind == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["outcome", "count", "probability"]
        assert {k: int(c) for k, c, _ in rows[1:]} == expected
    else:
        assert table_counts(text) == expected
    # an explicit --format wins over the suffix
    r = invoke(["run", write(BELL), "--shots", "500", "--seed", "4", "-o", str(out),
                "--format", "text"])
    assert r.exit_code == 0 and table_counts(out.read_text()) == expected


def test_density_backend_lists_the_diagonal(write) -> None:  # noqa: ANN001
    # H on qubit 0 of |00>: P(00) = P(10) = 1/2 by hand
    src = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\n'
    r = invoke(["run", write(src), "--backend", "density", "--probabilities", "--format",
                "json", "--shots", "10", "--seed", "1"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["probabilities"] == pytest.approx({"00": 0.5, "10": 0.5})
    # X on qubit 0, then depolarizing p = 0.3 on it: P(qubit 0 = 0) = 2p/3 = 0.2
    src = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nx q[0];\n'
    r = invoke(["run", write(src, "x.qasm"), "--backend", "density", "--probabilities",
                "--format", "json", "--noise", "depolarizing=0.3", "--shots", "10", "--seed", "1"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["probabilities"] == pytest.approx({"00": 0.2, "10": 0.8})
    r = invoke(["run", write(src), "--backend", "density", "--statevector"])
    assert r.exit_code == 2 and "density matrix" in r.stderr and "Traceback" not in r.output


def test_deeply_nested_json_files_exit_2(write, tmp_path: Path) -> None:  # noqa: ANN001
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    for args in (["plot", str(deep), "--plot", str(tmp_path / "h.png")],
                 ["run", write(BELL), "--noise-model", str(deep)]):
        r = invoke(args)
        assert r.exit_code == 2, r.output
        assert "nested too deeply" in r.stderr and "Traceback" not in r.output
