"""Measurement histograms with matplotlib (imported only when this module is).

Works headless: when no display is available and the user has not chosen a matplotlib backend
(``MPLBACKEND``, matplotlibrc or ``matplotlib.use``), the Agg backend is selected before pyplot is
imported. Figures are created with :class:`matplotlib.figure.Figure`, not pyplot, so they are not
kept alive by pyplot's figure manager; pass ``ax=`` to draw into an existing (pyplot) Axes.

Outcome labels are the bitstrings qsim prints (qubit 0 / c[0] leftmost unless the Result was made
with ``bit_order="little"``).

Readable at any size:

* more than :data:`AUTO_TOP_THRESHOLD` (64) distinct outcomes: only the :data:`DEFAULT_TOP` (32)
  largest are drawn, and a note under the axes says what was left out ("+ 992 more outcomes,
  0.976 of the shots"); ``top=k`` does the same with k bars. What is left out is never a bar, so
  it cannot flatten the bars that are drawn.
* up to :data:`MAX_VERTICAL_BARS` (24) bars with labels of up to
  :data:`MAX_VERTICAL_LABEL_CHARS` (8) characters: vertical bars (labels of up to 5 characters
  horizontal, longer ones rotated); more bars or longer labels: horizontal bars, one row per
  outcome, top to bottom. The figure grows with the bars up to :data:`MAX_WIDTH_IN` x
  :data:`MAX_HEIGHT_IN` inches; where the labels would still not fit (``top=`` large, or a small
  ``ax=``) only every k-th outcome is labelled, so no two labels overlap.
* several data sets: the legend sits outside the axes, right of them (in the best free corner,
  above reserved headroom, when drawing into a given ``ax``).
* ``qubits=[...]``: the marginal distribution of those bit positions (:func:`marginal_counts`).

>>> import qsim
>>> fig = plot_histogram({"00": 510, "11": 490})
>>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
['00', '11']
>>> marginal_counts({"000": 5, "011": 3, "110": 2}, [0, 1])
{'00': 5, '01': 3, '11': 2}
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import matplotlib

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

OTHER = "other"
#: Labels up to this many characters are drawn horizontally (5 qubits); longer ones are rotated.
HORIZONTAL_LABEL_CHARS = 5
#: More distinct outcomes than this, and no ``top=``: only the DEFAULT_TOP largest are drawn.
AUTO_TOP_THRESHOLD = 64
DEFAULT_TOP = 32
#: Vertical bars up to this many bars and this label length; beyond either, horizontal bars.
MAX_VERTICAL_BARS = 24
MAX_VERTICAL_LABEL_CHARS = 8
#: Largest figure drawn (inches; 2,400 x 1,400 pixels at 100 dpi).
MAX_WIDTH_IN = 24.0
MAX_HEIGHT_IN = 14.0

N = TypeVar("N", int, float)


def has_display() -> bool:
    """Whether a window can be opened: on Linux and other X11/Wayland systems a DISPLAY or
    WAYLAND_DISPLAY must be set; macOS and Windows always have one."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _user_chose_backend() -> bool:
    if os.environ.get("MPLBACKEND"):
        return True
    try:
        return matplotlib.rcParams._get_backend_or_none() is not None  # type: ignore[attr-defined]
    except AttributeError:  # older matplotlib: the auto sentinel is stored in rcParams
        from matplotlib import rcsetup

        backend = dict.__getitem__(matplotlib.rcParams, "backend")
        return backend is not getattr(rcsetup, "_auto_backend_sentinel", None)


def ensure_backend() -> str:
    """Select Agg when there is no display, pyplot is not imported yet and the user has not chosen
    a backend; returns the backend name matplotlib will use (without importing pyplot)."""
    if "matplotlib.pyplot" not in sys.modules and not has_display() and not _user_chose_backend():
        matplotlib.use("Agg")
    backend = matplotlib.rcParams._get_backend_or_none() if hasattr(  # type: ignore[attr-defined]
        matplotlib.rcParams, "_get_backend_or_none") else None
    return backend or "auto"


ensure_backend()


# --- data normalisation ---------------------------------------------------------------------------
def _as_counts(data: Any) -> tuple[dict[str, float], float]:
    """(counts, total) for a counts dict or anything with ``.counts`` and ``.shots`` (a Result)."""
    if hasattr(data, "counts") and hasattr(data, "shots"):
        counts = {str(k): float(v) for k, v in data.counts.items()}
        return counts, float(data.shots)
    if isinstance(data, Mapping):
        counts = {str(k): float(v) for k, v in data.items()}
        return counts, float(sum(counts.values()))
    raise TypeError(f"expected a counts dict or a Result, got {type(data).__name__}")


def _datasets(data: Any) -> list[Any]:
    if isinstance(data, Mapping) or hasattr(data, "counts"):
        return [data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        if not data:
            raise ValueError("plot_histogram needs at least one counts dict or Result")
        return list(data)
    raise TypeError(f"expected a counts dict, a Result or a list of them, got {type(data).__name__}")


def _check_positions(positions: Sequence[int]) -> list[int]:
    if isinstance(positions, (str, bytes)) or not isinstance(positions, Sequence):
        raise TypeError(f"positions must be a sequence of integers, got {positions!r}")
    out = []
    for p in positions:
        if isinstance(p, bool) or not isinstance(p, int) or p < 0:
            raise ValueError(f"bit positions must be non-negative integers, got {p!r}")
        out.append(int(p))
    if not out:
        raise ValueError("marginal needs at least one bit position")
    if len(set(out)) != len(out):
        raise ValueError(f"bit positions repeat: {list(positions)}")
    return out


def marginal_counts(counts: Mapping[str, N], positions: Sequence[int]) -> dict[str, N]:
    """Marginal distribution of some bit positions of ``counts`` (``{bitstring: n}``).

    ``positions`` index the characters of each key with the spaces between registers removed
    (``"01 101"`` is read as ``"01101"``), 0 leftmost: with qsim's default bit order position
    ``i`` of a one-register Result is c[i] (qubit i after ``measure_all``). The marginal keys are
    those characters in the order of ``positions`` (no spaces); the values are summed (ints stay
    ints), keys in sorted order. Works as well for probabilities ``{bitstring: p}``.

    >>> marginal_counts({"00 1": 4, "01 0": 3, "11 1": 1}, [2, 0])
    {'00': 3, '10': 4, '11': 1}
    """
    pos = _check_positions(positions)
    need = max(pos) + 1
    out: dict[str, N] = {}
    for key, n in counts.items():
        bits = str(key).replace(" ", "")
        if len(bits) < need:
            raise ValueError(f"bit position {max(pos)} is out of range for outcome {key!r} "
                             f"({len(bits)} bits)")
        m = "".join(bits[p] for p in pos)
        out[m] = out[m] + n if m in out else n
    return dict(sorted(out.items()))


def select_outcomes(values: list[dict[str, float]], sort: str = "outcome",
                    top: int | None = None, *,
                    other: bool = True) -> tuple[list[str], list[list[float]]]:
    """Bar labels and, per dataset, bar heights.

    ``sort="outcome"`` orders the outcomes as strings (binary order for equal-length bitstrings);
    ``"count"`` by decreasing height (the largest over datasets), ties by outcome. ``top=k`` keeps
    the k outcomes with the largest height (over datasets) and, with ``other=True``, adds one
    ``"other"`` entry, last, with the sum of the rest of each dataset, when anything is left out.
    (The histograms pass ``other=False``: what is left out goes into a note, not a bar.)
    """
    if sort not in ("outcome", "count"):
        raise ValueError(f"sort must be 'outcome' or 'count', got {sort!r}")
    if top is not None and (isinstance(top, bool) or int(top) < 1):
        raise ValueError(f"top must be a positive integer, got {top!r}")
    keys = sorted(set().union(*values))
    peak = {k: max(v.get(k, 0.0) for v in values) for k in keys}
    by_height = sorted(keys, key=lambda k: (-peak[k], k))
    kept = by_height if top is None else by_height[:int(top)]
    labels = kept if sort == "count" else sorted(kept)
    heights = [[v.get(k, 0.0) for k in labels] for v in values]
    if other and len(kept) < len(keys):
        dropped = set(keys) - set(kept)
        labels = labels + [OTHER]
        for h, v in zip(heights, values):
            h.append(sum(v.get(k, 0.0) for k in dropped))
    return labels, heights


def _figure_of(ax: Axes) -> Figure:
    """The top-level Figure holding ``ax`` (also when ``ax`` is in a SubFigure)."""
    try:
        return ax.get_figure(root=True)  # type: ignore[call-arg,return-value]
    except TypeError:  # matplotlib < 3.10: ax.figure is the root figure
        return ax.figure  # type: ignore[return-value]


def _share(x: float) -> str:
    """A fraction with 3 decimals that never rounds a part to nothing or to everything."""
    if x <= 0:
        return "0"
    text = f"{x:.3f}"
    if text == "0.000":
        return "<0.001"
    if text == "1.000" and x < 1 - 1e-12:
        return ">0.999"
    return text


def _rest_note(dropped: int, rest: list[float], totals: list[float], names: list[str], *,
               unit: str, as_counts: bool) -> str:
    """"+ 992 more outcomes, 0.976 of the shots" (one data set) or the share of each."""
    head = f"+ {dropped:,} more outcome{'s' if dropped != 1 else ''}"
    shares = [_share(r / t) if t > 0 else "0" for r, t in zip(rest, totals)]
    if len(rest) == 1:
        if as_counts:
            return f"{head}: {rest[0]:,.0f} {unit} ({shares[0]} of the {unit})"
        return f"{head}, {shares[0]} of the {unit}"
    return f"{head}; share of the {unit}: " + ", ".join(
        f"{n} {s}" for n, s in zip(names, shares))


# --- drawing ----------------------------------------------------------------------------------
# Sizes in inches, for the fonts used below (monospace labels at 9 pt: about 0.075 in per
# character and 0.15 in per line; value labels at 8 pt / 7 pt: about 0.07 in per character).
_CHAR_W = 0.075
_LINE_H = 0.17       # a label row with its gap (horizontal layout)
_VALUE_CHAR_W = 0.07
_ROW = 0.19          # one outcome of one data set in the horizontal layout
_ROW_GROUPED = 0.18  # per data set, in the horizontal layout with several data sets


def _label_width(chars: int) -> float:
    """Space one x tick label needs in the vertical layout (with its gap)."""
    if chars <= HORIZONTAL_LABEL_CHARS:
        return _CHAR_W * chars + 0.12
    return 0.36  # rotated by 70 degrees: about 0.3 in wide for up to 8 characters at 8 pt


def _axes_size(ax: Axes) -> tuple[float, float]:
    """The size of ``ax`` in inches, as placed now (before any layout engine runs)."""
    fig = _figure_of(ax)
    w, h = fig.get_size_inches()
    pos = ax.get_position()
    return float(pos.width * w), float(pos.height * h)


def _draw_bars(ax: Axes | None, labels: list[str], heights: list[list[float]], *,
               legend: Sequence[str] | None, ylabel: str, value_fmt: str,
               title: str | None, xlabel: str = "outcome", note: str | None = None) -> Axes:
    """Draw the bars (a new Figure when ``ax`` is None) and return the Axes."""
    import numpy as np

    n, m = len(labels), max(len(heights), 1)
    longest = max((len(s) for s in labels), default=1)
    horizontal = n > MAX_VERTICAL_BARS or longest > MAX_VERTICAL_LABEL_CHARS
    names = list(legend) if legend is not None else [f"#{j + 1}" for j in range(m)]
    show_legend = m > 1 or legend is not None
    value_texts = [[value_fmt.format(v) for v in h] for h in heights]
    value_w = _VALUE_CHAR_W * max((len(t) for ts in value_texts for t in ts), default=1)
    outside = ax is None  # our own figure: the legend goes right of the axes
    legend_w = (0.55 + 0.075 * max(len(s) for s in names)) if show_legend else 0.0
    extra_h = (0.3 if title else 0.0) + (0.2 if note else 0.0)

    if ax is None:
        from matplotlib.figure import Figure

        if horizontal:
            row = _ROW if m == 1 else _ROW_GROUPED * m
            height = min(max(3.0, 1.1 + extra_h + row * n), MAX_HEIGHT_IN)
            width = min(max(6.0, 6.2 + _CHAR_W * longest) + legend_w, MAX_WIDTH_IN)
        else:
            slot = max(_label_width(longest), 0.3, 0.22 * m,
                       m * (value_w + 0.06) / 0.8 if n * m <= 32 else 0.0)
            width = min(max(4.8, 1.2 + slot * n) + legend_w, MAX_WIDTH_IN)
            height = 4.8 + extra_h
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
        axes_w, axes_h = width - 1.0 - legend_w, height - 1.1 - extra_h
        if not horizontal:
            axes_h = height - (1.5 if longest > HORIZONTAL_LABEL_CHARS else 0.9) - extra_h
        else:
            axes_w = width - 1.0 - _CHAR_W * longest - legend_w
    else:
        fig = _figure_of(ax)
        if fig.get_layout_engine() is None and len(fig.axes) == 1:
            fig.set_layout_engine("constrained")  # keep long labels and the note inside
        axes_w, axes_h = _axes_size(ax)

    # every step-th outcome is labelled, so that no two labels overlap
    extent = axes_h if horizontal else axes_w
    need = _LINE_H if horizontal else _label_width(longest)
    step = max(1, math.ceil(need * (n + 0.2) / max(extent, 1e-6)))
    unit = extent / (n + 0.2)  # inches per outcome along the label axis
    pitch = unit * (0.8 / m if m > 1 else 1.0)  # between neighbouring bars
    if horizontal:
        show_values = step == 1 and pitch >= 0.14
    else:
        show_values = step == 1 and pitch >= value_w + 0.05

    pos = np.arange(n)
    bar_w = 0.8 / m
    for j, h in enumerate(heights):
        name = names[j] if show_legend else None
        where = pos + (j - (m - 1) / 2) * bar_w
        if horizontal:
            bars = ax.barh(where, h, height=bar_w, label=name)
        else:
            bars = ax.bar(where, h, width=bar_w, label=name)
        if labels and labels[-1] == OTHER:
            bars.patches[-1].set_hatch("//")  # an aggregate from select_outcomes looks different
        if show_values:
            ax.bar_label(bars, labels=value_texts[j], fontsize=7 if horizontal else 8, padding=2)

    ticks = list(range(0, n, step))
    shown = [labels[i] for i in ticks]
    top_h = max((max(h, default=0.0) for h in heights), default=0.0)
    span = top_h if top_h > 0 else 1.0
    # headroom for the value labels, and for the legend when it is inside the axes
    val_extent = axes_w if horizontal else axes_h
    room = ((value_w + 0.1) if horizontal else 0.2) if show_values else 0.0
    if show_legend and not outside:
        room += legend_w + 0.1 if horizontal else 0.22 * m + 0.25
    frac = min(room / max(val_extent, 1e-6), 0.6)
    limit = span / (1 - frac) if room else span * 1.05
    if horizontal:
        ax.set_yticks(ticks)
        ax.set_yticklabels(shown, fontsize=9, fontfamily="monospace")
        ax.set_ylim(n - 0.4, -0.6)  # first outcome on top
        ax.set_xlim(0, limit)
        ax.set_xlabel(ylabel + (f"\n{note}" if note else ""))
        ax.set_ylabel(xlabel)
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    else:
        ax.set_xticks(ticks)
        if longest <= HORIZONTAL_LABEL_CHARS:
            ax.set_xticklabels(shown, fontsize=9, fontfamily="monospace")
        else:
            ax.set_xticklabels(shown, fontsize=8, fontfamily="monospace", rotation=70,
                               ha="right", rotation_mode="anchor")
        ax.set_xlim(-0.6, n - 0.4)
        ax.set_ylim(0, limit if top_h > 0 else 1)
        ax.set_ylabel(ylabel)
        ax.set_xlabel(xlabel + (f"\n{note}" if note else ""))
    ax.spines[["top", "right"]].set_visible(False)
    if show_legend:
        if outside:
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                      frameon=False)
        else:
            ax.legend(loc="best")
    if title:
        ax.set_title(title)
    return ax


def _histogram(values: list[dict[str, float]], totals: list[float], *, ax: Axes | None,
               title: str | None, sort: str, top: int | None, legend: Sequence[str] | None,
               ylabel: str, value_fmt: str, unit: str, as_counts: bool,
               qubits: Sequence[int] | None) -> Figure:
    if qubits is not None:
        values = [marginal_counts(v, qubits) for v in values]
    n_all = len(set().union(*values))
    if top is None and n_all > AUTO_TOP_THRESHOLD:
        top = DEFAULT_TOP
    labels, heights = select_outcomes(values, sort, top, other=False)
    note = None
    if len(labels) < n_all:
        rest = [sum(v.values()) - sum(h) for v, h in zip(values, heights)]
        names = list(legend) if legend is not None else [f"#{j + 1}" for j in range(len(values))]
        note = _rest_note(n_all - len(labels), [max(r, 0.0) for r in rest], totals, names,
                          unit=unit, as_counts=as_counts)
    xlabel = "outcome" if qubits is None else (
        "outcome of bit" + ("s " if len(qubits) > 1 else " ") + ", ".join(map(str, qubits)))
    ax = _draw_bars(ax, labels, heights, legend=legend, ylabel=ylabel, value_fmt=value_fmt,
                    title=title, xlabel=xlabel, note=note)
    return _figure_of(ax)


def plot_histogram(counts_or_result: Any, *, ax: Axes | None = None, title: str | None = None,
                   sort: str = "outcome", top: int | None = None, probabilities: bool = True,
                   legend: Sequence[str] | None = None,
                   qubits: Sequence[int] | None = None) -> Figure:
    """Bar chart of measurement outcomes; returns the matplotlib Figure.

    ``counts_or_result``: a counts dict ``{bitstring: n}``, a :class:`qsim.Result`, or a list of
    them drawn side by side as grouped bars (e.g. ideal vs noisy; ``legend`` names them).
    Heights are relative frequencies (count / shots) when ``probabilities`` is true, else counts.
    ``sort="outcome"`` (binary order) or ``"count"`` (largest first).

    ``top=k`` draws only the k largest outcomes (the largest over the data sets); the rest is
    summarised in a note under the axes ("+ 992 more outcomes, 0.976 of the shots"), never drawn
    as a bar. Without ``top``, more than 64 distinct outcomes are cut to the 32 largest the same
    way. ``qubits=[i, ...]``: plot the marginal distribution of those bit positions instead
    (positions in the bitstring key with the spaces between registers removed, 0 leftmost; see
    :func:`marginal_counts`). ``ax``: draw into this Axes instead of a new Figure (when it is the only Axes of a
    figure without a layout engine, the figure gets the constrained layout).

    Up to 24 bars with labels of up to 8 characters are vertical (labels of up to 5 characters
    horizontal, longer ones rotated); more bars or longer labels are drawn as horizontal bars.
    The figure grows with the bars up to 24 x 14 inches; beyond that only every k-th outcome is
    labelled, so that no two labels overlap. The legend sits right of the axes.

    >>> fig = plot_histogram([{"0": 6, "1": 4}, {"0": 5, "1": 5}], legend=["a", "b"])
    >>> [round(float(b.get_height()), 2) for b in fig.axes[0].patches]
    [0.6, 0.4, 0.5, 0.5]
    """
    sets = _datasets(counts_or_result)
    if legend is not None and len(legend) != len(sets):
        raise ValueError(f"legend has {len(legend)} names for {len(sets)} data sets")
    values, totals = [], []
    for d in sets:
        counts, total = _as_counts(d)
        if probabilities:
            counts = {k: v / total for k, v in counts.items()} if total else counts
        values.append(counts)
        totals.append(1.0 if probabilities and total else total)
    return _histogram(values, totals, ax=ax, title=title, sort=sort, top=top, legend=legend,
                      ylabel="probability" if probabilities else "count",
                      value_fmt="{:.3f}" if probabilities else "{:.0f}", unit="shots",
                      as_counts=not probabilities, qubits=qubits)


def plot_probabilities(state: Any, *, ax: Axes | None = None, title: str | None = None,
                       sort: str = "outcome", top: int | None = None,
                       threshold: float = 1e-12, legend: Sequence[str] | None = None,
                       qubits: Sequence[int] | None = None) -> Figure:
    """Bar chart of an exact outcome distribution; returns the matplotlib Figure.

    ``state``: a :class:`qsim.Statevector` (basis states with probability above ``threshold``,
    qubit 0 leftmost), a dict ``{bitstring: probability}``, or a list of these to compare.
    ``sort``, ``top``, ``ax``, ``legend``, ``qubits`` as in :func:`plot_histogram` (for a
    Statevector, position i is qubit i).
    """
    items = state if isinstance(state, Sequence) and not isinstance(state, (str, bytes)) else [
        state]
    if not items:
        raise ValueError("plot_probabilities needs at least one state or distribution")
    if legend is not None and len(legend) != len(items):
        raise ValueError(f"legend has {len(legend)} names for {len(items)} data sets")
    values = []
    for s in items:
        if hasattr(s, "probabilities") and not isinstance(s, Mapping):
            values.append({k: float(v) for k, v in s.probabilities(threshold=threshold).items()})
        elif isinstance(s, Mapping):
            values.append({str(k): float(v) for k, v in s.items()})
        else:
            raise TypeError(f"expected a Statevector or a dict of probabilities, got "
                            f"{type(s).__name__}")
    totals = [sum(v.values()) or 1.0 for v in values]
    return _histogram(values, totals, ax=ax, title=title, sort=sort, top=top, legend=legend,
                      ylabel="probability", value_fmt="{:.3f}", unit="probability",
                      as_counts=False, qubits=qubits)
