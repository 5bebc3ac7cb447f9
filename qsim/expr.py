"""Parameter expressions: small immutable trees for gate parameters.

Every node has ``.evaluate(env) -> float`` (``env`` maps parameter names to values),
``str(node)`` (valid OpenQASM 2 text that parses back to an equal tree up to parentheses) and
``.free_names() -> set[str]``.  Plain numbers are accepted wherever an expression is; use
:func:`evaluate_param` to evaluate either kind and :func:`as_expr` to wrap a number.

Example::

    >>> theta = Param("theta")
    >>> e = theta / 2 + Pi()
    >>> str(e), round(e.evaluate({"theta": 1.0}), 6)
    ('theta/2 + pi', 3.641593)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "Expr",
    "Num",
    "Pi",
    "Param",
    "Name",
    "UnaryOp",
    "BinOp",
    "Call",
    "FUNCTIONS",
    "as_expr",
    "evaluate_param",
]

# Precedence levels used to decide where str() needs parentheses.
_ADD, _MUL, _UNARY, _POW, _ATOM = 1, 2, 3, 4, 5
_BINARY_LEVEL = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "^": _POW}

#: The unary functions OpenQASM 2 defines, by name.
FUNCTIONS: dict[str, Callable[[float], float]] = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "exp": math.exp,
    "ln": math.log,
    "sqrt": math.sqrt,
}


class Expr(ABC):
    """Base class of expression nodes (also gives them Python arithmetic operators)."""

    __slots__ = ()

    @abstractmethod
    def evaluate(self, env: Mapping[str, float] | None = None) -> float:
        """Value of the expression with parameter names bound by ``env``."""

    @abstractmethod
    def free_names(self) -> set[str]:
        """Names of the parameters the expression refers to."""

    def _level(self) -> int:
        return _ATOM

    # Python operators build trees, so builder code can write ``Param("t") / 2``.
    def __add__(self, other: ExprLike) -> BinOp:
        return BinOp("+", self, as_expr(other))

    def __radd__(self, other: ExprLike) -> BinOp:
        return BinOp("+", as_expr(other), self)

    def __sub__(self, other: ExprLike) -> BinOp:
        return BinOp("-", self, as_expr(other))

    def __rsub__(self, other: ExprLike) -> BinOp:
        return BinOp("-", as_expr(other), self)

    def __mul__(self, other: ExprLike) -> BinOp:
        return BinOp("*", self, as_expr(other))

    def __rmul__(self, other: ExprLike) -> BinOp:
        return BinOp("*", as_expr(other), self)

    def __truediv__(self, other: ExprLike) -> BinOp:
        return BinOp("/", self, as_expr(other))

    def __rtruediv__(self, other: ExprLike) -> BinOp:
        return BinOp("/", as_expr(other), self)

    def __pow__(self, other: ExprLike) -> BinOp:
        return BinOp("^", self, as_expr(other))

    def __rpow__(self, other: ExprLike) -> BinOp:
        return BinOp("^", as_expr(other), self)

    def __neg__(self) -> UnaryOp:
        return UnaryOp("-", self)


ExprLike = Expr | float | int


def _wrap(node: Expr, ok: bool) -> str:
    text = str(node)
    return text if ok else f"({text})"


@dataclass(frozen=True, slots=True)
class Num(Expr):
    """A numeric literal."""

    value: float

    def evaluate(self, env: Mapping[str, float] | None = None) -> float:
        """The literal's value."""
        return float(self.value)

    def free_names(self) -> set[str]:
        """No names."""
        return set()

    def _level(self) -> int:
        return _UNARY if self.value < 0 else _ATOM

    def __str__(self) -> str:
        value = float(self.value)
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)


@dataclass(frozen=True, slots=True)
class Pi(Expr):
    """The constant ``pi``."""

    def evaluate(self, env: Mapping[str, float] | None = None) -> float:
        """math.pi."""
        return math.pi

    def free_names(self) -> set[str]:
        """No names."""
        return set()

    def __str__(self) -> str:
        return "pi"


@dataclass(frozen=True, slots=True)
class Param(Expr):
    """A reference to a gate parameter by name (bound through ``env``)."""

    name: str

    def evaluate(self, env: Mapping[str, float] | None = None) -> float:
        """``env[name]``; KeyError naming the parameter when it is unbound."""
        if env is None or self.name not in env:
            raise KeyError(f"unbound parameter {self.name!r}")
        return float(env[self.name])

    def free_names(self) -> set[str]:
        """``{name}``."""
        return {self.name}

    def __str__(self) -> str:
        return self.name


#: Alias: a parameter name inside an expression.
Name = Param


@dataclass(frozen=True, slots=True)
class UnaryOp(Expr):
    """Unary ``-`` (or ``+``) applied to an operand."""

    op: str
    operand: Expr

    def evaluate(self, env: Mapping[str, float] | None = None) -> float:
        """Negated (or unchanged) operand value."""
        value = self.operand.evaluate(env)
        return -value if self.op == "-" else value

    def free_names(self) -> set[str]:
        """The operand's names."""
        return self.operand.free_names()

    def _level(self) -> int:
        return _UNARY

    def __str__(self) -> str:
        inner = self.operand
        ok = inner._level() >= _POW
        return self.op + _wrap(inner, ok)


@dataclass(frozen=True, slots=True)
class BinOp(Expr):
    """A binary operation: one of ``+ - * / ^`` (``^`` is power, right-associative)."""

    op: str
    left: Expr
    right: Expr

    def evaluate(self, env: Mapping[str, float] | None = None) -> float:
        """Value of ``left op right``; raises ZeroDivisionError, ValueError or OverflowError."""
        a = self.left.evaluate(env)
        b = self.right.evaluate(env)
        op = self.op
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "^":
            return math.pow(a, b)
        raise ValueError(f"unknown operator {op!r}")

    def free_names(self) -> set[str]:
        """Union of both operands' names."""
        return self.left.free_names() | self.right.free_names()

    def _level(self) -> int:
        return _BINARY_LEVEL[self.op]

    def __str__(self) -> str:
        level = _BINARY_LEVEL[self.op]
        left_level = self.left._level()
        right_level = self.right._level()
        if self.op == "^":
            left_ok = left_level > _POW
            right_ok = right_level >= _POW
        else:
            left_ok = left_level >= level
            right_ok = right_level > level and right_level != _UNARY
        left = _wrap(self.left, left_ok)
        right = _wrap(self.right, right_ok)
        if level == _ADD:
            return f"{left} {self.op} {right}"
        return f"{left}{self.op}{right}"


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """One of the OpenQASM 2 functions ``sin cos tan exp ln sqrt`` applied to an argument."""

    func: str
    arg: Expr

    def __post_init__(self) -> None:
        if self.func not in FUNCTIONS:
            raise ValueError(f"unknown function {self.func!r}; expected one of {sorted(FUNCTIONS)}")

    def evaluate(self, env: Mapping[str, float] | None = None) -> float:
        """``func(arg)``; raises ValueError (domain) or OverflowError."""
        return FUNCTIONS[self.func](self.arg.evaluate(env))

    def free_names(self) -> set[str]:
        """The argument's names."""
        return self.arg.free_names()

    def __str__(self) -> str:
        return f"{self.func}({self.arg})"


def as_expr(value: ExprLike) -> Expr:
    """``value`` as an expression node (numbers become :class:`Num`)."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Num(float(value))
    try:
        return Num(float(value))  # numpy scalars and the like
    except (TypeError, ValueError):
        raise TypeError(f"cannot use {value!r} as a parameter expression") from None


def evaluate_param(param: ExprLike, env: Mapping[str, float] | None = None) -> float:
    """Value of a gate parameter that is either a plain number or an :class:`Expr`."""
    if isinstance(param, Expr):
        return param.evaluate(env)
    return float(param)
