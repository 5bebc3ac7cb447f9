"""Entry points: OpenQASM 2 text or file -> :class:`~qsim.circuit.Circuit`.

>>> from qsim.qasm import loads_qasm
>>> c = loads_qasm('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; h q[0]; cx q[0], q[1];')
>>> [(i.name, i.qubits) for i in c.instructions]
[('h', (0,)), ('cx', (0, 1))]
"""

from __future__ import annotations

import gc
import operator
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ..circuit import Circuit
from ..errors import QasmError, QsimWarning
from .ast import Program
from .lexer import Source, decode
from .parser import parse
from .semantics import build_circuit

__all__ = ["load_qasm", "loads_qasm"]

PathLike = str | os.PathLike[str]


def load_qasm(path: PathLike, *, include_dirs: Sequence[PathLike] = (),
              max_gates: int | None = None, allow_opaque: bool = False) -> Circuit:
    """Load an OpenQASM 2 file.  Includes are resolved relative to the including file, then in
    ``include_dirs``; ``include "qelib1.inc";`` always uses the copy bundled with qsim.

    ``max_gates`` caps the instructions the program may expand to (None:
    :data:`qsim.resources.DEFAULT_MAX_GATES`): a broadcast ``h q;`` over a register of size k
    counts k, and they are counted before any is built, so the statement that takes the total
    past the cap is reported (a QasmError at that statement) without building the rest.

    A file without the ``OPENQASM 2.0;`` line (some published benchmarks start with
    ``include "qelib1.inc";``) is read as OpenQASM 2.0, with a :class:`~qsim.errors.QsimWarning`;
    an empty file, or one with another version, is an error.

    A call of an ``opaque`` gate is an error at the call (it cannot be simulated) unless
    ``allow_opaque`` (drawing and summaries need no definition).

    Raises QasmError (``file:line:col: message``) for any problem with the file, including a
    file that cannot be read.  The circuit is named after the file (without its extension).
    """
    limit = _max_gates(max_gates)
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise QasmError(f"cannot read file: {exc.strerror or exc}", name) from None
    source = Source(decode(data, name), name, name)
    stem = os.path.splitext(os.path.basename(name))[0] or None
    with _gc_paused():
        program = parse(source)
        if program.version is None:
            warnings.warn(_no_header(program), QsimWarning, stacklevel=2)
        return build_circuit(program, include_dirs=_dirs(include_dirs), name=stem,
                             max_gates=limit, allow_opaque=allow_opaque)


def loads_qasm(text: str | bytes, *, filename: str = "<string>",
               include_dirs: Sequence[PathLike] = (), max_gates: int | None = None,
               allow_opaque: bool = False) -> Circuit:
    """Load OpenQASM 2 source text (``bytes`` must be UTF-8).

    ``filename`` appears in error messages; unless it looks like ``<string>``, includes are also
    resolved relative to its directory (otherwise relative to the working directory), then in
    ``include_dirs``.  ``max_gates``, ``allow_opaque`` and a missing ``OPENQASM 2.0;`` line: as
    for :func:`load_qasm`.  Raises QasmError.
    """
    limit = _max_gates(max_gates)
    if isinstance(text, (bytes, bytearray)):
        text = decode(bytes(text), filename)
    elif not isinstance(text, str):
        raise TypeError(f"loads_qasm expects str or bytes, got {type(text).__name__} (use "
                        "load_qasm for a path)")
    path = None if filename.startswith("<") else filename
    source = Source(text.removeprefix("\ufeff"), filename, path)
    with _gc_paused():
        program = parse(source)
        if program.version is None:
            warnings.warn(_no_header(program), QsimWarning, stacklevel=2)
        return build_circuit(program, include_dirs=_dirs(include_dirs), max_gates=limit,
                             allow_opaque=allow_opaque)


def _max_gates(max_gates: int | None) -> int | None:
    """``max_gates`` checked: None (the default limit) or a non-negative integer."""
    if max_gates is None:
        return None
    if isinstance(max_gates, bool):
        raise TypeError("max_gates must be an integer or None, got a bool")
    limit = operator.index(max_gates)
    if limit < 0:
        raise ValueError(f"max_gates must be non-negative, got {limit}")
    return limit


def _no_header(program: Program) -> str:
    return f"{program.source.name}:1:1: no 'OPENQASM 2.0;' header; read as OpenQASM 2.0"


def _dirs(include_dirs: Sequence[PathLike]) -> list[str]:
    if isinstance(include_dirs, (str, os.PathLike)):
        include_dirs = [include_dirs]
    return [os.fspath(d) for d in include_dirs]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large, acyclic structure is built.

    Loading allocates a few objects per statement (syntax tree, instructions) and creates no
    reference cycles; the collections those allocations trigger find nothing to free yet cost
    about 20% of the load time of a large file.  The previous state is restored on exit.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
