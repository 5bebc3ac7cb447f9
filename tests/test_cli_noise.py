"""``qsim run --noise / --noise-model / --compare``.

Two kinds of expected values: the counts of ``qsim.run`` with a model built by hand in Python
(same seed, so equal counts: the option maps to that model), and closed forms checked
statistically (depolarizing p on |0> reads 1 with probability 2p/3; T1 decay e^{-t/T1}; readout
P(0|1)), within 5 standard deviations.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

import qsim
from qsim import NoiseModel
from qsim.cli import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "noise_model.json"
HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
BELL = HEADER + "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n"
ID1 = HEADER + "qreg q[1];\ncreg c[1];\nid q[0];\nmeasure q[0] -> c[0];\n"
X1 = HEADER + "qreg q[1];\ncreg c[1];\nx q[0];\nmeasure q[0] -> c[0];\n"
X_CX = HEADER + "qreg q[2];\ncreg c[2];\nx q[0];\ncx q[0], q[1];\nmeasure q -> c;\n"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

@pytest.fixture
def write(tmp_path: Path):  # noqa: ANN201
    def _write(text: str, name: str = "circ.qasm") -> str:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return str(p)

    return _write


def invoke(args: list[str]):  # noqa: ANN201
    return CliRunner().invoke(cli, args)


def run_json(args: list[str]) -> dict:
    r = invoke(["run", *args, "--format", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def within(count: int, shots: int, p: float, sigmas: float = 5.0) -> bool:
    sd = math.sqrt(shots * p * (1 - p))
    return abs(count - shots * p) <= sigmas * sd + 1


# --- the options build the documented model ----------------------------------------------------
@pytest.mark.parametrize("specs, model", [
    (["depolarizing=0.05"], NoiseModel().add(qsim.depolarizing(0.05))),
    (["depolarizing2=0.1"], NoiseModel().add(qsim.depolarizing(0.1, 2))),
    (["bit_flip=0.1", "phase-flip=0.2"],
     NoiseModel().add(qsim.bit_flip(0.1)).add(qsim.phase_flip(0.2))),
    (["bit_phase_flip=0.1", "amplitude_damping=0.2", "phase_damping=0.3"],
     NoiseModel().add(qsim.bit_phase_flip(0.1)).add(qsim.amplitude_damping(0.2))
     .add(qsim.phase_damping(0.3))),
    (["thermal=50,30,2"], NoiseModel().add(qsim.thermal_relaxation(50, 30, 2))),
    (["readout=0.02"], NoiseModel().readout(0.02)),
    (["readout=0.01,0.05", "depolarizing=0.01"],
     NoiseModel().readout((0.01, 0.05)).add(qsim.depolarizing(0.01))),
])
def test_noise_options_equal_the_python_model(write, specs, model):
    args = [write(X_CX), "--shots", "3000", "--seed", "11"]
    for s in specs:
        args += ["--noise", s]
    out = run_json(args)
    assert NoiseModel.from_dict(out["noise_model"]) == model
    expected = qsim.run(qsim.loads_qasm(X_CX), 3000, seed=11, noise=model)
    assert out["counts"] == expected.counts
    assert out["backend"] == expected.backend


def test_depolarizing_on_zero_reads_one_with_two_thirds_p(write):
    p, shots = 0.3, 20000
    out = run_json([write(ID1), "--shots", str(shots), "--seed", "5", "--noise",
                    f"depolarizing={p}"])
    assert within(out["counts"].get("1", 0), shots, 2 * p / 3)


def test_depolarizing2_follows_only_two_qubit_gates(write):
    # x q0 (no 2-qubit noise), cx: 2-qubit depolarizing p on |11>; qubit 1 reads 0 when the
    # Pauli on it is X or Y: 8 of the 15 strings
    p, shots = 0.3, 20000
    out = run_json([write(X_CX), "--shots", str(shots), "--seed", "6", "--noise",
                    f"depolarizing2={p}"])
    q1_zero = sum(c for k, c in out["counts"].items() if k[1] == "0")
    assert within(q1_zero, shots, 8 * p / 15)


def test_thermal_decay_and_readout(write):
    t1, t2, t, shots = 10.0, 15.0, 4.0, 20000
    out = run_json([write(X1), "--shots", str(shots), "--seed", "7", "--noise",
                    f"thermal={t1},{t2},{t}"])
    assert within(out["counts"].get("1", 0), shots, math.exp(-t / t1))
    out = run_json([write(X1), "--shots", str(shots), "--seed", "8", "--noise",
                    "readout=0.01,0.2"])
    assert within(out["counts"].get("0", 0), shots, 0.2)


def test_noise_model_file(write):
    out = run_json([write(BELL), "--shots", "2000", "--seed", "3", "--noise-model",
                    str(EXAMPLE)])
    model = NoiseModel.load(EXAMPLE)
    assert NoiseModel.from_dict(out["noise_model"]) == model
    assert out["counts"] == qsim.run(qsim.loads_qasm(BELL), 2000, seed=3, noise=model).counts
    # --noise rules come after the file's rules
    out = run_json([write(BELL), "--shots", "10", "--seed", "3", "--noise-model", str(EXAMPLE),
                    "--noise", "bit_flip=0.1"])
    both = NoiseModel.load(EXAMPLE).add(qsim.bit_flip(0.1))
    assert NoiseModel.from_dict(out["noise_model"]) == both


def test_text_output_names_the_noise(write):
    r = invoke(["run", write(BELL), "--seed", "1", "--noise", "depolarizing=0.05",
                "--noise", "readout=0.02"])
    assert r.exit_code == 0, r.output
    assert ("noise: every gate: depolarizing(p=0.05); readout on every qubit: P(1|0)=0.02, "
            "P(0|1)=0.02") in r.stdout
    plain = invoke(["run", write(BELL), "--seed", "1", "--format", "json"])
    assert "noise_model" not in json.loads(plain.stdout)


# --- --compare ------------------------------------------------------------------------------------
def test_compare_table_json_and_csv(write):
    path = write(BELL)
    args = ["run", path, "--shots", "1000", "--seed", "2", "--noise", "bit_flip=0.2",
            "--compare"]
    ideal = qsim.run(qsim.loads_qasm(BELL), 1000, seed=2).counts
    noisy = qsim.run(qsim.loads_qasm(BELL), 1000, seed=2,
                     noise=NoiseModel().add(qsim.bit_flip(0.2))).counts
    r = invoke(args)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["outcome", "ideal", "noisy", "p(ideal)", "p(noisy)"]
    rows = {ln.split()[0]: (int(ln.split()[1]), int(ln.split()[2])) for ln in lines[1:5]}
    assert rows == {k: (ideal.get(k, 0), noisy.get(k, 0)) for k in ("00", "01", "10", "11")}
    assert "ideal: the same circuit and seed without noise" in r.stdout
    out = json.loads(invoke(args + ["--format", "json"]).stdout)
    assert out["ideal_counts"] == ideal and out["counts"] == noisy
    text = invoke(args + ["--format", "csv"]).stdout
    assert text.splitlines()[0] == "outcome,count,probability,ideal_count,ideal_probability"
    assert len(text.splitlines()) == 1 + len(set(ideal) | set(noisy))


def test_compare_with_marginal_and_plot(write, tmp_path):
    png = tmp_path / "cmp.png"
    out = run_json([write(BELL), "--shots", "500", "--seed", "4", "--noise", "bit_flip=0.2",
                    "--compare", "--marginal", "c[0]", "--plot", str(png)])
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert sum(out["marginal"]["ideal_counts"].values()) == 500
    assert out["marginal"]["ideal_counts"] == {
        k: sum(c for key, c in out["ideal_counts"].items() if key[0] == k) for k in "01"}


def test_saved_noisy_result_replots(write, tmp_path):
    saved = tmp_path / "noisy.json"
    r = invoke(["run", write(BELL), "--seed", "1", "--noise", "depolarizing=0.1", "--format",
                "json", "-o", str(saved)])
    assert r.exit_code == 0, r.output
    png = tmp_path / "again.png"
    r = invoke(["plot", str(saved), "--plot", str(png)])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == PNG_SIGNATURE


# --- bad input: exit 2, one line ------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--noise", "depolarizing=x"], "'x' is not a number"),
    (["--noise", "depolarizing=1.5"], r"depolarizing: p: expected a number in [0, 1]"),
    (["--noise", "depolarizing"], "expected NAME=VALUE"),
    (["--noise", "depolarise=0.1"], "NAME one of depolarizing"),
    (["--noise", "thermal=1,2"], "thermal takes 3 values, got 2"),
    (["--noise", "thermal=10,30,1"], "t2 must be <= 2*t1"),
    (["--noise", "readout=0.1,0.2,0.3"], "readout takes 1 or 2 values"),
    (["--noise", "bit_flip=-0.1"], "bit_flip: p"),
    (["--compare"], "--compare needs --noise or --noise-model"),
    (["--noise", "bit_flip=0.1", "--statevector"], "a noisy run's state is mixed"),
])
def test_bad_noise_options(write, args, message):
    r = invoke(["run", write(BELL), *args])
    assert r.exit_code == 2
    err = r.stderr.strip()
    assert "\n" not in err and message in err and err.startswith("qsim: error:")


def test_bad_noise_model_file(write, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "bit_flip", '
                   '"p": "x"}}]}')
    r = invoke(["run", write(BELL), "--noise-model", str(bad)])
    assert r.exit_code == 2
    assert r.stderr.strip() == (f'qsim: error: noise model {bad}: rules[0].channel.p: expected '
                                f'a number in [0, 1], got "x"')
    bad.write_text("{oops")
    r = invoke(["run", write(BELL), "--noise-model", str(bad)])
    assert r.exit_code == 2 and "not valid JSON" in r.stderr and "\n" not in r.stderr.strip()
    r = invoke(["run", write(BELL), "--noise-model", str(tmp_path / "missing.json")])
    assert r.exit_code == 2


def test_a_rule_for_an_unknown_gate_warns_once(write, tmp_path):
    typo = tmp_path / "typo.json"
    typo.write_text('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "bit_flip", '
                    '"p": 0.5}, "gates": ["cnot"]}]}')
    r = invoke(["run", write(BELL), "--seed", "1", "--noise-model", str(typo), "--format",
                "json"])
    assert r.exit_code == 0
    assert r.stderr.splitlines() == ["qsim: warning: noise model: rules[0] names the gate "
                                     "'cnot', which is neither a library gate nor defined in "
                                     "the circuit; it applies to nothing"]
    assert set(json.loads(r.stdout)["counts"]) == {"00", "11"}    # the rule applied to nothing


def test_help_describes_the_options():
    text = " ".join(invoke(["run", "--help"]).stdout.split())
    for words in ("--noise NAME=VALUE[,VALUE]", "depolarizing2=P", "thermal=T1,T2,TIME",
                  "readout=P or readout=P01,P10", "--noise-model FILE", "--compare",
                  "2P/3"):
        assert words in text, words
