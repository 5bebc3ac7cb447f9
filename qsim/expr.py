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
    "Parameter",
    "Name",
    "UnaryOp",
    "BinOp",
    "Call",
    "FUNCTIONS",
    "as_expr",
    "evaluate_param",
    "sin",
    "cos",
    "tan",
    "exp",
    "ln",
    "sqrt",
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

    def names(self) -> list[str]:
        """Names of the parameters referred to, in order of first appearance (left to right)."""
        out: dict[str, None] = {}
        stack: list[Expr] = [self]
        while stack:
            node = stack.pop()
            if isinstance(node, Param):
                out.setdefault(node.name, None)
            elif isinstance(node, UnaryOp):
                stack.append(node.operand)
            elif isinstance(node, BinOp):
                stack += [node.right, node.left]
            elif isinstance(node, Call):
                stack.append(node.arg)
        return list(out)

    def subs(self, env: Mapping[str, float]) -> Expr:
        """The expression with the parameters named in ``env`` replaced by their values."""
        if isinstance(self, Param):
            return Num(float(env[self.name])) if self.name in env else self
        if isinstance(self, UnaryOp):
            return UnaryOp(self.op, self.operand.subs(env))
        if isinstance(self, BinOp):
            return BinOp(self.op, self.left.subs(env), self.right.subs(env))
        if isinstance(self, Call):
            return Call(self.func, self.arg.subs(env))
        return self

    def diff(self, name: str) -> Expr:
        """The derivative with respect to parameter ``name``, as an expression."""
        if isinstance(self, Param):
            return Num(1.0 if self.name == name else 0.0)
        if name not in self.free_names():
            return Num(0.0)
        if isinstance(self, UnaryOp):
            d = self.operand.diff(name)
            return _neg(d) if self.op == "-" else d
        if isinstance(self, BinOp):
            a, b = self.left, self.right
            da, db = a.diff(name), b.diff(name)
            if self.op == "+":
                return _add(da, db)
            if self.op == "-":
                return _add(da, _neg(db))
            if self.op == "*":
                return _add(_mul(da, b), _mul(a, db))
            if self.op == "/":
                return _add(_mul(da, BinOp("/", Num(1.0), b)),
                            _neg(_mul(db, BinOp("/", a, BinOp("^", b, Num(2.0))))))
            # a^b = exp(b ln a): d = a^b (db ln a + b da / a)
            if name not in b.free_names():
                return _mul(_mul(b, BinOp("^", a, BinOp("-", b, Num(1.0)))), da)
            return _mul(self, _add(_mul(db, Call("ln", a)), _mul(b, BinOp("/", da, a))))
        if isinstance(self, Call):
            a, da = self.arg, self.arg.diff(name)
            outer: Expr = {
                "sin": lambda: Call("cos", a),
                "cos": lambda: _neg(Call("sin", a)),
                "tan": lambda: BinOp("/", Num(1.0), BinOp("^", Call("cos", a), Num(2.0))),
                "exp": lambda: Call("exp", a),
                "ln": lambda: BinOp("/", Num(1.0), a),
                "sqrt": lambda: BinOp("/", Num(0.5), Call("sqrt", a)),
            }[self.func]()
            return _mul(outer, da)
        return Num(0.0)

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


def _is_num(e: Expr, value: float) -> bool:
    return isinstance(e, Num) and float(e.value) == value


def _add(a: Expr, b: Expr) -> Expr:
    if _is_num(a, 0.0):
        return b
    if _is_num(b, 0.0):
        return a
    return BinOp("+", a, b)


def _mul(a: Expr, b: Expr) -> Expr:
    if _is_num(a, 0.0) or _is_num(b, 0.0):
        return Num(0.0)
    if _is_num(a, 1.0):
        return b
    if _is_num(b, 1.0):
        return a
    return BinOp("*", a, b)


def _neg(a: Expr) -> Expr:
    if isinstance(a, Num):
        return Num(-float(a.value))
    return UnaryOp("-", a)


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

    def __repr__(self) -> str:
        return f"Parameter({self.name!r})"


#: Alias: a parameter name inside an expression.
Name = Param
#: A circuit parameter (``qsim.Parameter("theta")``): a named symbol, equal to any other of the
#: same name, bound with ``Circuit.bind``.
Parameter = Param


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


def _function(func: str) -> Callable[[ExprLike], Expr | float]:
    def fn(x: ExprLike) -> Expr | float:
        if isinstance(x, Expr):
            return Call(func, x)
        return FUNCTIONS[func](float(x))

    fn.__name__ = func
    fn.__doc__ = (f"``{func}(x)``: an expression node when ``x`` is an expression (a parameter), "
                  "else the number.")
    return fn


sin = _function("sin")
cos = _function("cos")
tan = _function("tan")
exp = _function("exp")
ln = _function("ln")
sqrt = _function("sqrt")
