"""The ``qsim`` command line: run, draw and summarise OpenQASM 2 circuits.

::

    qsim run circuits/bell.qasm --shots 2000 --seed 1
    qsim run circuits/bell.qasm --plot bell.png
    qsim run circuits/grover.qasm --format json > counts.json
    qsim run circuits/teleport.qasm --marginal r[0] --plot r.png
    cat circuit.qasm | qsim run - --statevector
    qsim plot counts.json noisy.json --legend ideal,noisy --plot compare.png
    qsim run c.qasm --noise depolarizing=0.01 --noise readout=0.02 --compare --plot cmp.png
    qsim draw circuits/teleport.qasm
    qsim draw circuits/teleport.qasm -o teleport.svg
    qsim info circuits/qft.qasm

Exit codes: 0 success; 1 internal error (one line ``qsim: internal error: ...``; set
``QSIM_DEBUG=1`` for the traceback); 2 bad usage, bad OpenQASM (one line
``file:line:col: message``) or an output that cannot be written; 3 the state vector (or the
``--statevector`` / ``--probabilities`` listing) needs more memory than allowed (``--max-memory``,
default the memory available now), with the size it needs; 130 interrupted (Ctrl-C), one line
``qsim: interrupted``.

Warnings (:class:`qsim.errors.QsimWarning`) are printed as one line each, ``qsim: warning: ...``.
Output files (``-o``, ``--plot``) are checked before anything is simulated and written to a
temporary file in the same folder, renamed into place only when complete.

matplotlib is imported only for ``--plot`` / ``--show`` / ``--marginal``, ``qsim plot`` and
``qsim draw -o FILE.png|.svg|.pdf``, so that ``qsim run`` starts fast.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, NoReturn, TextIO

import click

from . import interrupts
from .errors import QasmError, QsimError, QsimWarning, SimulationError
from .resources import DEFAULT_MAX_GATES

if TYPE_CHECKING:
    from .circuit import Circuit
    from .result import Result
    from .statevector import Statevector

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_MEMORY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
BAR_WIDTH = 40
#: Rows of the text counts table when neither --top nor --all is given.
DEFAULT_TOP = 20
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
    """A click group that turns every exception into one line on stderr and an exit code, and
    every :class:`~qsim.errors.QsimWarning` into one line ``qsim: warning: ...``."""

    def invoke(self, ctx: click.Context) -> Any:
        # An MPI run (--backend mpi) ends with every rank agreeing on one exit code.
        try:
            value = self._invoke(ctx)
        except BaseException as exc:
            _mpi_exit(exc)
            raise
        _mpi_exit(None)
        return value

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            with report_warnings():
                value = super().invoke(ctx)
                interrupts.check()  # one that a C callback dropped on the way
            _flush_stdout()
            return value
        except KeyboardInterrupt:
            interrupts.clear()
            raise _fail("qsim: interrupted", EXIT_INTERRUPTED) from None
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
            raise _fail(f"qsim: not enough memory: {str(exc) or 'allocation failed'}",
                        EXIT_MEMORY) from None
        except Exception as exc:
            if os.environ.get("QSIM_DEBUG") == "1":
                raise
            raise _fail(f"qsim: internal error: {type(exc).__name__}: {exc}",
                        EXIT_INTERNAL) from None


def _mpi_exit(exc: BaseException | None) -> None:
    """In an MPI run of the command (every rank runs it; :func:`qsim.backends.mpi.cli_rank`),
    exit with the code the ranks agree on when it is not this rank's own."""
    mpi = sys.modules.get("qsim.backends.mpi")
    code = None if mpi is None else mpi.cli_exit_code(exc)
    if code is not None:
        raise click.exceptions.Exit(code)


# --- warnings and the status line on stderr -------------------------------------------------------
class _StatusLine:
    """The progress line now shown (its stream and width), so that a warning printed while it
    is shown first erases it instead of being glued to it. Guarded by ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stream: IO[str] | None = None
        self.width = 0

    def clear(self) -> None:
        """Erase the line if one is shown (call with ``lock`` held)."""
        if self.stream is not None and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
        self.width = 0


_STATUS = _StatusLine()


def print_warning(message: str) -> None:
    """``qsim: warning: message`` as one line on stderr (erasing the progress line first)."""
    with _STATUS.lock:
        _STATUS.clear()
        click.echo(f"qsim: warning: {_one_line(message)}", err=True)


@contextmanager
def report_warnings() -> Iterator[None]:
    """While the block runs, print each QsimWarning when it is issued as one line on stderr
    (not Python's two-line ``file:line: QsimWarning: ...`` format); other warnings are shown as
    Python would. The user's warning filters (``-W``, ``PYTHONWARNINGS``) still apply, and the
    previous filters and ``warnings.showwarning`` are restored afterwards."""
    with warnings.catch_warnings():
        shown_before = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:
            if issubclass(category, QsimWarning):
                print_warning(str(message))
            else:
                shown_before(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


# --- output ---------------------------------------------------------------------------------------
def _cannot_write(path: str, reason: str) -> click.exceptions.Exit:
    return _fail(f"qsim: error: cannot write {path}: {reason}", EXIT_USAGE)


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _silence_stdout() -> None:
    """After a failed write to stdout: point file descriptor 1 at /dev/null so that what is left
    in Python's buffers does not fail again (with a traceback) when the interpreter exits."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
    except OSError:
        pass


def _stdout_failed(exc: OSError) -> click.exceptions.Exit:
    _silence_stdout()
    return _fail(f"qsim: error: cannot write output: {_os_reason(exc)}", EXIT_USAGE)


def _flush_stdout() -> None:
    """Flush stdout now, so that a failing write (a full disk: ``> /dev/full``) is reported as an
    output error here rather than as a traceback at interpreter exit. A closed pipe
    (BrokenPipeError) is left to click, which exits quietly."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        _reraise_stdout_error(exc)


def echo_stdout(text: str) -> None:
    """``text`` and a newline on stdout, flushed; a write error is exit 2 with one line."""
    try:
        click.echo(text)
        sys.stdout.flush()
    except OSError as exc:
        _reraise_stdout_error(exc)


def _reraise_stdout_error(exc: OSError) -> NoReturn:
    """A closed pipe goes on to click (which exits quietly); any other write error is exit 2."""
    if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
        raise exc
    raise _stdout_failed(exc) from None


def _is_special(path: str) -> bool:
    """An existing file that is not a regular file (a terminal, a pipe, /dev/null, /dev/stdout):
    written in place, since renaming a file over it would replace the device itself."""
    if path in ("/dev/stdout", "/dev/stderr") or path.startswith(("/dev/fd/", "/proc/")):
        return True
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _target(path: str) -> str:
    """The file a write to ``path`` replaces: a symbolic link's target (the link is kept)."""
    return os.path.realpath(path) if os.path.islink(path) else path


def _temp_name(target: str) -> str:
    folder, base = os.path.split(target)
    return os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")


def _create_temp(target: str) -> tuple[int, str]:
    """A new, empty file in the target's folder, opened for writing (mode 0666 less the umask)."""
    for _ in range(100):
        name = _temp_name(target)
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target)


def check_writable(path: str | None) -> None:
    """Exit 2 now, before anything is simulated, when ``path`` (``-o`` or ``--plot``) cannot be
    written: its folder is missing or not writable, it is a directory, or it is a file that may
    not be written (``os.access``; replacing it would still be allowed). The check creates (and
    removes) a file in the folder, so read-only file systems and permissions are found honestly.
    ``None`` and ``-`` (stdout) pass."""
    if path is None or path == "-":
        return
    if os.path.isdir(path):
        raise _cannot_write(path, os.strerror(errno.EISDIR))
    if _is_special(path):
        if os.path.exists(path) and not os.access(path, os.W_OK):
            raise _cannot_write(path, os.strerror(errno.EACCES))
        return
    target = _target(path)
    folder = os.path.dirname(target) or "."
    if not os.path.exists(folder):
        raise _cannot_write(path, os.strerror(errno.ENOENT))
    if not os.path.isdir(folder):
        raise _cannot_write(path, os.strerror(errno.ENOTDIR))
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise _cannot_write(path, os.strerror(errno.EACCES))
    try:
        fd, name = _create_temp(target)
    except OSError as exc:
        raise _cannot_write(path, _os_reason(exc)) from None
    os.close(fd)
    os.unlink(name)


class AtomicOutputs:
    """Output files written completely or not at all.

    :meth:`stage` writes each file to a temporary file in its folder; :meth:`commit` renames them
    all into place (``os.replace``) once every one is complete. On any failure, interruption
    included, the temporary files are removed and the files already there are untouched.
    Existing files that are not regular files (``/dev/null``, a pipe) are written in place.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[str, str, str]] = []     # (path as given, temp file, target)

    def stage(self, path: str, write: Callable[[IO[bytes]], None]) -> None:
        if _is_special(path):
            try:
                with open(path, "wb") as f:
                    write(f)
            except OSError as exc:
                raise _cannot_write(path, _os_reason(exc)) from None
            return
        target = _target(path)
        try:
            fd, temp = _create_temp(target)
        except OSError as exc:
            raise _cannot_write(path, _os_reason(exc)) from None
        try:
            try:
                mode = stat.S_IMODE(os.stat(target).st_mode)
            except OSError:
                mode = None
            with open(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            if mode is not None:
                os.chmod(temp, mode)          # replacing a file keeps its permissions
        except BaseException as exc:
            _remove(temp)
            if isinstance(exc, OSError):
                raise _cannot_write(path, _os_reason(exc)) from None
            raise
        self._staged.append((path, temp, target))

    def commit(self) -> None:
        try:
            while self._staged:
                path, temp, target = self._staged[0]
                try:
                    os.replace(temp, target)
                except OSError as exc:
                    raise _cannot_write(path, _os_reason(exc)) from None
                self._staged.pop(0)
        finally:
            self.discard()

    def discard(self) -> None:
        for _, temp, _ in self._staged:
            _remove(temp)
        self._staged.clear()

    def __enter__(self) -> AtomicOutputs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def _remove(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


# --- input ----------------------------------------------------------------------------------------
def _read_source(path: str) -> tuple[bytes | str, str]:
    if path == "-":
        stdin = sys.stdin
        return getattr(stdin, "buffer", stdin).read(), STDIN_NAME
    with open(path, "rb") as f:
        return f.read(), path


def load_circuit(path: str, *, max_gates: int | None = None, allow_opaque: bool = False
                 ) -> tuple[Circuit, str]:
    """The circuit in file ``path`` (``-``: standard input) and the name used in messages.
    ``max_gates``: refuse a program that expands to more gates (None: the loader's default,
    :data:`qsim.resources.DEFAULT_MAX_GATES`). ``allow_opaque``: keep calls of opaque gates
    (``draw`` and ``info`` need no definition; ``run`` refuses them at the call)."""
    from .qasm import load_qasm, loads_qasm

    if path == "-":
        data, name = _read_source(path)
        return loads_qasm(data, filename=name, max_gates=max_gates,
                          allow_opaque=allow_opaque), name
    return load_qasm(path, max_gates=max_gates, allow_opaque=allow_opaque), path


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


def shown_outcome(key: str) -> str:
    """An outcome or basis label as printed in text: the empty outcome of a circuit without
    classical bits (or qubits) as ``""``."""
    return key if key else '""'


def sorted_counts(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Outcomes by decreasing count, ties by outcome."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _gate_count(circuit: Circuit) -> int:
    return sum(1 for i in circuit.instructions if i.name not in ("measure", "reset", "barrier"))


def format_counts_table(counts: dict[str, int], shots: int, *, top: int | None = None,
                        show_all: bool = False, unicode: bool = True) -> str:
    """Counts as a table sorted by count: outcome, count, probability and a bar.

    ``top=K``: the K most frequent outcomes and one ``(N others)`` row with the rest summed, shown
    without a bar. Otherwise the :data:`DEFAULT_TOP` most frequent outcomes (every one when
    ``show_all``) and, when some are left out, one line saying how many and what share of the
    shots they hold. Bars are scaled to the largest row shown, never to a summed row."""
    ordered = sorted_counts(counts)
    limit = top if top is not None else (None if show_all else DEFAULT_TOP)
    kept = ordered if limit is None else ordered[:limit]
    rest = ordered[len(kept):]
    rest_count = sum(c for _, c in rest)
    rows = [(shown_outcome(k), c) for k, c in kept]
    others = f"({len(rest)} others)" if rest and top is not None else None
    peak = max((c for _, c in rows), default=1)
    w = max([len("outcome")] + [len(k) for k, _ in rows] + ([len(others)] if others else []))
    cw = max(len("count"), len(str(peak)), len(str(rest_count)) if others else 0)
    lines = [f"{'outcome'.ljust(w)}  {'count'.rjust(cw)}  probability"]
    for key, c in rows:
        lines.append(f"{key.ljust(w)}  {str(c).rjust(cw)}  {c / shots:>11.4f}  "
                     f"{bar(c / peak, unicode=unicode)}".rstrip())
    if others is not None:      # summed: no bar, so that it does not flatten the kept rows
        lines.append(f"{others.ljust(w)}  {str(rest_count).rjust(cw)}  {rest_count / shots:>11.4f}")
    elif rest:
        share = rest_count / shots
        shown = f"{share:.2f}" if share >= 0.005 or share == 0 else "< 0.01"
        lines.append(f"({len(rest)} more outcome{'s' * (len(rest) != 1)}, {shown} of the shots; "
                     f"--all shows every outcome)")
    return "\n".join(lines)


# --- marginals ------------------------------------------------------------------------------------
_MARGINAL_ITEM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[([^\]]*)\])?$")
_INT = re.compile(r"^[+-]?\d+$")


class MarginalSpec:
    """``--marginal SPEC``: which bits of the outcome to keep.

    * ``0,1,2``: positions in the outcome key as printed, spaces removed (0 is the leftmost
      character), in the order given;
    * ``c[0:3]`` (a register slice, Python-style: end excluded, negative indices and a step
      allowed), ``c[0],c[2]`` (single bits), ``c`` (a whole register), or a comma-separated mix of
      these: classical bits by register; the marginal key lists them in the order given (the first
      one leftmost) with ``--bit-order big`` and reversed (the first one rightmost, Qiskit's
      convention) with ``little``.

    The syntax is checked when the option is read (:meth:`parse`, ValueError); the register names
    and ranges when the outcome layout is known (:meth:`positions`, ValueError)."""

    def __init__(self, text: str, positions: list[int] | None,
                 bits: list[tuple[str, int | slice | None]]) -> None:
        self.text, self._positions, self._bits = text, positions, bits

    @classmethod
    def parse(cls, text: str) -> MarginalSpec:
        items = [t.strip() for t in text.split(",")]
        if not text.strip() or any(not t for t in items):
            raise ValueError("expected positions like 0,1,2 or bits like c[0:3] or c[0],c[2]")
        if all(_INT.match(t) for t in items):
            positions = [int(t) for t in items]
            if any(p < 0 for p in positions):
                raise ValueError("positions must be >= 0")
            return cls(text, positions, [])
        bits: list[tuple[str, int | slice | None]] = []
        for t in items:
            m = _MARGINAL_ITEM.match(t)
            if m is None:
                raise ValueError(f"cannot mix positions ({t}) with register bits" if _INT.match(t)
                                 else f"{t!r} is neither a position like 0 nor a register bit "
                                 f"like c[0] or slice like c[0:3]")
            name, index = m.group(1), m.group(2)
            if index is None:
                bits.append((name, None))
                continue
            parts = [x.strip() for x in index.split(":")]
            if len(parts) > 3 or any(x and not _INT.match(x) for x in parts) or (
                    len(parts) == 1 and not parts[0]):
                raise ValueError(f"bad index in {t!r} (examples: c[0], c[0:3], c[1:], c[::2])")
            if len(parts) == 1:
                bits.append((name, int(parts[0])))
            else:
                ints = [int(x) if x else None for x in parts]
                if len(ints) == 3 and ints[2] == 0:
                    raise ValueError(f"the step in {t!r} cannot be 0")
                bits.append((name, slice(*ints)))
        return cls(text, None, bits)

    def positions(self, registers: list[tuple[str, int]], bit_order: str) -> list[int]:
        """Positions in the outcome key (spaces removed) for results with these classical
        ``registers`` (declaration order) and ``bit_order``."""
        width = sum(size for _, size in registers)
        if self._positions is not None:
            out = self._positions
            bad = [p for p in out if p >= width]
            if bad:
                raise ValueError(f"position {bad[0]} is past the end of the outcome "
                                 f"({width} bit{'s' * (width != 1)}: positions 0 to {width - 1})"
                                 if width else "the outcomes have no bits")
        else:
            sizes = dict(registers)
            known = ", ".join(f"{r}[{s}]" for r, s in registers) or "none"
            out = []
            for name, index in self._bits:
                if name not in sizes:
                    raise ValueError(f"no classical register {name!r} (registers: {known})")
                size = sizes[name]
                if index is None:
                    chosen = list(range(size))
                elif isinstance(index, slice):
                    chosen = list(range(size))[index]
                    if not chosen:
                        raise ValueError(f"{name}[{_slice_text(index)}] selects no bits "
                                         f"({name} has {size})")
                else:
                    if not -size <= index < size:
                        raise ValueError(f"{name}[{index}] is out of range ({name} has {size} "
                                         f"bit{'s' * (size != 1)})")
                    chosen = [index % size]
                out += [_key_position(registers, name, i, bit_order) for i in chosen]
            if bit_order == "little":
                out = out[::-1]
        dup = sorted({p for p in out if out.count(p) > 1})
        if dup:
            raise ValueError(f"bit at position {dup[0]} chosen twice")
        return list(out)


def _slice_text(s: slice) -> str:
    parts = ["" if v is None else str(v) for v in (s.start, s.stop, s.step)]
    return ":".join(parts if s.step is not None else parts[:2])


def _key_position(registers: list[tuple[str, int]], name: str, index: int, bit_order: str) -> int:
    """Where bit ``name[index]`` is in an outcome key with the spaces removed."""
    names = [r for r, _ in registers]
    k = names.index(name)
    size = registers[k][1]
    if bit_order == "little":       # registers in reverse order, each one reversed
        return sum(s for _, s in registers[k + 1:]) + size - 1 - index
    return sum(s for _, s in registers[:k]) + index


def _parse_marginal(ctx: click.Context, param: click.Parameter,
                    value: str | None) -> MarginalSpec | None:
    if value is None:
        return None
    try:
        return MarginalSpec.parse(value)
    except ValueError as exc:
        raise _fail(f"qsim: error: --marginal {value!r}: {exc}", EXIT_USAGE) from None


def marginal_of(counts: dict[str, int], spec: MarginalSpec, registers: list[tuple[str, int]],
                bit_order: str, *, where: str = "") -> tuple[list[int], dict[str, int]]:
    """(positions, marginal counts) of ``counts`` for ``spec``; exit 2 with one line when the spec
    does not fit the outcomes (``where``: a file name to put first)."""
    try:
        positions = spec.positions(registers, bit_order)
    except ValueError as exc:
        raise _fail(f"qsim: error: {where + ': ' if where else ''}--marginal {spec.text!r}: "
                    f"{exc}", EXIT_USAGE) from None
    from .plot import marginal_counts

    return positions, {str(k): int(v) for k, v in marginal_counts(counts, positions).items()}


def summary_line(result: Result, circuit: Circuit, precision: str) -> str:
    q = result.num_qubits
    return (f"{q} qubit{'s' * (q != 1)}, {_gate_count(circuit)} gates, {result.shots} shots, "
            f"seed {result.seed}, backend {result.backend} ({precision}), "
            f"{result.time_s:.4f} s")


def output_format(output: str | None) -> str:
    """The format ``-o FILE`` implies when ``--format`` is not given: ``json`` for ``.json``,
    ``csv`` for ``.csv`` (any case), else ``text``."""
    suffix = "" if output is None else output.rsplit(".", 1)[-1].lower() if "." in output else ""
    return suffix if suffix in ("json", "csv") else "text"


def state_rows(state: Statevector, *, bit_order: str, threshold: float, show_all: bool
               ) -> list[tuple[str, complex, float]]:
    """(basis label, amplitude, probability) for basis states with ``|amplitude| >= threshold``
    (all of them when ``show_all``), in basis order. Labels: qubit 0 leftmost (``"big"``) or
    rightmost (``"little"``)."""
    import numpy as np

    from .bits import basis_label

    data = state.data
    n = state.num_qubits
    chunk = 1 << 20                 # no temporary array the size of the state
    idx = np.arange(data.size) if show_all else np.concatenate(
        [i + np.flatnonzero(np.abs(data[i:i + chunk]) >= threshold)
         for i in range(0, data.size, chunk)] or [np.zeros(0, np.intp)])
    rows = []
    for i in idx.tolist():
        a = complex(data[i])
        rows.append((basis_label(i, n, bit_order), a, abs(a) ** 2))
    if bit_order == "little":
        rows.sort(key=lambda r: r[0])
    return rows


def state_listing_bytes(num_rows: int, num_qubits: int, *, fmt: str, statevector: bool,
                        probabilities: bool = False) -> int:
    """Memory that listing ``num_rows`` basis states takes while the output is built: the
    (label, amplitude, probability) rows, the format's intermediate objects (JSON: a dict and the
    encoder's pieces; CSV: row lists and a text buffer) and the copies of the text up to the
    encoded bytes. Text and CSV print one table (amplitudes when ``statevector``); JSON holds a
    ``statevector`` and/or a ``probabilities`` object. Per-row costs measured with tracemalloc
    (peak of a ``--all`` run less the peak of the same run without the listing) on CPython 3.11,
    64-bit, 15 to 20 qubits, rounded up."""
    n = num_qubits
    if fmt == "json":          # measured: 715 bytes a row at 15 qubits, 729 at 20; 422, 436
        per_row = ((680 + 4 * n) if statevector else 0) + ((390 + 4 * n) if probabilities else 0)
    elif fmt == "csv":         # 503 at 15, 463 at 20; probabilities only 389, 347
        per_row = (520 + 2 * n) if statevector else (400 + 2 * n)
    else:                      # text: 328 at 15, 343 at 20; probabilities only 284, 299
        per_row = (290 + 4 * n) if statevector else (235 + 4 * n)
    return num_rows * per_row


def _count_at_least(data: Any, threshold: float, chunk: int = 1 << 20) -> int:
    """How many entries of ``data`` have ``|a| >= threshold``, a chunk at a time (no temporary
    array the size of the state)."""
    import numpy as np

    return sum(int(np.count_nonzero(np.abs(data[i:i + chunk]) >= threshold))
               for i in range(0, data.size, chunk))


def check_state_listing(num_rows: int, num_qubits: int, *, fmt: str, statevector: bool,
                        probabilities: bool, max_memory: int | None) -> None:
    """Exit 3 when listing ``num_rows`` basis states (``--statevector``/``--probabilities``) would
    not fit in ``max_memory`` bytes (default: the memory available now)."""
    from .resources import available_memory, human_bytes

    need = state_listing_bytes(num_rows, num_qubits, fmt=fmt, statevector=statevector,
                               probabilities=probabilities)
    limit = available_memory() if max_memory is None else max_memory
    if need <= limit:
        return
    flags = " ".join(f for f, on in (("--statevector", statevector),
                                     ("--probabilities", probabilities)) if on)
    what = "memory available" if max_memory is None else "memory limit"
    raise _fail(f"qsim: {flags} would list {num_rows:,} basis states, which needs about "
                f"{human_bytes(need)} ({need:,} bytes) as {fmt} output, more than the {what} of "
                f"{human_bytes(limit)} ({limit:,} bytes); raise --threshold, leave out --all "
                f"or raise --max-memory", EXIT_MEMORY)


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
        lines += [f"{shown_outcome(b).ljust(w)}  {_amp(a).ljust(20)}  {p:.6f}"
                  for b, a, p in rows]
    else:
        lines.append(f"{'basis'.ljust(w)}  probability")
        lines += [f"{shown_outcome(b).ljust(w)}  {p:.6f}" for b, _, p in rows]
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
    frames = "|/-\\" if not _encodable(stream, "⠋") else "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
    t0 = time.perf_counter()

    def spin() -> None:
        if stop.wait(delay):
            return
        k = 0
        while not stop.is_set():
            text = f"\r{frames[k % len(frames)]} {label} {time.perf_counter() - t0:.1f} s"
            with _STATUS.lock:
                if stop.is_set():
                    break
                stream.write(text)
                stream.flush()
                _STATUS.stream = stream
                _STATUS.width = max(_STATUS.width, len(text))
            k += 1
            stop.wait(interval)

    th = threading.Thread(target=spin, daemon=True)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join()
        with _STATUS.lock:
            if _STATUS.stream is stream:
                _STATUS.clear()
                _STATUS.stream = None


def _write_output(text: str, output: str | None) -> None:
    """``text`` on stdout, or written atomically to ``output``."""
    if output is None or output == "-":
        echo_stdout(text)
        return
    with AtomicOutputs() as files:
        files.stage(output, _text_writer(text))
        files.commit()


def _csv(rows: list[list[Any]]) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    text = buf.getvalue().rstrip("\n")
    if "\n," in text:       # an empty first field (the empty outcome) as "", which reads back as ''
        text = text.replace("\n,", '\n"",')
    return text


# --- noise ----------------------------------------------------------------------------------------
#: ``--noise NAME=VALUE[,VALUE]``: name -> (number of values, what it adds to the model).
NOISE_OPTIONS: dict[str, tuple[tuple[int, ...], str]] = {
    "depolarizing": ((1,), "1-qubit depolarizing P on each qubit after every gate"),
    "depolarizing2": ((1,), "2-qubit depolarizing P after every 2-qubit gate"),
    "bit_flip": ((1,), "X with probability P on each qubit after every gate"),
    "phase_flip": ((1,), "Z with probability P on each qubit after every gate"),
    "bit_phase_flip": ((1,), "Y with probability P on each qubit after every gate"),
    "amplitude_damping": ((1,), "amplitude damping GAMMA on each qubit after every gate"),
    "phase_damping": ((1,), "phase damping LAMBDA on each qubit after every gate"),
    "thermal": ((3,), "T1,T2,TIME: thermal relaxation for TIME on each qubit after every gate"),
    "readout": ((1, 2), "P (symmetric) or P01,P10: readout error on every qubit"),
}


def noise_model_from_options(specs: tuple[str, ...], model_file: str | None) -> Any:
    """The NoiseModel of ``--noise-model FILE`` (first) and the ``--noise NAME=VALUE`` rules
    (then, in order), or None when neither is given. CircuitError (exit 2, one line) for a bad
    name or value."""
    if not specs and model_file is None:
        return None
    from .errors import CircuitError
    from .noise import (
        NoiseModel,
        amplitude_damping,
        bit_flip,
        bit_phase_flip,
        depolarizing,
        phase_damping,
        phase_flip,
        thermal_relaxation,
    )

    model = NoiseModel.load(model_file) if model_file is not None else NoiseModel()
    one: dict[str, Callable[[float], Any]] = {
        "depolarizing": depolarizing, "bit_flip": bit_flip, "phase_flip": phase_flip,
        "bit_phase_flip": bit_phase_flip, "amplitude_damping": amplitude_damping,
        "phase_damping": phase_damping}
    for spec in specs:
        name, eq, text = spec.partition("=")
        key = name.strip().lower().replace("-", "_")
        key = {"thermal_relaxation": "thermal", "depolarizing1": "depolarizing"}.get(key, key)
        if key not in NOISE_OPTIONS or not eq:
            raise CircuitError(f"--noise {spec!r}: expected NAME=VALUE with NAME one of "
                               f"{', '.join(NOISE_OPTIONS)}")
        counts, _ = NOISE_OPTIONS[key]
        parts = [p.strip() for p in text.split(",")]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise CircuitError(f"--noise {spec!r}: {text!r} is not a number"
                               f"{'' if counts == (1,) else ' list'}") from None
        if len(values) not in counts:
            want = " or ".join(str(c) for c in counts)
            raise CircuitError(f"--noise {spec!r}: {key} takes {want} value"
                               f"{'s' * (counts != (1,))}, got {len(values)}")
        try:
            if key == "readout":
                model.readout(values[0] if len(values) == 1 else (values[0], values[1]))
            elif key == "depolarizing2":
                model.add(depolarizing(values[0], qubits=2))
            elif key == "thermal":
                model.add(thermal_relaxation(*values))
            else:
                model.add(one[key](values[0]))
        except CircuitError as exc:
            raise CircuitError(f"--noise {spec!r}: {exc}") from None
    return model


def format_compare_table(ideal: dict[str, int], noisy: dict[str, int], shots: int, *,
                         top: int | None = None, show_all: bool = False) -> str:
    """``--compare``: the ideal and the noisy counts side by side, sorted by the noisy count
    (then the ideal one). ``top`` and the default limit of :data:`DEFAULT_TOP` rows as in
    :func:`format_counts_table`."""
    keys = sorted(set(ideal) | set(noisy), key=lambda k: (-noisy.get(k, 0), -ideal.get(k, 0), k))
    limit = top if top is not None else (None if show_all else DEFAULT_TOP)
    kept = keys if limit is None else keys[:limit]
    rest = keys[len(kept):]
    rows = [(shown_outcome(k), ideal.get(k, 0), noisy.get(k, 0)) for k in kept]
    if rest and top is not None:
        rows.append((f"({len(rest)} others)", sum(ideal.get(k, 0) for k in rest),
                     sum(noisy.get(k, 0) for k in rest)))
    w = max([len("outcome")] + [len(r[0]) for r in rows])
    cw = max([len("noisy")] + [len(str(c)) for r in rows for c in r[1:]])
    lines = [f"{'outcome'.ljust(w)}  {'ideal'.rjust(cw)}  {'noisy'.rjust(cw)}  p(ideal)  "
             f"p(noisy)"]
    lines += [f"{k.ljust(w)}  {str(a).rjust(cw)}  {str(b).rjust(cw)}  {a / shots:>8.4f}  "
              f"{b / shots:>8.4f}" for k, a, b in rows]
    if rest and top is None:
        lines.append(f"({len(rest)} more outcome{'s' * (len(rest) != 1)}; --all shows every "
                     f"outcome)")
    return "\n".join(lines)


# --- commands -------------------------------------------------------------------------------------
@click.group(cls=QsimGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qsim", prog_name="qsim")
def cli() -> None:
    """qsim: a state-vector quantum circuit simulator for OpenQASM 2 files.

    Bitstrings: qubit 0 / c[0] leftmost, registers in declaration order joined by a space
    (--bit-order little gives Qiskit's keys).
    """


_FILE = click.Path(exists=True, dir_okay=False, allow_dash=True)

_MAX_GATES_OPTION = click.option(
    "--max-gates", type=click.IntRange(min=0), default=DEFAULT_MAX_GATES, show_default=True,
    help="Refuse a program that expands to more than this many instructions: each statement "
         "counted after broadcasting ('h q;' on a k-qubit register counts k; measure and reset "
         "too) when loading, and the gates inside gate definitions before simulating; checked "
         "before anything is built.")


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
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default=None,
              help="Output format  [default: from the -o file's suffix (.json, .csv), else "
                   "text]")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Write the output to this file instead of stdout (counts.json writes JSON, "
                   "counts.csv CSV, unless --format says otherwise).")
@click.option("--statevector", is_flag=True, help="Also print the final state (amplitudes).")
@click.option("--probabilities", is_flag=True, help="Also print the final state's probabilities.")
@click.option("--all", "show_all", is_flag=True,
              help="Show every outcome in the text table (default: the 20 most frequent; "
                   "--top K takes precedence) and, with --statevector/--probabilities, every "
                   "basis state.")
@click.option("--threshold", type=click.FloatRange(min=0), default=1e-8, show_default=True,
              help="Hide basis states with |amplitude| below this.")
@click.option("--memory", is_flag=True, help="Also print each shot's outcome, in order.")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Text table and plot: only the TOP most frequent outcomes, the rest summed "
                   "in one row (and in a note under the plot); CSV and JSON always list every "
                   "outcome.")
@click.option("--marginal", "marginal", metavar="SPEC", callback=_parse_marginal, default=None,
              help="Table and plot of the marginal distribution of some classical bits: a "
                   "register slice c[0:3] (end excluded, as in Python), bits c[0],c[2], a "
                   "register c, or positions 0,1,2 in the outcome key (spaces removed).")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False), default=None,
              callback=_check_plot_path, help="Write a histogram (.png, .svg or .pdf).")
@click.option("--show", is_flag=True, help="Open the histogram in a window (needs a display).")
@click.option("--max-memory", type=ByteSize(), default=None,
              help="Refuse state vectors (and --statevector/--probabilities listings) larger "
                   "than this (512M, 4G, 1.5GiB, bytes); default: the memory available.")
@_MAX_GATES_OPTION
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads for the gate kernels (default: QSIM_NUM_THREADS or "
                   "OMP_NUM_THREADS, else the CPUs this process may use). The counts for a "
                   "seed are the same at every thread count.")
@click.option("--noise", "noise_specs", multiple=True, metavar="NAME=VALUE[,VALUE]",
              help="Add noise (repeatable): depolarizing=P (1-qubit depolarizing P, Cirq's "
                   "convention: |0> reads 1 with probability 2P/3, on each qubit after every "
                   "gate), depolarizing2=P (2-qubit depolarizing after every 2-qubit gate), "
                   "bit_flip=P, phase_flip=P, bit_phase_flip=P, amplitude_damping=GAMMA, "
                   "phase_damping=LAMBDA (each on every qubit after every gate), "
                   "thermal=T1,T2,TIME (thermal relaxation for TIME after every gate, any one "
                   "unit), readout=P or readout=P01,P10 (readout error on every qubit).")
@click.option("--noise-model", "noise_model_file", metavar="FILE",
              type=click.Path(exists=True, dir_okay=False), default=None,
              help="A noise model in JSON (docs/noise_model.md; qsim.NoiseModel.save); --noise "
                   "rules are added after its rules.")
@click.option("--compare", is_flag=True,
              help="With noise: also run the ideal circuit (same seed) and show ideal and noisy "
                   "counts side by side in the table and the plot.")
def run(file: str, shots: int, seed: int | None, backend: str,
        precision: str, bit_order: str, fmt: str, output: str | None, statevector: bool,
        probabilities: bool, show_all: bool, threshold: float, memory: bool, top: int | None,
        marginal: MarginalSpec | None, plot_file: str | None, show: bool,
        max_memory: int | None, max_gates: int, threads: int | None,
        noise_specs: tuple[str, ...] = (), noise_model_file: str | None = None,
        compare: bool = False) -> None:
    """Simulate FILE (OpenQASM 2; '-' reads standard input) and print the counts."""
    from .engine import run as qsim_run

    fmt = fmt or output_format(output)
    if backend == "density" and statevector:
        raise _fail("qsim: error: --statevector lists amplitudes, and the density backend holds "
                    "a density matrix; use --probabilities (its diagonal) or leave out --backend",
                    EXIT_USAGE)
    mpi_root = None
    if backend == "mpi":                # every rank checks and computes; rank 0 prints, writes
        from .backends.mpi import cli_rank

        mpi_root = cli_rank()
    check_writable(output)              # before anything is loaded or simulated
    check_writable(plot_file)
    if mpi_root is False:
        output, plot_file, show = None, None, False
    noise_model = noise_model_from_options(noise_specs, noise_model_file)
    if compare and noise_model is None:
        raise _fail("qsim: error: --compare needs --noise or --noise-model", EXIT_USAGE)
    if noise_model is not None and noise_model.has_quantum_noise and (
            statevector or (probabilities and backend != "density")):
        raise _fail("qsim: error: --statevector and --probabilities list a pure state, and a "
                    "noisy run's state is mixed; leave them out, run without noise, or list "
                    "the mixed state's probabilities with --backend density --probabilities",
                    EXIT_USAGE)
    circuit, name = load_circuit(file, max_gates=max_gates)
    want_state = statevector or probabilities
    if want_state and show_all:         # 2**n rows are known before simulating
        check_state_listing(1 << circuit.num_qubits, circuit.num_qubits, fmt=fmt,
                            statevector=statevector, probabilities=probabilities,
                            max_memory=max_memory)
    label = f"simulating {circuit.num_qubits} qubits, {shots} shots"
    try:
        with progress(label):
            result = qsim_run(circuit, shots, seed, backend=backend, precision=precision,
                              bit_order=bit_order, memory=memory, max_memory=max_memory,
                              keep_state=want_state, max_gates=max_gates, threads=threads,
                              **({} if noise_model is None else {"noise": noise_model}))
            ideal = None if not compare else qsim_run(
                circuit, shots, seed if seed is not None else result.seed, backend=backend,
                precision=precision, bit_order=bit_order, max_memory=max_memory,
                max_gates=max_gates, threads=threads)
    except SimulationError as exc:
        if exc.bytes_needed is None:
            raise
        where = _memory_location(circuit, 16 if precision == "double" else 8, max_memory)
        raise _fail(f"{where or 'qsim'}: {exc}", EXIT_MEMORY) from None
    if result.implicit_measurement:
        n = circuit.num_qubits
        if n == 0:
            click.echo('qsim: note: the circuit has no qubits; every shot gives the empty '
                       'outcome ""', err=True)
        else:
            click.echo(f"qsim: note: the circuit has no measurements; measured all {n} "
                       f"qubit{'s' * (n != 1)} (register {result.registers[-1][0]!r})",
                       err=True)

    state = result.state
    if state is None and probabilities and result.density_matrix is not None:
        # The listing of the diagonal: only probabilities are shown, so sqrt(p) stands in as
        # the amplitude that state_rows filters and labels by.
        from .statevector import Statevector

        state = Statevector(result.density_matrix.probabilities_array() ** 0.5)
    rows: list[tuple[str, complex, float]] = []
    hidden = 0
    if state is not None:
        shown = 1 << state.num_qubits if show_all else _count_at_least(state.data, threshold)
        check_state_listing(shown, state.num_qubits, fmt=fmt, statevector=statevector,
                            probabilities=probabilities, max_memory=max_memory)
        rows = state_rows(state, bit_order=bit_order, threshold=threshold, show_all=show_all)
        hidden = (1 << state.num_qubits) - len(rows)
    from .info import measurement_kind

    note = "" if measurement_kind(circuit) != "mid-circuit" else (
        f"; one trajectory of the mid-circuit measurements, seed {result.seed}")
    plotted: Any = result               # what the table and the histogram show
    positions: list[int] = []
    marginal_note = ""
    if marginal is not None:
        positions, plotted = marginal_of(result.counts, marginal, result.registers,
                                         result.bit_order)
        marginal_note = (f"marginal of {marginal.text} (outcome positions "
                         f"{', '.join(map(str, positions))}), {result.shots} shots")
    ideal_plotted: Any = ideal          # --compare: the ideal run, as shown
    if ideal is not None and marginal is not None:
        ideal_plotted = marginal_of(ideal.counts, marginal, ideal.registers, ideal.bit_order)[1]

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
        if noise_model is not None:
            out["noise_model"] = noise_model.to_dict()
        if ideal is not None:
            out["ideal_counts"] = ideal.counts
        if memory:
            out["memory"] = result.memory
        if marginal is not None:
            out["marginal"] = {"spec": marginal.text, "positions": positions,
                               "counts": dict(sorted(plotted.items()))}
            if ideal is not None:
                out["marginal"]["ideal_counts"] = dict(sorted(ideal_plotted.items()))
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
        if marginal is not None:
            blocks.append(_csv([["marginal", "count", "probability"]] + [
                [k, c, c / result.shots] for k, c in sorted_counts(plotted)]))
        if ideal is not None:           # --compare: every block gains the ideal columns
            pairs = [(result.counts, ideal.counts)] + (
                [(plotted, ideal_plotted)] if marginal is not None else [])
            for i, (noisy_counts, ideal_counts) in enumerate(pairs):
                keys = sorted(set(noisy_counts) | set(ideal_counts),
                              key=lambda k: (-noisy_counts.get(k, 0), -ideal_counts.get(k, 0), k))
                blocks[i] = _csv([[("outcome", "marginal")[i], "count", "probability",
                                   "ideal_count", "ideal_probability"]] + [
                    [k, noisy_counts.get(k, 0), noisy_counts.get(k, 0) / result.shots,
                     ideal_counts.get(k, 0), ideal_counts.get(k, 0) / result.shots]
                    for k in keys])
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
        counts = result.counts if marginal is None else plotted
        parts = [format_counts_table(counts, result.shots, top=top, show_all=show_all,
                                     unicode=unicode) if ideal is None else
                 format_compare_table(ideal.counts if marginal is None else ideal_plotted,
                                      counts, result.shots, top=top, show_all=show_all)]
        if marginal_note:
            parts.append(marginal_note)
        parts.append(summary_line(result, circuit, precision))
        if noise_model is not None:
            parts.append(f"noise: {noise_model.summary()}" + (
                f" (ideal: the same circuit and seed without noise, backend {ideal.backend})"
                if ideal is not None else ""))
        if state is not None:
            parts.append("\n" + format_state(rows, amplitudes=statevector,
                                             num_qubits=state.num_qubits, hidden=hidden,
                                             threshold=threshold, bit_order=bit_order, note=note))
        if memory:
            assert result.memory is not None
            parts.append(f"\nmemory ({result.shots} shots, in order):")
            parts.append("\n".join(shown_outcome(k) for k in result.memory))
        text = "\n".join(parts)
    del rows

    with AtomicOutputs() as files:
        if output is None or output == "-":
            echo_stdout(text)
        else:
            files.stage(output, _text_writer(text))
        del text
        title = f"{name} ({result.shots} shots, seed {result.seed})"
        if marginal is not None:
            title += f", marginal {marginal.text}"
        legend = None
        if ideal is not None:           # --compare: ideal and noisy bars side by side
            plotted, legend = [ideal_plotted, plotted], ["ideal", "noisy"]
        if plot_file is not None:
            files.stage(plot_file, _plot_writer(plotted, plot_file, title=title, top=top,
                                                legend=legend))
        files.commit()
    if show:
        _show(plotted, title=title, top=top, plot_file=plot_file, legend=legend)


def _text_writer(text: str) -> Callable[[IO[bytes]], None]:
    def write(f: IO[bytes]) -> None:
        f.write(text.encode("utf-8"))
        f.write(b"\n")

    return write


def _figure_writer(make: Callable[[], Any], path: str, *,
                   tight: bool = False) -> Callable[[IO[bytes]], None]:
    """Write the matplotlib Figure ``make()`` returns, in the format named by ``path``'s suffix
    (``tight``: cropped to what is drawn, so that nothing near the edges is cut off)."""
    def write(f: IO[bytes]) -> None:
        extra: dict[str, Any] = {"bbox_inches": "tight", "pad_inches": 0.1} if tight else {}
        make().savefig(f, format=os.path.splitext(path)[1][1:].lower(), dpi=100, **extra)

    return write


def _plot_writer(data: Any, plot_file: str, *, title: str | None, top: int | None,
                 legend: list[str] | None = None) -> Callable[[IO[bytes]], None]:
    """A histogram of ``data`` (a Result, a counts dict or a list of them) for ``plot_file``."""
    def make() -> Any:
        from .plot import plot_histogram

        return plot_histogram(data, title=title, top=top, legend=legend)

    return _figure_writer(make, plot_file)


def _show(data: Any, *, title: str | None, top: int | None, plot_file: str | None,
          legend: list[str] | None = None) -> None:
    from .plot import has_display, plot_histogram

    if not has_display():
        if plot_file is not None:
            print_warning(f"no display available; --show ignored (the plot was written to "
                          f"{plot_file})")
        else:
            print_warning("no display available; --show ignored (use --plot FILE)")
        return
    import matplotlib.pyplot as plt

    fig = plt.figure()
    plot_histogram(data, ax=fig.add_subplot(), title=title, top=top, legend=legend)
    plt.show()


@cli.command()
@click.argument("file", type=_FILE)
@click.option("--width", type=click.IntRange(min=0), default=None,
              help="Wrap at this many characters (0: never; default: the terminal's width, "
                   "80 when not a terminal).")
@click.option("--ascii", "use_ascii", is_flag=True, help="Only ASCII characters.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Write the diagram to this file instead of stdout: a picture when the name "
                   "ends in .png, .svg or .pdf, the text diagram otherwise ('-': stdout).")
@_MAX_GATES_OPTION
def draw(file: str, width: int | None, use_ascii: bool, output: str | None,
         max_gates: int) -> None:
    """Draw FILE as a text diagram, one wire per qubit ('-' reads standard input), or as a
    picture with -o c.png / c.svg / c.pdf."""
    check_writable(output)
    circuit, _ = load_circuit(file, max_gates=max_gates, allow_opaque=True)
    if output not in (None, "-") and os.path.splitext(output)[1].lower() in PLOT_SUFFIXES:
        def make() -> Any:
            from .draw_figure import draw_figure

            return draw_figure(circuit)

        with AtomicOutputs() as files:
            files.stage(output, _figure_writer(make, output, tight=True))
            files.commit()
        return
    from .draw import draw_text

    if width is None:
        width = 80
        if output is None and sys.stdout.isatty():
            import shutil

            width = shutil.get_terminal_size((80, 24)).columns
    _write_output(draw_text(circuit, width=width, ascii=use_ascii), output)


def _read_result(path: str) -> Result:
    """The Result in JSON file ``path`` (``-``: standard input), written by ``qsim run --format
    json`` or ``Result.to_json``; exit 2 with one line when it cannot be read or is not one."""
    import json

    from .result import Result

    name = STDIN_NAME if path == "-" else path
    try:
        data, _ = _read_source(path)
    except OSError as exc:
        raise _fail(f"qsim: error: cannot read {path}: {_os_reason(exc)}", EXIT_USAGE) from None
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        parsed = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _fail(f"qsim: error: {name}: not JSON ({exc})", EXIT_USAGE) from None
    except RecursionError:
        raise _fail(f"qsim: error: {name}: JSON nested too deeply", EXIT_USAGE) from None
    try:        # what Result.from_json does with the text, without taking it for a path
        return Result.from_dict(parsed)
    except KeyError as exc:
        reason = f"missing key {exc}"
    except (ValueError, TypeError, AttributeError) as exc:
        reason = str(exc).removeprefix("Result.from_dict: ") or type(exc).__name__
    raise _fail(f"qsim: error: {name}: not a qsim result (as written by 'qsim run --format "
                f"json'): {reason}", EXIT_USAGE)


@cli.command("plot")
@click.argument("files", nargs=-1, required=True, metavar="FILE [FILE...]")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False), default=None,
              callback=_check_plot_path, help="Write the histogram (.png, .svg or .pdf).")
@click.option("--show", is_flag=True, help="Open the histogram in a window (needs a display).")
@click.option("--legend", default=None, metavar="A,B,...",
              help="Names of the files' bars, comma-separated, one per FILE (default with "
                   "several files: the file names).")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Only the TOP most frequent outcomes (the largest over the files), the "
                   "rest summed in a note under the plot.")
@click.option("--marginal", "marginal", metavar="SPEC", callback=_parse_marginal, default=None,
              help="Plot the marginal distribution of some classical bits (as for qsim run).")
@click.option("--title", default=None, help="The plot's title (default: the file and its "
                                            "shots and seed, for one file).")
def plot_command(files: tuple[str, ...], plot_file: str | None, show: bool, legend: str | None,
                 top: int | None, marginal: MarginalSpec | None, title: str | None) -> None:
    """Draw the histogram of FILE, or compare several FILEs side by side, from JSON written by
    'qsim run --format json' (or Result.to_json), without simulating again."""
    if plot_file is None and not show:
        raise _fail("qsim: error: qsim plot needs --plot FILE (or --show)", EXIT_USAGE)
    if files.count("-") > 1:
        raise _fail("qsim: error: standard input ('-') can be read only once", EXIT_USAGE)
    names = None
    if legend is not None:
        names = [x.strip() for x in legend.split(",")]
        if len(names) != len(files):
            raise _fail(f"qsim: error: --legend has {len(names)} name{'s' * (len(names) != 1)} "
                        f"for {len(files)} file{'s' * (len(files) != 1)}", EXIT_USAGE)
    elif len(files) > 1:
        names = [STDIN_NAME if f == "-" else os.path.basename(f) or f for f in files]
        if len(set(names)) < len(names):            # same name in different folders
            names = [STDIN_NAME if f == "-" else f for f in files]
    check_writable(plot_file)
    results = [_read_result(f) for f in files]
    data: list[Any] = []
    for f, r in zip(files, results):
        if marginal is None:
            data.append(r)
        else:
            data.append(marginal_of(r.counts, marginal, r.registers, r.bit_order,
                                    where=STDIN_NAME if f == "-" else f)[1])
    if title is None and len(files) == 1:
        r = results[0]
        title = f"{STDIN_NAME if files[0] == '-' else files[0]} ({r.shots} shots, seed {r.seed})"
        if marginal is not None:
            title += f", marginal {marginal.text}"
    what = data[0] if len(data) == 1 else data
    if plot_file is not None:
        with AtomicOutputs() as out:
            out.stage(plot_file, _plot_writer(what, plot_file, title=title, top=top,
                                              legend=names))
            out.commit()
    if show:
        _show(what, title=title, top=top, plot_file=plot_file, legend=names)


@cli.command()
@click.argument("file", type=_FILE)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@_MAX_GATES_OPTION
def info(file: str, fmt: str, max_gates: int) -> None:
    """Summarise FILE: registers, gate counts, depth, state-vector memory."""
    from .info import circuit_info, format_info

    circuit, name = load_circuit(file, max_gates=max_gates, allow_opaque=True)
    data = circuit_info(circuit)
    if fmt == "json":
        import json

        echo_stdout(json.dumps({"file": name, **data}, indent=2))
    else:
        echo_stdout(format_info(data, source=name))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``qsim``)."""
    if threading.current_thread() is threading.main_thread():
        interrupts.install()
    try:
        cli.main(args=argv, prog_name="qsim")
    except KeyboardInterrupt:       # outside a command (the command itself reports it)
        click.echo("qsim: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
