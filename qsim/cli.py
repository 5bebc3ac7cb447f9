"""The ``qsim`` command line: run, draw and summarise OpenQASM 2 circuits.

::

    qsim run circuits/bell.qasm --shots 2000 --seed 1
    qsim run circuits/bell.qasm --plot bell.png
    qsim run circuits/grover.qasm --format json > counts.json
    cat circuit.qasm | qsim run - --statevector
    qsim draw circuits/teleport.qasm
    qsim info circuits/qft.qasm

Exit codes: 0 success; 1 internal error (one line ``qsim: internal error: ...``; set
``QSIM_DEBUG=1`` for the traceback); 2 bad usage or bad OpenQASM (one line
``file:line:col: message``); 3 the state vector needs more memory than allowed (``--max-memory``,
default the memory available now), with the size it needs.

matplotlib is imported only for ``--plot`` / ``--show`` so that ``qsim run`` starts fast.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

import click

from .errors import QasmError, QsimError, SimulationError

if TYPE_CHECKING:
    from .circuit import Circuit
    from .result import Result
    from .statevector import Statevector

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_MEMORY = 0, 1, 2, 3
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
BAR_WIDTH = 40
STDIN_NAME = "<stdin>"


# --- parameter types ------------------------------------------------------------------------------
class BackendChoice(click.Choice):
    """``--backend``: the names registered in :data:`qsim.backends.BACKENDS` when the command runs,
    so backends added to the registry appear without touching the CLI."""

    def __init__(self) -> None:
        super().__init__((), case_sensitive=True)

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        from .backends import BACKENDS

        return tuple(sorted(BACKENDS))

    @choices.setter
    def choices(self, value: Any) -> None:  # click's __init__ assigns; the registry decides
        pass


_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:([kmgtpe])(i?)b?|(b|bytes?))?\s*$",
                   re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"512M"`` -> 536870912. Units K, M, G, T, P, E and KiB, MiB, ... are powers of 1024; KB,
    MB, GB, ... powers of 1000; plain numbers (or ``B``) are bytes. Case-insensitive.
    ValueError for anything else or a size < 1 byte."""
    m = _SIZE.match(text)
    if m is None:
        raise ValueError(f"not a size: {text!r} (examples: 512M, 4G, 1.5GiB, 1000000)")
    number, prefix, binary, _ = m.groups()
    if prefix is None:
        if "." in number:
            raise ValueError(f"a size in bytes must be a whole number, got {text!r}")
        value = int(number)
    else:
        text_unit = text.strip()[len(number):].strip()
        base = 1024 if binary or not text_unit.lower().endswith("b") else 1000
        value = int(float(number) * base ** ("kmgtpe".index(prefix.lower()) + 1))
    if value < 1:
        raise ValueError(f"a memory limit must be at least 1 byte, got {text!r}")
    return value


class ByteSize(click.ParamType):
    """A memory size such as ``512M``, ``4G``, ``1.5GiB`` or ``1000000`` (see :func:`parse_size`)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _check_plot_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and os.path.splitext(value)[1].lower() not in PLOT_SUFFIXES:
        raise click.BadParameter(f"{value!r}: the file name must end in "
                                 f"{', '.join(PLOT_SUFFIXES)}", ctx, param)
    return value


# --- error handling -------------------------------------------------------------------------------
def _one_line(text: str) -> str:
    return " ".join(str(text).split("\n")).strip()


def _fail(message: str, code: int) -> click.exceptions.Exit:
    click.echo(_one_line(message), err=True)
    return click.exceptions.Exit(code)


class QsimGroup(click.Group):
    """A click group that turns every exception into one line on stderr and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort,
                BrokenPipeError):
            raise
        except QasmError as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        except SimulationError as exc:
            if exc.bytes_needed is not None:
                raise _fail(f"qsim: {exc}", EXIT_MEMORY) from None
            raise _fail(f"qsim: error: {exc}", EXIT_USAGE) from None
        except QsimError as exc:
            raise _fail(f"qsim: error: {exc}", EXIT_USAGE) from None
        except MemoryError as exc:
            raise _fail(f"qsim: not enough memory: {exc or 'allocation failed'}",
                        EXIT_MEMORY) from None
        except Exception as exc:
            if os.environ.get("QSIM_DEBUG") == "1":
                raise
            raise _fail(f"qsim: internal error: {type(exc).__name__}: {exc}",
                        EXIT_INTERNAL) from None


# --- input ----------------------------------------------------------------------------------------
def _read_source(path: str) -> tuple[bytes | str, str]:
    if path == "-":
        stdin = sys.stdin
        return getattr(stdin, "buffer", stdin).read(), STDIN_NAME
    with open(path, "rb") as f:
        return f.read(), path


def load_circuit(path: str) -> tuple[Circuit, str]:
    """The circuit in file ``path`` (``-``: standard input) and the name used in messages."""
    from .qasm import load_qasm, loads_qasm

    if path == "-":
        data, name = _read_source(path)
        return loads_qasm(data, filename=name), name
    return load_qasm(path), path


def locate_register(circuit: Circuit, num_qubits_fit: int) -> str | None:
    """``file:line:col`` of the ``qreg`` declaration that takes the qubit count past
    ``num_qubits_fit`` (the last one if none does), from the locations the loader recorded; None
    when the circuit was not loaded from OpenQASM or has no quantum register."""
    total, last = 0, None
    for name, size in circuit.qregs:
        total += size
        last = circuit.register_locations.get(name)
        if total > num_qubits_fit:
            break
    return last


def _memory_location(circuit: Circuit, itemsize: int, max_memory: int | None) -> str | None:
    """Where the memory error points: the qreg declaration that makes the state too large."""
    from .resources import available_memory

    limit = max_memory if max_memory is not None else available_memory()
    return locate_register(circuit, max(limit // itemsize, 1).bit_length() - 1)


# --- formatting -----------------------------------------------------------------------------------
def _encodable(stream: IO[str] | None, chars: str) -> bool:
    enc = getattr(stream, "encoding", None) or "utf-8"
    try:
        chars.encode(enc)
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def bar(fraction: float, width: int = BAR_WIDTH, unicode: bool = True) -> str:
    """A horizontal bar ``fraction`` (0..1) of ``width`` characters, in eighths with block
    characters (``#`` per whole character when ``unicode`` is false)."""
    fraction = min(max(fraction, 0.0), 1.0)
    if not unicode:
        return "#" * round(fraction * width)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[part]


def sorted_counts(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Outcomes by decreasing count, ties by outcome."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _gate_count(circuit: Circuit) -> int:
    return sum(1 for i in circuit.instructions if i.name not in ("measure", "reset", "barrier"))


def format_counts_table(result: Result, *, top: int | None = None, unicode: bool = True) -> str:
    """Counts as a table sorted by count: outcome, count, probability and a bar."""
    rows = sorted_counts(result.counts)
    rest = rows[top:] if top is not None else []
    rows = rows[:top] if top is not None else rows
    if rest:
        rows = rows + [(f"({len(rest)} others)", sum(c for _, c in rest))]
    peak = max((c for _, c in rows), default=1)
    w = max([len("outcome")] + [len(k) for k, _ in rows])
    cw = max(len("count"), len(str(peak)))
    lines = [f"{'outcome'.ljust(w)}  {'count'.rjust(cw)}  probability"]
    for key, c in rows:
        lines.append(f"{key.ljust(w)}  {str(c).rjust(cw)}  {c / result.shots:>11.4f}  "
                     f"{bar(c / peak, unicode=unicode)}".rstrip())
    return "\n".join(lines)


def summary_line(result: Result, circuit: Circuit, precision: str) -> str:
    q = result.num_qubits
    return (f"{q} qubit{'s' * (q != 1)}, {_gate_count(circuit)} gates, {result.shots} shots, "
            f"seed {result.seed}, backend {result.backend} ({precision}), "
            f"{result.time_s:.4f} s")


def state_rows(state: Statevector, *, bit_order: str, threshold: float, show_all: bool
               ) -> list[tuple[str, complex, float]]:
    """(basis label, amplitude, probability) for basis states with ``|amplitude| >= threshold``
    (all of them when ``show_all``), in basis order. Labels: qubit 0 leftmost (``"big"``) or
    rightmost (``"little"``)."""
    import numpy as np

    from .bits import basis_label

    data = state.data
    n = state.num_qubits
    idx = np.arange(data.size) if show_all else np.flatnonzero(np.abs(data) >= threshold)
    rows = []
    for i in idx.tolist():
        a = complex(data[i])
        rows.append((basis_label(i, n, bit_order), a, abs(a) ** 2))
    if bit_order == "little":
        rows.sort(key=lambda r: r[0])
    return rows


def _amp(a: complex) -> str:
    return f"{a.real:+.6f}{a.imag:+.6f}j"


def format_state(rows: list[tuple[str, complex, float]], *, amplitudes: bool, num_qubits: int,
                 hidden: int, threshold: float, bit_order: str, note: str = "") -> str:
    where = "leftmost" if bit_order == "big" else "rightmost"
    head = "final state" if amplitudes else "final probabilities"
    text = f"{head} ({num_qubits} qubits, qubit 0 {where}{note}"
    if hidden:
        text += f"; {hidden} basis states with |amplitude| < {threshold:g} hidden, --all shows them"
    lines = [text + "):"]
    w = max(len("basis"), num_qubits)
    if amplitudes:
        lines.append(f"{'basis'.ljust(w)}  {'amplitude'.ljust(20)}  probability")
        lines += [f"{b.ljust(w)}  {_amp(a).ljust(20)}  {p:.6f}" for b, a, p in rows]
    else:
        lines.append(f"{'basis'.ljust(w)}  probability")
        lines += [f"{b.ljust(w)}  {p:.6f}" for b, _, p in rows]
    return "\n".join(lines)


@contextmanager
def progress(label: str, stream: IO[str] | None = None, *, delay: float = 1.0,
             interval: float = 0.1, enabled: bool | None = None) -> Iterator[None]:
    """An elapsed-time indicator on ``stream`` (stderr) while the block runs, shown only when the
    stream is a terminal and the block lasts longer than ``delay`` seconds; erased at the end.

    qsim.run has no progress callback, so this shows that work is going on and for how long,
    not a fraction done.
    """
    stream = sys.stderr if stream is None else stream
    if enabled is None:
        enabled = bool(getattr(stream, "isatty", lambda: False)())
    if not enabled:
        yield
        return
    stop = threading.Event()
    shown = [0]
    frames = "|/-\\" if not _encodable(stream, "⠋") else "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
    t0 = time.perf_counter()

    def spin() -> None:
        if stop.wait(delay):
            return
        k = 0
        while not stop.is_set():
            text = f"\r{frames[k % len(frames)]} {label} {time.perf_counter() - t0:.1f} s"
            stream.write(text)
            stream.flush()
            shown[0] = max(shown[0], len(text))
            k += 1
            stop.wait(interval)

    th = threading.Thread(target=spin, daemon=True)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join()
        if shown[0]:
            stream.write("\r" + " " * shown[0] + "\r")
            stream.flush()


def _write_output(text: str, output: str | None) -> None:
    if output is None or output == "-":
        click.echo(text)
        return
    try:
        with open(output, "w", encoding="utf-8", newline="") as f:
            f.write(text + "\n")
    except OSError as exc:
        raise _fail(f"qsim: error: cannot write {output}: {exc.strerror or exc}",
                    EXIT_USAGE) from None


def _csv(rows: list[list[Any]]) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().rstrip("\n")


# --- commands -------------------------------------------------------------------------------------
@click.group(cls=QsimGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qsim", prog_name="qsim")
def cli() -> None:
    """qsim: a state-vector quantum circuit simulator for OpenQASM 2 files.

    Bitstrings: qubit 0 / c[0] leftmost, registers in declaration order joined by a space
    (--bit-order little gives Qiskit's keys).
    """


_FILE = click.Path(exists=True, dir_okay=False, allow_dash=True)


@cli.command()
@click.argument("file", type=_FILE)
@click.option("--shots", type=click.IntRange(min=1), default=1024, show_default=True,
              help="Number of shots (>= 1).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Random seed (default: a fresh one, reported in the output).")
@click.option("--backend", type=BackendChoice(), default="statevector", show_default=True)
@click.option("--precision", type=click.Choice(["double", "single"]), default="double",
              show_default=True, help="complex128 or complex64 amplitudes.")
@click.option("--bit-order", type=click.Choice(["big", "little"]), default="big",
              show_default=True, help="big: c[0] leftmost; little: Qiskit's order.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Write the output to this file instead of stdout.")
@click.option("--statevector", is_flag=True, help="Also print the final state (amplitudes).")
@click.option("--probabilities", is_flag=True, help="Also print the final state's probabilities.")
@click.option("--all", "show_all", is_flag=True,
              help="With --statevector/--probabilities: show every basis state.")
@click.option("--threshold", type=click.FloatRange(min=0), default=1e-8, show_default=True,
              help="Hide basis states with |amplitude| below this.")
@click.option("--memory", is_flag=True, help="Also print each shot's outcome, in order.")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Text table and plot: only the TOP most frequent outcomes, the rest summed "
                   "(CSV and JSON always list every outcome).")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False), default=None,
              callback=_check_plot_path, help="Write a histogram (.png, .svg or .pdf).")
@click.option("--show", is_flag=True, help="Open the histogram in a window (needs a display).")
@click.option("--max-memory", type=ByteSize(), default=None,
              help="Refuse state vectors larger than this (512M, 4G, 1.5GiB, bytes); "
                   "default: the memory available.")
def run(file: str, shots: int, seed: int | None, backend: str,
        precision: str, bit_order: str, fmt: str, output: str | None, statevector: bool,
        probabilities: bool, show_all: bool, threshold: float, memory: bool, top: int | None,
        plot_file: str | None, show: bool, max_memory: int | None) -> None:
    """Simulate FILE (OpenQASM 2; '-' reads standard input) and print the counts."""
    from .engine import run as qsim_run

    circuit, name = load_circuit(file)
    if circuit.num_qubits == 0:
        raise _fail(f"{name}: the circuit declares no qubits (no qreg): nothing to simulate",
                    EXIT_USAGE)
    label = f"simulating {circuit.num_qubits} qubits, {shots} shots"
    try:
        with progress(label):
            result = qsim_run(circuit, shots, seed, backend=backend, precision=precision,
                              bit_order=bit_order, memory=memory, max_memory=max_memory,
                              keep_state=statevector or probabilities)
    except SimulationError as exc:
        if exc.bytes_needed is None:
            raise
        where = _memory_location(circuit, 16 if precision == "double" else 8, max_memory)
        raise _fail(f"{where or 'qsim'}: {exc}", EXIT_MEMORY) from None
    if result.implicit_measurement:
        n = circuit.num_qubits
        click.echo(f"qsim: note: the circuit has no measurements; measured all {n} "
                   f"qubit{'s' * (n != 1)} (register {result.registers[-1][0]!r})", err=True)

    state = result.state
    rows: list[tuple[str, complex, float]] = []
    hidden = 0
    if state is not None:
        rows = state_rows(state, bit_order=bit_order, threshold=threshold, show_all=show_all)
        hidden = (1 << state.num_qubits) - len(rows)
    from .info import measurement_kind

    note = "" if measurement_kind(circuit) != "mid-circuit" else (
        f"; one trajectory of the mid-circuit measurements, seed {result.seed}")

    if fmt == "json":
        import json

        out: dict[str, Any] = {
            "counts": result.counts, "shots": result.shots, "seed": result.seed,
            "backend": result.backend, "precision": precision, "qubits": result.num_qubits,
            "clbits": result.num_clbits,
            "registers": [{"name": r, "size": s} for r, s in result.registers],
            "bit_order": result.bit_order, "implicit_measurement": result.implicit_measurement,
            "gates": _gate_count(circuit), "file": name, "time_s": result.time_s,
        }
        if memory:
            out["memory"] = result.memory
        if state is not None:
            out["state_threshold"] = 0.0 if show_all else threshold
        if statevector:
            out["statevector"] = {b: [a.real, a.imag] for b, a, _ in rows}
        if probabilities:
            out["probabilities"] = {b: p for b, _, p in rows}
        text = json.dumps(out, indent=2)
    elif fmt == "csv":
        blocks = [_csv([["outcome", "count", "probability"]] + [
            [k, c, c / result.shots] for k, c in sorted_counts(result.counts)])]
        if state is not None:
            head = ["basis"] + (["re", "im"] if statevector else []) + ["probability"]
            blocks.append(_csv([head] + [[b] + ([a.real, a.imag] if statevector else []) + [p]
                                         for b, a, p in rows]))
        if memory:
            assert result.memory is not None
            blocks.append(_csv([["shot", "outcome"]] + [[i, k] for i, k in
                                                         enumerate(result.memory)]))
        text = "\n\n".join(blocks)
    else:
        stream = sys.stdout if output in (None, "-") else None
        unicode = _encodable(stream, "█▏") if stream is not None else True
        parts = [format_counts_table(result, top=top, unicode=unicode),
                 summary_line(result, circuit, precision)]
        if state is not None:
            parts.append("\n" + format_state(rows, amplitudes=statevector,
                                             num_qubits=state.num_qubits, hidden=hidden,
                                             threshold=threshold, bit_order=bit_order, note=note))
        if memory:
            assert result.memory is not None
            parts.append(f"\nmemory ({result.shots} shots, in order):")
            parts.append("\n".join(result.memory))
        text = "\n".join(parts)
    _write_output(text, output)

    if plot_file is not None or show:
        _plot(result, plot_file, show, title=f"{name} ({result.shots} shots, seed {result.seed})",
              top=top)


def _plot(result: Result, plot_file: str | None, show: bool, *, title: str,
          top: int | None) -> None:
    from .plot import has_display, plot_histogram

    if plot_file is not None:
        fig = plot_histogram(result, title=title, top=top)
        try:
            fig.savefig(plot_file, dpi=100)
        except OSError as exc:
            raise _fail(f"qsim: error: cannot write {plot_file}: {exc.strerror or exc}",
                        EXIT_USAGE) from None
    if show:
        if not has_display():
            click.echo("qsim: warning: no display available; --show ignored (use --plot FILE)",
                       err=True)
            return
        import matplotlib.pyplot as plt

        fig = plt.figure()
        plot_histogram(result, ax=fig.add_subplot(), title=title, top=top)
        plt.show()


@cli.command()
@click.argument("file", type=_FILE)
@click.option("--width", type=click.IntRange(min=0), default=None,
              help="Wrap at this many characters (0: never; default: the terminal's width, "
                   "80 when not a terminal).")
@click.option("--ascii", "use_ascii", is_flag=True, help="Only ASCII characters.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None)
def draw(file: str, width: int | None, use_ascii: bool, output: str | None) -> None:
    """Draw FILE as a text diagram, one wire per qubit ('-' reads standard input)."""
    from .draw import draw_text

    circuit, _ = load_circuit(file)
    if width is None:
        width = 80
        if output is None and sys.stdout.isatty():
            import shutil

            width = shutil.get_terminal_size((80, 24)).columns
    _write_output(draw_text(circuit, width=width, ascii=use_ascii), output)


@cli.command()
@click.argument("file", type=_FILE)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def info(file: str, fmt: str) -> None:
    """Summarise FILE: registers, gate counts, depth, state-vector memory."""
    from .info import circuit_info, format_info

    circuit, name = load_circuit(file)
    data = circuit_info(circuit)
    if fmt == "json":
        import json

        click.echo(json.dumps({"file": name, **data}, indent=2))
    else:
        click.echo(format_info(data, source=name))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``qsim``)."""
    cli.main(args=argv, prog_name="qsim")


if __name__ == "__main__":
    main()
