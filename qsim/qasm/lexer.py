"""OpenQASM 2 lexer: one compiled master regular expression.

Tokens are ``(kind, text, pos)`` triples internally (``pos`` is a character offset into the source);
:class:`Source` turns an offset into ``file:line:col`` only when a position is needed, so the hot
path never counts lines.  :func:`tokenize` gives the full :class:`Token` objects (with file, line
and column) for tools and tests.

Token kinds: ``real``, ``int``, ``id`` (identifiers and keywords alike), ``string``, ``op``
(``-> == + - * / ^ ( ) [ ] { } , ;``) and ``eof``.  Whitespace, ``//`` comments and ``/* ... */``
comments are skipped (block comments are not OpenQASM 2, but OpenQASM 3 files and some tools'
output start with one; reading them lets such a file reach its version line).

>>> [t.text for t in tokenize('qreg q[2]; // two qubits')]
['qreg', 'q', '[', '2', ']', ';', '']
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from ..errors import QasmError

__all__ = ["KEYWORDS", "Source", "Token", "Lexer", "tokenize", "decode", "describe"]

#: Reserved words: they cannot name registers, gates or parameters.
KEYWORDS: frozenset[str] = frozenset({
    "OPENQASM", "include", "qreg", "creg", "gate", "opaque", "measure", "reset", "barrier", "if",
    "pi", "sin", "cos", "tan", "exp", "ln", "sqrt",
})

#: Whitespace OpenQASM allows (ASCII only; Unicode spaces are lexical errors).
WS = r"[ \t\r\n\f\v]"
# Whitespace runs and comments are matched whole (the look-aheads forbid stopping early), so the
# regex engine cannot backtrack into them when a longer pattern (the parser's fast path) fails:
# no exponential or quadratic blow-up on long runs of blanks.
#: A complete ``/* ... */`` comment (the unrolled form: linear even when it fails to match).
BLOCK_COMMENT = r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/"
SKIP = rf"(?:{WS}+(?!{WS})|//[^\n]*(?![^\n])|{BLOCK_COMMENT})*"
#: Reals: a dot with digits on at least one side, or digits with an exponent.
REAL = r"(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+"
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"

_MASTER = re.compile(
    SKIP
    + rf"""(?:
      (?P<real>{REAL})
    | (?P<int>[0-9]+)
    | (?P<id>{IDENT})
    | (?P<string>"[^"\n]*")
    | (?P<open_comment>/\*)
    | (?P<op>->|==|[-+*/^()\[\]{{}},;])
    | (?P<eof>\Z)
    | (?P<bad>.)
    )""",
    re.VERBOSE | re.DOTALL,
)
_match = _MASTER.match


class Source:
    """The text of one OpenQASM file and its name (as shown in error messages).

    ``path`` is the file's location on disk (None for strings), used to resolve includes.
    """

    __slots__ = ("name", "text", "path", "_line_starts")

    def __init__(self, text: str, name: str = "<string>", path: str | None = None) -> None:
        self.text = text
        self.name = name
        self.path = path
        self._line_starts: list[int] | None = None

    def line_col(self, pos: int) -> tuple[int, int]:
        """1-based (line, column) of character offset ``pos`` (columns count characters)."""
        starts = self._line_starts
        if starts is None:
            starts = [0]
            find = self.text.find
            i = find("\n")
            while i >= 0:
                starts.append(i + 1)
                i = find("\n", i + 1)
            self._line_starts = starts
        line = bisect.bisect_right(starts, pos)
        return line, pos - starts[line - 1] + 1

    def error(self, pos: int, message: str) -> QasmError:
        """A QasmError located at offset ``pos`` of this source."""
        line, col = self.line_col(pos)
        return QasmError(message, self.name, line, col)

    def __repr__(self) -> str:
        return f"Source({self.name!r}, {len(self.text)} chars)"


@dataclass(frozen=True, slots=True)
class Token:
    """One token with its position: ``file:line:col`` (1-based) and character offset ``pos``."""

    kind: str
    text: str
    file: str
    line: int
    col: int
    pos: int


def describe(kind: str, text: str) -> str:
    """How a token is named in an error message: ``'cx'`` or ``end of file``."""
    if kind == "eof":
        return "end of file"
    if kind == "id" and text in KEYWORDS:
        return f"keyword '{text}'"
    return f"'{text}'"


def _bad(source: Source, pos: int, ch: str) -> QasmError:
    if ch == '"':
        return source.error(pos, "unterminated string literal (missing closing '\"')")
    if ch.isprintable() and not ch.isspace():
        return source.error(pos, f"unexpected character '{ch}'")
    return source.error(pos, f"unexpected character {ch!r} (U+{ord(ch):04X})")


def _open_comment(source: Source, pos: int) -> QasmError:
    return source.error(pos, "unterminated comment: '/*' without a closing '*/'")


def _bad_int(source: Source, pos: int, text: str) -> QasmError:
    return source.error(pos, f"invalid integer literal '{text}' (leading zeros are not allowed)")


class Lexer:
    """Pull lexer over a :class:`Source`: :meth:`next` returns the next ``(kind, text, pos)``.

    Raises QasmError for lexical garbage (unexpected characters, unterminated strings, integers
    with leading zeros).  After ``eof`` it keeps returning ``eof``.
    """

    __slots__ = ("source", "text", "pos")

    def __init__(self, source: Source, pos: int = 0) -> None:
        self.source = source
        self.text = source.text
        self.pos = pos

    def next(self) -> tuple[str, str, int]:
        """The next token as ``(kind, text, pos)``."""
        m = _match(self.text, self.pos)
        assert m is not None  # the pattern matches everywhere (bad characters included)
        kind = m.lastgroup
        assert kind is not None
        text = m.group(kind)
        start = m.end() - len(text)
        self.pos = m.end()
        if kind == "int":
            if len(text) > 1 and text[0] == "0":
                raise _bad_int(self.source, start, text)
        elif kind == "bad":
            raise _bad(self.source, start, text)
        elif kind == "open_comment":
            raise _open_comment(self.source, start)
        return kind, text, start


def tokenize(text: str, filename: str = "<string>") -> list[Token]:
    """All tokens of ``text`` (the last one is ``eof``), with file, line and column.

    Raises QasmError at the first lexical error.
    """
    source = Source(text, filename)
    out: list[Token] = []
    for m in _MASTER.finditer(text):
        kind = m.lastgroup
        assert kind is not None
        tok = m.group(kind)
        start = m.end() - len(tok)
        if kind == "bad":
            raise _bad(source, start, tok)
        if kind == "open_comment":
            raise _open_comment(source, start)
        if kind == "int" and len(tok) > 1 and tok[0] == "0":
            raise _bad_int(source, start, tok)
        line, col = source.line_col(start)
        out.append(Token(kind, tok, filename, line, col, start))
        if kind == "eof":
            break
    return out


def decode(data: bytes, filename: str = "<string>") -> str:
    """``data`` decoded as UTF-8 (a leading byte-order mark is dropped).

    Raises QasmError at the first invalid byte, with its line and column.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        head = data[: exc.start]
        line = head.count(b"\n") + 1
        line_start = head.rfind(b"\n") + 1
        col = len(head[line_start:].decode("utf-8", errors="replace")) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise QasmError(
            f"invalid UTF-8 byte 0x{bad}: the file is not valid UTF-8 text", filename, line, col
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text
