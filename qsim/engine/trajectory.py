"""One trajectory: every measurement and reset drawn with the Born rule, in order.

This is what :func:`qsim.simulate` returns for a dynamic circuit and what the per-shot reference
path (:func:`qsim.engine.branching.run_per_shot`) runs once per shot. It speaks only to the
:class:`~qsim.backends.base.State` protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backends.base import State
from ..circuit import Circuit
from ..compile.plan import Plan
from .noisy import flip_probability


def condition_holds(circuit: Circuit, condition: tuple[str, int], clbits: np.ndarray) -> bool:
    """``creg == value`` with creg[0] the least significant bit (OpenQASM's convention)."""
    reg, value = condition
    bits = clbits[list(circuit.creg_indices(reg))]
    return int(sum(int(b) << i for i, b in enumerate(bits))) == value


def measure(state: State, qubit: int, rng: np.random.Generator, reset: bool = False) -> int:
    """Measure ``qubit`` with the Born rule (one uniform draw), collapsing ``state`` (then
    returning the qubit to |0> when ``reset``); returns the outcome, 0 or 1."""
    w0, w1 = state.qubit_weights(qubit)
    outcome = int(rng.random() * (w0 + w1) < w1)
    weight = w1 if outcome else w0
    if reset:
        state.reset(qubit, outcome, weight)
    else:
        state.collapse(qubit, outcome, weight)
    return outcome


def run_trajectory(circuit: Circuit, plan: Plan, prepared: Sequence[Any], state: State,
                   rng: np.random.Generator, clbits: np.ndarray,
                   readout: Sequence[np.ndarray | None] | None = None) -> None:
    """Run the steps of ``plan`` (planned with ``defer=False``) on ``state``: measurements
    collapse it and write ``clbits`` (uint8, flat bit order); conditions read it; noise channels
    apply one Kraus operator drawn with its probability. ``prepared[i]`` is the backend's block
    for step i (None for measure/reset steps). ``readout``: per qubit, a confusion matrix
    ``M[true][read]`` the recorded bit is drawn from (the state collapses on the true outcome)."""
    for step, block in zip(plan.steps, prepared):
        if step.condition is not None and not condition_holds(circuit, step.condition, clbits):
            continue
        if step.kind == "measure":
            outcome = measure(state, step.qubit, rng)
            if readout is not None and readout[step.qubit] is not None:
                outcome ^= int(rng.random() < flip_probability(readout, step.qubit, outcome))
            clbits[step.clbit] = outcome
        elif step.kind == "channel":
            p = block.probabilities(state)
            i = min(int(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right")),
                    p.size - 1)
            if p[i] <= 0:  # only by rounding at the end of the cumulative sum
                i = int(np.argmax(p))
            block.apply(state, i)
        elif step.kind == "reset":
            measure(state, step.qubit, rng, reset=True)
        else:
            state.apply(block)
