"""Results of sampled runs (:func:`qsim.run`): counts, per-shot memory and, when asked, the final state.

Keys follow :mod:`qsim.bits`: c[0] leftmost within a register, registers in declaration order
joined by a space (``bit_order="little"`` gives Qiskit's keys).

Saving and loading (:meth:`Result.to_dict`, :meth:`Result.to_json`, :meth:`Result.from_dict`,
:meth:`Result.from_json`) use the keys that ``qsim run --format json`` writes::

    {"counts": {"00": 510, "11": 514}, "shots": 1024, "seed": 1, "backend": "statevector",
     "qubits": 2, "clbits": 2, "registers": [{"name": "c", "size": 2}], "bit_order": "big",
     "implicit_measurement": false, "time_s": 0.01,
     "memory": ["00", "11", ...],          # only when the Result has a memory
     "metadata": {...},                    # only when not empty (a noisy run's model: "noise")
     "branches": 12,                       # only for a noisy run: the branches simulated
     "density_matrix": [[re, im], ...],    # only with keep_state on the density backend
     "state": [[re, im], ...]}             # only when the Result has a state

``state`` is the whole state vector, 2**qubits ``[re, im]`` pairs in basis order (qubit 0 the
most significant bit of the index, whatever ``bit_order``); it is omitted when the Result has
none; ``density_matrix`` is rho row-major (4**qubits pairs). Reading, only ``counts`` and
``shots`` are required; every key not listed above (the CLI's
``precision``, ``gates``, ``file``, ``state_threshold``, ``probabilities``, ...) is kept in
``metadata``. The CLI's ``statevector`` listing ``{basis: [re, im]}`` becomes ``state`` when it
lists every basis state (``qsim run --statevector --all``), and is kept in ``metadata``
otherwise (amplitudes under ``--threshold`` were left out, so the state cannot be rebuilt).
Invalid input raises ValueError with a one-line message.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bits import check_bit_order
from .density_matrix import DensityMatrix
from .statevector import Statevector

#: Outcomes listed in :meth:`Result._repr_html_` (the rest are summed in a note).
HTML_TOP = 20

# Keys of the JSON form that map to Result fields (the rest go to ``metadata``).
_KNOWN = frozenset({"counts", "shots", "seed", "backend", "qubits", "clbits", "registers",
                    "bit_order", "implicit_measurement", "time_s", "memory", "metadata", "state",
                    "branches", "density_matrix"})


@dataclass
class Result:
    """Outcome of :func:`qsim.run`.

    ``counts`` maps bitstrings (see the module docstring for the bit order) to numbers of shots;
    ``memory`` lists each shot's bitstring in the order the shots were taken (when requested).
    ``registers`` are the classical registers ``(name, size)`` in declaration order.
    ``state`` is the final :class:`Statevector` when ``keep_state=True`` was asked for (on the
    density backend ``density_matrix``, the final :class:`DensityMatrix`, instead). ``branches``:
    the final branches simulated
    (1 when the circuit was simulated once; for noisy shots, the distinct error/outcome patterns
    that occurred). ``noise``: the :class:`qsim.NoiseModel` of a noisy run (else None).
    """

    counts: dict[str, int]
    shots: int
    seed: int | None
    registers: list[tuple[str, int]]
    bit_order: str = "big"
    memory: list[str] | None = None
    backend: str = "statevector"
    num_qubits: int = 0
    time_s: float = 0.0
    implicit_measurement: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    #: The final state, when asked for (``qsim.run(..., keep_state=True)``): the state before the
    #: terminal measurements, or one trajectory (drawn with ``seed``) of a dynamic circuit.
    state: Statevector | None = field(default=None, repr=False)
    branches: int | None = field(default=None, compare=False)
    density_matrix: DensityMatrix | None = field(default=None, repr=False)
    noise: Any = field(default=None, repr=False, compare=False)

    @property
    def num_clbits(self) -> int:
        return sum(size for _, size in self.registers)

    def get_counts(self) -> dict[str, int]:
        return dict(self.counts)

    def probabilities(self) -> dict[str, float]:
        """Relative frequencies ``count / shots``."""
        return {k: v / self.shots for k, v in self.counts.items()}

    def most_frequent(self) -> str:
        """The outcome seen most often (ties: the smallest bitstring)."""
        return min(self.counts, key=lambda k: (-self.counts[k], k))

    def __repr__(self) -> str:
        top = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
        more = "" if len(self.counts) <= 8 else f", ... ({len(self.counts) - 8} more)"
        return (f"Result(shots={self.shots}, seed={self.seed}, counts={{"
                + ", ".join(f"{k!r}: {v}" for k, v in top) + more + "})")

    # --- saving and loading ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the keys of ``qsim run --format json`` (see the module
        docstring); ``Result.from_dict(r.to_dict()) == r``."""
        out: dict[str, Any] = {
            "counts": dict(self.counts), "shots": self.shots, "seed": self.seed,
            "backend": self.backend, "qubits": self.num_qubits, "clbits": self.num_clbits,
            "registers": [{"name": name, "size": size} for name, size in self.registers],
            "bit_order": self.bit_order, "implicit_measurement": self.implicit_measurement,
            "time_s": self.time_s,
        }
        if self.memory is not None:
            out["memory"] = list(self.memory)
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        if self.noise is not None:  # noiseless results keep the CLI's keys unchanged
            if self.branches is not None:
                out["branches"] = self.branches
            if hasattr(self.noise, "to_dict"):
                out.setdefault("metadata", {})["noise"] = self.noise.to_dict()
        if self.density_matrix is not None:
            out["density_matrix"] = [[float(a.real), float(a.imag)]
                                     for a in self.density_matrix.data.ravel().tolist()]
        if self.state is not None:
            out["state"] = [[float(a.real), float(a.imag)] for a in self.state.data.tolist()]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Result:
        """The Result a :meth:`to_dict` dict (or the parsed output of ``qsim run --format json``)
        describes. ValueError, with a one-line message, for anything inconsistent."""
        if not isinstance(d, Mapping):
            raise ValueError(f"Result.from_dict: expected a dict, got {type(d).__name__}")
        for key in ("counts", "shots"):
            if key not in d:
                raise ValueError(f"Result.from_dict: missing key {key!r}")
        counts = _counts(d["counts"])
        shots = _count(d["shots"], "shots")
        if sum(counts.values()) != shots:
            raise ValueError(f"Result.from_dict: counts add up to {sum(counts.values())}, "
                             f"not shots={shots}")
        seed = d.get("seed")
        if seed is not None:
            seed = _count(seed, "seed")
        bit_order = d.get("bit_order", "big")
        if not isinstance(bit_order, str):
            raise ValueError(f"Result.from_dict: bit_order must be 'big' or 'little', got "
                             f"{bit_order!r}")
        check_bit_order(bit_order)
        registers = (_registers(d["registers"]) if "registers" in d
                     else _guess_registers(counts))
        if "clbits" in d and _count(d["clbits"], "clbits") != sum(s for _, s in registers):
            raise ValueError(f"Result.from_dict: clbits={d['clbits']} but the registers hold "
                             f"{sum(s for _, s in registers)} bits")
        sizes = [s for _, s in registers]
        for key in counts:
            _check_key(key, sizes, bit_order, "counts")
        memory = d.get("memory")
        if memory is not None:
            if not isinstance(memory, list) or not all(isinstance(k, str) for k in memory):
                raise ValueError("Result.from_dict: memory must be a list of bitstrings")
            if len(memory) != shots:
                raise ValueError(f"Result.from_dict: memory has {len(memory)} shots, not "
                                 f"shots={shots}")
            for key in memory:
                if key not in counts:
                    raise ValueError(f"Result.from_dict: memory outcome {key!r} is not in counts")
        num_qubits = _count(d.get("qubits", 0), "qubits")
        backend = d.get("backend", "statevector")
        if not isinstance(backend, str):
            raise ValueError(f"Result.from_dict: backend must be a string, got {backend!r}")
        implicit = d.get("implicit_measurement", False)
        if not isinstance(implicit, bool):
            raise ValueError(f"Result.from_dict: implicit_measurement must be true or false, got "
                             f"{implicit!r}")
        time_s = d.get("time_s", 0.0)
        if isinstance(time_s, bool) or not isinstance(time_s, (int, float)):
            raise ValueError(f"Result.from_dict: time_s must be a number, got {time_s!r}")
        metadata = d.get("metadata", {})
        if not isinstance(metadata, Mapping):
            raise ValueError("Result.from_dict: metadata must be a dict")
        metadata = dict(metadata)
        metadata.update((k, v) for k, v in d.items() if k not in _KNOWN)
        state: Statevector | None = None
        rho = None
        if d.get("density_matrix") is not None:
            flat = _state(d["density_matrix"], "density_matrix").data
            side = int(round(np.sqrt(flat.size)))
            if side * side != flat.size:
                raise ValueError(f"Result.from_dict: density_matrix has {flat.size} entries, not "
                                 "4**n")
            rho = DensityMatrix(flat.reshape(side, side))
        if d.get("state") is not None:
            state = _state(d["state"], "state")
        elif isinstance(metadata.get("statevector"), Mapping):
            listing = metadata["statevector"]
            n = num_qubits if "qubits" in d else None
            if n is not None and len(listing) == 1 << n:
                state = _state_from_listing(listing, n, bit_order)
                del metadata["statevector"]
        if state is not None:
            if "qubits" not in d:
                num_qubits = state.num_qubits
            elif state.num_qubits != num_qubits:
                raise ValueError(f"Result.from_dict: state of {state.num_qubits} qubit(s) but "
                                 f"qubits={num_qubits}")
        branches = d.get("branches")
        if branches is not None:
            branches = _count(branches, "branches")
        return cls(counts=counts, shots=shots, seed=seed, registers=registers,
                   bit_order=bit_order, memory=memory, backend=backend, num_qubits=num_qubits,
                   time_s=float(time_s), implicit_measurement=implicit, metadata=metadata,
                   state=state, branches=branches, density_matrix=rho)

    def to_json(self, path: str | os.PathLike[str] | None = None, indent: int | None = 2) -> str:
        """The JSON text of :meth:`to_dict`; also written (with a final newline) to ``path``
        when one is given."""
        try:
            text = json.dumps(self.to_dict(), indent=indent, default=_jsonable)
        except TypeError as exc:
            raise ValueError(f"Result.to_json: {exc}") from None
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike[str]) -> Result:
        """Read :meth:`to_json` text or ``qsim run --format json`` output: JSON text (a string
        starting with ``{``) or the path of a file holding it. ValueError for invalid JSON or an
        invalid result; OSError when the file cannot be read."""
        if isinstance(text_or_path, str) and text_or_path.lstrip().startswith("{"):
            text, where = text_or_path, "Result.from_json"
        elif isinstance(text_or_path, (str, os.PathLike)):
            with open(text_or_path, encoding="utf-8") as f:
                text = f.read()
            where = f"Result.from_json: {os.fspath(text_or_path)}"
        else:
            raise ValueError(f"Result.from_json: expected JSON text or a path, got "
                             f"{type(text_or_path).__name__}")
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not valid JSON: {exc}") from None
        except RecursionError:
            raise ValueError(f"{where}: not valid JSON: nested too deeply") from None
        return cls.from_dict(d)

    # --- notebook display ------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        """The counts of the :data:`HTML_TOP` most frequent outcomes as a table (with a note of
        how many were left out) and an inline PNG histogram (omitted without matplotlib)."""
        e = html.escape
        top = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:HTML_TOP]
        rows = "".join(
            f"<tr><td><code>{e(k) if k else '&quot;&quot;'}</code></td><td>{v}</td>"
            f"<td>{v / self.shots if self.shots else 0.0:.4f}</td></tr>" for k, v in top)
        left = len(self.counts) - len(top)
        order = "c[0] leftmost" if self.bit_order == "big" else "c[0] rightmost"
        head = (f"<p><b>Result</b>: {self.shots} shots, seed {self.seed}, backend "
                f"{e(self.backend)}, {len(self.counts)} distinct outcome"
                f"{'s' * (len(self.counts) != 1)} ({order})</p>")
        table = ("<table><thead><tr><th>outcome</th><th>count</th><th>probability</th></tr>"
                 f"</thead><tbody>{rows}</tbody></table>")
        note = ""
        if left:
            rest = sum(v for _, v in sorted(self.counts.items(),
                                            key=lambda kv: (-kv[1], kv[0]))[HTML_TOP:])
            note = (f"<p>{left} more outcome{'s' * (left != 1)} not shown ({rest} shot"
                    f"{'s' * (rest != 1)})</p>")
        img = self._histogram_png()
        figure = "" if img is None else (
            f'<img src="data:image/png;base64,{img}" alt="histogram of the counts"/>')
        return f"<div>{head}{table}{note}{figure}</div>"

    def _histogram_png(self) -> str | None:
        """The :func:`qsim.plot.plot_histogram` of the counts (top :data:`HTML_TOP`) as base64 PNG;
        None without matplotlib or counts."""
        if not self.counts or not self.shots:
            return None
        try:
            from .plot import plot_histogram
        except ImportError:
            return None
        import base64
        import io

        fig = plot_histogram(self, top=HTML_TOP if len(self.counts) > HTML_TOP else None)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=72)
        return base64.b64encode(buf.getvalue()).decode("ascii")


# --- validation helpers for from_dict -------------------------------------------------------------
def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not value.is_integer()) or value < 0:
        raise ValueError(f"Result.from_dict: {what} must be a non-negative integer, got {value!r}")
    return int(value)


def _counts(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ValueError(f"Result.from_dict: counts must be a dict of bitstring: count, got "
                         f"{type(value).__name__}")
    out = {}
    for k, v in value.items():
        if not isinstance(k, str):
            raise ValueError(f"Result.from_dict: counts key {k!r} is not a bitstring")
        out[k] = _count(v, f"counts[{k!r}]")
    return out


def _registers(value: Any) -> list[tuple[str, int]]:
    if not isinstance(value, list):
        raise ValueError("Result.from_dict: registers must be a list of {name, size}")
    out = []
    for r in value:
        if isinstance(r, Mapping) and "name" in r and "size" in r:
            name, size = r["name"], r["size"]
        elif isinstance(r, (list, tuple)) and len(r) == 2:
            name, size = r
        else:
            raise ValueError(f"Result.from_dict: register {r!r} is not {{name, size}}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"Result.from_dict: register name {name!r} is not a string")
        out.append((name, _count(size, f"size of register {name!r}")))
    return out


def _guess_registers(counts: dict[str, int]) -> list[tuple[str, int]]:
    """No ``registers`` key: one register ``c`` (or ``c0``, ``c1``, ... when the keys have
    spaces) per space-separated part of the first outcome."""
    if not counts:
        return []
    parts = next(iter(counts)).split(" ")
    if len(parts) == 1:
        return [("c", len(parts[0]))] if parts[0] else []
    return [(f"c{i}", len(p)) for i, p in enumerate(parts)]


def _check_key(key: str, sizes: list[int], bit_order: str, where: str) -> None:
    want = sizes[::-1] if bit_order == "little" else sizes
    parts = key.split(" ") if want else ([] if key == "" else [key])
    if [len(p) for p in parts] != want or any(set(p) - {"0", "1"} for p in parts):
        shape = " ".join("b" * s for s in want) or '""'
        raise ValueError(f"Result.from_dict: {where} outcome {key!r} does not match the "
                         f"registers ({shape})")


def _complex(pair: Any, what: str) -> complex:
    if (not isinstance(pair, (list, tuple)) or len(pair) != 2 or any(
            isinstance(x, bool) or not isinstance(x, (int, float)) for x in pair)):
        raise ValueError(f"Result.from_dict: {what} must be [re, im], got {pair!r}")
    return complex(pair[0], pair[1])


def _state(value: Any, what: str) -> Statevector:
    if not isinstance(value, list):
        raise ValueError(f"Result.from_dict: {what} must be a list of [re, im] pairs")
    n = len(value).bit_length() - 1
    if not value or 1 << n != len(value):
        raise ValueError(f"Result.from_dict: {what} has {len(value)} amplitudes, not a power "
                         f"of two")
    return Statevector([_complex(p, f"{what}[{i}]") for i, p in enumerate(value)])


def _state_from_listing(listing: Mapping[str, Any], n: int, bit_order: str) -> Statevector:
    """The CLI's ``statevector`` ``{basis label: [re, im]}`` listing every basis state."""
    data = [0j] * (1 << n)
    for label, pair in listing.items():
        if not isinstance(label, str) or len(label) != n or set(label) - {"0", "1"}:
            raise ValueError(f"Result.from_dict: statevector label {label!r} is not {n} bits")
        bits = label[::-1] if bit_order == "little" else label
        data[int(bits, 2) if n else 0] = _complex(pair, f"statevector[{label!r}]")
    return Statevector(data)


def _jsonable(value: Any) -> Any:
    """json.dumps fallback for numpy scalars and arrays in ``metadata``."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, complex):
        return [value.real, value.imag]
    raise TypeError(f"metadata value of type {type(value).__name__} is not JSON serialisable")
