"""Conformance with the shared OpenQASM 2 corpus (``../shared/qasm`` next to the repository).

* every ``valid/*.qasm`` loads, and its outcome distribution equals ``valid/expected.json``
  exactly (computed from the state vector when every measurement is terminal, else sampled);
* every ``invalid/*.qasm`` raises QasmError at one of the manifest's lines with one of its
  keywords, or, for the "exit 3" memory cases, loads and then makes the simulator raise
  SimulationError.

When the corpus is absent (``../shared/qasm``, relative to the repository root, or one of its two
manifests) these tests are skipped, and the reason names the paths that were looked for.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import qsim
from qsim.bits import format_bits
from qsim.compile import lower, plan
from qsim.errors import QasmError, SimulationError
from qsim.qasm import load_qasm

ROOT = Path(__file__).resolve().parents[1]  # the repository root
SHARED = ROOT.parent / "shared"  # ../shared, relative to the repository root
QASM = SHARED / "qasm"
VALID_MANIFEST = QASM / "valid" / "expected.json"
INVALID_MANIFEST = QASM / "invalid" / "manifest.json"
_ABSENT = [p for p in (VALID_MANIFEST, INVALID_MANIFEST) if not p.is_file()]
REASON = (
    "shared OpenQASM conformance files are absent: looked for "
    + " and ".join(str(p) for p in _ABSENT)
    + f" (the corpus is expected in ../shared/qasm relative to the repository root {ROOT}"
    + ("" if SHARED.is_dir() else f"; {SHARED} does not exist") + ")"
)


def _json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {"files": []}


# Without the corpus, one placeholder case per test carries the skip reason.
_MISSING = [{"file": "(corpus missing)"}]
VALID = _json(VALID_MANIFEST)["files"] or _MISSING
INVALID = _json(INVALID_MANIFEST)["files"] or _MISSING
needs_shared = pytest.mark.skipif(bool(_ABSENT), reason=REASON)


def exact_distribution(circuit: qsim.Circuit) -> dict[str, float] | None:
    """Exact outcome probabilities of a circuit whose measurements are all terminal (else None),
    keyed like Result.counts (registers in declaration order, c[0] leftmost)."""
    p = plan(circuit, lower(circuit))
    if not p.terminal:
        return None
    probs = qsim.simulate(circuit).probabilities_array(p.deferred)
    m = len(p.deferred)
    sources = dict(zip(p.tail_bits, p.tail_src))  # clbit -> position in p.deferred
    out: dict[str, float] = {}
    for j in np.flatnonzero(probs > 1e-15):
        bits = [(int(j) >> (m - 1 - k)) & 1 for k in range(m)]
        clbits = [bits[sources[b]] if b in sources else 0 for b in range(circuit.num_clbits)]
        key = format_bits(clbits, circuit.cregs)
        out[key] = out.get(key, 0.0) + float(probs[j])
    return out


@needs_shared
def test_corpus_is_complete():
    on_disk = {p.name for p in (QASM / "valid").glob("*.qasm")}
    assert on_disk == {e["file"] for e in VALID}
    on_disk = {p.name for p in (QASM / "invalid").glob("*.qasm")}
    assert on_disk == {e["file"] for e in INVALID}


@needs_shared
@pytest.mark.parametrize("entry", VALID, ids=[e["file"] for e in VALID])
def test_valid_file_distribution(entry):
    circuit = load_qasm(QASM / "valid" / entry["file"])
    expected = entry["probabilities"]
    exact = exact_distribution(circuit)
    if exact is not None:
        keys = set(exact) | set(expected)
        for key in keys:
            assert exact.get(key, 0.0) == pytest.approx(expected.get(key, 0.0), abs=1e-9), key
        return
    # Mid-circuit reset or measurement: sample trajectories.
    shots = 4000
    counts = qsim.run(circuit, shots=shots, seed=2024).counts
    assert set(counts) <= set(expected)
    for key, p in expected.items():
        sigma = max((p * (1 - p) / shots) ** 0.5, 1e-12)
        assert abs(counts.get(key, 0) / shots - p) < 5 * sigma + 1e-9, (key, counts)


@needs_shared
@pytest.mark.parametrize("entry", INVALID, ids=[e["file"] for e in INVALID])
def test_invalid_file_is_refused(entry):
    path = QASM / "invalid" / entry["file"]
    keywords = [k.lower() for k in entry["keywords"]]
    if entry["exit"] == 3:  # too large to simulate: loads fine, the simulator refuses
        circuit = load_qasm(path)
        with pytest.raises(SimulationError) as exc:
            qsim.simulate(circuit)
        assert any(k in str(exc.value).lower() for k in keywords), str(exc.value)
        return
    with pytest.raises(QasmError) as exc:
        load_qasm(path)
    err = exc.value
    assert err.file == str(path)
    if entry["lines"]:
        assert err.line in entry["lines"], str(err)
    assert err.col is not None and err.col >= 1
    assert any(k in str(err).lower() for k in keywords), str(err)
