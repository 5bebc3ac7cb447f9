"""Text diagrams of circuits: one wire per qubit, gates grouped in moments.

A moment is a column of operations whose qubit spans do not overlap; each operation goes into the
earliest moment after everything it depends on (its qubits, the qubits its vertical line crosses,
the classical bits it writes or reads in a condition). Multi-qubit gates are joined by a vertical
line; controls are ``●``; measurements show the classical bit they write (``M→c[0]``); conditions
are appended to the gate (``X if c==1``); barriers are ``░``; resets ``|0>``. Wide diagrams wrap
into pages of at most ``width`` characters, marked ``»`` / ``«``. Within a page, the spacer line
between two neighbouring wires is drawn only where a vertical line crosses it.

>>> from qsim import Circuit
>>> print(draw_text(Circuit(2).h(0).cx(0, 1)))
q[0]: ─H──●──
          │
q[1]: ────X──
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

from .gates import GATES
from .ir_view import CircuitLike, InstructionLike

# ASCII fallback, applied to labels before layout so that widths stay right.
_ASCII = str.maketrans({"─": "-", "│": "|", "┼": "+", "●": "*", "░": "#", "×": "x", "√": "s",
                        "†": "dg", "→": "->", "π": "pi", "»": ">", "«": "<"})


#: Multiples of π are recognised with any denominator up to this, and with power-of-two
#: denominators up to :data:`MAX_POW2_DENOMINATOR` (``π/128``, ``3π/256``: QFT angles).
MAX_DENOMINATOR = 64
MAX_POW2_DENOMINATOR = 2**10


def _pi_fraction(r: float) -> Fraction | None:
    """``r`` as a non-zero fraction with a small or power-of-two denominator, if it is one."""
    tol = 1e-9 * max(1.0, abs(r))
    frac = Fraction(r).limit_denominator(MAX_DENOMINATOR)
    if abs(float(frac) - r) >= tol:
        frac = Fraction(round(r * MAX_POW2_DENOMINATOR), MAX_POW2_DENOMINATOR)
        if abs(float(frac) - r) >= tol:
            return None
    return frac or None


def format_angle(x: float) -> str:
    """A parameter in compact form: multiples of π with small denominators (up to 64) or
    power-of-two denominators (up to 1024) as ``3π/4``, ``-π/2``, ``2π``, ``π/128``,
    ``3π/256``; any other number with 4 significant digits (``0.3``); a parameter expression as
    written (``2*phi - 0.1``)."""
    if not isinstance(x, numbers.Real):
        return str(x)
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if abs(x) < 1e-12:
        return "0"
    frac = _pi_fraction(x / math.pi)
    if frac is not None:
        num, den = frac.numerator, frac.denominator
        coeff = {1: "", -1: "-"}.get(num, str(num))
        return f"{coeff}π" + (f"/{den}" if den != 1 else "")
    return f"{x:.4g}"


def _with_params(label: str, params: tuple[float, ...]) -> str:
    if not params:
        return label
    return f"{label}({','.join(format_angle(p) for p in params)})"


def clbit_name(circuit: CircuitLike, bit: int) -> str:
    """The name of classical bit ``bit`` in its register (``c[0]``)."""
    off = 0
    for name, size in circuit.cregs:
        if bit < off + size:
            return f"{name}[{bit - off}]"
        off += size
    return f"c{bit}"


def instruction_style(circuit: CircuitLike, ins: InstructionLike) -> str:
    """How ``ins`` is drawn: ``"barrier"``, ``"measure"``, ``"reset"``, or the gate's style:
    ``"box"`` (a definition, ``unitary`` or a box gate: the name on the first qubit, ``#2``... on
    the others), ``"controlled"`` (``●`` on the leading control qubits, the label on the others)
    or ``"symmetric"`` (the same label on every qubit)."""
    if ins.name in ("barrier", "measure", "reset"):
        return ins.name
    # A definition (opaque ones too) shadows the library gate of the same name.
    if ins.name in circuit.definitions or ins.name == "unitary":
        return "box"
    g = GATES.get(ins.name)
    return "box" if g is None else g.draw_style


def condition_label(ins: InstructionLike) -> str:
    """What is appended to the last label of a conditioned instruction (`` if c==1``), or ``""``."""
    return "" if ins.condition is None else f" if {ins.condition[0]}=={ins.condition[1]}"


def instruction_labels(circuit: CircuitLike, ins: InstructionLike, *,
                       condition: bool = True) -> list[str]:
    """The symbol drawn on each of ``ins.qubits`` (same order); ``condition=False`` leaves out the
    condition (see :func:`condition_label`)."""
    n = len(ins.qubits)
    style = instruction_style(circuit, ins)
    if style == "barrier":
        labels = ["░"] * n
    elif style == "measure":
        labels = [f"M→{clbit_name(circuit, ins.clbits[0])}"]
    elif style == "reset":
        labels = ["|0>"]
    else:
        g = None if ins.name in circuit.definitions else GATES.get(ins.name)
        if style == "box":
            if ins.name == "unitary":
                base = ins.label or "Unitary"
            else:
                base = g.label if g is not None else ins.name
            # Order matters for these gates: the first qubit carries the name, the others #2, #3...
            labels = [_with_params(base, ins.params)] + [f"#{k + 1}" for k in range(1, n)]
        else:
            assert g is not None
            if style == "symmetric":
                labels = [_with_params(g.label, ins.params)] * n
            else:
                k = g.num_controls
                labels = ["●"] * k + [_with_params(g.label, ins.params)] * (n - k)
    if condition and labels:
        labels[-1] += condition_label(ins)
    return labels


@dataclass
class _Placed:
    lo: int
    hi: int
    labels: dict[int, str]
    barrier: bool


def moments(circuit: CircuitLike) -> list[list[InstructionLike]]:
    """The circuit's instructions grouped into moments (see the module docstring)."""
    return [[p[0] for p in m] for m in _layout(circuit)]


def _layout(circuit: CircuitLike,
            ascii: bool = False) -> list[list[tuple[InstructionLike, _Placed]]]:
    nq = circuit.num_qubits
    level = [0] * (nq + circuit.num_clbits)
    out: list[list[tuple[InstructionLike, _Placed]]] = []
    for ins in circuit.instructions:
        if not ins.qubits:
            continue
        lo, hi = min(ins.qubits), max(ins.qubits)
        wires = list(range(lo, hi + 1)) + [nq + b for b in ins.clbits]
        if ins.condition is not None:
            wires += [nq + b for b in circuit.creg_indices(ins.condition[0])]
        m = max(level[w] for w in wires)
        for w in wires:
            level[w] = m + 1
        if m == len(out):
            out.append([])
        labels = instruction_labels(circuit, ins)
        if ascii:
            labels = [s.translate(_ASCII) for s in labels]
        out[m].append((ins, _Placed(lo, hi, dict(zip(ins.qubits, labels)), ins.name == "barrier")))
    return out


def _render_moment(placed: list[_Placed], nq: int) -> tuple[list[str], list[str]]:
    """Cells for one moment: qubit rows (nq) and gap rows between consecutive qubits (nq - 1)."""
    w = max([len(s) for p in placed for s in p.labels.values()] + [1])
    mid = (w - 1) // 2
    rows = ["─" * w] * nq
    gaps = [" " * w] * max(nq - 1, 0)
    for p in placed:
        vchar = "░" if p.barrier else "│"
        for q in range(p.lo, p.hi + 1):
            s = p.labels.get(q)
            if s is not None:
                left = (w - len(s)) // 2
                rows[q] = "─" * left + s + "─" * (w - left - len(s))
            else:
                cross = "░" if p.barrier else "┼"
                rows[q] = "─" * mid + cross + "─" * (w - mid - 1)
            if q < p.hi:
                gaps[q] = " " * mid + vchar + " " * (w - mid - 1)
    return rows, gaps


def draw_text(circuit: CircuitLike, width: int | None = 80, *, ascii: bool = False) -> str:
    """A text diagram of ``circuit``, one wire per qubit (qubit 0 on top), wrapped to ``width``
    characters per line (``None`` or 0: no wrapping). ``ascii=True`` uses only ASCII characters.

    Trailing spaces are stripped; the result has no final newline.
    """
    nq = circuit.num_qubits
    if nq == 0:
        text = f"(empty circuit: 0 qubits, {len(circuit.instructions)} instructions)"
        return text.translate(_ASCII) if ascii else text
    names = [f"{r}[{i}]" for r, size in circuit.qregs for i in range(size)]
    pad = max(len(s) for s in names)
    prefix = [s.ljust(pad) + ": " for s in names]
    blank = " " * len(prefix[0])
    cols = [_render_moment([p for _, p in m], nq) for m in _layout(circuit, ascii)]

    # Greedy page breaking: each column costs its width + 2 (one wire char each side); a page's
    # rows also hold the prefix, the closing wire char, and "«" / "»" where the page continues one
    # before / is continued after.
    limit = width if width and width > 0 else None
    pages: list[list[tuple[list[str], list[str]]]] = [[]]
    used = len(blank) + 2  # prefix, closing wire char, "»"
    for col in cols:
        cost = len(col[0][0]) + 2
        if limit is not None and pages[-1] and used + cost > limit:
            pages.append([])
            used = len(blank) + 3  # prefix, "«", closing wire char, "»"
        pages[-1].append(col)
        used += cost

    blocks = []
    for k, page in enumerate(pages):
        first, last = k == 0, k == len(pages) - 1
        lines = []
        for q in range(nq):
            row = prefix[q] + ("" if first else "«") + "".join(
                "─" + c[0][q] + "─" for c in page) + "─" + ("" if last else "»")
            lines.append(row)
            # The spacer below wire q only where some vertical line on this page crosses it.
            if q < nq - 1 and any(c[1][q].strip() for c in page):
                gap = blank + ("" if first else " ") + "".join(" " + c[1][q] + " " for c in page)
                lines.append(gap.rstrip())
        blocks.append("\n".join(lines))
    text = "\n\n".join(blocks)
    return text.translate(_ASCII) if ascii else text
