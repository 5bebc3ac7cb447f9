"""OpenQASM 2 front end: ``load_qasm(path)`` and ``loads_qasm(text)`` return a Circuit.

Layers: :mod:`.lexer` (tokens with file, line, column) -> :mod:`.parser` (syntax tree,
:mod:`.ast`, plain data) -> :mod:`.semantics` (all validation; builds the Circuit), which asks
:mod:`.includes` what each ``include`` brings in (files on disk, the bundled ``qelib1.inc``).
Every problem with the input is a :class:`~qsim.errors.QasmError` whose text is
``file:line:col: message``.
"""

from __future__ import annotations

from .loader import load_qasm, loads_qasm
from .parser import parse_expression

__all__ = ["load_qasm", "loads_qasm", "parse_expression"]
