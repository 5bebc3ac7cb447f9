"""The include linker: which parsed text an ``include "file";`` statement brings in.

* ``include "qelib1.inc";`` always means the 2017 library bundled with qsim as package data (a
  ``qelib1.inc`` on disk is never read), together with the names of the extra gates of Qiskit's
  ``qelib1.inc`` (:data:`qsim.gates.QISKIT_QELIB1_EXTRA`) that qsim implements natively;
* any other file is looked for relative to the including file (for a program given as a string:
  the working directory), then in the include directories; an absolute path is used as is;
* each file is brought in at most once (files are told apart by their real path); including a
  file that is being included (a cycle), or nesting includes more than :data:`MAX_INCLUDE_DEPTH`
  deep, is an error located at the file name;
* an included file has no ``OPENQASM`` line.

What the included statements *mean* (symbol tables, validation) is :mod:`.semantics`' business;
it asks :class:`IncludeLinker` for each include and analyses what comes back.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources

from ..gates import GATES, QISKIT_QELIB1_EXTRA
from .ast import Include, Program
from .lexer import Source, decode
from .parser import parse

__all__ = [
    "QELIB1", "MAX_INCLUDE_DEPTH", "Inclusion", "IncludeLinker", "qelib1_source",
    "qelib1_program", "qelib1_extra_gates",
]

#: The standard library's file name.
QELIB1 = "qelib1.inc"
#: Deepest chain of nested include files.
MAX_INCLUDE_DEPTH = 32


@functools.lru_cache(maxsize=1)
def qelib1_source() -> Source:
    """The bundled (2017, Cross et al.) ``qelib1.inc``, as a Source."""
    text = resources.files("qsim.qasm").joinpath(QELIB1).read_text(encoding="utf-8")
    return Source(text, QELIB1)


@functools.lru_cache(maxsize=1)
def qelib1_program() -> Program:
    """The bundled ``qelib1.inc``, parsed (its statements are all gate definitions)."""
    return parse(qelib1_source(), header=False)


@functools.lru_cache(maxsize=1)
def qelib1_extra_gates() -> tuple[str, ...]:
    """The gates Qiskit's ``qelib1.inc`` adds to the 2017 library that qsim implements natively,
    sorted by name."""
    return tuple(name for name in sorted(QISKIT_QELIB1_EXTRA) if name in GATES)


@dataclass(frozen=True, slots=True)
class Inclusion:
    """What one include statement brings in: a parsed file (``real_path`` its real path on disk),
    or the bundled ``qelib1.inc`` (``real_path`` None) with Qiskit's extra gate names."""

    program: Program
    real_path: str | None
    extra_gates: tuple[str, ...] = ()

    @property
    def is_qelib1(self) -> bool:
        return self.real_path is None


class IncludeLinker:
    """Resolves the includes of one main program (``main``: its source, whose ``path``, if any,
    starts the chain of files being included)."""

    def __init__(self, main: Source, include_dirs: Sequence[str | os.PathLike[str]] = ()) -> None:
        self.include_dirs = [os.fspath(d) for d in include_dirs]
        self.included: set[str] = set()  # real paths of the files brought in so far
        self.active: list[str] = []  # real paths of the files being included, outermost first
        if main.path is not None:
            self.active.append(os.path.realpath(main.path))
        self.qelib1_included = False

    def resolve(self, stmt: Include) -> Inclusion | None:
        """What ``stmt`` brings in; None when it brings nothing new (the file, or qelib1.inc, was
        already included).  Analyse a file's statements inside :meth:`entered`.  Raises
        QasmError, located at the file name, when the file cannot be found or read, forms a
        cycle or nests too deeply (and when it does not parse)."""
        if stmt.path == QELIB1:
            if self.qelib1_included:
                return None
            self.qelib1_included = True
            return Inclusion(qelib1_program(), None, qelib1_extra_gates())
        path = self._find(stmt)
        real = os.path.realpath(path)
        if real in self.active:
            chain = " -> ".join(os.path.basename(p) for p in [*self.active, real])
            raise stmt.source.error(stmt.path_pos, f"include cycle: '{stmt.path}' is already "
                                    f"being included ({chain})")
        if real in self.included:
            return None  # each file is included at most once
        if len(self.active) >= MAX_INCLUDE_DEPTH:
            raise stmt.source.error(stmt.path_pos, f"includes nested too deeply (more than "
                                    f"{MAX_INCLUDE_DEPTH} levels) at '{stmt.path}'")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise stmt.source.error(stmt.path_pos, f"cannot read include file '{stmt.path}': "
                                    f"{exc.strerror or exc}") from None
        program = parse(Source(decode(data, path), path, path), header=False)
        self.included.add(real)
        return Inclusion(program, real)

    @contextmanager
    def entered(self, inclusion: Inclusion) -> Iterator[None]:
        """While the statements of an included file are analysed: its own includes nest inside
        it (for cycle and depth checks)."""
        if inclusion.real_path is None:
            yield
            return
        self.active.append(inclusion.real_path)
        try:
            yield
        finally:
            self.active.pop()

    def _find(self, stmt: Include) -> str:
        name = stmt.path
        if not name:
            raise stmt.source.error(stmt.path_pos, "empty include file name")
        if os.path.isabs(name):
            candidates = [name]
        else:
            including = stmt.source.path
            base = [os.path.dirname(including)] if including is not None else [os.getcwd()]
            candidates = [os.path.join(d, name) if d else name for d in base + self.include_dirs]
        for candidate in candidates:
            if os.path.isfile(candidate):
                return candidate
        searched = ", ".join(os.path.dirname(c) or "." for c in candidates)
        raise stmt.source.error(stmt.path_pos, f"include file '{name}' not found (searched: "
                                f"{searched})")
