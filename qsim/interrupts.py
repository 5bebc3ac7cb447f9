"""Ctrl-C that is not lost.

numba compiles a kernel on its first use and, while it does, calls Python back from C (its object
cache notifications). A KeyboardInterrupt raised in such a callback is printed as "Exception
ignored" and dropped: the run went on to the end. :func:`install` (the CLI does it, in the main
thread) makes SIGINT raise KeyboardInterrupt as before *and* mark it pending, and stops the
dropped one from being printed; :func:`check`, which the engine calls between operators, raises
a pending interrupt. Without :func:`install` (the Python API) nothing changes and :func:`check`
costs one global read.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

_pending = False


def _handler(signum: int, frame: Any) -> None:
    global _pending
    _pending = True
    raise KeyboardInterrupt


def install() -> None:
    """SIGINT marks the interrupt pending as well as raising it (main thread only)."""
    global _pending
    _pending = False
    signal.signal(signal.SIGINT, _handler)
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if not (_pending and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            previous(unraisable)

    sys.unraisablehook = hook


def clear() -> None:
    """Forget a pending interrupt (it was delivered)."""
    global _pending
    _pending = False


def check() -> None:
    """Raise KeyboardInterrupt if one was signalled and dropped on the way."""
    global _pending
    if _pending:
        _pending = False
        raise KeyboardInterrupt
