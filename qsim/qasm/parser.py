"""Recursive-descent parser for OpenQASM 2: tokens to :mod:`~qsim.qasm.ast` (syntax only).

Grammar (OpenQASM 2.0, Cross et al. 2017)::

    program    := 'OPENQASM' real ';' statement*         (included files: statement*)
                                                         (see Parser.header for files without it)
    statement  := ';' | 'include' string ';' | ('qreg'|'creg') id '[' int ']' ';'
                | 'gate' id ['(' [ids] ')'] ids '{' (call | 'barrier' ids ';')* '}'
                | 'opaque' id ['(' [ids] ')'] ids ';'
                | qop | 'if' '(' id '==' int ')' qop | 'barrier' args ';'
    qop        := call | 'measure' arg '->' arg ';' | 'reset' arg ';'
    call       := id ['(' [exprs] ')'] args ';'          (U and CX are ordinary names here)
    arg        := id ['[' int ']']
    expr       := term (('+'|'-') term)*
    term       := unary (('*'|'/') unary)*
    unary      := ('-'|'+') unary | power
    power      := atom ['^' unary]                        (right-associative)
    atom       := real | int | 'pi' | id | '(' expr ')' | func '(' expr ')'

Speed: the common statement ``name(params) q[i], r[j];`` is split by one regular expression
(:data:`_FAST_CALL`); its argument text and (non-numeric) parameter text are memoised, so a large
file costs about one regex match and a few dictionary look-ups per gate.  Everything else (and
any text the fast path is unsure of) goes through the token-level parser, which produces the
same tree, except that fast-path calls carry no spans (``spans`` None; :func:`call_spans`
recomputes them when an error message needs them).  Nesting of expressions is bounded, so no
input can raise RecursionError.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import QasmError
from ..expr import FUNCTIONS, BinOp, Call, Expr, Num, Param, Pi, UnaryOp
from .ast import (
    Arg,
    Barrier,
    BodyStatement,
    CallSpans,
    GateCall,
    GateDecl,
    If,
    Include,
    Measure,
    Program,
    RegDecl,
    Reset,
    Statement,
)
from .lexer import IDENT, KEYWORDS, REAL, SKIP, WS, Lexer, Source, describe

__all__ = ["parse", "parse_expression", "call_spans", "MAX_NESTING", "MAX_EXPR_DEPTH"]

#: Deepest nesting of parentheses, function calls and unary signs in one expression.
MAX_NESTING = 64
#: Deepest expression tree (long chains such as 1+1+...+1 count one level per operator).
MAX_EXPR_DEPTH = 256

_ID = IDENT + r"(?![A-Za-z0-9_])"  # no backtracking into a shorter identifier
_INDEX = r"(?:0|[1-9][0-9]{0,17})(?![0-9])"  # longer integers take the checked slow path
# The fast path's regex only finds the parts of a statement (name, parameter text, argument text
# up to ';'); the argument text is then checked once per distinct text with _ARGS (memoised).
# Both are written so that no two optional blank runs touch and no run can stop inside a comment:
# failing matches backtrack in linear time.
_ARG = rf"{_ID}(?:{WS}*\[{WS}*{_INDEX}{WS}*\])?"
_ARGS = re.compile(rf"{_ARG}(?:{WS}*,{WS}*{_ARG})*{WS}*")
_FAST_CALL = re.compile(rf"{SKIP}({_ID}){WS}*(?:\(([^(){{}};]*)\){WS}*)?([A-Za-z_][^;{{}}]*);")
_FAST_ARG = re.compile(rf"{WS}*({_ID})(?:{WS}*\[{WS}*({_INDEX}){WS}*\])?{WS}*")
_NUMBER = re.compile(rf"{WS}*(?:(-){WS}*)?({REAL}|{_INDEX})(?![A-Za-z0-9_.]){WS}*")
# Products and quotients of signed numbers and pi (``pi/2``, ``-3*pi/4``, ``pi*-0.25``,
# ``0.5*pi``): how exporters (Qiskit, Cirq, tket) write angles.  Built into the same tree as the
# token parser builds (left-associative, a sign binds to its atom).
_ATOM = re.compile(rf"{WS}*(?:([-+]){WS}*)?(?:({REAL}|{_INDEX})(?![A-Za-z0-9_.])|pi(?![A-Za-z0-9_])){WS}*")
_MUL_DIV = re.compile(r"([*/])")
_MAX_PRODUCT_ATOMS = 8
_MAX_INT_DIGITS = 18
#: Digits allowed in the value of ``if (c == value)``: enough for registers of thousands of bits
#: (a 64-bit register's values take up to 20 digits); below Python's int-conversion limit.
_MAX_CONDITION_DIGITS = 4000
_VERSION = re.compile(r"2(?:\.0*)?")

_ADD_OPS = frozenset({"+", "-"})
_MUL_OPS = frozenset({"*", "/"})

Token = tuple[str, str, int]


class Parser:
    """Parser over one :class:`Source`; :meth:`program` reads the whole file."""

    def __init__(self, source: Source, pos: int = 0, *, fast: bool = True) -> None:
        self.source = source
        self.text = source.text
        self.lexer = Lexer(source, pos)
        self.tok: Token | None = None  # one token of look-ahead, lexed lazily
        self.fast = fast
        self.nesting = 0
        # Memo tables for the fast path: parameter text -> expressions, argument text -> args.
        self.param_memo: dict[str, tuple[Expr, ...]] = {}
        self.arg_memo: dict[str, tuple[Arg, ...]] = {}

    # --- tokens -----------------------------------------------------------------------------------
    def peek(self) -> Token:
        tok = self.tok
        if tok is None:
            tok = self.tok = self.lexer.next()
        return tok

    def advance(self) -> Token:
        tok = self.tok
        if tok is None:
            return self.lexer.next()
        self.tok = None
        return tok

    def error(self, pos: int, message: str) -> QasmError:
        return self.source.error(pos, message)

    def expect(self, text: str, context: str = "") -> Token:
        tok = self.advance()
        if tok[1] != text or tok[0] not in ("op", "id"):
            where = f" {context}" if context else ""
            raise self.error(tok[2], f"expected '{text}'{where}, found {describe(tok[0], tok[1])}")
        return tok

    def expect_name(self, what: str) -> Token:
        tok = self.advance()
        if tok[0] != "id":
            raise self.error(tok[2], f"expected {what}, found {describe(tok[0], tok[1])}")
        if tok[1] in KEYWORDS:
            raise self.error(tok[2], f"expected {what}, found keyword '{tok[1]}' (reserved)")
        return tok

    def expect_int(self, what: str, max_digits: int = _MAX_INT_DIGITS) -> int:
        tok = self.advance()
        if tok[0] != "int":
            raise self.error(tok[2], f"expected {what}, found {describe(tok[0], tok[1])}")
        if len(tok[1]) > max_digits:
            raise self.error(tok[2], f"integer '{tok[1][:20]}...' is too large")
        return int(tok[1])

    # --- program ----------------------------------------------------------------------------------
    def program(self, *, header: bool = True) -> Program:
        """Parse a whole file; ``header=False`` for included files (no OPENQASM line)."""
        version = None
        if header:
            version = self.header()
        statements: list[Statement] = []
        append = statements.append
        while True:
            self.fast_calls(statements)
            tok = self.peek()
            if tok[0] == "eof":
                break
            if tok[1] == ";" and tok[0] == "op":
                self.advance()  # an empty statement (Qiskit accepts these too)
                continue
            append(self.statement(tok))
        return Program(self.source, version, statements)

    def header(self) -> str | None:
        """The version of ``OPENQASM <version>;`` (which must be 2.0), or None for a file that
        has no version line but starts with a statement: some published OpenQASM 2 benchmarks
        start with ``include "qelib1.inc";`` and Qiskit reads them, so they are read as
        OpenQASM 2.0 (the loader warns).  An empty file, a file that looks like OpenQASM 3 (see
        :data:`_QASM3_HINT`) and one that starts with something no statement starts with remain
        errors."""
        tok = self.peek()
        if tok[0] == "eof":
            if not self.text.strip():
                raise self.error(0, "empty file: expected an 'OPENQASM 2.0;' header")
            raise self.error(tok[2], "expected an 'OPENQASM 2.0;' header, found end of file")
        if tok[1] != "OPENQASM" or tok[0] != "id":
            starts_statement = tok[0] == "id" or (tok[0] == "op" and tok[1] == ";")
            if starts_statement and not _looks_like_qasm3(self.text):
                return None
            raise self.error(
                tok[2], f"expected an 'OPENQASM 2.0;' header, found {describe(tok[0], tok[1])}"
                + _missing_header_hint(self.text)
            )
        self.advance()
        ver = self.advance()
        if ver[0] not in ("real", "int"):
            raise self.error(
                ver[2], f"expected a version number after 'OPENQASM', found "
                f"{describe(ver[0], ver[1])}"
            )
        if not _VERSION.fullmatch(ver[1]):
            raise self.error(
                ver[2], f"unsupported OpenQASM version '{ver[1]}': this reader handles "
                "OpenQASM 2.0 only"
            )
        self.expect(";", "after the OPENQASM version")
        return ver[1]

    def statement(self, tok: Token) -> Statement:
        kind, text, pos = tok
        if kind != "id":
            if kind == "op" and text == "}":
                raise self.error(pos, "unexpected '}' outside a gate body")
            raise self.error(pos, f"expected a statement, found {describe(kind, text)}")
        if text not in KEYWORDS:
            return self.gate_call()
        if text == "qreg" or text == "creg":
            return self.reg_decl()
        if text == "gate":
            return self.gate_decl()
        if text == "measure":
            return self.measure()
        if text == "reset":
            return self.reset()
        if text == "barrier":
            return self.barrier()
        if text == "if":
            return self.if_stmt()
        if text == "include":
            return self.include()
        if text == "opaque":
            return self.opaque()
        if text == "OPENQASM":
            raise self.error(pos, "the 'OPENQASM' header may appear only once, at the start of "
                             "the main file")
        raise self.error(pos, f"expected a statement, found keyword '{text}'")

    # --- declarations -----------------------------------------------------------------------------
    def include(self) -> Include:
        kw = self.advance()
        tok = self.advance()
        if tok[0] != "string":
            raise self.error(
                tok[2], f"expected a file name in double quotes after 'include', found "
                f"{describe(tok[0], tok[1])}"
            )
        self.expect(";", "after the include file name")
        return Include(self.source, kw[2], tok[1][1:-1], tok[2])

    def reg_decl(self) -> RegDecl:
        kw = self.advance()
        name = self.expect_name("a register name")
        self.expect("[", f"after register name '{name[1]}'")
        size_pos = self.peek()[2]
        size = self.expect_int("a register size (a non-negative integer)")
        self.expect("]", "after the register size")
        self.expect(";", "at the end of the declaration")
        return RegDecl(self.source, kw[2], kw[1], name[1], size, name[2], size_pos)

    def _names(self, what: str, end: str) -> tuple[list[str], list[int]]:
        """Comma-separated identifiers up to (not including) the token ``end``."""
        names: list[str] = []
        poses: list[int] = []
        while True:
            tok = self.expect_name(what)
            names.append(tok[1])
            poses.append(tok[2])
            nxt = self.peek()
            if nxt[1] == "," and nxt[0] == "op":
                self.advance()
                continue
            if nxt[1] == end and nxt[0] == "op":
                return names, poses
            raise self.error(nxt[2], f"expected ',' or '{end}' after '{tok[1]}', found "
                             f"{describe(nxt[0], nxt[1])}")

    def _signature(self, keyword: str) -> tuple[Token, list[str], list[int], list[str], list[int]]:
        name = self.expect_name(f"a gate name after '{keyword}'")
        params: list[str] = []
        ppos: list[int] = []
        tok = self.peek()
        if tok[1] == "(" and tok[0] == "op":
            self.advance()
            tok = self.peek()
            if not (tok[1] == ")" and tok[0] == "op"):
                params, ppos = self._names("a parameter name", ")")
            self.advance()
        end = "{" if keyword == "gate" else ";"
        qubits, qpos = self._names("a qubit argument name", end)
        return name, params, ppos, qubits, qpos

    def gate_decl(self) -> GateDecl:
        kw = self.advance()
        name, params, ppos, qubits, qpos = self._signature("gate")
        open_brace = self.advance()  # '{', checked by _names
        body: list[BodyStatement] = []
        while True:
            self.fast_calls(body)
            tok = self.peek()
            kind, text, pos = tok
            if kind == "op" and text == "}":
                self.advance()
                break
            if kind == "eof":
                line, _ = self.source.line_col(open_brace[2])
                raise self.error(
                    pos, f"unterminated body of gate '{name[1]}': expected '}}' (the body opened "
                    f"on line {line}), found end of file"
                )
            if kind == "id" and text not in KEYWORDS:
                body.append(self.gate_call())
            elif kind == "id" and text == "barrier":
                body.append(self.barrier())
            elif kind == "id" and text in ("measure", "reset", "if", "gate", "opaque", "qreg",
                                           "creg", "include"):
                raise self.error(pos, f"'{text}' is not allowed inside a gate body (gate "
                                 f"'{name[1]}')")
            else:
                raise self.error(pos, f"expected a gate call or '}}' in the body of gate "
                                 f"'{name[1]}', found {describe(kind, text)}")
        return GateDecl(self.source, kw[2], name[1], tuple(params), tuple(qubits), tuple(body),
                        name[2], tuple(ppos), tuple(qpos))

    def opaque(self) -> GateDecl:
        kw = self.advance()
        name, params, ppos, qubits, qpos = self._signature("opaque")
        self.advance()  # ';', checked by _names
        return GateDecl(self.source, kw[2], name[1], tuple(params), tuple(qubits), None,
                        name[2], tuple(ppos), tuple(qpos))

    # --- quantum operations -----------------------------------------------------------------------
    def argument(self) -> tuple[Arg, int, int | None]:
        tok = self.advance()
        if tok[0] != "id":
            raise self.error(tok[2], f"expected a register or qubit argument, found "
                             f"{describe(tok[0], tok[1])}")
        nxt = self.peek()
        if nxt[1] == "[" and nxt[0] == "op":
            self.advance()
            idx_pos = self.peek()[2]
            idx = self.expect_int("an index (a non-negative integer)")
            self.expect("]", "after the index")
            return Arg(tok[1], idx), tok[2], idx_pos
        return Arg(tok[1], None), tok[2], None

    def gate_call(self) -> GateCall:
        name = self.advance()
        params: list[Expr] = []
        param_tuple: tuple[Expr, ...] = ()
        ppos: list[int] = []
        tok = self.peek()
        if tok[1] == "(" and tok[0] == "op":
            lparen = self.advance()
            tok = self.peek()
            if not (tok[1] == ")" and tok[0] == "op"):
                while True:
                    ppos.append(self.peek()[2])
                    params.append(self.expression())
                    tok = self.advance()
                    if tok[1] == "," and tok[0] == "op":
                        continue
                    if tok[1] == ")" and tok[0] == "op":
                        break
                    raise self.error(tok[2], f"expected ',' or ')' in the parameters of "
                                     f"'{name[1]}', found {describe(tok[0], tok[1])}")
                rparen = tok[2]
            else:
                rparen = self.advance()[2]
            param_tuple = tuple(params)
            self.param_memo[self.text[lparen[2] + 1 : rparen]] = param_tuple
        args: list[Arg] = []
        apos: list[int] = []
        ipos: list[int | None] = []
        while True:
            arg, p, ip = self.argument()
            args.append(arg)
            apos.append(p)
            ipos.append(ip)
            tok = self.advance()
            if tok[1] == "," and tok[0] == "op":
                continue
            if tok[1] == ";" and tok[0] == "op":
                break
            raise self.error(tok[2], f"expected ';' after the arguments of '{name[1]}', found "
                             f"{describe(tok[0], tok[1])}")
        spans = CallSpans(tuple(ppos), tuple(apos), tuple(ipos))
        return GateCall(self.source, name[2], name[1], param_tuple, tuple(args), spans)

    def fast_calls(self, out: list[Any]) -> None:
        """Append the simple gate calls that come next (see the module docstring) to ``out``;
        stop, consuming nothing more, at the first statement the token parser must read."""
        if not self.fast or self.tok is not None:
            return
        match = _FAST_CALL.match
        text = self.text
        lexer = self.lexer
        param_memo = self.param_memo
        arg_memo = self.arg_memo
        source = self.source
        append = out.append
        while True:
            m = match(text, lexer.pos)
            if m is None:
                return
            name, ptext, atext = m.groups()
            if name in KEYWORDS:
                return
            if ptext is None:
                params: tuple[Expr, ...] = ()
            else:
                memo = param_memo.get(ptext)
                if memo is None:
                    if "//" in ptext:
                        return  # a comment: the ')' found may be inside it
                    memo = _numbers(ptext)
                    if memo is None:
                        memo = _simple_params(ptext)
                        if memo is None:
                            return  # an expression: the token parser reads it (and memoises it)
                        param_memo[ptext] = memo
                params = memo
            args = arg_memo.get(atext)
            if args is None:
                args = arg_memo[atext] = _args(atext)
            if not args:
                return  # not a plain argument list (comments, syntax errors, ...)
            lexer.pos = m.end()
            append(GateCall(source, m.start(1), name, params, args))

    def measure(self) -> Measure:
        kw = self.advance()
        qarg, qp, qi = self.argument()
        self.expect("->", "between the measured qubit and the classical bit")
        carg, cp, ci = self.argument()
        self.expect(";", "after the measurement")
        return Measure(self.source, kw[2], qarg, carg, CallSpans((), (qp, cp), (qi, ci)))

    def reset(self) -> Reset:
        kw = self.advance()
        arg, p, i = self.argument()
        self.expect(";", "after the reset argument")
        return Reset(self.source, kw[2], arg, CallSpans((), (p,), (i,)))

    def barrier(self) -> Barrier:
        kw = self.advance()
        args: list[Arg] = []
        apos: list[int] = []
        ipos: list[int | None] = []
        while True:
            arg, p, i = self.argument()
            args.append(arg)
            apos.append(p)
            ipos.append(i)
            tok = self.advance()
            if tok[1] == "," and tok[0] == "op":
                continue
            if tok[1] == ";" and tok[0] == "op":
                break
            raise self.error(tok[2], f"expected ',' or ';' in the barrier arguments, found "
                             f"{describe(tok[0], tok[1])}")
        return Barrier(self.source, kw[2], tuple(args), CallSpans((), tuple(apos), tuple(ipos)))

    def if_stmt(self) -> If:
        kw = self.advance()
        self.expect("(", "after 'if'")
        creg = self.expect_name("a classical register name")
        self.expect("==", f"after '{creg[1]}' in the condition")
        value_pos = self.peek()[2]
        value = self.expect_int("an integer to compare with", _MAX_CONDITION_DIGITS)
        self.expect(")", "after the condition")
        tok = self.peek()
        kind, text, pos = tok
        body: GateCall | Measure | Reset
        if kind == "id" and text not in KEYWORDS:
            body = self.gate_call()
        elif kind == "id" and text == "measure":
            body = self.measure()
        elif kind == "id" and text == "reset":
            body = self.reset()
        else:
            raise self.error(pos, f"expected a gate call, 'measure' or 'reset' after the "
                             f"condition, found {describe(kind, text)}")
        return If(self.source, kw[2], creg[1], value, body, creg[2], value_pos)

    # --- expressions ------------------------------------------------------------------------------
    def expression(self) -> Expr:
        """One parameter expression (raises QasmError when nested too deeply)."""
        node, _ = self._sum()
        return node

    def _enter(self, pos: int) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(pos, f"expression nested too deeply (more than {MAX_NESTING} levels "
                             "of parentheses, calls or signs)")

    def _check_depth(self, depth: int, pos: int) -> None:
        if depth > MAX_EXPR_DEPTH:
            raise self.error(pos, f"expression nested too deeply (more than {MAX_EXPR_DEPTH} "
                             "operators deep)")

    def _sum(self) -> tuple[Expr, int]:
        left, depth = self._product()
        while True:
            tok = self.peek()
            if tok[0] == "op" and tok[1] in _ADD_OPS:
                self.advance()
                right, rdepth = self._product()
                left = BinOp(tok[1], left, right)
                depth = max(depth, rdepth) + 1
                self._check_depth(depth, tok[2])
            else:
                return left, depth

    def _product(self) -> tuple[Expr, int]:
        left, depth = self._unary()
        while True:
            tok = self.peek()
            if tok[0] == "op" and tok[1] in _MUL_OPS:
                self.advance()
                right, rdepth = self._unary()
                left = BinOp(tok[1], left, right)
                depth = max(depth, rdepth) + 1
                self._check_depth(depth, tok[2])
            else:
                return left, depth

    def _unary(self) -> tuple[Expr, int]:
        tok = self.peek()
        if tok[0] == "op" and tok[1] in _ADD_OPS:
            self.advance()
            self._enter(tok[2])
            operand, depth = self._unary()
            self.nesting -= 1
            if tok[1] == "+":
                return operand, depth
            if type(operand) is Num:
                return Num(-operand.value), depth
            return UnaryOp("-", operand), depth + 1
        return self._power()

    def _power(self) -> tuple[Expr, int]:
        base, depth = self._atom()
        tok = self.peek()
        if tok[0] == "op" and tok[1] == "^":
            self.advance()
            self._enter(tok[2])
            exponent, edepth = self._unary()
            self.nesting -= 1
            depth = max(depth, edepth) + 1
            self._check_depth(depth, tok[2])
            return BinOp("^", base, exponent), depth
        return base, depth

    def _atom(self) -> tuple[Expr, int]:
        kind, text, pos = self.advance()
        if kind == "real" or kind == "int":
            return Num(float(text)), 1
        if kind == "id":
            if text == "pi":
                return Pi(), 1
            if text in FUNCTIONS:
                self.expect("(", f"after function '{text}'")
                self._enter(pos)
                arg, depth = self._sum()
                self.nesting -= 1
                self.expect(")", f"to close '{text}('")
                return Call(text, arg), depth + 1
            if text in KEYWORDS:
                raise self.error(pos, f"expected an expression, found keyword '{text}'")
            return Param(text), 1
        if kind == "op" and text == "(":
            self._enter(pos)
            node, depth = self._sum()
            self.nesting -= 1
            self.expect(")", "to close '('")
            return node, depth
        raise self.error(pos, f"expected an expression, found {describe(kind, text)}")


# Signs of an OpenQASM 3 program (its standard library, its declarations) in a file without a
# version line.
_QASM3_HINT = re.compile(r'"stdgates\.inc"|^[ \t]*(?:qubit|bit)(?:[ \t]*\[[^\]\n]*\])?[ \t]+[A-Za-z_]',
                         re.M)


def _looks_like_qasm3(text: str) -> bool:
    return _QASM3_HINT.search(text[:100_000]) is not None


def _missing_header_hint(text: str) -> str:
    """The end of the message for a file whose first statement is not ``OPENQASM 2.0;``."""
    if _looks_like_qasm3(text):
        return (" (this looks like an OpenQASM 3 program without its version line; this reader "
                "handles OpenQASM version 2.0 only)")
    return " (a program starts with its version line, 'OPENQASM 2.0;')"


def _numbers(ptext: str) -> tuple[Expr, ...] | None:
    """Plain (optionally negated) number literals separated by commas, else None."""
    m = _NUMBER.fullmatch(ptext)
    if m is not None:
        value = float(m.group(2))
        return (Num(-value if m.group(1) else value),)
    if "," not in ptext:
        return None
    out = []
    for piece in ptext.split(","):
        m = _NUMBER.fullmatch(piece)
        if m is None:
            return None
        value = float(m.group(2))
        out.append(Num(-value if m.group(1) else value))
    return tuple(out)


def _product(piece: str) -> Expr | None:
    """``piece`` as a product/quotient of signed numbers and ``pi``, else None."""
    parts = _MUL_DIV.split(piece)
    if len(parts) > 2 * _MAX_PRODUCT_ATOMS - 1:
        return None
    node: Expr | None = None
    for i in range(0, len(parts), 2):
        m = _ATOM.fullmatch(parts[i])
        if m is None:
            return None
        sign, number = m.group(1), m.group(2)
        atom: Expr
        if number is not None:
            value = float(number)
            atom = Num(-value if sign == "-" else value)
        else:
            atom = UnaryOp("-", Pi()) if sign == "-" else Pi()
        node = atom if node is None else BinOp(parts[i - 1], node, atom)
    return node


def _simple_params(ptext: str) -> tuple[Expr, ...] | None:
    """Comma-separated numbers and products of numbers and pi (see :func:`_product`), else None
    (the token parser reads the text)."""
    out: list[Expr] = []
    for piece in ptext.split(","):
        m = _NUMBER.fullmatch(piece)
        if m is not None:
            value = float(m.group(2))
            out.append(Num(-value if m.group(1) else value))
            continue
        node = _product(piece)
        if node is None:
            return None
        out.append(node)
    return tuple(out)


def _args(atext: str) -> tuple[Arg, ...]:
    """The arguments in a fast-path argument text, or () if it is not a plain argument list."""
    if _ARGS.fullmatch(atext) is None:
        return ()
    out = []
    for piece in atext.split(","):
        m = _FAST_ARG.fullmatch(piece)
        assert m is not None
        idx = m.group(2)
        out.append(Arg(m.group(1), None if idx is None else int(idx)))
    return tuple(out)


def parse(source: Source, *, header: bool = True, fast: bool = True) -> Program:
    """Parse one file.  ``header``: the file is a main program, which may start with the
    ``OPENQASM 2.0;`` line (``Program.version``; None when it has none, see
    :meth:`Parser.header`), rather than an included file, where that line is an error.
    ``fast=False`` disables the regex fast path (for tests)."""
    return Parser(source, fast=fast).program(header=header)


def parse_expression(text: str) -> Expr:
    """Parse one parameter expression, e.g. ``parse_expression("pi/2 + theta")``."""
    parser = Parser(Source(text, "<expression>"), fast=False)
    node = parser.expression()
    tok = parser.advance()
    if tok[0] != "eof":
        raise parser.error(tok[2], f"unexpected {describe(tok[0], tok[1])} after the expression")
    return node


def call_spans(stmt: GateCall | Barrier | Measure | Reset) -> CallSpans:
    """Offsets of a statement's parameters and arguments.  A gate call parsed on the fast path
    has none (``spans`` None): it is re-read once with the token parser and the result kept on
    the statement.  Only error reporting needs them, so the fast path never pays for them."""
    spans = stmt.spans
    if spans is None:
        again = Parser(stmt.source, stmt.pos, fast=False).gate_call()
        spans = stmt.spans = again.spans
        assert spans is not None
    return spans
