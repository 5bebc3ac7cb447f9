"""``NoiseModel``: which channels follow which gates, idle noise, and readout error; JSON files.

A model is independent of any circuit (a circuit stays plain): the simulator asks it, while lowering
a circuit, what follows each gate (:meth:`NoiseModel.channels_after`). Rules apply in the order
they were added. The JSON format is documented in ``docs/noise_model.md`` and described by the
JSON Schema ``qsim/noise/noise_model.schema.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import CircuitError, QsimWarning
from ..gates import GATES
from .channels import Channel, _real, _show, channel_from_dict

#: The version written in (and required of) ``"qsim_noise_model"``.
FORMAT_VERSION = 1
#: Instructions that are never followed by gate noise (use ``readout`` for measurement error).
NOT_GATES = ("measure", "reset", "barrier")


@dataclass(frozen=True, eq=False)
class NoiseRule:
    """One :meth:`NoiseModel.add` call: ``channel`` after the gates named in ``gates`` (None:
    every gate), restricted to ``qubits`` (None: any)."""

    channel: Channel
    gates: tuple[str, ...] | None
    qubits: tuple[int, ...] | None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NoiseRule):
            return NotImplemented
        return (self.gates, self.qubits) == (other.gates, other.qubits) and \
            self.channel == other.channel

    __hash__ = None  # type: ignore[assignment]

    def describe(self) -> str:
        ch = self.channel
        what = repr(ch)[len("Channel("):-1]
        gates = "every gate" if self.gates is None else ", ".join(self.gates)
        if ch.num_qubits == 1:
            where = "each of its qubits" if self.qubits is None else \
                f"each of its qubits in {list(self.qubits)}"
        else:
            where = "its qubits" if self.qubits is None else f"qubits {list(self.qubits)} only"
        if self.gates is None and ch.num_qubits > 1:
            gates = f"every {ch.num_qubits}-qubit gate"
        return f"after {gates}, on {where}: {what}"


@dataclass(frozen=True, eq=False)
class ReadoutRule:
    """One :meth:`NoiseModel.readout` call: the confusion matrix ``M[true][read]`` for
    ``qubits`` (None: every qubit)."""

    matrix: np.ndarray
    qubits: tuple[int, ...] | None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReadoutRule):
            return NotImplemented
        return self.qubits == other.qubits and bool(np.array_equal(self.matrix, other.matrix))

    __hash__ = None  # type: ignore[assignment]


def _qubit_list(qubits: Any, where: str) -> tuple[int, ...] | None:
    if qubits is None:
        return None
    if isinstance(qubits, (int, np.integer)) and not isinstance(qubits, bool):
        qubits = [qubits]
    if isinstance(qubits, (str, bytes)) or not isinstance(qubits, (Sequence, np.ndarray)):
        raise CircuitError(f"{where}: expected a list of qubit indices or null, got "
                           f"{_show(qubits)}")
    out = []
    for i, q in enumerate(qubits):
        if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 0:
            raise CircuitError(f"{where}[{i}]: expected a qubit index >= 0, got {_show(q)}")
        out.append(int(q))
    if not out:
        raise CircuitError(f"{where}: an empty list of qubits (use null for every qubit)")
    if len(set(out)) != len(out):
        raise CircuitError(f"{where}: qubit {next(q for q in out if out.count(q) > 1)} is "
                           f"given twice")
    return tuple(out)


def _check_object(value: Any, at: str, needs: str, fields: Sequence[str]) -> None:
    """CircuitError unless ``value`` is a JSON object whose keys are all in ``fields``."""
    if not isinstance(value, dict):
        raise CircuitError(f"{at}: expected an object with {needs}, got {_show(value)}")
    for key in value:
        if key not in fields:
            raise CircuitError(f"{at}.{key}: unknown field (fields: {', '.join(fields)})")


def _gate_names(gates: Any, where: str) -> tuple[str, ...] | None:
    if gates is None:
        return None
    names = [gates] if isinstance(gates, str) else gates
    if not isinstance(names, (Sequence, np.ndarray)) or isinstance(names, bytes):
        raise CircuitError(f"{where}: expected a gate name, a list of gate names or null, got "
                           f"{_show(gates)}")
    out: list[str] = []
    for i, g in enumerate(names):
        at = where if isinstance(gates, str) else f"{where}[{i}]"
        if not isinstance(g, str) or not g.isidentifier():
            raise CircuitError(f"{at}: expected a gate name, got {_show(g)}")
        if g in NOT_GATES:
            raise CircuitError(f"{at}: {g!r} is not a gate: noise rules follow gates (use "
                               f"readout() for measurement error)")
        if g not in out:
            out.append(g)
    if not out:
        raise CircuitError(f"{where}: an empty list of gates (use null for every gate)")
    return tuple(out)


def _confusion(error: Any, where: str) -> np.ndarray:
    """A readout error as the 2x2 matrix ``M[true][read]``."""
    if isinstance(error, (int, float, np.integer, np.floating)) and not isinstance(error, bool):
        p = _real(error, where, 0.0, 1.0)
        return np.array([[1 - p, p], [p, 1 - p]])
    try:
        a = np.array(error, dtype=float)
    except (TypeError, ValueError):
        a = None
    if a is not None and a.shape == (2,):
        p01 = _real(float(a[0]), f"{where}[0]", 0.0, 1.0)
        p10 = _real(float(a[1]), f"{where}[1]", 0.0, 1.0)
        return np.array([[1 - p01, p01], [p10, 1 - p10]])
    if a is None or a.shape != (2, 2):
        raise CircuitError(f"{where}: expected a probability, a pair (p01, p10) or a 2x2 "
                           f"confusion matrix, got {_show(error)}")
    for i in range(2):
        for j in range(2):
            _real(float(a[i, j]), f"{where}[{i}][{j}]", 0.0, 1.0)
        if abs(a[i].sum() - 1) > 1e-9:
            raise CircuitError(f"{where}[{i}]: a row of the confusion matrix M[true][read] must "
                               f"add up to 1, got {a[i].sum():.12g}")
    return a


class NoiseModel:
    """Noise to apply when simulating: channels after gates, idle noise, readout error.

    >>> noise = (NoiseModel()
    ...          .add(depolarizing(0.01, qubits=2), gates=["cx"])
    ...          .add(amplitude_damping(0.02))           # after every gate, on each of its qubits
    ...          .readout(0.03))                          # symmetric, every qubit

    Methods that change the model return it, so calls chain. See ``docs/noise_model.md``.
    """

    def __init__(self, description: str | None = None) -> None:
        #: Free text kept with the model (the JSON ``"description"``).
        self.description = description
        self._rules: list[NoiseRule] = []
        self._idle: Channel | None = None
        self._readout: list[ReadoutRule] = []
        self._cache: dict[tuple[str, tuple[int, ...]], list[tuple[Channel, tuple[int, ...]]]] = {}

    # --- building -----------------------------------------------------------------------------
    def add(self, channel: Channel, gates: str | Sequence[str] | None = None,
            qubits: Sequence[int] | None = None) -> NoiseModel:
        """Apply ``channel`` after gates; returns the model.

        ``gates``: a name or names (library gates of :data:`qsim.gates.GATES`, ``"unitary"``, or
        any identifier for gates the circuit defines: those match the defined gate as written,
        not the gates inside its definition); None: every gate and ``unitary`` (never
        ``measure``, ``reset``, ``barrier``). Names are matched exactly (``CX`` is not ``cx``).

        A 1-qubit channel follows a k-qubit gate on each of its qubits (in the gate's order). A
        k-qubit channel (k > 1) acts on the gate's qubits in order: with ``gates=None`` it follows
        every k-qubit gate only; with named gates their width must be k (checked here for library
        gates, in :meth:`channels_after` for others).

        ``qubits``: for a 1-qubit channel, only those of the gate's qubits that are in ``qubits``;
        for a k-qubit channel, only when the gate's qubits are exactly ``qubits``, in that order
        (Aer's local errors).
        """
        if not isinstance(channel, Channel):
            raise CircuitError(f"add: expected a qsim Channel, got {type(channel).__name__}")
        names = _gate_names(gates, "add: gates")
        qs = _qubit_list(qubits, "add: qubits")
        k = channel.num_qubits
        if qs is not None and k > 1 and len(qs) != k:
            raise CircuitError(f"add: qubits: a {k}-qubit channel needs exactly {k} qubits, "
                               f"got {list(qs)}")
        if k > 1:
            for g in names or ():
                if g not in GATES:      # "unitary" or a defined gate: any width, checked later
                    continue
                arity = GATES[g].num_qubits
                if arity != k:
                    raise CircuitError(f"add: a {k}-qubit channel ({channel.name}) cannot "
                                       f"follow the {arity}-qubit gate {g!r}")
        self._rules.append(NoiseRule(channel, names, qs))
        self._cache.clear()
        return self

    def idle(self, channel: Channel | None) -> NoiseModel:
        """Idle noise: a 1-qubit ``channel`` applied, in each layer (moment) of the circuit, to
        every qubit that no gate of that layer touches. A second call replaces the first; None
        removes it. Returns the model."""
        if channel is not None:
            if not isinstance(channel, Channel):
                raise CircuitError(f"idle: expected a qsim Channel, got {type(channel).__name__}")
            if channel.num_qubits != 1:
                raise CircuitError(f"idle: idle noise must be a 1-qubit channel, got "
                                   f"{channel.num_qubits} qubits ({channel.name})")
        self._idle = channel
        return self

    def readout(self, error: float | tuple[float, float] | Any,
                qubits: Sequence[int] | None = None) -> NoiseModel:
        """Readout error on ``qubits`` (None: every qubit); returns the model.

        ``error``: a float p (a symmetric flip with probability p); a pair ``(p01, p10)``, the
        probabilities P(read 1 | 0) and P(read 0 | 1); or a 2x2 confusion matrix ``M`` with
        ``M[true][read] = P(read | true)``, rows adding up to 1 (Qiskit's ``ReadoutError``). A
        qubit named in a call takes that call's matrix over any call for every qubit; otherwise
        the last call wins."""
        m = _confusion(error, "readout")
        m.setflags(write=False)
        self._readout.append(ReadoutRule(m, _qubit_list(qubits, "readout: qubits")))
        return self

    # --- what the simulator asks ----------------------------------------------------------------
    @property
    def rules(self) -> tuple[NoiseRule, ...]:
        """The gate rules, in the order they were added."""
        return tuple(self._rules)

    @property
    def readout_rules(self) -> tuple[ReadoutRule, ...]:
        return tuple(self._readout)

    def channels_after(self, gate: str, qubits: tuple[int, ...]
                       ) -> list[tuple[Channel, tuple[int, ...]]]:
        """The channels to apply after the instruction ``gate`` on ``qubits``, each with the
        qubits it acts on (its first factor on the first), in the order the rules were added.
        Empty for ``measure``, ``reset`` and ``barrier``. CircuitError when a rule names this
        gate with a channel of another width."""
        key = (gate, tuple(int(q) for q in qubits))
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._channels_after(*key)
        return list(hit)

    def _channels_after(self, gate: str, qubits: tuple[int, ...]
                        ) -> list[tuple[Channel, tuple[int, ...]]]:
        out: list[tuple[Channel, tuple[int, ...]]] = []
        if gate in NOT_GATES:
            return out
        for i, rule in enumerate(self._rules):
            if rule.gates is not None and gate not in rule.gates:
                continue
            k = rule.channel.num_qubits
            if k == 1:
                out += [(rule.channel, (q,)) for q in qubits
                        if rule.qubits is None or q in rule.qubits]
                continue
            if len(qubits) != k:
                if rule.gates is None:
                    continue            # "every gate" means every gate the channel fits
                raise CircuitError(f"noise model: rules[{i}]: a {k}-qubit channel "
                                   f"({rule.channel.name}) cannot follow the {len(qubits)}-qubit "
                                   f"gate {gate!r} on qubits {list(qubits)}")
            if rule.qubits is None or rule.qubits == qubits:
                out.append((rule.channel, qubits))
        return out

    @property
    def idle_channel(self) -> Channel | None:
        """The 1-qubit idle channel (see :meth:`idle`), or None."""
        return self._idle

    def readout_matrix(self, qubit: int) -> np.ndarray | None:
        """The 2x2 confusion matrix ``M[true][read]`` of ``qubit`` (read-only), or None."""
        for rule in reversed(self._readout):
            if rule.qubits is not None and qubit in rule.qubits:
                return rule.matrix
        for rule in reversed(self._readout):
            if rule.qubits is None:
                return rule.matrix
        return None

    def readout_matrices(self, num_qubits: int) -> list[np.ndarray | None]:
        """:meth:`readout_matrix` of qubits ``0 .. num_qubits-1``."""
        return [self.readout_matrix(q) for q in range(num_qubits)]

    @property
    def has_quantum_noise(self) -> bool:
        """True when some channel is applied (a gate rule or idle noise)."""
        return bool(self._rules) or self._idle is not None

    @property
    def has_readout(self) -> bool:
        return bool(self._readout)

    @property
    def is_empty(self) -> bool:
        """True when the model changes nothing."""
        return not self.has_quantum_noise and not self.has_readout

    def check(self, circuit: Any) -> None:
        """Warn (:class:`qsim.errors.QsimWarning`) about rules that name a gate that is neither a
        library gate, ``unitary``, nor defined in ``circuit``: a typo, most likely, as such a
        rule applies to nothing. Rules and readout errors naming qubits the circuit does not
        have are not an error (a device's model fits its smaller circuits): they apply to
        nothing, as in Aer."""
        import warnings

        defined = set(getattr(circuit, "definitions", {}) or {})
        for i, rule in enumerate(self._rules):
            for g in rule.gates or ():
                if g not in GATES and g != "unitary" and g not in defined:
                    warnings.warn(f"noise model: rules[{i}] names the gate {g!r}, which is "
                                  f"neither a library gate nor defined in the circuit; it "
                                  f"applies to nothing", QsimWarning, stacklevel=2)

    # --- equality, display ----------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NoiseModel):
            return NotImplemented
        return (self.description == other.description and self._rules == other._rules
                and self._idle == other._idle
                and self._readout == other._readout)

    __hash__ = None  # type: ignore[assignment]

    def _readout_lines(self) -> list[str]:
        lines = []
        for rule in self._readout:
            m = rule.matrix
            where = "every qubit" if rule.qubits is None else f"qubits {list(rule.qubits)}"
            lines.append(f"readout on {where}: P(1|0)={m[0, 1]:g}, P(0|1)={m[1, 0]:g}")
        return lines

    def summary(self) -> str:
        """One line: what the model does (``cx: depolarizing(p=0.01); every gate: ...``)."""
        parts = []
        for rule in self._rules:
            ch = rule.channel
            params = ", ".join(f"{k}={v:g}" for k, v in ch.params.items())
            gates = "every gate" if rule.gates is None else ",".join(rule.gates)
            if rule.gates is None and ch.num_qubits > 1:
                gates = f"every {ch.num_qubits}-qubit gate"
            if rule.qubits is not None:
                gates += f" on {list(rule.qubits)}"
            parts.append(f"{gates}: {ch.name}({params})")
        if self._idle is not None:
            ch = self._idle
            parts.append(f"idle: {ch.name}("
                         + ", ".join(f"{k}={v:g}" for k, v in ch.params.items()) + ")")
        parts += self._readout_lines()
        return "; ".join(parts) if parts else "no noise"

    def __repr__(self) -> str:
        n = len(self._rules)
        parts = [f"{n} rule{'s' * (n != 1)}"]
        if self._idle is not None:
            parts.append(f"idle {self._idle.name}")
        if self._readout:
            parts.append(f"{len(self._readout)} readout error{'s' * (len(self._readout) != 1)}")
        return f"NoiseModel({', '.join(parts)})"

    def __str__(self) -> str:
        if self.is_empty:
            return "NoiseModel: no noise"
        lines = ["NoiseModel:"]
        lines += [f"  {rule.describe()}" for rule in self._rules]
        if self._idle is not None:
            lines.append(f"  idle qubits, each layer: {repr(self._idle)[len('Channel('):-1]}")
        lines += [f"  {line}" for line in self._readout_lines()]
        return "\n".join(lines)

    # --- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-ready data (the format of ``docs/noise_model.md``)."""
        out: dict[str, Any] = {"qsim_noise_model": FORMAT_VERSION}
        if self.description is not None:
            out["description"] = self.description
        return out | {
            "rules": [{"channel": r.channel.to_dict(),
                       "gates": None if r.gates is None else list(r.gates),
                       "qubits": None if r.qubits is None else list(r.qubits)}
                      for r in self._rules],
            "idle": None if self._idle is None else self._idle.to_dict(),
            "readout": [{"qubits": None if r.qubits is None else list(r.qubits),
                         "matrix": [[float(x) for x in row] for row in r.matrix]}
                        for r in self._readout],
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "noise model") -> NoiseModel:
        """The model :meth:`to_dict` describes. Every problem is one CircuitError line that
        names the place: ``noise model: rules[2].channel.p: expected a number in [0, 1], got
        "x"``."""
        if not isinstance(data, dict):
            raise CircuitError(f"{source}: expected a JSON object, got {_show(data)}")
        allowed = ("qsim_noise_model", "description", "rules", "idle", "readout")
        for key in data:
            if key not in allowed:
                raise CircuitError(f"{source}: {key}: unknown field (fields: "
                                   f"{', '.join(allowed)})")
        version = data.get("qsim_noise_model")
        if "qsim_noise_model" not in data:
            raise CircuitError(f"{source}: missing \"qsim_noise_model\": {FORMAT_VERSION} (is "
                               f"this a qsim noise model?)")
        if version != FORMAT_VERSION or isinstance(version, bool):
            raise CircuitError(f"{source}: qsim_noise_model: unsupported version "
                               f"{_show(version)} (this qsim reads {FORMAT_VERSION})")
        if not isinstance(data.get("description", ""), str):
            raise CircuitError(f"{source}: description: expected a string, got "
                               f"{_show(data['description'])}")
        model = cls(data.get("description"))
        rules = data.get("rules", [])
        if not isinstance(rules, list):
            raise CircuitError(f"{source}: rules: expected a list, got {_show(rules)}")
        for i, rule in enumerate(rules):
            at = f"{source}: rules[{i}]"
            _check_object(rule, at, 'a "channel"', ("channel", "gates", "qubits"))
            if "channel" not in rule:
                raise CircuitError(f"{at}: missing \"channel\"")
            channel = channel_from_dict(rule["channel"], f"{at}.channel")
            gates = _gate_names(rule.get("gates"), f"{at}.gates")
            qubits = _qubit_list(rule.get("qubits"), f"{at}.qubits")
            try:
                model.add(channel, gates, qubits)
            except CircuitError as exc:
                raise CircuitError(f"{at}: {str(exc).removeprefix('add: ')}") from None
        idle = data.get("idle")
        if idle is not None:
            channel = channel_from_dict(idle, f"{source}: idle")
            if channel.num_qubits != 1:
                raise CircuitError(f"{source}: idle: idle noise must be a 1-qubit channel, got "
                                   f"{channel.num_qubits} qubits")
            model.idle(channel)
        readout = data.get("readout", [])
        if not isinstance(readout, list):
            raise CircuitError(f"{source}: readout: expected a list, got {_show(readout)}")
        for i, entry in enumerate(readout):
            at = f"{source}: readout[{i}]"
            _check_object(entry, at, 'a "matrix" or "p"', ("qubits", "matrix", "p"))
            if ("matrix" in entry) == ("p" in entry):
                raise CircuitError(f"{at}: give either \"matrix\" (2x2, M[true][read]) or "
                                   f"\"p\" (a symmetric flip probability)")
            if "p" in entry:
                m = _confusion(_real(entry["p"], f"{at}.p", 0.0, 1.0), f"{at}.p")
            else:
                value = entry["matrix"]
                if not (isinstance(value, list) and len(value) == 2 and all(
                        isinstance(row, list) and len(row) == 2 for row in value)):
                    raise CircuitError(f"{at}.matrix: expected a 2x2 matrix [[P(0|0), P(1|0)], "
                                       f"[P(0|1), P(1|1)]], got {_show(value)}")
                for r, row in enumerate(value):
                    for c, x in enumerate(row):
                        _real(x, f"{at}.matrix[{r}][{c}]", 0.0, 1.0)
                m = _confusion(value, f"{at}.matrix")
            model.readout(m, _qubit_list(entry.get("qubits"), f"{at}.qubits"))
        return model

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The model as JSON text (indented); also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        if path is not None:
            try:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            except OSError as exc:
                raise CircuitError(f"noise model: cannot write {os.fspath(path)}: "
                                   f"{exc.strerror or exc}") from None
        return text

    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike[str]) -> NoiseModel:
        """A model from JSON text (a string starting with ``{`` or ``[``) or from a file
        path."""
        if isinstance(text_or_path, str) and text_or_path.lstrip()[:1] in ("{", "["):
            text, source = text_or_path, "noise model"
        else:
            path = os.fspath(text_or_path)
            source = f"noise model {path}"
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise CircuitError(f"noise model: cannot read {path}: {reason}") from None
        try:
            data = json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise CircuitError(f"{source}: not valid JSON: {exc.msg} (line {exc.lineno}, "
                               f"column {exc.colno})") from None
        except ValueError as exc:
            raise CircuitError(f"{source}: not valid JSON: {exc}") from None
        except RecursionError:
            raise CircuitError(f"{source}: not valid JSON: nested too deeply") from None
        return cls.from_dict(data, source=source)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to a JSON file."""
        self.to_json(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NoiseModel:
        """Read a model from a JSON file (:meth:`from_json` of a path)."""
        if isinstance(path, str) and path.lstrip()[:1] in ("{", "["):
            raise CircuitError("noise model: load() takes a file path; use from_json() for text")
        return cls.from_json(path)


def _no_constant(name: str) -> Any:
    # json accepts NaN and Infinity, which are not JSON; refuse them with the rest.
    raise ValueError(f"{name} is not a JSON number")
