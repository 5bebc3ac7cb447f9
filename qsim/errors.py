"""The exceptions qsim raises: one base class, one subclass per kind of failure."""

from __future__ import annotations


class QsimError(Exception):
    """Base class of every error qsim raises on purpose."""


class CircuitError(QsimError, ValueError):
    """An invalid circuit: wrong arity, out-of-range qubit, duplicate qubits, non-unitary matrix, ..."""


class QasmError(QsimError, ValueError):
    """An OpenQASM source that cannot be loaded.

    ``str(err)`` is ``file:line:col: message`` (the parts that are known).
    """

    def __init__(
        self,
        message: str,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.col = col
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [str(p) for p in (self.file, self.line, self.col) if p is not None]
        return ":".join(where) + ": " + self.message if where else self.message


class SimulationError(QsimError):
    """A simulation that cannot run, typically because it needs more memory than allowed.

    ``bytes_needed`` holds the size that was refused, when that is the reason.
    """

    def __init__(self, message: str, bytes_needed: int | None = None) -> None:
        self.bytes_needed = bytes_needed
        super().__init__(message)


class QsimWarning(UserWarning):
    """Something qsim did that the user should know about but that is not an error (a file run
    without its ``OPENQASM 2.0;`` header, a slow fallback, ...). The command line prints each as
    one line ``qsim: warning: ...``."""
