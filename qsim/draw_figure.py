"""Circuit diagrams as matplotlib figures (imported only when this module is: ``qsim draw -o c.svg``).

The picture follows the text diagram of :mod:`qsim.draw`: the same moments (columns), the same
labels (parameters as multiples of π: ``P(π/128)``), qubit 0 on top. Gates are boxes; controls are
dots joined to their targets by a vertical line; X targets of controlled gates are ``⊕``; swaps are
``×``; measurements are a meter box with the classical bit below it; barriers are shaded bands;
resets are ``|0>`` boxes; a condition is written under the gate (``if c==1``). A box gate on
several qubits (a definition, an opaque gate, ``unitary``) is one box across its qubits, with the
qubits numbered in order when it has more than one.

The figure grows with the number of moments and qubits up to a cap: a wide circuit is wrapped into
rows (each one starting with the qubit names), and whatever is still too large is scaled down.

>>> from qsim import Circuit
>>> fig = draw_figure(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]))
>>> sorted(t.get_text() for t in fig.axes[0].texts if t.get_gid() == "gate-label")
['H']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Arc, Circle, Rectangle
from matplotlib.textpath import TextPath

from .draw import clbit_name, condition_label, instruction_labels, instruction_style, moments
from .ir_view import CircuitLike, InstructionLike

#: Inches per layout unit (the distance between two wires) at ``scale=1``.
UNIT_IN = 0.5
#: Font size of gate labels at ``scale=1`` (points); notes (bits, conditions) are 80 % of it.
FONT_PT = 10.0
SMALL = 0.8
#: The figure is at most this large at ``scale=1`` (inches): wider circuits wrap into rows, and
#: what is still larger is scaled down.
MAX_WIDTH_IN = 16.0
MAX_HEIGHT_IN = 24.0

_GAP = 0.3          # between two columns
_BOX_H = 0.6        # height of a one-qubit box
_PAD = 0.4          # box width beyond its label
_ROW_GAP = 1.3      # between the last wire of one row and the first of the next
_MARGIN = 0.6       # above the first and below the last wire
_NOTE_DY = 0.48     # a note's distance below its wire


@lru_cache(maxsize=4096)
def _text_units(text: str, small: bool = False) -> float:
    """The width of ``text`` at the label font size, in layout units."""
    size = FONT_PT * (SMALL if small else 1.0)
    width_pt = TextPath((0, 0), text, size=size, prop=FontProperties()).get_extents().width
    return float(width_pt) / (72.0 * UNIT_IN)


@dataclass
class _Item:
    """One instruction placed in a column."""

    ins: InstructionLike
    style: str
    labels: list[str]
    note: str  # text under the last qubit: the classical bit of a measurement, a condition


@dataclass
class _Column:
    items: list[_Item] = field(default_factory=list)
    width: float = 0.0


def _item_width(item: _Item) -> float:
    w = 0.0
    if item.note:
        w = _text_units(item.note, small=True) + 0.1
    if item.style == "barrier":
        return max(w, 0.4)
    if item.style == "measure":
        return max(w, 0.75)
    if item.style == "box" and len(item.labels) > 1:
        index = _text_units(str(len(item.labels)), small=True) + 0.15
        return max(w, _text_units(item.labels[0]) + _PAD + 2 * index)
    for s in item.labels:
        if s == "●":
            w = max(w, 0.3)
        elif s == "×":
            w = max(w, 0.4)
        elif s == "X" and item.style == "controlled":
            w = max(w, 0.6)
        else:
            w = max(w, _text_units(s) + _PAD, 0.6)
    return w


def _columns(circuit: CircuitLike) -> list[_Column]:
    cols = []
    for moment in moments(circuit):
        col = _Column()
        for ins in moment:
            style = instruction_style(circuit, ins)
            labels = instruction_labels(circuit, ins, condition=False)
            cond = condition_label(ins).strip()
            if style == "measure":
                note = " ".join(s for s in (clbit_name(circuit, ins.clbits[0]), cond) if s)
            else:
                note = cond
            item = _Item(ins, style, labels, note)
            col.items.append(item)
            col.width = max(col.width, _item_width(item))
        cols.append(col)
    return cols


class _Painter:
    """Draws into one Axes whose data units are layout units (1 = the distance between wires)."""

    def __init__(self, fig: Figure, width: float, height: float, shrink: float, scale: float):
        self.ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(-height, 0)
        self.ax.set_axis_off()
        self.font = FONT_PT * scale * shrink
        self.lw = 1.2 * scale * shrink

    def line(self, xs: tuple[float, float], ys: tuple[float, float], z: float = 2,
             **kw: object) -> None:
        self.ax.plot(xs, ys, color="black", linewidth=self.lw, zorder=z,
                     solid_capstyle="butt", **kw)  # type: ignore[arg-type]

    def text(self, x: float, y: float, s: str, gid: str, small: bool = False,
             ha: str = "center", va: str = "center") -> None:
        self.ax.text(x, y, s, ha=ha, va=va, fontsize=self.font * (SMALL if small else 1.0),
                     zorder=5, gid=gid, parse_math=False)

    def box(self, x: float, y_top: float, y_bottom: float, w: float) -> None:
        h = y_top - y_bottom + _BOX_H
        self.ax.add_patch(Rectangle((x - w / 2, y_bottom - _BOX_H / 2), w, h, facecolor="white",
                                    edgecolor="black", linewidth=self.lw, zorder=3))

    def dot(self, x: float, y: float) -> None:
        self.ax.add_patch(Circle((x, y), 0.1, color="black", zorder=4))

    def oplus(self, x: float, y: float) -> None:
        r = 0.22
        self.ax.add_patch(Circle((x, y), r, facecolor="white", edgecolor="black",
                                 linewidth=self.lw, zorder=3))
        self.line((x - r, x + r), (y, y), z=4)
        self.line((x, x), (y - r, y + r), z=4)

    def cross(self, x: float, y: float) -> None:
        d = 0.14
        self.line((x - d, x + d), (y - d, y + d), z=4)
        self.line((x - d, x + d), (y + d, y - d), z=4)

    def meter(self, x: float, y: float, w: float) -> None:
        self.box(x, y, y, w)
        self.ax.add_patch(Arc((x, y - 0.12), 0.42, 0.42, theta1=0, theta2=180,
                              linewidth=self.lw, zorder=4))
        self.line((x, x + 0.16), (y - 0.12, y + 0.17), z=4)

    def barrier(self, x: float, y_top: float, y_bottom: float) -> None:
        self.ax.add_patch(Rectangle((x - 0.15, y_bottom - 0.45), 0.3, y_top - y_bottom + 0.9,
                                    facecolor="0.85", edgecolor="none", zorder=3))
        self.line((x, x), (y_top + 0.45, y_bottom - 0.45), z=4, linestyle="--")


def _draw_item(p: _Painter, item: _Item, x: float, y0: float, width: float) -> None:
    qubits = item.ins.qubits
    ys = [y0 - q for q in qubits]
    top, bottom = max(ys), min(ys)
    if item.style == "barrier":
        for y in ys:
            p.barrier(x, y, y)
        return
    if item.style == "measure":
        p.meter(x, ys[0], 0.65)
    elif item.style in ("reset", "box"):
        w = width
        if len(qubits) == 1:
            w = max(0.6, _text_units(item.labels[0]) + _PAD)
        p.box(x, top, bottom, w)
        p.text(x, (top + bottom) / 2, item.labels[0], "gate-label")
        if len(qubits) > 1:
            for k, y in enumerate(ys):
                p.text(x - w / 2 + 0.08, y, str(k + 1), "qubit-index", small=True, ha="left")
    else:
        p.line((x, x), (top, bottom))
        for s, y in zip(item.labels, ys):
            if s == "●":
                p.dot(x, y)
            elif s == "×":
                p.cross(x, y)
            elif s == "X" and item.style == "controlled":
                p.oplus(x, y)
            else:
                p.box(x, y, y, max(0.6, _text_units(s) + _PAD))
                p.text(x, y, s, "gate-label")
    if item.note:
        gid = "clbit" if item.style == "measure" else "condition"
        p.text(x, bottom - _NOTE_DY, item.note, gid, small=True, va="top")


def draw_figure(circuit: CircuitLike, *, scale: float = 1.0) -> Figure:
    """A picture of ``circuit`` (see the module docstring) as a :class:`matplotlib.figure.Figure`
    (not registered with pyplot; ``fig.savefig("c.svg")`` / ``.png`` / ``.pdf`` writes it).

    ``scale`` multiplies every size (the figure, fonts, lines and the size cap). Texts carry a
    ``gid``: ``"gate-label"``, ``"qubit-name"``, ``"qubit-index"``, ``"clbit"``, ``"condition"``.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    fig = Figure()
    FigureCanvasAgg(fig)
    nq = circuit.num_qubits
    if nq == 0:
        fig.set_size_inches(4 * scale, 0.6 * scale)
        p = _Painter(fig, 8, 1.2, 1.0, scale)
        p.text(4, -0.6, f"(empty circuit: 0 qubits, {len(circuit.instructions)} instructions)",
               "note")
        return fig

    names = [f"{r}[{i}]" for r, size in circuit.qregs for i in range(size)]
    left = max(_text_units(s) for s in names) + 0.4
    cols = _columns(circuit)

    # Greedy row breaking at the width cap.
    max_units = MAX_WIDTH_IN / UNIT_IN
    rows: list[list[_Column]] = [[]]
    used = left + _GAP
    for col in cols:
        cost = col.width + _GAP
        if rows[-1] and used + cost > max_units:
            rows.append([])
            used = left + _GAP
        rows[-1].append(col)
        used += cost
    width = max(left + _GAP + sum(c.width + _GAP for c in row) for row in rows) + 0.2
    row_h = nq - 1 + _ROW_GAP
    height = 2 * _MARGIN + len(rows) * row_h - _ROW_GAP
    shrink = min(1.0, MAX_WIDTH_IN / (width * UNIT_IN), MAX_HEIGHT_IN / (height * UNIT_IN))
    fig.set_size_inches(width * UNIT_IN * shrink * scale, height * UNIT_IN * shrink * scale)

    p = _Painter(fig, width, height, shrink, scale)
    for r, row in enumerate(rows):
        y0 = -_MARGIN - r * row_h
        end = left + _GAP + sum(c.width + _GAP for c in row)
        for q, name in enumerate(names):
            p.line((left - 0.1, end), (y0 - q, y0 - q), z=1)
            p.text(left - 0.2, y0 - q, name, "qubit-name", ha="right")
        x = left + _GAP
        for col in row:
            for item in col.items:
                _draw_item(p, item, x + col.width / 2, y0, col.width)
            x += col.width + _GAP
    return fig
