"""NoiseModel: which channels follow which gates, idle noise, readout error, and its JSON files."""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import qsim
from qsim import CircuitError, NoiseModel
from qsim.errors import QsimWarning
from qsim.noise import (
    amplitude_damping,
    bit_flip,
    channel_from_dict,
    depolarizing,
    kraus_channel,
    pauli_channel,
    phase_damping,
    phase_flip,
    reset_error,
    thermal_relaxation,
)
from qsim.noise.channels import CHANNEL_TYPES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "noise_model.json"
SCHEMA = ROOT / "qsim" / "noise" / "noise_model.schema.json"


def names(pairs):
    return [(ch.name, qs) for ch, qs in pairs]


# --- rules ----------------------------------------------------------------------------------------
def test_one_qubit_channel_follows_every_gate_on_each_qubit():
    ad = amplitude_damping(0.02)
    m = NoiseModel().add(ad)
    assert m.channels_after("h", (3,)) == [(ad, (3,))]
    assert m.channels_after("ccx", (2, 0, 1)) == [(ad, (2,)), (ad, (0,)), (ad, (1,))]
    assert m.channels_after("unitary", (1, 4)) == [(ad, (1,)), (ad, (4,))]
    assert m.channels_after("my_defined_gate", (0,)) == [(ad, (0,))]
    for op in ("measure", "reset", "barrier"):
        assert m.channels_after(op, (0,)) == []


def test_rules_apply_in_the_order_added():
    m = (NoiseModel()
         .add(depolarizing(0.01, 2), gates=["cx"])
         .add(amplitude_damping(0.02))
         .add(bit_flip(0.1), gates="cx", qubits=[1]))
    assert names(m.channels_after("cx", (0, 1))) == [
        ("depolarizing", (0, 1)), ("amplitude_damping", (0,)), ("amplitude_damping", (1,)),
        ("bit_flip", (1,))]
    assert names(m.channels_after("cx", (1, 0))) == [
        ("depolarizing", (1, 0)), ("amplitude_damping", (1,)), ("amplitude_damping", (0,)),
        ("bit_flip", (1,))]
    assert names(m.channels_after("h", (0,))) == [("amplitude_damping", (0,))]


def test_wide_channel_for_every_gate_follows_gates_of_its_width_only():
    m = NoiseModel().add(depolarizing(0.05, 2))
    assert m.channels_after("h", (0,)) == []
    assert m.channels_after("ccx", (0, 1, 2)) == []
    assert names(m.channels_after("cz", (2, 0))) == [("depolarizing", (2, 0))]


def test_local_rules_match_the_qubit_tuple_in_order():
    dep2 = depolarizing(0.05, 2)
    m = NoiseModel().add(dep2, gates=["cx"], qubits=[0, 1])
    assert m.channels_after("cx", (0, 1)) == [(dep2, (0, 1))]
    assert m.channels_after("cx", (1, 0)) == []       # Aer's local errors: the ordered tuple
    assert m.channels_after("cx", (0, 2)) == []
    one = NoiseModel().add(phase_flip(0.1), qubits=[0, 2])
    assert one.channels_after("ccx", (2, 1, 0)) == [(phase_flip(0.1), (2,)),
                                                    (phase_flip(0.1), (0,))]
    assert one.channels_after("h", (1,)) == []


def test_width_mismatch():
    with pytest.raises(CircuitError, match="2-qubit channel .* cannot follow the 1-qubit gate 'h'"):
        NoiseModel().add(depolarizing(0.1, 2), gates=["h"])
    with pytest.raises(CircuitError, match="needs exactly 2 qubits"):
        NoiseModel().add(depolarizing(0.1, 2), gates=["cx"], qubits=[0])
    # a gate the model cannot know (defined by the circuit): checked when it is met
    m = NoiseModel().add(depolarizing(0.1, 2), gates=["mygate"])
    assert names(m.channels_after("mygate", (3, 1))) == [("depolarizing", (3, 1))]
    with pytest.raises(CircuitError, match=r"rules\[0\]: a 2-qubit channel .* 3-qubit gate "
                                           r"'mygate'"):
        m.channels_after("mygate", (0, 1, 2))


@pytest.mark.parametrize("gates, message", [
    (["measure"], "'measure' is not a gate"),
    ("reset", "'reset' is not a gate"),
    ([], "empty list of gates"),
    (["c x"], "expected a gate name"),
    ([3], "expected a gate name"),
])
def test_bad_gate_names(gates, message):
    with pytest.raises(CircuitError, match=message):
        NoiseModel().add(bit_flip(0.1), gates=gates)


@pytest.mark.parametrize("qubits, message", [
    ([-1], "qubit index >= 0"), ([0, 0], "given twice"), ([], "empty list of qubits"),
    ([True], "qubit index"), ("01", "list of qubit indices"),
])
def test_bad_qubits(qubits, message):
    with pytest.raises(CircuitError, match=message):
        NoiseModel().add(bit_flip(0.1), qubits=qubits)


def test_add_refuses_what_is_not_a_channel():
    with pytest.raises(CircuitError, match="expected a qsim Channel"):
        NoiseModel().add(0.01)  # type: ignore[arg-type]


def test_channels_after_returns_a_fresh_list():
    m = NoiseModel().add(bit_flip(0.1))
    m.channels_after("h", (0,)).clear()
    assert len(m.channels_after("h", (0,))) == 1
    m.add(phase_flip(0.1))                      # adding a rule updates what follows
    assert len(m.channels_after("h", (0,))) == 2


# --- idle and readout -----------------------------------------------------------------------------
def test_idle():
    m = NoiseModel()
    assert m.idle_channel is None
    m.idle(phase_damping(0.01))
    assert m.idle_channel == phase_damping(0.01)
    assert m.has_quantum_noise and not m.has_readout and not m.is_empty
    m.idle(bit_flip(0.2))
    assert m.idle_channel == bit_flip(0.2)
    m.idle(None)
    assert m.idle_channel is None and m.is_empty
    with pytest.raises(CircuitError, match="1-qubit channel"):
        m.idle(depolarizing(0.1, 2))


def test_readout_forms():
    m = NoiseModel()
    assert m.readout_matrix(0) is None and m.is_empty
    m.readout(0.03)
    np.testing.assert_allclose(m.readout_matrix(5), [[0.97, 0.03], [0.03, 0.97]])
    m.readout((0.1, 0.2), qubits=[1, 2])
    np.testing.assert_allclose(m.readout_matrix(1), [[0.9, 0.1], [0.2, 0.8]])
    m.readout([[0.5, 0.5], [0.25, 0.75]], qubits=[2])
    np.testing.assert_allclose(m.readout_matrix(2), [[0.5, 0.5], [0.25, 0.75]])
    # a qubit named explicitly keeps its matrix even when a later call covers every qubit
    m.readout(0.01)
    np.testing.assert_allclose(m.readout_matrix(1), [[0.9, 0.1], [0.2, 0.8]])
    np.testing.assert_allclose(m.readout_matrix(0), [[0.99, 0.01], [0.01, 0.99]])
    mats = m.readout_matrices(3)
    assert len(mats) == 3 and mats[2] is m.readout_matrix(2)
    assert m.has_readout and not m.has_quantum_noise and not m.is_empty
    assert m.readout_matrix(0).flags.writeable is False


@pytest.mark.parametrize("error, message", [
    (1.5, r"readout: expected a number in \[0, 1\], got 1.5"),
    ((0.1, -0.2), r"readout\[1\]: expected a number in \[0, 1\]"),
    ([[0.9, 0.2], [0.1, 0.9]], r"readout\[0\]: a row .* must add up to 1"),
    ([[1, 0, 0], [0, 1, 0]], "2x2 confusion matrix"),
    ("x", "2x2 confusion matrix"),
])
def test_readout_errors(error, message):
    with pytest.raises(CircuitError, match=message):
        NoiseModel().readout(error)


def test_check_against_a_circuit():
    circuit = qsim.Circuit(2).h(0).cx(0, 1)
    # qubits the circuit does not have: the rule applies to nothing, no error (a device model
    # on a smaller circuit), no warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        NoiseModel().add(bit_flip(0.1), qubits=[1, 7]).readout(0.1, qubits=[5]).check(circuit)
    assert [str(w.message) for w in caught] == []
    with pytest.warns(QsimWarning, match="'cnot', which is neither a library gate") as rec:
        NoiseModel().add(bit_flip(0.1), gates=["cnot"]).check(circuit)
    assert len(rec) == 1
    defined = qsim.loads_qasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\n'
                              'gate mine a { h a; }\nmine q[0];\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        NoiseModel().add(bit_flip(0.1), gates=["mine", "unitary", "h"]).check(defined)
    assert [str(w.message) for w in caught] == []


def test_display():
    m = (NoiseModel().add(depolarizing(0.01, 2), gates=["cx"]).add(amplitude_damping(0.02))
         .idle(phase_damping(0.001)).readout(0.03))
    text = str(m)
    assert "after cx, on its qubits: depolarizing, p=0.01, 2 qubits" in text
    assert "after every gate, on each of its qubits: amplitude_damping, gamma=0.02" in text
    assert "idle qubits, each layer: phase_damping, lam=0.001" in text
    assert "readout on every qubit: P(1|0)=0.03, P(0|1)=0.03" in text
    assert repr(m) == "NoiseModel(2 rules, idle phase_damping, 1 readout error)"
    assert m.summary() == ("cx: depolarizing(p=0.01); every gate: amplitude_damping(gamma=0.02); "
                           "idle: phase_damping(lam=0.001); readout on every qubit: P(1|0)=0.03, "
                           "P(0|1)=0.03")
    assert str(NoiseModel()) == "NoiseModel: no noise"


# --- JSON -----------------------------------------------------------------------------------------
def every_kind_model():
    user = kraus_channel([math.sqrt(0.9) * np.eye(2),
                          math.sqrt(0.1) * np.array([[0, -1j], [1j, 0]])], name="my_y")
    return (NoiseModel("all channel types")
            .add(depolarizing(0.01))
            .add(depolarizing(0.02, 2), gates=["cx", "cz"])
            .add(bit_flip(0.1), gates="x", qubits=[0, 2])
            .add(phase_flip(0.2)).add(qsim.bit_phase_flip(0.3))
            .add(pauli_channel({"XZ": 0.1, "IY": 0.05}), gates=["swap"], qubits=[1, 0])
            .add(amplitude_damping(0.3)).add(amplitude_damping(0.3, excited_population=0.1))
            .add(phase_damping(0.05))
            .add(thermal_relaxation(50.0, 70.0, 1.0)).add(thermal_relaxation(math.inf, 7.0, 2.0))
            .add(thermal_relaxation(50.0, 30.0, 1.0, excited_population=0.05))
            .add(reset_error(0.01, 0.02))
            .add(user, gates=["mygate"])
            .add(amplitude_damping(0.1).tensor(phase_flip(0.2)), gates=["cx"])
            .add(bit_flip(0.1).compose(amplitude_damping(0.2)))
            .idle(phase_damping(0.001))
            .readout(0.02).readout((0.01, 0.05), qubits=[1])
            .readout([[0.9, 0.1], [0.3, 0.7]], qubits=[3]))


def test_round_trip_through_a_file(tmp_path):
    m = every_kind_model()
    path = tmp_path / "model.json"
    m.save(path)
    back = NoiseModel.load(path)
    assert back == m
    assert back.to_dict() == m.to_dict()
    # the reloaded channels are the same maps (not only equal names and parameters)
    for a, b in zip(m.rules, back.rules):
        assert a.channel.equivalent(b.channel, atol=1e-14)
        assert (a.gates, a.qubits) == (b.gates, b.qubits)
    assert back.readout_matrix(3).tolist() == [[0.9, 0.1], [0.3, 0.7]]
    assert NoiseModel.from_json(m.to_json()) == m
    assert NoiseModel.from_json(str(path)) == m
    # a different model is not equal
    assert back != NoiseModel.from_json(m.to_json()).add(bit_flip(0.1))


def test_json_shape_is_the_documented_one():
    m = NoiseModel().add(depolarizing(0.01, 2), gates=["cx"]).readout(0.03)
    assert json.loads(m.to_json()) == {
        "qsim_noise_model": 1,
        "rules": [{"channel": {"type": "depolarizing", "p": 0.01, "qubits": 2},
                   "gates": ["cx"], "qubits": None}],
        "idle": None,
        "readout": [{"qubits": None, "matrix": [[0.97, 0.03], [0.03, 0.97]]}],
    }
    user = kraus_channel([np.eye(2)], name="id")
    assert user.to_dict() == {"type": "kraus", "name": "id",
                              "operators": [[[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]]]]}
    assert thermal_relaxation(math.inf, 5.0, 1.0).to_dict()["t1"] is None


def test_the_example_model_loads_and_round_trips():
    m = NoiseModel.load(EXAMPLE)
    assert m.has_quantum_noise and m.has_readout and m.idle_channel is not None
    assert names(m.channels_after("cx", (0, 1)))[:2] == [("depolarizing", (0,)),
                                                         ("depolarizing", (1,))]
    assert ("depolarizing", (0, 1)) in names(m.channels_after("cx", (0, 1)))
    np.testing.assert_allclose(m.readout_matrix(1), [[0.98, 0.02], [0.04, 0.96]])
    np.testing.assert_allclose(m.readout_matrix(0), [[0.99, 0.01], [0.01, 0.99]])
    assert NoiseModel.from_dict(m.to_dict()) == m


BAD = [
    ("{", "not valid JSON: Expecting property name"),
    ("[]", r"expected a JSON object, got \[\]"),
    ('{"rules": []}', 'missing "qsim_noise_model"'),
    ('{"qsim_noise_model": 2}', "unsupported version 2"),
    ('{"qsim_noise_model": 1, "rule": []}', "rule: unknown field"),
    ('{"qsim_noise_model": 1, "rules": {}}', "rules: expected a list"),
    ('{"qsim_noise_model": 1, "rules": [{"gates": null}]}', r'rules\[0\]: missing "channel"'),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "depolarizing", "p": 0.1}}, '
     '{"channel": {"type": "bit_flip", "p": 0.1}}, {"channel": {"type": "depolarizing", '
     '"p": "x"}}]}', r'noise model: rules\[2\]\.channel\.p: expected a number in \[0, 1\], '
                     r'got "x"$'),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "depolarise", "p": 0.1}}]}',
     r'rules\[0\]\.channel\.type: unknown channel type "depolarise" \(known: depolarizing'),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"p": 0.1}}]}', r'missing "type"'),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "bit_flip"}}]}',
     r'rules\[0\]\.channel: a bit_flip channel needs "p"'),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "bit_flip", "p": 0.1, "q": 1}}]}',
     r"rules\[0\]\.channel\.q: unknown field for a bit_flip channel"),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "bit_flip", "p": NaN}}]}',
     "NaN is not a JSON number"),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "depolarizing", "p": 0.1, '
     '"qubits": 2}, "gates": ["h"]}]}', r"rules\[0\]: a 2-qubit channel .* 1-qubit gate 'h'"),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "bit_flip", "p": 0.1}, '
     '"gates": ["measure"]}]}', r"rules\[0\]\.gates\[0\]: 'measure' is not a gate"),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "bit_flip", "p": 0.1}, '
     '"qubits": [0, -1]}]}', r"rules\[0\]\.qubits\[1\]: expected a qubit index"),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "thermal_relaxation", "t1": 1, '
     '"t2": 3, "time": 1}}]}', r"rules\[0\]\.channel: thermal_relaxation: t2 must be <= 2\*t1"),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "kraus", "operators": '
     '[[[1, 0], [0, 1]], [[0, 1], [1, 0]]]}}]}',
     r"rules\[0\]\.channel\.operators: the Kraus operators are not trace preserving: .* by up "
     r"to 1"),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "kraus", "operators": '
     '[[[1, 0], [0]]]}}]}', r"rules\[0\]\.channel\.operators\[0\]\[1\]: expected a row of 2"),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "kraus", "operators": '
     '[[[1, 0, 0], [0, 1, 0], [0, 0, 1]]]}}]}', r"operators: Kraus operator 0: expected a 2\*\*k"),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "kraus", "operators": '
     '[[[[1, 0, 0], 0], [0, 1]]]}}]}',
     r"operators\[0\]\[0\]\[0\]: expected a number or \[re, im\]"),
    ('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "pauli_channel", "probabilities": '
     '{"X": 0.9, "Z": 0.2}}}]}', r"rules\[0\]\.channel: pauli_channel: the probabilities add up"),
    ('{"qsim_noise_model": 1, "idle": {"type": "depolarizing", "p": 0.1, "qubits": 2}}',
     "idle: idle noise must be a 1-qubit channel"),
    ('{"qsim_noise_model": 1, "readout": [{"matrix": [[0.9, 0.2], [0.1, 0.9]]}]}',
     r"readout\[0\]\.matrix\[0\]: a row of the confusion matrix"),
    ('{"qsim_noise_model": 1, "readout": [{"matrix": [[0.9, 0.1]]}]}',
     r"readout\[0\]\.matrix: expected a 2x2 matrix"),
    ('{"qsim_noise_model": 1, "readout": [{"p": 0.1, "matrix": [[1, 0], [0, 1]]}]}',
     r'readout\[0\]: give either "matrix"'),
    ('{"qsim_noise_model": 1, "readout": [{"p": 2}]}',
     r"readout\[0\]\.p: expected a number in \[0, 1\], got 2"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[m for _, m in BAD])
def test_malformed_models_are_one_line_errors(text, message):
    with pytest.raises(CircuitError, match=message) as info:
        NoiseModel.from_json(text)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("noise model")


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"qsim_noise_model": 1, "rules": [{"channel": {"type": "bit_flip", "p": 3}}]}')
    with pytest.raises(CircuitError, match=rf"noise model {bad}: rules\[0\]\.channel\.p"):
        NoiseModel.load(bad)
    with pytest.raises(CircuitError, match="cannot read .*missing.json: No such file"):
        NoiseModel.load(tmp_path / "missing.json")
    bad.write_text("not json")
    with pytest.raises(CircuitError, match=rf"noise model {bad}: not valid JSON"):
        NoiseModel.load(bad)


def test_channel_from_dict_alone():
    assert channel_from_dict({"type": "depolarizing", "p": 0.1, "qubits": 2}) == \
        depolarizing(0.1, 2)
    assert qsim.Channel.from_dict({"type": "reset_error", "p0": 0.1}) == reset_error(0.1)
    with pytest.raises(CircuitError, match=r"^channel\.gamma: expected a number"):
        channel_from_dict({"type": "amplitude_damping", "gamma": None})


def test_schema_matches_the_reader():
    """The JSON Schema shipped for editors lists exactly the channel types and fields the reader
    accepts (qsim validates by hand; the schema must not drift from it)."""
    schema = json.loads(SCHEMA.read_text())
    variants = schema["$defs"]["channel"]["oneOf"]
    in_schema = {v["properties"]["type"]["const"]: v for v in variants}
    assert set(in_schema) == set(CHANNEL_TYPES)
    for kind, (required, optional) in CHANNEL_TYPES.items():
        v = in_schema[kind]
        assert set(v["required"]) == {"type", *required}, kind
        assert set(v["properties"]) == {"type", *required, *optional}, kind
        assert v["additionalProperties"] is False
    assert set(schema["properties"]) == {"qsim_noise_model", "description", "rules", "idle",
                                         "readout"}
    assert set(schema["$defs"]["rule"]["properties"]) == {"channel", "gates", "qubits"}
    assert set(schema["$defs"]["readout"]["properties"]) == {"qubits", "matrix", "p"}


def schema_errors(value, schema, root, path="$"):
    """The places where ``value`` breaks ``schema``: a small validator for the JSON Schema
    keywords the shipped schema uses (no jsonschema dependency)."""
    if "$ref" in schema:
        node = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        return schema_errors(value, node, root, path)
    errs = []
    kinds = {"object": dict, "array": list, "string": str, "null": type(None)}
    t = schema.get("type")
    if t == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return [f"{path}: not a number"]
    if t == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return [f"{path}: not an integer"]
    if t in kinds and not isinstance(value, kinds[t]):
        return [f"{path}: not {t}"]
    if "const" in schema and value != schema["const"]:
        errs.append(f"{path}: not {schema['const']!r}")
    for key, test in (("minimum", lambda v, m: v >= m), ("maximum", lambda v, m: v <= m),
                      ("exclusiveMinimum", lambda v, m: v > m)):
        if key in schema and not test(value, schema[key]):
            errs.append(f"{path}: {key}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errs.append(f"{path}: pattern")
    if "minLength" in schema and len(value) < schema["minLength"]:
        errs.append(f"{path}: minLength")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errs.append(f"{path}: missing {key}")
        props = schema.get("properties", {})
        for key, v in value.items():
            if key in props:
                errs += schema_errors(v, props[key], root, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errs.append(f"{path}: extra {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errs += schema_errors(v, schema["additionalProperties"], root, f"{path}.{key}")
            if "propertyNames" in schema:
                errs += schema_errors(key, schema["propertyNames"], root, f"{path} key")
        if len(value) < schema.get("minProperties", 0):
            errs.append(f"{path}: minProperties")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1e9):
            errs.append(f"{path}: length")
        if schema.get("uniqueItems") and len(set(map(json.dumps, value))) != len(value):
            errs.append(f"{path}: uniqueItems")
        if "items" in schema:
            for i, v in enumerate(value):
                errs += schema_errors(v, schema["items"], root, f"{path}[{i}]")
    if "oneOf" in schema:
        ok = [b for b in schema["oneOf"] if not schema_errors(value, b, root, path)]
        if len(ok) != 1:
            errs.append(f"{path}: matches {len(ok)} of oneOf")
    return errs


def test_example_and_saved_models_satisfy_the_schema():
    schema = json.loads(SCHEMA.read_text())
    assert schema_errors(json.loads(EXAMPLE.read_text()), schema, schema) == []
    assert schema_errors(every_kind_model().to_dict(), schema, schema) == []
    # and the schema is not vacuous: structural mistakes the reader refuses, it flags too
    # (constraints between values, CPTP, row sums, widths are beyond a schema)
    base = {"qsim_noise_model": 1}
    for bad in [
        {"rules": []}, {"qsim_noise_model": 2}, {**base, "rule": []},
        {**base, "rules": [{"gates": None}]},
        {**base, "rules": [{"channel": {"type": "depolarizing", "p": "x"}}]},
        {**base, "rules": [{"channel": {"type": "depolarise", "p": 0.1}}]},
        {**base, "rules": [{"channel": {"type": "bit_flip"}}]},
        {**base, "rules": [{"channel": {"type": "bit_flip", "p": 0.1, "q": 1}}]},
        {**base, "rules": [{"channel": {"type": "bit_flip", "p": 1.5}}]},
        {**base, "rules": [{"channel": {"type": "bit_flip", "p": 0.1}, "qubits": [0, -1]}]},
        {**base, "rules": [{"channel": {"type": "bit_flip", "p": 0.1}, "gates": ["c x"]}]},
        {**base, "rules": [{"channel": {"type": "kraus", "operators": []}}]},
        {**base, "rules": [{"channel": {"type": "kraus", "operators": [[["x", 0], [0, 1]]]}}]},
        {**base, "rules": [{"channel": {"type": "pauli_channel", "probabilities": {"Q": 0.1}}}]},
        {**base, "readout": [{"matrix": [[0.9, 0.1]]}]},
        {**base, "readout": [{"p": 0.1, "matrix": [[1, 0], [0, 1]]}]},
        {**base, "readout": [{"p": 2}]},
    ]:
        assert schema_errors(bad, schema, schema), bad
        with pytest.raises(CircuitError):
            NoiseModel.from_dict(bad)


def test_deeply_nested_json_is_a_clean_error() -> None:
    # json.loads raises RecursionError on very deep nesting; that must not escape as a bug
    with pytest.raises(CircuitError, match="nested too deeply"):
        NoiseModel.from_json("[" * 100_000 + "]" * 100_000)
