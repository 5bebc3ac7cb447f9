"""Measurement histograms with matplotlib (imported only when this module is).

Works headless: when no display is available and the user has not chosen a matplotlib backend
(``MPLBACKEND``, matplotlibrc or ``matplotlib.use``), the Agg backend is selected before pyplot is
imported. Figures are created with :class:`matplotlib.figure.Figure`, not pyplot, so they are not
kept alive by pyplot's figure manager; pass ``ax=`` to draw into an existing (pyplot) Axes.

Outcome labels are the bitstrings qsim prints (qubit 0 / c[0] leftmost unless the Result was made
with ``bit_order="little"``).

>>> import qsim
>>> fig = plot_histogram({"00": 510, "11": 490})
>>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
['00', '11']
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

OTHER = "other"
#: Labels up to this many characters are drawn horizontally (5 qubits); longer ones are rotated.
HORIZONTAL_LABEL_CHARS = 5


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


def select_outcomes(values: list[dict[str, float]], sort: str = "outcome",
                    top: int | None = None) -> tuple[list[str], list[list[float]]]:
    """Bar labels and, per dataset, bar heights.

    ``sort="outcome"`` orders the outcomes as strings (binary order for equal-length bitstrings);
    ``"count"`` by decreasing height (the largest over datasets), ties by outcome. ``top=k`` keeps
    the k outcomes with the largest height (over datasets) and adds one ``"other"`` bar, last,
    with the sum of the rest of each dataset, when anything is left out.
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
    if len(kept) < len(keys):
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


# --- drawing ----------------------------------------------------------------------------------
def _new_axes(num_bars: int, groups: int, label_chars: int, ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    # Wide enough that horizontal labels (<= 5 characters at 9 pt, about 0.08 in per character)
    # never overlap: each bar slot gets at least the label's width plus a margin.
    slot = max(0.08 * min(label_chars, HORIZONTAL_LABEL_CHARS) + 0.12, 0.22 * groups, 0.3)
    width = min(max(4.8, 1.2 + slot * num_bars), 24.0)
    fig = Figure(figsize=(width, 4.8), layout="constrained")
    return fig.add_subplot()


def _draw_bars(ax: Axes, labels: list[str], heights: list[list[float]], *,
               legend: Sequence[str] | None, ylabel: str, value_fmt: str,
               title: str | None) -> None:
    import numpy as np

    m = len(heights)
    x = np.arange(len(labels))
    bar_w = 0.8 / m
    for j, h in enumerate(heights):
        name = legend[j] if legend is not None else (f"#{j + 1}" if m > 1 else None)
        bars = ax.bar(x + (j - (m - 1) / 2) * bar_w, h, width=bar_w, label=name)
        if labels and labels[-1] == OTHER:
            bars.patches[-1].set_hatch("//")  # the aggregate bar looks different
        if len(labels) * m <= (32 if m == 1 else 10):  # value labels only while they fit
            ax.bar_label(bars, labels=[value_fmt.format(v) for v in h], fontsize=8, padding=2)
    ax.set_xticks(x)
    longest = max((len(s) for s in labels), default=0)
    if longest <= HORIZONTAL_LABEL_CHARS:
        ax.set_xticklabels(labels, fontsize=9, fontfamily="monospace")
    else:
        ax.set_xticklabels(labels, fontsize=8, fontfamily="monospace", rotation=70,
                           ha="right", rotation_mode="anchor")
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("outcome")
    top_h = max((max(h, default=0.0) for h in heights), default=0.0)
    ax.set_ylim(0, top_h * 1.15 if top_h > 0 else 1)
    ax.spines[["top", "right"]].set_visible(False)
    if m > 1 or legend is not None:
        ax.legend()
    if title:
        ax.set_title(title)


def plot_histogram(counts_or_result: Any, *, ax: Axes | None = None, title: str | None = None,
                   sort: str = "outcome", top: int | None = None, probabilities: bool = True,
                   legend: Sequence[str] | None = None) -> Figure:
    """Bar chart of measurement outcomes; returns the matplotlib Figure.

    ``counts_or_result``: a counts dict ``{bitstring: n}``, a :class:`qsim.Result`, or a list of
    them drawn side by side as grouped bars (e.g. ideal vs noisy; ``legend`` names them).
    Heights are relative frequencies (count / shots) when ``probabilities`` is true, else counts.
    ``sort="outcome"`` (binary order) or ``"count"`` (largest first); ``top=k`` keeps the k
    largest outcomes and one ``"other"`` bar. ``ax``: draw into this Axes instead of a new Figure.
    Labels up to 5 characters are horizontal (the figure widens so they never overlap); longer
    ones are rotated.

    >>> fig = plot_histogram([{"0": 6, "1": 4}, {"0": 5, "1": 5}], legend=["a", "b"])
    >>> [round(float(b.get_height()), 2) for b in fig.axes[0].patches]
    [0.6, 0.4, 0.5, 0.5]
    """
    sets = _datasets(counts_or_result)
    if legend is not None and len(legend) != len(sets):
        raise ValueError(f"legend has {len(legend)} names for {len(sets)} data sets")
    values = []
    for d in sets:
        counts, total = _as_counts(d)
        if probabilities:
            counts = {k: v / total for k, v in counts.items()} if total else counts
        values.append(counts)
    labels, heights = select_outcomes(values, sort, top)
    ax = _new_axes(len(labels), len(values), max((len(s) for s in labels), default=1), ax)
    _draw_bars(ax, labels, heights, legend=legend,
               ylabel="probability" if probabilities else "count",
               value_fmt="{:.3f}" if probabilities else "{:.0f}", title=title)
    return _figure_of(ax)


def plot_probabilities(state: Any, *, ax: Axes | None = None, title: str | None = None,
                       sort: str = "outcome", top: int | None = None,
                       threshold: float = 1e-12, legend: Sequence[str] | None = None) -> Figure:
    """Bar chart of an exact outcome distribution; returns the matplotlib Figure.

    ``state``: a :class:`qsim.Statevector` (basis states with probability above ``threshold``,
    qubit 0 leftmost), a dict ``{bitstring: probability}``, or a list of these to compare.
    ``sort``, ``top``, ``ax``, ``legend`` as in :func:`plot_histogram`.
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
    labels, heights = select_outcomes(values, sort, top)
    ax = _new_axes(len(labels), len(values), max((len(s) for s in labels), default=1), ax)
    _draw_bars(ax, labels, heights, legend=legend, ylabel="probability", value_fmt="{:.3f}",
               title=title)
    return _figure_of(ax)
